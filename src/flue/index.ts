// s3-bun-cached-fs/flue: a Flue SandboxFactory whose files live in the object store (through the
// core filesystem and its just-bash adapter) and whose exec runs in just-bash, with grep and glob
// tools served from the local index and cache.
export {
  acceleratedFsSandbox,
  type AcceleratedFsSandboxFactory,
  type AcceleratedFsSandboxOptions,
  type SandboxShellOptions,
} from "./accelerated-fs-sandbox.ts";
export { createAcceleratedSandbox, sandboxWorkspace, type AcceleratedSandbox, type SandboxWorkspace } from "./accelerated-sandbox.ts";
export { createAcceleratedGrepTool, type GrepTool, type GrepToolOptions } from "./grep-tool.ts";
export { createAcceleratedGlobTool, type GlobTool } from "./glob-tool.ts";
export { instanceMountConfig, type InstanceMount } from "./instance-workspaces.ts";
