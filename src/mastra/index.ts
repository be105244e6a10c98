// s3-bun-cached-fs/mastra: AcceleratedFS, a Mastra WorkspaceFilesystem (@mastra/core, a peer
// dependency) whose files live in S3 through the core filesystem. See README.md in this folder.
export { AcceleratedFS, type AcceleratedFSMetadata, type AcceleratedTransaction } from "./accelerated-fs.ts";
export type { AcceleratedFSOptions, AcceleratedFSAdapterOptions, AcceleratedMountOptions } from "./options.ts";
