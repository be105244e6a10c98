// s3-bun-cached-fs/flue: not built yet (see the project's issues). It exports nothing rather than
// something that pretends to work.
export {};
