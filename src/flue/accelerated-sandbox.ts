// The live Flue Sandbox of one instance: Flue's file verbs go through AcceleratedJustBashFs (the
// same view of the files the shell has, system directories included), `exec` through the
// just-bash shell (one commit per command). Flue's own `sandboxFromDriver` wraps it, so path
// resolution against `cwd` (a per-call exec `cwd` included) and the abort race are Flue's, not a
// copy of them (its contract: adapters must not race aborts themselves). Two things are ours:
// a path that is not a string is refused before Flue's resolution reads it, and writeFile is one
// write (Flue's wrapper retries a failed write after creating the parents, which would publish
// them even when the write fails for good; the core creates missing parents itself).
//
// The sandbox carries a symbol-keyed link to its core filesystem, which survives Flue's object
// spread when it hands the sandbox to tool factories, so the grep and glob tools can go straight
// to the index and cache (search-files.ts).

import { SandboxDiedError, sandboxFromDriver, type FileStat, type Sandbox, type SandboxDriver } from "@flue/runtime";
import { FsError, type S3CachedFs } from "../core.ts";
import { systemRoots, type AcceleratedJustBashFs, type AcceleratedJustBashShell, type ShellExecOptions } from "../just-bash/index.ts";

/** Where a sandbox made here keeps the link to its core filesystem (Symbol.for: one key even if this module loads twice). */
export const sandboxWorkspace: unique symbol = Symbol.for("s3-bun-cached-fs/flue/sandbox-workspace");

export interface SandboxWorkspace {
  /** The mount the sandbox's files live in. */
  filesystem: S3CachedFs;
  /** The files as the shell sees them (system directories included). */
  fs: AcceleratedJustBashFs;
}

export type AcceleratedSandbox = Sandbox & { readonly [sandboxWorkspace]: SandboxWorkspace };

/** Builds the Sandbox over a shell; `exists` never throws, whatever it is given. */
export function createAcceleratedSandbox(shell: AcceleratedJustBashShell): AcceleratedSandbox {
  const fs = shell.fs;
  const filesystem = shell.filesystem;

  /**
   * Runs a verb; once the mount is closed (the factory was closed, or the caller's manager), the
   * sandbox is gone for good, which Flue's contract reports as SandboxDiedError rather than as a
   * filesystem error the model might try to work around.
   */
  const verb = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    if (filesystem.closed) throw new SandboxDiedError({ operation, reason: "stopped" });
    try {
      return await run();
    } catch (error) {
      if (filesystem.closed) throw new SandboxDiedError({ operation, reason: "stopped" });
      throw error;
    }
  };

  const driver: SandboxDriver = {
    readFile: (path) => verb("readFile", () => fs.readFile(path, "utf8")),
    readFileBuffer: (path) => verb("readFileBuffer", () => fs.readFileBuffer(path)),
    // The core creates missing parents itself (a parent that is a file is ENOTDIR).
    writeFile: (path, content) => verb("writeFile", () => fs.writeFile(path, content)),
    stat: (path) => verb("stat", () => fileStat(fs, path)),
    readdir: (path) => verb("readdir", () => fs.readdir(path)),
    exists: (path) => fs.exists(path),
    mkdir: (path, options) => verb("mkdir", () => fs.mkdir(path, { recursive: options?.recursive === true })),
    rm: (path, options) => verb("rm", () => fs.rm(path, { recursive: options?.recursive === true, force: options?.force === true })),
    exec: (command, options) => verb("exec", () => execute(shell, command, options)),
  };

  const sandbox = sandboxFromDriver(driver, shell.getCwd());
  const { exists, readFile, readFileBuffer, stat, readdir, mkdir, rm, exec, resolvePath } = sandbox;
  return Object.assign(sandbox, {
    // Flue's contract: exists never throws (a path its resolvePath cannot even read is simply absent).
    exists: async (path: string): Promise<boolean> => {
      try {
        return await exists(path);
      } catch {
        return false;
      }
    },
    // Flue's path resolution takes a string on trust: anything else is refused here, as the core does.
    readFile: async (path: string) => readFile(checkedPath(path, "readFile")),
    readFileBuffer: async (path: string) => readFileBuffer(checkedPath(path, "readFileBuffer")),
    stat: async (path: string) => stat(checkedPath(path, "stat")),
    readdir: async (path: string) => readdir(checkedPath(path, "readdir")),
    mkdir: async (path: string, options?: Parameters<Sandbox["mkdir"]>[1]) => mkdir(checkedPath(path, "mkdir"), options),
    rm: async (path: string, options?: Parameters<Sandbox["rm"]>[1]) => rm(checkedPath(path, "rm"), options),
    resolvePath: (path: string) => resolvePath(checkedPath(path, "resolvePath")),
    exec: async (command: string, options?: Parameters<Sandbox["exec"]>[1]) => {
      if (options?.cwd !== undefined) checkedPath(options.cwd, "exec");
      return exec(command, options);
    },
    // One write, no retry: Flue's wrapper would retry a failed write after `mkdir -p` of its parent,
    // publishing the parents of a write that then fails anyway; the core creates missing parents itself.
    writeFile: async (path: string, content: string | Uint8Array) => driver.writeFile(resolvePath(checkedPath(path, "writeFile")), content),
    [sandboxWorkspace]: { filesystem, fs },
  });
}

