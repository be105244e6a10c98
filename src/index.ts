// s3-bun-cached-fs: the core filesystem and its three framework adapters.
export * from "./core.ts";
export * from "./mastra/index.ts";
export * from "./just-bash/index.ts";
export * from "./flue/index.ts";
