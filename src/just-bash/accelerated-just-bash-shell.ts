// createAcceleratedJustBashShell: a just-bash shell over the core filesystem. Commands run inside
// just-bash (an interpreter in this process, never the host's shell); their files live in the
// bucket, through AcceleratedJustBashFs.
//
// By default each exec() is one core transaction: everything a command writes is published as
// one commit when it ends, atomically (a reader sees all of it or none), and nothing at all if
// exec() rejects. `commit: "per-write"` publishes each write on its own instead, as the command
// goes: the command does not wait for each (writes that cannot fail go to the mount together at the
// next turn of the event loop, sharing a record), and exec() resolves once all are durable.
//
// Concurrent exec() calls run concurrently. The mount has one open batch at a time, so a
// command's transaction holds the mount's commit from the moment it opens until the command
// ends; a "blind" command (the default) therefore runs outside any transaction until its first
// write to the files, reading the mount's committed state as any other process would, and opens
// its transaction there. Commands that only read (or sleep) never wait for one another or for a
// writing command; two writing commands overlap until the second one's first write. A
// "serializable" command opens its transaction at its start, as before, so that everything it
// reads is checked (or cannot change) until it commits.
//
// On a shared writer (`exclusive: false`, several shells in several processes on one workspace)
// a command's transaction is blind by default: the command runs once, and if another writer
// commits first its writes are published on the new state (or the command's exec() rejects with
// the error the first write that no longer applies gets there). `isolation: "serializable"` runs
// the whole command again instead when another writer changed what it read; only the last run's
// output is returned.
//
// Each exec() gets a fresh just-bash `Bash` whose fs is an adapter bound to that command (and,
// from its first write, to its transaction). just-bash already resets the shell state (cwd, variables, functions) for every
// exec(), so nothing is lost; in exchange, a call that outlives its command (a timed-out pipeline
// still awaiting a read) fails with ECANCELED instead of writing into the next command's commit.

import { AsyncLocalStorage } from "node:async_hooks";
import {
  Bash,
  getCommandNames,
  getJavaScriptCommandNames,
  getNetworkCommandNames,
  getPythonCommandNames,
  type BashOptions,
  type Command,
  type CustomCommand,
  type ExecOptions,
} from "just-bash";
import { FsError, resolveWithin, type FsErrorCode, type MountConfig, type S3CachedFs, type S3CachedFsManagerImpl, type Transaction } from "../core.ts";
import { AcceleratedJustBashFs, type CoreFilesystem, type WriteGate } from "./accelerated-just-bash-fs.ts";

/** How a command's writes are published. */
export type CommitMode = "per-command" | "per-write";

/**
 * How a command's commit meets other writers' commits (other processes' on a shared writer, and
 * the mount's other commands): "blind" (default) runs it once, holding the mount's commit only
 * from its first write; "serializable" holds it from its start, and runs again when another
 * process's commit changed what it read.
 */
export type CommandIsolation = "blind" | "serializable";

const isolations: readonly string[] = ["blind", "serializable"] satisfies CommandIsolation[];

function checkIsolation(isolation: unknown, syscall: string, what: string): CommandIsolation | undefined {
  if (isolation === undefined || isolations.includes(isolation as string)) return isolation as CommandIsolation | undefined;
  throw new FsError("EINVAL", syscall, { detail: `${what}isolation: expected "blind" or "serializable", got ${typeof isolation === "string" ? JSON.stringify(isolation) : String(isolation)}` });
}

/** A command running on a mount, in its own async context; `outer`: the command whose code started it (a custom command calling shell.exec()). */
interface RunningCommand {
  filesystem: S3CachedFs;
  /** Its transaction is open (or asked for): every other commit of the mount waits for the command to end. */
  committing: boolean;
  outer: RunningCommand | undefined;
}

const runningCommands = new AsyncLocalStorage<RunningCommand>();

/**
 * Per mount, the commands whose transaction is opening or open. A command that starts while one
 * is does not wait for it to catch up with the log's end: it reads the mount's state as it is.
 */
const openCommits = new WeakMap<S3CachedFs, number>();

