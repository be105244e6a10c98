// s3-bun-cached-fs: the root entry is the core filesystem alone, so it loads with none of the
// optional frameworks installed. Each adapter lives at its own subpath:
// "s3-bun-cached-fs/mastra", "s3-bun-cached-fs/just-bash", "s3-bun-cached-fs/flue".
export * from "./core.ts";
