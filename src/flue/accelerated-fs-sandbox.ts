// acceleratedFsSandbox: a Flue SandboxFactory (for `useSandbox(...)` in @flue/runtime) whose files
// are the core filesystem and whose `exec` is the just-bash shell, so an agent's workspace lives in
// the bucket and outlives the message, the runtime and the process.
//
// Each instance id gets its own workspace (instance-workspaces.ts says how), unless the caller
// passes one `filesystem` for all of them. The factory's `tools` are Flue's own read, write, edit
// and bash over the sandbox, and grep and glob served from the index and the cache (Flue's grep
// does not work over just-bash).

import { createBashTool, createEditTool, createReadTool, createWriteTool, type Sandbox, type SandboxFactory, type SandboxToolFactory } from "@flue/runtime";
import { FsError, S3CachedFs, S3CachedFsManagerImpl, type ManagerOptions } from "../core.ts";
import { createAcceleratedJustBashShell, shellSettingKeys, type AcceleratedJustBashShellOptions } from "../just-bash/index.ts";
import { createAcceleratedSandbox, type AcceleratedSandbox } from "./accelerated-sandbox.ts";
import { createAcceleratedGlobTool } from "./glob-tool.ts";
import { createAcceleratedGrepTool, type GrepToolOptions } from "./grep-tool.ts";
import { acquireWorkspace, guardedManager, instanceMountConfig, releaseWorkspaces, type InstanceMount } from "./instance-workspaces.ts";

/** Options of the shell behind `exec` (env, executionLimits, customCommands, timeoutMs, commit, ...). */
export type SandboxShellOptions = Omit<Extract<AcceleratedJustBashShellOptions, { filesystem: S3CachedFs }>, "filesystem" | "mount" | "manager" | "cwd">;

interface SandboxSettings {
  /** The sandbox's working directory (default "/workspace"), created on first use if missing. */
  cwd?: string;
  /** Options of the just-bash shell behind `exec`. */
  shell?: SandboxShellOptions;
  /** Options of the grep tool. */
  grep?: GrepToolOptions;
}

/** Where the files live: one workspace per instance id (`mount`), or one shared by all (`filesystem`). */
type WorkspaceChoice =
  | {
      /** Every instance id shares this mounted filesystem (the factory never closes it). */
      filesystem: S3CachedFs;
      mount?: never;
      managerConfig?: never;
      manager?: never;
    }
  | {
      filesystem?: never;
      /**
       * The mount config: each instance id gets its own workspace, under `<prefix>/<id>` and named
       * `<name>/<id>`; or a function from instance id to the mount config of its workspace.
       */
      mount: InstanceMount;
      /**
       * The manager the factory creates (on first use) to mount workspaces: cacheRoot (default:
       * the platform's cache directory, `defaultCacheRoot()`), cacheBytes, storeFactory.
       */
      managerConfig?: ManagerOptions;
      manager?: never;
    }
  | {
      filesystem?: never;
      mount: InstanceMount;
      managerConfig?: never;
      /** Or a manager of the caller's own (close everything with its closeAll()). */
      manager: S3CachedFsManagerImpl;
    };

export type AcceleratedFsSandboxOptions = SandboxSettings & WorkspaceChoice;

export interface AcceleratedFsSandboxFactory extends SandboxFactory {
  /** A live sandbox over instance `id`'s workspace (Flue calls it once per submission). */
  createSandbox(options: { id: string }): Promise<AcceleratedSandbox>;
  /** Flue's read, write, edit and bash tools, and grep and glob from the index and cache. */
  tools: SandboxToolFactory;
  /** Instance `id`'s mounted filesystem (opened if needed), for the host to seed or inspect its files. */
  filesystemFor(id: string): Promise<S3CachedFs>;
  /** Lets go of the workspaces this factory opened: each closes once no other factory uses it. */
  close(): Promise<void>;
}