function countCommit(filesystem: S3CachedFs, change: 1 | -1): void {
  const count = (openCommits.get(filesystem) ?? 0) + change;
  if (count === 0) openCommits.delete(filesystem);
  else openCommits.set(filesystem, count);
}

/**
 * EDEADLK when the calling code runs inside a command on `filesystem` whose transaction is open
 * (a custom command writing through shell.fs or running shell.exec() after the command wrote):
 * the write would wait for that transaction, which waits for the command, which waits for it.
 */
function checkOutsideOpenCommit(filesystem: S3CachedFs, syscall: string, path?: string): void {
  for (let command = runningCommands.getStore(); command !== undefined; command = command.outer) {
    if (command.filesystem !== filesystem || !command.committing) continue;
    throw new FsError("EDEADLK", syscall, {
      ...(path === undefined ? {} : { path }),
      detail: `${syscall} was called from inside a command whose commit is open on this filesystem, where it could only wait for that command to end; use the command's own ctx.fs and ctx.exec`,
    });
  }
}

/**
 * A command's transaction, opened at its first write (its adapter's gate) and published when the
 * command ends: a blind transaction of the mount whose body waits for the command's end.
 */
class CommandCommit {
  readonly #filesystem: S3CachedFs;
  readonly #running: RunningCommand;
  /** The command read the log's end as it started: its transaction starts from the mount's view, without reading it again. */
  readonly #caughtUp: boolean;
  /** The caller's signal: aborting it stops a wait for the commit to open (another command may hold the mount's for long). */
  readonly #signal: AbortSignal | undefined;
  readonly #end = Promise.withResolvers<void>();
  #opening: Promise<Transaction> | undefined;
  #published: Promise<void> | undefined;
  #ended = false;

  constructor(filesystem: S3CachedFs, running: RunningCommand, caughtUp: boolean, signal: AbortSignal | undefined) {
    this.#filesystem = filesystem;
    this.#running = running;
    this.#caughtUp = caughtUp;
    this.#signal = signal;
    this.#end.promise.catch(() => {}); // an abort before the body runs is seen by the body, not unhandled
  }