/** `path` if it is a string; anything else is EINVAL, naming its type. */
function checkedPath(path: unknown, operation: string): string {
  if (typeof path !== "string") throw new FsError("EINVAL", operation, { detail: `the path must be a string, got ${path === null ? "null" : typeof path}` });
  return path;
}

/** The core link of a sandbox made by createAcceleratedSandbox (also after Flue spread it into a new object). */
export function workspaceOf(sandbox: Sandbox): SandboxWorkspace | undefined {
  return (sandbox as Partial<AcceleratedSandbox>)[sandboxWorkspace];
}

/** Whether an absolute path lies in the shell's in-memory system tree (/bin, /dev, /proc, /usr). */
export function inSystemTree(path: string): boolean {
  return systemRoots.some((root) => path === root || path.startsWith(`${root}/`));
}

type ExecOptions = NonNullable<Parameters<SandboxDriver["exec"]>[1]>;

/**
 * exec through the shell: a non-zero exit resolves; `timeoutMs` resolves with exit 124 (what the
 * command wrote before is published); aborting `signal` rejects with an AbortError and publishes
 * nothing. Flue's bash tool passes its deadline twice, as `timeoutMs` and folded into `signal`
 * (which then aborts with a TimeoutError): that abort is the deadline itself, so it is left to
 * `timeoutMs`, and a timed-out command ends the same way whoever called it. Flue's wrapper still
 * releases its caller at once; the command ends at its deadline a moment later.
 */
async function execute(shell: AcceleratedJustBashShell, command: string, options: ExecOptions = {}) {
  const { cwd, env, signal } = options;
  // Flue allows a deadline to be rounded up, never down; no deadline at all for an infinite one.
  const timeoutMs = options.timeoutMs === undefined || options.timeoutMs === Number.POSITIVE_INFINITY ? undefined : Math.max(1, Math.ceil(options.timeoutMs));
  const abort = signal !== undefined && timeoutMs !== undefined ? withoutDeadline(signal) : { signal, dispose: () => {} };
  const execOptions: ShellExecOptions = {
    ...(cwd === undefined ? {} : { cwd }),
    ...(env === undefined ? {} : { env }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(abort.signal === undefined ? {} : { signal: abort.signal }),
  };
  try {
    return await shell.exec(command, execOptions);
  } finally {
    abort.dispose();
  }
}

/** `signal`, less the aborts that are a deadline running out (a TimeoutError, as AbortSignal.timeout gives). */
function withoutDeadline(signal: AbortSignal): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const forward = () => {
    const reason: unknown = signal.reason;
    if (!(reason instanceof DOMException && reason.name === "TimeoutError")) controller.abort(reason);
  };
  if (signal.aborted) forward();
  else signal.addEventListener("abort", forward, { once: true });
  return { signal: controller.signal, dispose: () => signal.removeEventListener("abort", forward) };
}

/**
 * Flue's FileStat: the type of the entry itself (`isSymbolicLink` from lstat), the rest from what
 * it points to, as Flue's own local sandbox reports it. Only what is really known is given: a
 * directory has no byte size in the core (its 0 would be made up), and the system tree's entries
 * were never stored, so their times would be made up too.
 */
async function fileStat(fs: AcceleratedJustBashFs, path: string): Promise<FileStat> {
  const entry = await fs.lstat(path);
  const target = entry.isSymbolicLink ? await fs.stat(path) : entry;
  const stored = !inSystemTree(await fs.realpath(path));
  return {
    isFile: target.isFile,
    isDirectory: target.isDirectory,
    isSymbolicLink: entry.isSymbolicLink,
    ...(target.isDirectory ? {} : { size: target.size }),
    ...(stored ? { mtime: target.mtime } : {}),
  };
}