/** A Flue SandboxFactory whose files live in the object store, through the core filesystem. */
export function acceleratedFsSandbox(options: AcceleratedFsSandboxOptions): AcceleratedFsSandboxFactory {
  checkOptions(options);
  const cwd = options.cwd ?? "/workspace";
  const grep = options.grep ?? {};
  let manager: S3CachedFsManagerImpl | undefined = options.manager;
  let closed = false;

  const factory: AcceleratedFsSandboxFactory = {
    async createSandbox({ id }) {
      const filesystem = await factory.filesystemFor(id);
      const shell = await createAcceleratedJustBashShell({ ...options.shell, filesystem, cwd });
      return createAcceleratedSandbox(shell);
    },
    tools: (sandbox: Sandbox) => [
      createReadTool(sandbox),
      createWriteTool(sandbox),
      createEditTool(sandbox),
      createBashTool(sandbox),
      createAcceleratedGrepTool(sandbox, grep),
      createAcceleratedGlobTool(sandbox),
    ],
    async filesystemFor(id) {
      if (closed) throw new FsError("EBADF", "createSandbox", { detail: "this sandbox factory is closed" });
      if (options.filesystem !== undefined) return options.filesystem;
      // The manager is made on first use: Flue builds a factory on every render of the agent function.
      manager ??= guardedManager(options.managerConfig ?? {});
      return acquireWorkspace(manager, instanceMountConfig(options.mount!, id), factory);
    },
    async close() {
      closed = true;
      await releaseWorkspaces(factory);
    },
  };
  return factory;
}

/** Every option the factory takes, and the grep tool's. */
const sandboxKeys: readonly string[] = ["cwd", "shell", "grep", "filesystem", "mount", "managerConfig", "manager"] satisfies (keyof (SandboxSettings & WorkspaceChoice))[];
const grepKeys: readonly string[] = ["maxFileBytes", "readAhead"] satisfies (keyof GrepToolOptions)[];

/** Fails at once, naming the field, rather than at the agent's first message. */
function checkOptions(options: AcceleratedFsSandboxOptions): void {
  const invalid = (detail: string) => new FsError("EINVAL", "acceleratedFsSandbox", { detail: `invalid sandbox options: ${detail}` });
  if (typeof options !== "object" || options === null) throw invalid("expected an options object");
  const unknownIn = (object: object, allowed: readonly string[], path: string) => Object.keys(object).filter((key) => !allowed.includes(key)).map((key) => `${path}${key}: unknown option`);
  const unknown = unknownIn(options, sandboxKeys, "");
  if (typeof options.shell === "object" && options.shell !== null) unknown.push(...unknownIn(options.shell, shellSettingKeys, "shell."));
  if (typeof options.grep === "object" && options.grep !== null) unknown.push(...unknownIn(options.grep, grepKeys, "grep."));
  if (unknown.length > 0) throw invalid(unknown.join("; "));
  if (options.cwd !== undefined && (typeof options.cwd !== "string" || options.cwd === "")) throw invalid("cwd: expected a non-empty string");
  if (options.filesystem !== undefined) {
    if (!(options.filesystem instanceof S3CachedFs)) throw invalid("filesystem: expected a mounted S3CachedFs");
    if (options.mount !== undefined || options.managerConfig !== undefined || options.manager !== undefined) {
      throw invalid("give either filesystem (one workspace shared by every instance), or mount with managerConfig or manager, not both");
    }
  } else {
    if (options.mount === undefined) throw invalid("give a mount config (one workspace per instance id) or a mounted filesystem (one shared workspace)");
    if (typeof options.mount !== "function" && (typeof options.mount !== "object" || options.mount === null)) throw invalid("mount: expected a mount config or a function from instance id to mount config");
    if (options.managerConfig !== undefined && options.manager !== undefined) throw invalid("with mount, give at most one of managerConfig and manager");
    if (options.manager !== undefined && !(options.manager instanceof S3CachedFsManagerImpl)) throw invalid("manager: expected an S3CachedFsManagerImpl");
    if (options.managerConfig !== undefined && (typeof options.managerConfig !== "object" || options.managerConfig === null)) throw invalid("managerConfig: expected an object of manager options");
    const cacheRoot = options.managerConfig?.cacheRoot;
    if (cacheRoot !== undefined && (typeof cacheRoot !== "string" || cacheRoot === "")) throw invalid("managerConfig.cacheRoot: expected a non-empty string");
  }
  if (options.shell !== undefined && (typeof options.shell !== "object" || options.shell === null)) throw invalid("shell: expected an object of shell options");
  const maxFileBytes = options.grep?.maxFileBytes;
  if (maxFileBytes !== undefined && !(Number.isInteger(maxFileBytes) && maxFileBytes >= 0)) throw invalid("grep.maxFileBytes: expected an integer >= 0");
  const readAhead = options.grep?.readAhead;
  if (readAhead !== undefined && !(Number.isInteger(readAhead) && readAhead >= 1)) throw invalid("grep.readAhead: expected an integer >= 1");
}