  readonly open: WriteGate = async (op, path) => unlessAborted(this.#open(op, path), this.#signal, op, path);

  #open(op: string, path: string): Promise<Transaction> {
    if (this.#opening !== undefined) return this.#opening;
    if (this.#ended) return Promise.reject(new FsError("ECANCELED", op, { path, detail: "the command that made this call has already ended" }));
    try {
      checkOutsideOpenCommit(this.#filesystem, op, path);
    } catch (error) {
      return Promise.reject(error);
    }
    // From the request on: the transaction may first wait for another command's, and a command
    // this one's code starts meanwhile would wait behind it.
    this.#running.committing = true;
    countCommit(this.#filesystem, 1);
    this.#opening = new Promise<Transaction>((resolve, reject) => {
      const body = async (tx: Transaction) => {
        resolve(tx);
        await this.#end.promise;
      };
      this.#published = this.#filesystem.transaction(body, { isolation: "blind", catchUp: !this.#caughtUp }).finally(() => {
        this.#running.committing = false;
        countCommit(this.#filesystem, -1);
      });
      this.#published.catch(reject); // it failed to open (a fenced or closed mount, the log's end unreadable): the write fails with it
    });
    return this.#opening;
  }

  /**
   * The command ended: publishes what it wrote (rejecting with the commit's own error), or with
   * `failure` nothing, at once: a transaction still waiting for another command's to end then
   * opens and ends empty, and nobody waits for it.
   */
  async close(failure?: { error: unknown }): Promise<void> {
    this.#ended = true;
    if (this.#published === undefined) return;
    if (failure === undefined) {
      this.#end.resolve();
      await this.#published;
    } else {
      this.#end.reject(failure.error);
      this.#published.catch(() => {});
    }
  }
}

/** `work`, or ECANCELED as soon as `signal` aborts (what `work` does then is left to its owner). */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, op: string, path: string): Promise<T> {
  if (signal === undefined) return work;
  const cancelled = () => new FsError("ECANCELED", op, { path, detail: "the command was aborted while its commit waited for another command's to end" });
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

interface ShellSettings extends Omit<BashOptions, "fs" | "files" | "cwd"> {
  /** The shell's working directory (default "/"); created if missing on a read-write mount. */
  cwd?: string;
  /** "per-command" (default): one commit per exec(); "per-write": no transaction, each write published on its own (consecutive ones may share a record). */
  commit?: CommitMode;
  /** Default time limit of each exec(), in ms (exit code 124 when it runs out). */
  timeoutMs?: number;
  /**
   * With `commit: "per-command"`: "blind" (default) or "serializable" (the command holds the
   * mount's commit from its start, and on a shared writer runs again, its earlier output
   * discarded, when another writer changed what it read).
   */
  isolation?: CommandIsolation;
}

export type AcceleratedJustBashShellOptions = ShellSettings &
  (
    | { /** A mounted core filesystem (the shell does not close it). */ filesystem: S3CachedFs; mount?: never; manager?: never }
    | { filesystem?: never; /** Mounted through `manager` (the shell unmounts it on close()). */ mount: MountConfig; manager: S3CachedFsManagerImpl }
  );

export interface ShellExecOptions extends Omit<ExecOptions, "signal"> {
  /** Aborting it rejects exec() with an AbortError, and nothing the command wrote is published. */
  signal?: AbortSignal;
  /** Time limit in ms: when it runs out the command stops and exec() resolves with exit code 124. */
  timeoutMs?: number;
  /** This command's isolation (default: the shell's). */
  isolation?: CommandIsolation;
}

export interface ShellResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** just-bash's own options the shell passes through to it (all but fs, files and cwd, which the shell decides). */
const bashOptionKeys = {
  env: true,
  executionLimits: true,
  executionLimitProfile: true,
  maxCallDepth: true,
  maxCommandCount: true,
  maxLoopIterations: true,
  fetch: true,
  network: true,
  python: true,
  javascript: true,
  commands: true,
  sleep: true,
  customCommands: true,
  logger: true,
  trace: true,
  defenseInDepth: true,
  coverage: true,
  processInfo: true,
} satisfies Record<keyof Omit<BashOptions, "fs" | "files" | "cwd">, true>;

/** Every shell option but where the files come from and the working directory: just-bash's own, commit and timeoutMs. */
export const shellSettingKeys: readonly string[] = [...Object.keys(bashOptionKeys), "commit", "timeoutMs", "isolation"];

/**
 * The keys of `options` that no shell option has, each as "<key>: unknown option" (`fs` and
 * `files` say why they are not taken), so a typo fails at once instead of being ignored.
 */
function unknownShellKeys(options: object, allowed: readonly string[], path = ""): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(options)) {
    if (allowed.includes(key)) continue;
    const reason =
      key === "fs" ? "not an option: the shell's files are the mounted filesystem" : key === "files"
          ? "not an option: write initial files through the filesystem, all in one commit with shell.fs.transaction(async (fs) => ...)"
          : "unknown option";
    problems.push(`${path}${key}: ${reason}`);
  }
  return problems;
}

/** Creates a shell over a mounted filesystem (or mounts one), with its working directory ready. */
export async function createAcceleratedJustBashShell(options: AcceleratedJustBashShellOptions): Promise<AcceleratedJustBashShell> {
  if (typeof options !== "object" || options === null) throw new FsError("EINVAL", "shell", { detail: "invalid shell options: expected an options object" });
  const unknown = unknownShellKeys(options, [...shellSettingKeys, "filesystem", "mount", "manager", "cwd"]);
  if (unknown.length > 0) throw new FsError("EINVAL", "shell", { detail: `invalid shell options: ${unknown.join("; ")}` });
  const { filesystem: given, mount, manager, cwd = "/", commit = "per-command", timeoutMs, isolation = "blind", ...bashOptions } = options;
  if (commit !== "per-command" && commit !== "per-write") {
    throw new FsError("EINVAL", "shell", { detail: `invalid shell options: commit: expected "per-command" or "per-write", got ${JSON.stringify(commit)}` });
  }
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new FsError("EINVAL", "shell", { detail: `invalid shell options: timeoutMs: expected a positive number of ms, got ${String(timeoutMs)}` });
  }
  checkIsolation(isolation, "shell", "invalid shell options: ");
  let filesystem: S3CachedFs;
  let owned = false;
  if (given !== undefined) {
    if (mount !== undefined || manager !== undefined) throw new FsError("EINVAL", "shell", { detail: "invalid shell options: give either filesystem, or mount and manager, not both" });
    filesystem = given;
  } else {
    if (mount === undefined || manager === undefined) throw new FsError("EINVAL", "shell", { detail: "invalid shell options: give a mounted filesystem, or a mount config and the manager to mount it with" });
    filesystem = await manager.mount(mount);
    owned = true;
  }
  const workingDirectory = resolveWithin("/", cwd);
  const shell = new AcceleratedJustBashShell(filesystem, { cwd: workingDirectory, commit, timeoutMs, isolation, bashOptions, owned });
  try {
    if (!(await shell.fs.exists(workingDirectory))) {
      if (filesystem.mode === "readonly") throw new FsError("ENOENT", "chdir", { path: workingDirectory, detail: "the working directory does not exist on this read-only mount" });
      await shell.fs.mkdir(workingDirectory, { recursive: true });
    }
  } catch (error) {
    if (owned) await filesystem.close().catch(() => {});
    throw error;
  }
  return shell;
}

