// s3-bun-cached-fs/core: the filesystem and the object stores it runs on.
export * from "./stores/index.ts";
export { seededRandom } from "./random.ts";