export class AcceleratedJustBashShell {
  /** The core filesystem the shell's files live in. */
  readonly filesystem: S3CachedFs;
  /**
   * The files as just-bash sees them, outside any command: each write is its own commit. Code
   * running inside a command (a custom command) should use the `ctx.fs` it is given instead: once
   * the command has written, a write through this one (or a nested exec() that writes) fails
   * with EDEADLK, since it would wait for the command's own commit.
   */
  readonly fs: AcceleratedJustBashFs;
  readonly cwd: string;
  readonly commit: CommitMode;
  /** Each command's isolation unless its exec() says otherwise. */
  readonly isolation: CommandIsolation;
  readonly #timeoutMs: number | undefined;
  readonly #bashOptions: Omit<BashOptions, "fs" | "files" | "cwd">;
  readonly #customCommands: CustomCommand[];
  readonly #owned: boolean;

  constructor(
    filesystem: S3CachedFs,
    settings: {
      cwd: string;
      commit: CommitMode;
      timeoutMs: number | undefined;
      isolation?: CommandIsolation;
      bashOptions: Omit<BashOptions, "fs" | "files" | "cwd">;
      owned: boolean;
    },
  ) {
    this.filesystem = filesystem;
    this.cwd = settings.cwd;
    this.commit = settings.commit;
    this.isolation = settings.isolation ?? "blind";
    this.#timeoutMs = settings.timeoutMs;
    this.#owned = settings.owned;
    this.#customCommands = [...(settings.bashOptions.customCommands ?? [])];
    this.#bashOptions = {
      ...settings.bashOptions,
      // just-bash's defense-in-depth box cannot install its patches under Bun (it throws "critical
      // patches failed: Module._resolveFilename" for every configuration), so it is off there
      // unless the caller asks for it; every other protection (limits, no network, no host
      // access) stays at just-bash's defaults.
      defenseInDepth: settings.bashOptions.defenseInDepth ?? (typeof Bun === "undefined" ? true : false),
    };
    const byteLimit = this.#bashOptions.executionLimits?.maxFileSystemBytes;
    this.fs = new AcceleratedJustBashFs(filesystem, {
      commands: commandNames(this.#bashOptions, this.#customCommands),
      // just-bash applies maxFileSystemBytes to the InMemoryFs it makes itself; here the mount is
      // the filesystem, so the limit is the adapter's (only when the caller sets it: a bucket is not memory).
      ...(byteLimit === undefined ? {} : { maxTotalBytes: byteLimit }),
      ...(settings.bashOptions.processInfo === undefined ? {} : { processInfo: settings.bashOptions.processInfo }),
    }).over(filesystem, undefined, { gate: this.#outsideOpenCommit });
  }

  /** The gate of the adapters that write to the mount itself (shell.fs, per-write commands). */
  readonly #outsideOpenCommit: WriteGate = async (op, path) => {
    checkOutsideOpenCommit(this.filesystem, op, path);
    return undefined;
  };

  /**
   * Runs `command` in just-bash. Resolves with its output and exit status (non-zero included;
   * 124 when `timeoutMs` runs out); rejects only when the caller's signal aborts it or the
   * filesystem fails to publish its writes (then none of them is published). A serializable
   * command that runs again returns the last run's output only.
   */
  async exec(command: string, options: ShellExecOptions = {}): Promise<ShellResult> {
    const { signal, timeoutMs = this.#timeoutMs, cwd, isolation: given, ...execOptions } = options;
    if (signal?.aborted) throw abortError(signal);
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new FsError("EINVAL", "exec", { detail: `timeoutMs: expected a positive number of ms, got ${String(timeoutMs)}` });
    }
    const isolation = checkIsolation(given, "exec", "") ?? this.isolation;
    const workingDirectory = cwd === undefined ? this.cwd : resolveWithin(this.cwd, cwd);
    const timeout = new AbortController();
    const stop = signal === undefined ? timeout.signal : AbortSignal.any([signal, timeout.signal]);
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => timeout.abort(), timeoutMs);
    const run = async (target: CoreFilesystem, gate: WriteGate | undefined): Promise<ShellResult> => {
      // Each run of the command (a serializable one runs again after a conflict) has its own end:
      // calls left over from an earlier run fail, and never reach the next run's transaction.
      const runEnded = new AbortController();
      // Per write, a redirection's empty write joins the bytes written through it (one commit, not two).
      const view = this.fs.over(target, runEnded.signal, { joinRedirections: this.commit === "per-write", ...(gate === undefined ? {} : { gate }) });
      const bash = this.#newBash(view, timeoutMs);
      let result: ShellResult;
      try {
        const outcome = await bash.exec(command, { ...execOptions, cwd: workingDirectory, signal: stop });
        result = { stdout: outcome.stdout, stderr: outcome.stderr, exitCode: outcome.exitCode };
      } catch (error) {
        if (signal?.aborted) throw abortError(signal); // the caller's abort, whatever it made fail
        result = failedRedirection(error, workingDirectory);
      } finally {
        // What the view still holds is published before the command ends (or exec rejects).
        await view.flush().finally(() => runEnded.abort()); // calls still pending from this command fail rather than land later
      }
      if (signal?.aborted) throw abortError(signal); // thrown inside the transaction: nothing is published
      return result;
    };
    const running: RunningCommand = { filesystem: this.filesystem, committing: false, outer: runningCommands.getStore() };
    try {
      return await runningCommands.run(running, async () => {
        if (this.commit !== "per-command" || this.filesystem.mode !== "readwrite") return run(this.filesystem, this.#outsideOpenCommit);
        if (isolation === "serializable") return this.#serializable(run, running);
        return this.#blind(run, running, signal);
      });
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /**
   * A blind command: it catches up with the log's end (a shared writer, when no other command's
   * transaction is open, which it would otherwise wait for), runs on the mount's committed state,
   * and opens its transaction at its first write; the transaction is published when it ends.
   */
  async #blind(run: (target: CoreFilesystem, gate: WriteGate | undefined) => Promise<ShellResult>, running: RunningCommand, signal: AbortSignal | undefined): Promise<ShellResult> {
    // Catching up takes the mount's commit: while another command holds it, this one starts at once instead.
    const caughtUp = !openCommits.has(this.filesystem);
    if (caughtUp) await this.filesystem.refresh(); // an exclusive writer has no one to catch up with: no request
    const commit = new CommandCommit(this.filesystem, running, caughtUp, signal);
    let result: ShellResult;
    try {
      result = await run(this.filesystem, commit.open);
    } catch (error) {
      await commit.close({ error }); // nothing is published; the command's own error is the answer
      throw error;
    }
    await commit.close();
    return result;
  }

  /** A serializable command: its transaction opens at its start and holds the mount's commit until it ends (run again on conflict). */
  async #serializable(run: (target: CoreFilesystem, gate: WriteGate | undefined) => Promise<ShellResult>, running: RunningCommand): Promise<ShellResult> {
    checkOutsideOpenCommit(this.filesystem, "exec");
    countCommit(this.filesystem, 1);
    try {
      return await this.filesystem.transaction(async (tx) => {
        running.committing = true;
        try {
          return await run(tx, undefined);
        } finally {
          running.committing = false;
        }
      }, { isolation: "serializable" });
    } finally {
      countCommit(this.filesystem, -1);
    }
  }

  getCwd(): string {
    return this.cwd;
  }

  /** Adds a command to every later exec() (and its stub to /bin and /usr/bin). */
  registerCommand(command: Command): void {
    this.#customCommands.push(command);
    this.fs.addCommands([command.name]);
  }

  /** Closes the filesystem if the shell mounted it; a filesystem it was given stays open. */
  async close(): Promise<void> {
    if (this.#owned) await this.filesystem.close();
  }

  #newBash(fs: AcceleratedJustBashFs, timeoutMs: number | undefined): Bash {
    const limits = this.#bashOptions.executionLimits;
    // The deadline is also enforced by just-bash's own clock checks, so a busy loop that never
    // yields to the timer still stops (with exit code 124) when its time is up.
    const deadline = timeoutMs === undefined ? limits?.maxExecutionTimeMs : Math.min(timeoutMs, limits?.maxExecutionTimeMs ?? Number.POSITIVE_INFINITY);
    return new Bash({
      ...this.#bashOptions,
      ...(deadline === undefined ? {} : { executionLimits: { ...limits, maxExecutionTimeMs: deadline } }),
      customCommands: this.#customCommands,
      fs,
      cwd: this.cwd,
    });
  }
}

/** The commands just-bash registers for these options (its Bash constructor's rules). */
function commandNames(options: Omit<BashOptions, "fs" | "files" | "cwd">, customCommands: readonly CustomCommand[]): string[] {
  const names = options.commands === undefined ? getCommandNames() : getCommandNames().filter((name) => (options.commands as readonly string[]).includes(name));
  if (options.fetch || options.network) names.push(...getNetworkCommandNames());
  if (options.python === true) names.push(...getPythonCommandNames());
  if (options.javascript !== undefined && options.javascript !== false) names.push(...getJavaScriptCommandNames());
  names.push(...customCommands.map((command) => command.name));
  return names;
}

/** What bash prints for each errno (strerror), for a failed redirection. */
const strerror: Partial<Record<FsErrorCode, string>> = {
  ENOENT: "No such file or directory",
  ENOTDIR: "Not a directory",
  EISDIR: "Is a directory",
  EEXIST: "File exists",
  EROFS: "Read-only file system",
  EPERM: "Operation not permitted",
  ELOOP: "Too many levels of symbolic links",
  ENAMETOOLONG: "File name too long",
  EINVAL: "Invalid argument",
  ENOSPC: "No space left on device",
  EFBIG: "File too large",
};

/**
 * just-bash does not catch an error from the filesystem while it opens a redirection target
 * (`echo x > file/child` under a regular file, `> f` on a read-only mount): the error escapes
 * `Bash.exec` and the rest of the script never runs. Such an error is the command's failure, not
 * the transport's, so it becomes bash's message and exit status 1 (the script's earlier output is
 * lost with the exception). Anything else (i/o failure, the store refusing access, a fenced or
 * closed filesystem) is the transport's failure and rethrows.
 */
function failedRedirection(error: unknown, workingDirectory: string): ShellResult {
  // just-bash refuses a path with a NUL byte itself, and while it looks a command up along PATH
  // (a NUL in the caller's env.PATH) that error escapes too: the command is not found.
  if (!(error instanceof FsError) && error instanceof Error && error.message.startsWith("ENOENT: path contains null byte")) {
    return { stdout: "", stderr: `bash: ${error.message.replaceAll("\0", "\\0")}\n`, exitCode: 127 };
  }
  const description = error instanceof FsError ? strerror[error.code] : undefined;
  if (description === undefined || !(error instanceof FsError)) throw error;
  const path = error.path ?? "";
  const prefix = workingDirectory === "/" ? "/" : `${workingDirectory}/`;
  const shown = path.startsWith(prefix) && path.length > prefix.length ? path.slice(prefix.length) : path;
  return { stdout: "", stderr: `bash: ${shown}: ${description}\n`, exitCode: 1 };
}

function abortError(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if (reason instanceof DOMException && reason.name === "AbortError") return reason;
  return new DOMException("The operation was aborted.", "AbortError");
}
