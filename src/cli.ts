#!/usr/bin/env bun
// s3-bun-cached-fs: the operator's command line. Each run mounts the filesystem (read-only unless
// the command writes), does one thing, and closes it; the index and cache live in a temporary
// directory unless --cache-root keeps them between runs. Where the filesystem lives comes from
// flags and the usual AWS environment variables (credentials from the SDK's default chain), or
// --local for a LocalObjectStore directory.
//
// Exit status: 0 success; 1 the command failed (the message says why); 2 the command line is
// wrong; 3 fsck found problems (the filesystem is not sound); 75 an exclusive writer holds the lease
// (EX_TEMPFAIL: --no-wait, or the wait gave up); 141 stdout's reader went away
// (`| head`), quietly, as a shell reports a tool that SIGPIPE stopped.

import { constants, mkdtempSync, rmSync, readdirSync, lstatSync, readlinkSync, mkdirSync, symlinkSync, realpathSync, renameSync, unlinkSync } from "node:fs";
import { lutimes, open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { S3CachedFsManagerImpl } from "./manager.ts";
import { releaseHeldLeases } from "./commit/lease.ts";
import { FsError } from "./base/errors.ts";
import { localCopyError, removePartialFiles, replaceFile, temporarySibling } from "./base/local-files.ts";
import type { S3CachedFs } from "./fs.ts";
import type { FileStats } from "./fs-stats.ts";
import type { MountConfig } from "./base/options.ts";
import { LocalObjectStore } from "./stores/local-object-store.ts";
import { S3ObjectStore } from "./stores/s3-object-store.ts";
import type { ObjectStore, PutOptions, PutResult } from "./stores/object-store.ts";
import { CorruptObjectError, NotFoundError } from "./stores/store-errors.ts";
import { chunkPrefix, formatKey, packPrefix, walPrefix } from "./log/keys.ts";
import { ForwardingStore } from "./stores/forwarding-store.ts";
import { LocatedStore, normalizePrefix } from "./stores/located-store.ts";
import { defaultGraceMs, defaultRetentionMs, type GarbageCollectionOptions, type GarbageReport } from "./maintenance/garbage-collector.ts";
import type { FsckReport } from "./maintenance/fsck.ts";

const program = "s3-bun-cached-fs";

/**
 * 141 (128 + SIGPIPE): what a shell reports for a tool whose reader closed the pipe, as coreutils'
 * `cat` (killed by SIGPIPE) under `cat big | head -c 10`.
 */
const exitCodes = { ok: 0, failed: 1, usage: 2, unsound: 3, busy: 75, closedPipe: 141 } as const;

/** Whoever reads stdout stopped reading (`| head`): the command ends quietly, as Unix tools do. */
class StdoutClosed extends Error {
  constructor() {
    super("stdout was closed");
  }
}

function isClosedPipe(error: unknown): boolean {
  return error instanceof StdoutClosed || (error as NodeJS.ErrnoException | undefined)?.code === "EPIPE";
}

let stdoutClosed = false;

/** Writes to stdout; throws StdoutClosed once the reader has gone. */
function writeStdout(text: string | Uint8Array): void {
  if (stdoutClosed) throw new StdoutClosed();
  try {
    process.stdout.write(text);
  } catch (error) {
    if (!isClosedPipe(error)) throw error;
    stdoutClosed = true;
    throw new StdoutClosed();
  }
}

/** A mistake on the command line: exit 2, with a pointer to --help. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** A flag: its type, its one-letter form, and its line in --help (`value` names its argument). */
interface Flag {
  type: "string" | "boolean";
  short?: string;
  value?: string;
  help: string;
}
type OptionSpec = Record<string, Flag>;
type Values = Record<string, string | boolean | string[] | undefined>;

interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  progress: boolean;
  json: boolean;
}

interface Command {
  summary: string;
  usage: string;
  details?: string;
  /** How the filesystem is mounted for this command. */
  mount: "readonly" | "readwrite" | ((values: Values) => "readonly" | "readwrite");
  options?: OptionSpec;
  /** init: makes the filesystem, and is refused where one exists. */
  creates?: true;
  /** Checks the command line before anything is mounted (throws UsageError). */
  validate?(args: string[], values: Values): void;
  /** Runs the command; returns the exit status. */
  run(fs: S3CachedFs, args: string[], values: Values, io: Io): Promise<number>;
}

/** The flags every command takes; their help is globalHelp. */
export const globalOptions: Record<string, Omit<Flag, "help">> = {
  bucket: { type: "string" },
  prefix: { type: "string" },
  region: { type: "string" },
  endpoint: { type: "string" },
  "path-style": { type: "boolean" },
  local: { type: "string" },
  "cache-root": { type: "string" },
  "at-seq": { type: "string" },
  writer: { type: "string" },
  exclusive: { type: "boolean" },
  "lease-ttl": { type: "string" },
  json: { type: "boolean" },
  progress: { type: "boolean" },
  "no-progress": { type: "boolean" },
  wait: { type: "boolean" },
  "no-wait": { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

const globalHelp = `Where the filesystem lives:
  --bucket <name>        S3 bucket (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
                         AWS_SESSION_TOKEN, or the AWS SDK's default chain: profiles, roles)
  --prefix <prefix>      the filesystem's prefix in the bucket (or under --local) (default: none)
  --region <region>      default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1
  --endpoint <url>       for R2, Tigris, MinIO, Ceph RGW...; default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL
  --path-style           path-style URLs (default: on for endpoints given by IP address or localhost,
                         or when AWS_S3_FORCE_PATH_STYLE=true)
  --local <dir>          a LocalObjectStore directory instead of S3
Options of every command:
  --cache-root <dir>     keep the index and cache here between runs (default: a temporary directory)
  --at-seq <seq>         read the filesystem as it was at this seq (time travel; read commands only)
  --exclusive            write as the only writer: take the writer lease, fencing every other
                         writer (default: write beside any other writers, each commit in its
                         own log slot; only an exclusive writer's lease is waited for)
  --writer <mode>        if an exclusive writer holds the lease: wait (default), fail, or
                         takeover (implies --exclusive; a holder on this host whose process is
                         gone is taken over at once)
  --wait, --no-wait      wait for an exclusive writer's lease, saying for whom and how long
                         (default), or fail at once with EBUSY (exit 75); --no-wait is --writer fail
  --lease-ttl <duration> the writer lease's time to live (default 30s; implies --exclusive): how
                         long a successor elsewhere waits for it if this command dies holding it
  --json                 machine-readable output
  --progress, --no-progress   progress bars on stderr (default: only when stderr is a terminal)
  -h, --help             help`;

export const commands: Record<string, Command> = {
  init: {
    summary: "create a new, empty filesystem at --prefix (refused if one is there)",
    usage: "init",
    details: "Other commands never create a filesystem, except put and import given --create.",
    mount: "readwrite",
    creates: true,
    validate: (args) => atMost(args, 0, "init"),
    async run(fs, _args, _values, io) {
      const stats = fs.stats();
      io.stdout(io.json ? `${JSON.stringify({ store: stats.store, seq: stats.seq })}\n` : `created an empty filesystem at ${stats.store}\n`);
      return exitCodes.ok;
    },
  },

  ls: {
    summary: "list a directory",
    usage: "ls [path] [-l] [-R]",
    mount: "readonly",
    options: {
      long: { type: "boolean", short: "l", help: "type, permissions, size and modification time" },
      recursive: { type: "boolean", short: "R", help: "every entry below the path" },
    },
    validate: (args) => atMost(args, 1, "ls"),
    async run(fs, args, values, io) {
      const path = args[0] ?? "/";
      const stats = await fs.stat(path);
      const entries = !stats.isDirectory()
        ? [{ path: path.split("/").pop() ?? path, stats }]
        : values.recursive
          ? (await fs.walk(path)).map((entry) => ({ path: entry.path, stats: entry.stats }))
          : await Promise.all((await fs.readdir(path)).map(async (name) => ({ path: name, stats: await fs.lstat(joinVirtual(path, name)) })));
      if (io.json) {
        io.stdout(`${JSON.stringify(entries.map((entry) => ({ path: entry.path, ...describeStats(entry.stats) })))}\n`);
        return exitCodes.ok;
      }
      for (const entry of entries) {
        const name = entry.stats.isDirectory() ? `${entry.path}/` : entry.path;
        io.stdout(values.long ? `${typeLetter(entry.stats)}${permissions(entry.stats.mode)} ${String(entry.stats.size).padStart(12)} ${entry.stats.mtime.toISOString()} ${name}\n` : `${name}\n`);
      }
      return exitCodes.ok;
    },
  },

  cat: {
    summary: "write files' contents to stdout",
    usage: "cat <path>...",
    mount: "readonly",
    validate(args) {
      if (args.length === 0) throw new UsageError("cat needs at least one path", "cat");
    },
    async run(fs, args) {
      for (const path of args) await pipeToStdout(await fs.stream(path));
      return exitCodes.ok;
    },
  },

  put: {
    summary: "upload a local file (or stdin) to a path",
    usage: "put <local file | -> <path> [--mode <octal>] [--create]",
    details: "Missing parent directories are created. The file is durable in the store when the command exits 0.",
    mount: "readwrite",
    options: {
      mode: { type: "string", value: "<octal>", help: "permission bits of a new file (default 644)" },
      create: { type: "boolean", help: "make a new filesystem if none is there yet (without it a mistyped prefix is refused)" },
    },
    validate(args, values) {
      const [source, target] = args;
      if (source === undefined || target === undefined || args.length > 2) throw new UsageError("put needs a local file (or - for stdin) and a path", "put");
      if (values.mode !== undefined) parseMode(String(values.mode));
      if (source !== "-" && !lstatSync(source, { throwIfNoEntry: false })?.isFile()) throw new UsageError(`${source}: no such local file`, "put");
    },
    async run(fs, args, values, io) {
      const [source, target] = args as [string, string];
      const mode = values.mode === undefined ? undefined : parseMode(String(values.mode));
      const data = source === "-" ? Bun.stdin.stream() : Bun.file(source);
      const total = source === "-" ? undefined : Bun.file(source).size;
      const bar = progressBar(io, `put ${target}`, total);
      await fs.writeFile(target, data, { ...(mode === undefined ? {} : { mode }), onProgress: (bytes) => bar.update(bytes) });
      bar.done(total ?? (await fs.stat(target)).size);
      return exitCodes.ok;
    },
  },

  get: {
    summary: "download a file to a local file (or stdout)",
    usage: "get <path> [local file | -]",
    mount: "readonly",
    validate(args) {
      if (args.length < 1 || args.length > 2) throw new UsageError("get needs a path, and optionally a local file", "get");
    },
    async run(fs, args, _values, io) {
      const [source, target] = args as [string, string | undefined];
      if (target === undefined || target === "-") {
        await pipeToStdout(await fs.stream(source));
        return exitCodes.ok;
      }
      const size = (await fs.stat(source)).size;
      const bar = progressBar(io, `get ${source}`, size);
      await replaceFile(target, await fs.stream(source), (bytes) => bar.update(bytes)).catch((error: unknown) => {
        throw localCopyError(error, "get", source, `the local file ${target}`);
      });
      bar.done(size);
      return exitCodes.ok;
    },
  },

  stat: {
    summary: "show a path's metadata",
    usage: "stat <path>",
    mount: "readonly",
    validate(args) {
      if (args.length !== 1) throw new UsageError("stat needs one path", "stat");
    },
    async run(fs, args, _values, io) {
      const stats = await fs.lstat(args[0]!);
      const described = { path: args[0]!, ...describeStats(stats), ...(stats.isSymbolicLink() ? { target: await fs.readlink(args[0]!) } : {}) };
      if (io.json) io.stdout(`${JSON.stringify(described)}\n`);
      else for (const [key, value] of Object.entries(described)) io.stdout(`${key.padEnd(10)} ${value}\n`);
      return exitCodes.ok;
    },
  },

  du: {
    summary: "bytes and files used under a path (from the index: no download)",
    usage: "du [path] [-s] [--human]",
    mount: "readonly",
    options: {
      summarize: { type: "boolean", short: "s", help: "only the total" },
      human: { type: "boolean", short: "H", help: "sizes in KiB, MiB, GiB" },
    },
    validate: (args) => atMost(args, 1, "du"),
    async run(fs, args, values, io) {
      const path = args[0] ?? "/";
      const totals = new Map<string, { bytes: number; files: number }>();
      let all = { bytes: 0, files: 0 };
      const top = await fs.stat(path);
      if (!top.isDirectory()) all = { bytes: top.size, files: 1 };
      else {
        for (const entry of await fs.walk(path)) {
          if (!entry.stats.isFile()) continue;
          all.bytes += entry.stats.size;
          all.files++;
          const child = entry.path.split("/")[0]!;
          if (entry.path === child) continue; // a file directly in `path` has no subtotal
          const total = totals.get(child) ?? { bytes: 0, files: 0 };
          total.bytes += entry.stats.size;
          total.files++;
          totals.set(child, total);
        }
      }
      const size = (bytes: number) => (values.human ? humanBytes(bytes) : String(bytes));
      if (io.json) {
        io.stdout(`${JSON.stringify({ path, ...all, children: values.summarize ? undefined : Object.fromEntries(totals) })}\n`);
        return exitCodes.ok;
      }
      if (!values.summarize) for (const [child, total] of [...totals].sort()) io.stdout(`${size(total.bytes).padStart(12)} ${String(total.files).padStart(8)} files  ${joinVirtual(path, child)}\n`);
      io.stdout(`${size(all.bytes).padStart(12)} ${String(all.files).padStart(8)} files  ${path}\n`);
      return exitCodes.ok;
    },
  },

  find: {
    summary: "paths below a directory, by name (a glob) and type, from the index: no download",
    usage: "find [path] [--name <glob>] [--type f|d|l]",
    options: {
      name: { type: "string", value: "<glob>", help: "only names matching the glob (*, ?, [abc], {a,b}), as find -name" },
      type: { type: "string", value: "<f|d|l>", help: "only files (f), directories (d) or symbolic links (l)" },
    },
    mount: "readonly",
    validate(args, values) {
      atMost(args, 1, "find");
      if (values.type !== undefined && !["f", "d", "l"].includes(String(values.type))) throw new UsageError(`--type must be f, d or l, not ${JSON.stringify(values.type)}`, "find");
    },
    async run(fs, args, values, io) {
      const root = args[0] ?? "/";
      const glob = values.name === undefined ? undefined : new Bun.Glob(String(values.name));
      const top = await fs.lstat(root);
      const entries = [{ path: root, stats: top }, ...(top.isDirectory() ? (await fs.walk(root)).map((entry) => ({ path: joinVirtual(root, entry.path), stats: entry.stats })) : [])];
      const found = entries.filter(({ path, stats }) => {
        if (glob !== undefined && !glob.match(path.split("/").filter(Boolean).pop() ?? "/")) return false;
        return values.type === undefined || typeLetter(stats).replace("-", "f") === values.type;
      });
      if (io.json) io.stdout(`${JSON.stringify(found.map(({ path, stats }) => ({ path, ...describeStats(stats) })))}\n`);
      else for (const { path } of found) io.stdout(`${path}\n`);
      return exitCodes.ok;
    },
  },

  mkdir: {
    summary: "make directories, all in one commit",
    usage: "mkdir <path>... [-p] [--mode <octal>]",
    options: {
      parents: { type: "boolean", short: "p", help: "make missing parents too; an existing directory is no error" },
      mode: { type: "string", value: "<octal>", help: "permission bits of the new directories (default 755)" },
    },
    mount: "readwrite",
    validate(args, values) {
      if (args.length === 0) throw new UsageError("mkdir needs at least one path", "mkdir");
      if (values.mode !== undefined) parseMode(String(values.mode));
    },
    async run(fs, args, values) {
      const mode = values.mode === undefined ? undefined : parseMode(String(values.mode));
      await fs.transaction(async (tx) => {
        for (const path of args) await tx.mkdir(path, { recursive: values.parents === true, ...(mode === undefined ? {} : { mode }) });
      });
      return exitCodes.ok;
    },
  },

  rm: {
    summary: "remove files (and, with -r, directories), all in one commit",
    usage: "rm <path>... [-r] [-f] [--dry-run]",
    options: {
      recursive: { type: "boolean", short: "r", help: "remove directories and everything below them" },
      force: { type: "boolean", short: "f", help: "a missing path is no error" },
      "dry-run": { type: "boolean", short: "n", help: "list what would be removed, and remove nothing (mounts read-only)" },
      verbose: { type: "boolean", short: "v", help: "list what is removed" },
    },
    mount: (values) => (values["dry-run"] ? "readonly" : "readwrite"),
    validate(args) {
      if (args.length === 0) throw new UsageError("rm needs at least one path", "rm");
    },
    async run(fs, args, values, io) {
      const removed: string[] = [];
      for (const path of args) {
        const stats = await fs.lstat(path).catch((error: unknown) => {
          if (values.force && error instanceof FsError && error.code === "ENOENT") return undefined;
          throw error;
        });
        if (stats === undefined) continue;
        // A dry run refuses what the real one would: the root cannot go.
        if (stats.isDirectory() && (await fs.realpath(path)) === "/") throw new FsError("EPERM", "rm", { path, detail: "the root directory cannot be removed" });
        if (stats.isDirectory() && !values.recursive) throw new FsError("EISDIR", "rm", { path, detail: "is a directory (give -r to remove it and everything below it)" });
        removed.push(path);
        if (stats.isDirectory()) for (const entry of await fs.walk(path)) removed.push(joinVirtual(path, entry.path));
      }
      if (!values["dry-run"]) {
        await fs.transaction(async (tx) => {
          for (const path of args) await tx.rm(path, { recursive: values.recursive === true, force: values.force === true });
        });
      }
      if (io.json) io.stdout(`${JSON.stringify({ dryRun: values["dry-run"] === true, removed })}\n`);
      else if (values["dry-run"]) for (const path of removed) io.stdout(`would remove ${path}\n`);
      else if (values.verbose) for (const path of removed) io.stdout(`removed ${path}\n`);
      return exitCodes.ok;
    },
  },

  mv: {
    summary: "move or rename paths (into a directory, when the last path is one), in one commit; no bytes move",
    usage: "mv <from>... <to> [-n]",
    options: { "no-clobber": { type: "boolean", short: "n", help: "never replace an existing target (skipped instead)" } },
    mount: "readwrite",
    validate(args) {
      if (args.length < 2) throw new UsageError("mv needs a path to move and where to", "mv");
    },
    async run(fs, args, values) {
      const moves = await targets(fs, "rename", args, values["no-clobber"] === true);
      await fs.transaction(async (tx) => {
        for (const [from, to] of moves) await tx.rename(from, to);
      });
      return exitCodes.ok;
    },
  },

  cp: {
    summary: "copy files (and, with -r, directories), in one commit; no bytes move, the copies share them",
    usage: "cp <from>... <to> [-r] [-n]",
    options: {
      recursive: { type: "boolean", short: "r", help: "copy directories and everything below them" },
      "no-clobber": { type: "boolean", short: "n", help: "never replace an existing target (skipped instead)" },
    },
    mount: "readwrite",
    validate(args) {
      if (args.length < 2) throw new UsageError("cp needs a path to copy and where to", "cp");
    },
    async run(fs, args, values) {
      const copies = await targets(fs, "cp", args, values["no-clobber"] === true);
      await fs.transaction(async (tx) => {
        for (const [from, to] of copies) {
          if (!values.recursive && (await fs.lstat(from)).isDirectory()) throw new FsError("EISDIR", "cp", { path: from, detail: "is a directory (give -r to copy it and everything below it)" });
          await tx.cp(from, to, { recursive: values.recursive === true });
        }
      });
      return exitCodes.ok;
    },
  },

  ln: {
    summary: "make a hard link (another name of a file), or with -s a symbolic link pointing at a target",
    usage: "ln [-s] <target> <path>",
    options: { symbolic: { type: "boolean", short: "s", help: "a symbolic link instead of a hard link" } },
    mount: "readwrite",
    validate(args, values) {
      if (args.length !== 2) throw new UsageError(`ln${values.symbolic ? " -s" : ""} needs a target and the link's path`, "ln");
    },
    async run(fs, args, values) {
      if (values.symbolic) await fs.symlink(args[0]!, args[1]!);
      else await fs.link(args[0]!, args[1]!);
      return exitCodes.ok;
    },
  },

  chmod: {
    summary: "set permission bits, all in one commit",
    usage: "chmod <octal mode> <path>... [-R]",
    options: { recursive: { type: "boolean", short: "R", help: "every entry below each directory too (symbolic links are left alone)" } },
    mount: "readwrite",
    validate(args) {
      if (args.length < 2) throw new UsageError("chmod needs a mode (octal, such as 644) and at least one path", "chmod");
      parseMode(args[0]!, "chmod's mode");
    },
    async run(fs, args, values) {
      const mode = parseMode(args[0]!, "chmod's mode");
      const paths: string[] = [];
      for (const path of args.slice(1)) {
        paths.push(path);
        if (values.recursive && (await fs.stat(path)).isDirectory()) for (const entry of await fs.walk(path)) if (!entry.stats.isSymbolicLink()) paths.push(joinVirtual(path, entry.path));
      }
      await fs.transaction(async (tx) => {
        for (const path of paths) await tx.chmod(path, mode);
      });
      return exitCodes.ok;
    },
  },

  log: {
    summary: "commit history, newest first",
    usage: "log [--limit <n>]",
    details: "A commit garbage collection no longer retains is marked: --at-seq cannot mount it, and its record goes once the grace period has passed.",
    mount: "readonly",
    options: { limit: { type: "string", short: "n", value: "<n>", help: "at most this many commits (default 20)" } },
    validate(args, values) {
      atMost(args, 0, "log");
      if (values.limit !== undefined) positiveInteger(String(values.limit), "--limit");
    },
    async run(fs, _args, values, io) {
      const limit = values.limit === undefined ? 20 : positiveInteger(String(values.limit), "--limit");
      const entries = await fs.history({ limit });
      if (io.json) {
        io.stdout(`${JSON.stringify(entries)}\n`);
        return exitCodes.ok;
      }
      for (const entry of entries) {
        const kinds = Object.entries(entry.kinds)
          .map(([kind, count]) => `${kind}${count === 1 ? "" : ` x${count}`}`)
          .join(", ");
        const paths = entry.paths.length === 0 ? "" : `  ${entry.paths.join(" ")}${entry.operations > entry.paths.length ? " ..." : ""}`;
        const gone = entry.retained ? "" : "  (not retained: --at-seq cannot mount it; gc removes it)";
        io.stdout(`${String(entry.seq).padStart(8)}  ${new Date(entry.time).toISOString()}  epoch ${entry.epoch}  ${entry.writer}  ${kinds}${paths}${gone}\n`);
      }
      return exitCodes.ok;
    },
  },

  snapshot: {
    summary: "write a snapshot of the namespace now (cold mounts start there)",
    usage: "snapshot",
    mount: "readwrite",
    validate: (args) => atMost(args, 0, "snapshot"),
    async run(fs, _args, _values, io) {
      const seq = await fs.snapshot();
      io.stdout(io.json ? `${JSON.stringify({ snapshot: seq })}\n` : `snapshot at seq ${seq}\n`);
      return exitCodes.ok;
    },
  },

  gc: {
    summary: "garbage collection and compaction (a dry run unless --delete)",
    usage: "gc [--delete] [--retention <duration>] [--grace <duration>] [--no-compact] [--compact-below <fraction>] [--verbose]",
    details: `Deletes only objects that nothing in the retention window names and that are older than the
grace period. Without --delete it only reports (mounted read-only). With --delete it writes
beside the other writers: it takes the collector lease (one collection at a time; another is
EBUSY) and publishes a collect record, which makes writers store again any data they began
uploading before it; a collection that then stops deletes nothing (with --exclusive it is the
only writer instead, and publishes the epoch record every exclusive writer does). Durations: 90s, 30m,
24h, 7d, 500ms, or milliseconds. Defaults: --retention ${defaultRetentionMs / 3_600_000}h, --grace ${defaultGraceMs / 3_600_000}h.`,
    mount: (values) => (values.delete ? "readwrite" : "readonly"),
    options: {
      delete: { type: "boolean", help: "delete (and compact) for real; mounts read-write and takes the collector lease" },
      retention: { type: "string", value: "<duration>", help: "every state this recent stays readable (readers, --at-seq, forks)" },
      grace: { type: "string", value: "<duration>", help: "objects younger than this are never deleted (uploads still in flight)" },
      "no-compact": { type: "boolean", help: "do not rewrite packs with little live data" },
      "compact-below": { type: "string", value: "<f>", help: "rewrite packs whose live fraction is below f (default 0.5)" },
      verbose: { type: "boolean", short: "v", help: "list every object deleted (or that would be)" },
    },
    validate(args, values) {
      atMost(args, 0, "gc");
      gcOptions(values);
    },
    async run(fs, _args, values, io) {
      const report = await fs.collectGarbage(gcOptions(values));
      if (io.json) io.stdout(`${JSON.stringify(report)}\n`);
      else printGarbageReport(report, io, values.verbose === true);
      return exitCodes.ok;
    },
  },

  fsck: {
    summary: "check that every referenced object exists and matches its checksum; report orphans",
    usage: "fsck [--quick] [--repair] [--verbose]",
    details: `Exit status 0 when the filesystem is sound, 3 when problems were found (or it cannot be
mounted because an object it needs is damaged). --quick checks existence only. --repair builds
each damaged or missing snapshot again from an older one and the log, rewrites a damaged head by
compare-and-swap (after a snapshot of the current state), deletes a damaged snapshot that cannot
be rebuilt once the head retains only newer states, and checks again; missing or damaged records
and data stay. It writes beside other writers (they go on) unless --exclusive.`,
    mount: (values) => (values.repair ? "readwrite" : "readonly"),
    options: {
      quick: { type: "boolean", help: "check that objects exist, without reading their bytes" },
      repair: { type: "boolean", help: "rebuild damaged snapshots from the log, rewrite a damaged head; mounts read-write beside other writers (--exclusive: as the only writer)" },
      verbose: { type: "boolean", short: "v", help: "list every orphan" },
    },
    validate: (args) => atMost(args, 0, "fsck"),
    async run(fs, _args, values, io) {
      const report = await fs.fsck({ verifyData: !values.quick, repair: values.repair === true });
      if (!io.json) for (const repair of report.repairs ?? []) io.stdout(`repaired: ${repair}\n`);
      if (io.json) io.stdout(`${JSON.stringify(report)}\n`);
      else printFsckReport(report, io, values.verbose === true);
      return report.sound ? exitCodes.ok : exitCodes.unsound;
    },
  },

  import: {
    summary: "copy a local directory into the filesystem, as one commit",
    usage: "import <local dir> [path] [--create] [--delete] [--dry-run]",
    details:
      "Directories, files and symbolic links are copied under path (default /) with their permission bits and modification times (a link's own times), as cp -a does, and path takes the local directory's own (as rsync -a src/ path does); links stay links, never followed. A FIFO, socket or device is skipped with a warning. A file whose size and modification time already match (rsync's quick check) is not uploaded again. With --delete, what is under path but not in the local directory is removed. All of it is published as one commit, or nothing is.",
    mount: (values) => (values["dry-run"] ? "readonly" : "readwrite"),
    options: {
      create: { type: "boolean", help: "make a new filesystem if none is there yet (without it a mistyped prefix is refused)" },
      delete: { type: "boolean", help: "also remove what is under path but not in the local directory (as rsync --delete), in the same commit" },
      "dry-run": { type: "boolean", short: "n", help: "list the files that would be copied and the paths that would be removed, and change nothing (mounts read-only)" },
    },
    validate(args) {
      if (args.length < 1 || args.length > 2) throw new UsageError("import needs a local directory, and optionally a path", "import");
      if (!lstatSync(resolve(args[0]!), { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${args[0]}: not a local directory`, "import");
    },
    async run(fs, args, values, io) {
      const [source, target = "/"] = args as [string, string | undefined];
      const root = resolve(source);
      const { entries, skipped } = walkLocal(root);
      for (const entry of skipped) io.stderr(`import: skipped ${entry.absolute}: ${entry.why}\n`);
      // What --delete keeps, and whether each is a directory: every local entry, the skipped ones
      // too (nothing is removed for being uncopyable).
      const present = new Map<string, boolean>([
        ...entries.map((entry): [string, boolean] => [entry.relative, entry.kind === "directory"]),
        ...skipped.map((entry): [string, boolean] => [relative(root, entry.absolute).split("\\").join("/"), false]),
      ]);
      if (values["dry-run"]) {
        const targetStats = await fs.lstat(target).catch((error: unknown) => {
          if (error instanceof FsError && error.code === "ENOENT") return undefined;
          throw error;
        });
        const copy: string[] = [];
        for (const entry of entries) {
          if (entry.kind !== "file") continue;
          const path = joinVirtual(target, entry.relative);
          const found = targetStats?.isDirectory() ? await fs.lstat(path).catch((error: unknown) => {
            if (error instanceof FsError && (error.code === "ENOENT" || error.code === "ENOTDIR")) return undefined;
            throw error;
          }) : undefined;
          if (!(found?.isFile() && found.size === entry.size && Math.trunc(found.mtimeMs) === Math.trunc(entry.mtimeMs))) copy.push(path);
        }
        const remove = values.delete && targetStats?.isDirectory() ? await extraneousPaths(fs, target, present) : [];
        if (io.json) io.stdout(`${JSON.stringify({ dryRun: true, copy, remove })}\n`);
        else {
          for (const path of copy) io.stdout(`would copy ${path}\n`);
          for (const path of remove) io.stdout(`would remove ${path}\n`);
        }
        return exitCodes.ok;
      }
      const total = entries.reduce((sum, entry) => sum + entry.size, 0);
      const bar = progressBar(io, "import", total, entries.filter((entry) => entry.kind === "file").length);
      let done = 0;
      let files = 0;
      let unchanged = 0;
      let copied = 0;
      let removed: string[] = [];
      await fs.transaction(async (tx) => {
        await tx.mkdir(target, { recursive: true });
        if (values.delete) {
          removed = await extraneousPaths(tx, target, present);
          for (const path of removed) await tx.rm(path, { recursive: true });
        }
        const existing = async (path: string) => tx.lstat(path).catch((error: unknown) => {
          if (error instanceof FsError && error.code === "ENOENT") return undefined;
          throw error;
        });
        for (const entry of entries) {
          const path = joinVirtual(target, entry.relative);
          const found = await existing(path);
          if (entry.kind === "directory") {
            if (found === undefined) await tx.mkdir(path, { mode: entry.mode });
            else if (!found.isDirectory()) throw new FsError("EEXIST", "import", { path, detail: `the filesystem has a ${found.isSymbolicLink() ? "symbolic link" : "file"} where the local source has a directory` });
            else if ((found.mode & 0o7777) !== entry.mode) await tx.chmod(path, entry.mode);
          } else if (entry.kind === "symlink") {
            const link = readlinkSync(entry.absolute);
            if (!(found?.isSymbolicLink() && (await tx.readlink(path)) === link)) {
              if (found?.isDirectory()) throw new FsError("EEXIST", "import", { path, detail: "the filesystem has a directory where the local source has a symbolic link" });
              if (found !== undefined) await tx.rm(path);
              await tx.symlink(link, path);
            } else if (Math.trunc(found.mtimeMs) === Math.trunc(entry.mtimeMs)) continue;
            await tx.lutimes(path, new Date(entry.atimeMs), new Date(entry.mtimeMs)); // the link's own, as cp -a keeps them
          } else {
            const before = done;
            if (found?.isFile() && found.size === entry.size && Math.trunc(found.mtimeMs) === Math.trunc(entry.mtimeMs)) {
              // rsync's quick check: same size and modification time, so the bytes are not sent again.
              if ((found.mode & 0o7777) !== entry.mode) await tx.chmod(path, entry.mode);
              unchanged++;
            } else {
              if (found?.isDirectory()) throw new FsError("EISDIR", "import", { path, detail: "the filesystem has a directory where the local source has a file" });
              if (found?.isSymbolicLink()) await tx.rm(path); // replaced, never written through
              // Opened without following a link: a file swapped for a link since the walk is refused (ELOOP).
              const handle = await open(entry.absolute, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
              try {
                const opened = await handle.stat();
                if (!opened.isFile()) throw new FsError("EINVAL", "import", { path, detail: `${entry.absolute} is no longer a regular file` });
                await tx.writeFile(path, Bun.file(handle.fd), { mode: entry.mode, onProgress: (bytes) => bar.update(before + bytes, files) });
                entry.mtimeMs = opened.mtimeMs; // the time of the bytes read, should the file have changed since the walk
                entry.atimeMs = opened.atimeMs;
              } finally {
                await handle.close();
              }
              if (found !== undefined && !found.isSymbolicLink() && (found.mode & 0o7777) !== entry.mode) await tx.chmod(path, entry.mode); // an existing file keeps its own mode otherwise
              await tx.utimes(path, new Date(entry.atimeMs), new Date(entry.mtimeMs));
              copied += entry.size;
            }
            done += entry.size;
            files++;
            bar.update(done, files, unchanged);
          }
        }
        // Directories' times last, deepest first: adding their entries above changed them.
        for (const entry of entries.toReversed()) {
          if (entry.kind !== "directory") continue;
          const path = joinVirtual(target, entry.relative);
          if (Math.trunc((await tx.lstat(path)).mtimeMs) !== Math.trunc(entry.mtimeMs)) await tx.utimes(path, new Date(entry.atimeMs), new Date(entry.mtimeMs));
        }
        // The target itself takes the local directory's mode and times, as rsync -a src/ target does.
        const top = lstatSync(root);
        const targetStats = await tx.lstat(target);
        if ((targetStats.mode & 0o7777) !== (top.mode & 0o7777)) await tx.chmod(target, top.mode & 0o7777);
        if (Math.trunc(targetStats.mtimeMs) !== Math.trunc(top.mtimeMs)) await tx.utimes(target, top.atime, top.mtime);
      });
      bar.done(total, files, unchanged);
      const summary = { files: files - unchanged, bytes: copied, unchanged, skipped: skipped.length, removed: removed.length, seq: fs.stats().seq };
      if (io.json) io.stdout(`${JSON.stringify({ ...summary, requests: requestCounts(fs) })}\n`);
      else io.stderr(`imported ${summary.files} files (${humanBytes(copied)}) into ${target} at seq ${summary.seq}; ${unchanged} unchanged${removed.length === 0 ? "" : `, ${removed.length} removed`}${skipped.length === 0 ? "" : `, ${skipped.length} skipped (not a file, directory or symbolic link)`}\n`);
      return exitCodes.ok;
    },
  },

  export: {
    summary: "copy a directory of the filesystem into a local directory",
    usage: "export <path> <local dir> [--delete] [--dry-run]",
    details:
      "Directories, files and symbolic links below path are written under the local directory (created if missing) with their permission bits and modification times (a link's own times), as cp -a does, and the local directory takes path's own; links stay links. A local file whose size and modification time already match (rsync's quick check) is not written again; every byte written is verified against its checksum first. With --delete, what is in the local directory but not under path is removed (links removed, never followed).",
    mount: "readonly",
    options: {
      delete: { type: "boolean", help: "also remove what is in the local directory but not under path (as rsync --delete)" },
      "dry-run": { type: "boolean", short: "n", help: "list the files that would be written and the local entries that would be removed, and write nothing" },
    },
    validate(args) {
      if (args.length !== 2) throw new UsageError("export needs a path and a local directory", "export");
    },
    async run(fs, args, values, io) {
      const [source, target] = args as [string, string];
      const top = await fs.stat(source);
      if (!top.isDirectory()) throw new FsError("ENOTDIR", "export", { path: source });
      const entries = await fs.walk(source);
      const files = entries.filter((entry) => entry.stats.isFile());
      const total = files.reduce((sum, entry) => sum + entry.stats.size, 0);
      const wanted = new Map(entries.map((entry) => [entry.path, entry.stats.isDirectory()]));
      if (values["dry-run"]) {
        const local = lstatSync(resolve(target), { throwIfNoEntry: false })?.isDirectory() ? realpathSync(resolve(target)) : undefined;
        const write: string[] = [];
        for (const entry of files) {
          const found = local === undefined ? undefined : lstatSync(join(local, entry.path), { throwIfNoEntry: false });
          if (!(found?.isFile() && found.size === entry.stats.size && Math.trunc(found.mtimeMs) === Math.trunc(entry.stats.mtimeMs))) write.push(joinVirtual(source, entry.path));
        }
        const remove = values.delete && local !== undefined ? extraneousLocal(local, wanted) : [];
        if (io.json) io.stdout(`${JSON.stringify({ dryRun: true, write, remove })}\n`);
        else {
          for (const path of write) io.stdout(`would write ${path}\n`);
          for (const path of remove) io.stdout(`would remove ${path}\n`);
        }
        return exitCodes.ok;
      }
      mkdirSync(resolve(target), { recursive: true });
      const root = realpathSync(resolve(target)); // the root itself may be reached through links the user chose
      // First, so that an entry of the other kind (a local file where a directory goes) is out of the way.
      const removed = values.delete ? extraneousLocal(root, wanted) : [];
      for (const local of removed) {
        try {
          rmSync(local, { recursive: true, force: true }); // a link is removed, never followed
        } catch (error) {
          throw localCopyError(error, "export", source, `the local ${local}`);
        }
      }
      const bar = progressBar(io, "export", total, files.length);
      let done = 0;
      let count = 0;
      let unchanged = 0;
      let written = 0;
      const directories: { local: string; path: string; stats: FileStats }[] = [];
      for (const entry of entries) {
        const parts = entry.path.split("/");
        if (parts.some((part) => part === "" || part === "." || part === "..")) throw new FsError("EINVAL", "export", { path: entry.path, detail: "escapes the target directory" });
        const path = joinVirtual(source, entry.path);
        const directory = localDirectory(root, parts.slice(0, -1), path);
        const local = join(directory, parts.at(-1)!);
        if (entry.stats.isDirectory()) {
          localDirectory(root, parts, path);
          await setLocalMetadata(local, path, { mode: (entry.stats.mode & 0o7777) | 0o700 }); // writable until its entries are in; its own mode is set last
          directories.push({ local, path, stats: entry.stats });
        } else if (entry.stats.isSymbolicLink()) {
          const link = await fs.readlink(path);
          const found = lstatSync(local, { throwIfNoEntry: false });
          if (!(found?.isSymbolicLink() && readlinkSync(local) === link)) {
            const temporary = temporarySibling(local);
            symlinkSync(link, temporary);
            try {
              renameSync(temporary, local); // replaces a file or link there, never follows it
            } catch (error) {
              rmSync(temporary, { force: true });
              throw localCopyError(error, "export", path, `the local link ${local}`);
            }
          } else if (Math.trunc(found.mtimeMs) === Math.trunc(entry.stats.mtimeMs)) continue;
          // The link's own times, as cp -a keeps them (lutimes never follows the link).
          await lutimes(local, entry.stats.atime, entry.stats.mtime).catch((error: unknown) => {
            throw localCopyError(error, "export", path, `the local link ${local}`);
          });
        } else {
          const before = done;
          const found = lstatSync(local, { throwIfNoEntry: false });
          if (found?.isFile() && found.size === entry.stats.size && Math.trunc(found.mtimeMs) === Math.trunc(entry.stats.mtimeMs)) {
            unchanged++; // rsync's quick check: same size and modification time, so the bytes are not written again
          } else {
            await replaceFile(local, await fs.stream(path), (bytes) => bar.update(before + bytes, count, unchanged)).catch((error: unknown) => {
              throw localCopyError(error, "export", path, `the local file ${local}`);
            });
            written += entry.stats.size;
          }
          await setLocalMetadata(local, path, { mode: entry.stats.mode & 0o7777, atime: entry.stats.atime, mtime: entry.stats.mtime });
          done += entry.stats.size;
          count++;
          bar.update(done, count, unchanged);
        }
      }
      // Directories last, deepest first: writing their entries changed their times, and a read-only one had to stay writable.
      for (const { local, path, stats } of directories.toReversed()) await setLocalMetadata(local, path, { mode: stats.mode & 0o7777, atime: stats.atime, mtime: stats.mtime });
      // The local directory itself takes path's mode and times, as cp -a path/. dir does.
      await setLocalMetadata(root, source, { mode: top.mode & 0o7777, atime: top.atime, mtime: top.mtime });
      bar.done(total, count, unchanged);
      const summary = { files: count - unchanged, bytes: written, unchanged, removed: removed.length };
      if (io.json) io.stdout(`${JSON.stringify(summary)}\n`);
      else io.stderr(`exported ${summary.files} files (${humanBytes(written)}) to ${root}; ${unchanged} unchanged${removed.length === 0 ? "" : `, ${removed.length} removed`}\n`);
      return exitCodes.ok;
    },
  },

  stats: {
    summary: "the filesystem's size, position and retention, and what this run cost",
    usage: "stats",
    mount: "readonly",
    validate: (args) => atMost(args, 0, "stats"),
    async run(fs, _args, _values, io) {
      const history = await fs.history({ limit: 1 });
      const stats = fs.stats();
      const summary = {
        store: stats.store,
        seq: stats.seq,
        epoch: stats.epoch,
        lastCommit: history[0] === undefined ? undefined : new Date(history[0].time).toISOString(),
        files: stats.files,
        requests: Object.fromEntries(Object.entries(stats.requests).map(([kind, counts]) => [kind, counts.requests])),
        bytesIn: stats.requests.total.bytesIn,
      };
      if (io.json) io.stdout(`${JSON.stringify(summary)}\n`);
      else {
        io.stdout(`store        ${summary.store}\n`);
        io.stdout(`seq          ${summary.seq} (epoch ${summary.epoch})${summary.lastCommit === undefined ? "" : `, last commit ${summary.lastCommit}`}\n`);
        io.stdout(`files        ${stats.files.files} files, ${stats.files.directories} directories, ${stats.files.symlinks} symlinks, ${humanBytes(stats.files.bytes)}\n`);
        io.stdout(`this run     ${stats.requests.total.requests} requests (${Object.entries(summary.requests).filter(([kind, count]) => kind !== "total" && count > 0).map(([kind, count]) => `${count} ${kind.toUpperCase()}`).join(", ")}), ${humanBytes(summary.bytesIn)} in\n`);
      }
      return exitCodes.ok;
    },
  },

  fork: {
    summary: "fork the filesystem (as it is, or --at-seq) into a new prefix of the same bucket, copying no bytes",
    usage: "fork <new prefix>",
    mount: "readonly",
    validate(args) {
      if (args.length !== 1) throw new UsageError("fork needs the new filesystem's prefix", "fork");
    },
    async run(fs, args, _values, io) {
      const result = await fs.fork({ prefix: args[0]! });
      io.stdout(io.json ? `${JSON.stringify(result)}\n` : `forked ${result.parent.prefix || "(root)"} at seq ${result.seq} into ${result.prefix} (${result.files} files, filesystem ${result.fsId})\n`);
      return exitCodes.ok;
    },
  },
};

/** One line per flag: "  -l, --long <value>     what it does". */
function flagHelp(options: OptionSpec): string {
  return Object.entries(options)
    .map(([name, flag]) => {
      const form = `${flag.short === undefined ? "" : `-${flag.short}, `}--${name}${flag.value === undefined ? "" : ` ${flag.value}`}`;
      return `  ${form.padEnd(22)} ${flag.help}`;
    })
    .join("\n");
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return `${program}: an S3-backed filesystem, from the command line

Usage: ${program} <command> [options] [arguments]

Commands:
${Object.entries(commands)
  .map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`)
  .join("\n")}

${globalHelp}

Exit status: 0 success, 1 failure, 2 bad command line, 3 fsck found problems, 75 an exclusive
writer holds the lease (--no-wait, or waited too long),
141 the reader of stdout went away (| head), as for any tool stopped by SIGPIPE.
Run '${program} <command> --help' for a command's options.
`;
}

function commandHelp(command: Command): string {
  const mode = typeof command.mount === "function" ? (command.options?.["dry-run"] !== undefined ? "read-write, or read-only with --dry-run" : `read-only, or read-write with ${command.options?.repair === undefined ? "--delete" : "--repair"}`) : command.mount === "readonly" ? "read-only" : "read-write";
  return `${program} ${command.usage}

${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}. Mounts ${mode}.
${command.details === undefined ? "" : `\n${command.details}\n`}${command.options === undefined ? "" : `\nOptions:\n${flagHelp(command.options)}\n`}
${globalHelp}
`;
}

/** Runs the command line `argv` (without the program); returns the exit status. */
export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const io: Io = {
    stdout: writeStdout,
    stderr: (text) => void process.stderr.write(text),
    progress: false,
    json: false,
  };
  // A pipe closed while a write was under way reports here rather than at the write.
  process.stdout.on("error", (error) => {
    if (!isClosedPipe(error)) throw error;
    stdoutClosed = true;
  });
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" ? rest[0] : undefined;
    const command = topic === undefined ? undefined : commands[topic];
    if (topic !== undefined && command === undefined) {
      io.stderr(`${program}: unknown command ${JSON.stringify(topic)}\n`);
      return exitCodes.usage;
    }
    io.stdout(command === undefined ? mainHelp() : commandHelp(command));
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  if (name === "--version") {
    io.stdout(`${(await import("../package.json")).version}\n`);
    return exitCodes.ok;
  }
  const command = commands[name];
  if (command === undefined) {
    const nearest = nearestName(name, Object.keys(commands));
    io.stderr(`${program}: unknown command ${JSON.stringify(name)}${nearest === undefined ? "" : ` (did you mean ${nearest}?)`}; run '${program} --help' for the list\n`);
    return exitCodes.usage;
  }
  let cacheRoot: string | undefined;
  let temporary = false;
  let stopOnSignals: (() => void) | undefined;
  try {
    const parsed = parseCommandLine(name, command, rest);
    const values = parsed.values as Values;
    if (values.help) {
      io.stdout(commandHelp(command));
      return exitCodes.ok;
    }
    io.json = values.json === true;
    io.progress = values["no-progress"] ? false : values.progress === true || process.stderr.isTTY === true;
    command.validate?.(parsed.positionals, values);
    const mode = typeof command.mount === "function" ? command.mount(values) : command.mount;
    const atSeq = values["at-seq"] === undefined ? undefined : nonNegativeInteger(String(values["at-seq"]), "--at-seq");
    if (atSeq !== undefined && mode === "readwrite") throw new UsageError(`--at-seq is read-only time travel; ${name} writes`, name);
    const writer = writerMode(values);
    const leaseTtlMs = values["lease-ttl"] === undefined ? undefined : parseDuration(String(values["lease-ttl"]), "--lease-ttl");
    if (leaseTtlMs !== undefined && leaseTtlMs < 1) throw new UsageError("--lease-ttl must be above 0", name);
    const location = storeLocation(values, env);
    // Nothing is made where no filesystem is (no store folder, no format.json): a mistyped
    // --local or --prefix must not turn into a new, empty filesystem.
    const found = await location.hasFilesystem();
    const mayCreate = command.creates === true || (command.options?.create !== undefined && values.create === true);
    if (found === false && !mayCreate) {
      const hint = command.options?.create !== undefined ? "; give --create to make a new filesystem there" : mode === "readwrite" ? `; '${program} init' makes one` : "";
      throw new FsError("ENOENT", name, { path: location.description, detail: `no filesystem at ${location.description} (format.json is missing): check --local, --bucket and --prefix; nothing was created${hint}` });
    }
    if (found === true && command.creates === true) throw new FsError("EEXIST", name, { path: location.description, detail: `a filesystem is already at ${location.description}` });
    if (values["cache-root"] === undefined) {
      cacheRoot = mkdtempSync(join(tmpdir(), `${program}-`));
      temporary = true;
    } else cacheRoot = resolve(String(values["cache-root"]));
    const temporaryCache = temporary ? cacheRoot : undefined;
    const uploads: UnsentUploads[] = [];
    stopOnSignals = onSignals(name, io, async () => {
      const removed = (await Promise.all(uploads.map((store) => store.abandon()))).reduce((sum, count) => sum + count, 0);
      if (removed > 0) io.stderr(`${program} ${name}: removed ${removed} uploaded object${removed === 1 ? "" : "s"} no commit names\n`);
      if (temporaryCache !== undefined) rmSync(temporaryCache, { recursive: true, force: true });
    });
    const manager = new S3CachedFsManagerImpl({
      cacheRoot,
      storeFactory: (config) => {
        const store = new UnsentUploads(location.storeAt(config.prefix));
        uploads.push(store);
        return store;
      },
    });
    const config: MountConfig = {
      name: "cli",
      mode,
      prefix: location.prefix,
      onWriterBusy: writer,
      ...(values.exclusive === true ? { exclusive: true } : {}),
      onWriterWait: (wait) => io.stderr(`${program} ${name}: ${wait.message}; at most ${formatTimeLeft(wait.giveUpAt.getTime() - Date.now())} left before it gives up (--no-wait fails at once instead)\n`),
      ...(leaseTtlMs === undefined ? {} : { leaseTtlMs }),
      ...(atSeq === undefined ? {} : { atSeq }),
    };
    const fs = await manager.mount(config);
    let status: number;
    try {
      status = await command.run(fs, parsed.positionals, values, io);
      await drainStdout();
    } finally {
      await fs.close();
    }
    return stdoutClosed ? exitCodes.closedPipe : status;
  } catch (error) {
    if (error instanceof StdoutClosed) return exitCodes.closedPipe;
    if (error instanceof UsageError) {
      const usage = commands[error.command ?? name]?.usage;
      io.stderr(`${program}: ${error.message}\n${usage === undefined ? "" : `Usage: ${program} ${usage}\n`}Run '${program} ${error.command ?? name} --help'.\n`);
      return exitCodes.usage;
    }
    io.stderr(`${program} ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    // Another writer holds the lease: a temporary failure (EX_TEMPFAIL), worth running again.
    if (error instanceof FsError && error.code === "EBUSY" && error.syscall === "mount") {
      io.stderr(`${program} ${name}: another writer holds the filesystem; run again later, or without --no-wait to wait for it\n`);
      return exitCodes.busy;
    }
    // A filesystem that cannot be mounted because an object it needs is damaged is not sound.
    if (name === "fsck" && error instanceof FsError && error.code === "EIO" && error.cause instanceof CorruptObjectError) return exitCodes.unsound;
    return exitCodes.failed;
  } finally {
    stopOnSignals?.();
    if (temporary && cacheRoot !== undefined) rmSync(cacheRoot, { recursive: true, force: true });
  }
}

const signalStatus = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Until the returned function is called: on SIGINT or SIGTERM, release the writer lease at once
 * (the next writer need not wait for it to expire), run `cleanUp` (the uploads no commit names,
 * the temporary cache), and exit 128 + the signal's number. The command stops where it was: a
 * commit already sent may still land (whole, as any commit), nothing else it was doing is
 * published. Each step waits 10 s at most; a second signal exits at once.
 */
function onSignals(command: string, io: Io, cleanUp: () => Promise<void>): () => void {
  let stopping = false;
  const handler = (signal: keyof typeof signalStatus) => {
    if (stopping) process.exit(signalStatus[signal]);
    stopping = true;
    io.stderr(`${program} ${command}: ${signal}: releasing the writer lease and stopping\n`);
    void (async () => {
      try {
        await Promise.race([releaseHeldLeases(), Bun.sleep(10_000)]);
        removePartialFiles(); // a get or export stopped mid-file leaves no partial copy
        await Promise.race([cleanUp(), Bun.sleep(10_000)]);
      } finally {
        process.exit(signalStatus[signal]);
      }
    })();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/**
 * The data objects (chunks, packs) this run uploaded since it last sent a commit record. A command
 * stopped by a signal abandons the store: no record is sent from then on, and those objects are
 * removed, since nothing can name them (their keys are new, and only a record could). What was
 * uploaded before a record was sent may be in it and is left alone; so is an upload still on its
 * way (garbage collection takes what either leaves).
 */
export class UnsentUploads extends ForwardingStore {
  private readonly keys = new Set<string>();
  private abandoned = false;

  override put(key: string, body: Uint8Array, options?: PutOptions): Promise<PutResult> {
    if (key.startsWith(walPrefix)) {
      if (this.abandoned) return Promise.reject(new FsError("ECANCELED", "write", { detail: "the command is stopping: no commit is sent" }));
      this.keys.clear(); // from here on, the record may name them
    } else if (key.startsWith(chunkPrefix) || key.startsWith(packPrefix)) {
      const sent = super.put(key, body, options);
      return sent.then((result) => {
        if (!this.abandoned) this.keys.add(key);
        return result;
      });
    }
    return super.put(key, body, options);
  }

  /** Sends no record from now on; removes the uploads no record names. Resolves how many were removed. */
  async abandon(): Promise<number> {
    this.abandoned = true;
    const keys = [...this.keys];
    this.keys.clear();
    const removed = await Promise.allSettled(keys.map((key) => this.inner.delete(key)));
    return removed.filter((outcome) => outcome.status === "fulfilled").length;
  }
}

interface StoreLocation {
  description: string;
  prefix: string;
  /** Whether format.json is there: undefined when the store cannot say (the mount then reports why). */
  hasFilesystem(): Promise<boolean | undefined>;
  storeAt(prefix: string): ObjectStore;
}

/** The store from --local, or from --bucket and the AWS settings. */
function storeLocation(values: Values, env: Record<string, string | undefined>): StoreLocation {
  const prefix = normalizePrefix(values.prefix === undefined ? "" : String(values.prefix));
  if (values.local !== undefined) {
    if (values.bucket !== undefined) throw new UsageError("give --local or --bucket, not both");
    const directory = resolve(String(values.local));
    const open = (at: string) => new LocalObjectStore({ root: join(directory, at) });
    return {
      description: `local:${join(directory, prefix)}`,
      prefix,
      // Looked at without opening the store: a LocalObjectStore makes its folders when opened.
      hasFilesystem: async () => lstatSync(join(directory, prefix, formatKey), { throwIfNoEntry: false }) !== undefined,
      storeAt: (at) => new LocatedStore(open(at), at, open),
    };
  }
  if (values.bucket === undefined) throw new UsageError("say where the filesystem is: --bucket <name> (S3) or --local <dir>");
  const bucket = String(values.bucket);
  const endpoint = (values.endpoint as string | undefined) ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const region = (values.region as string | undefined) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  const pathStyle = values["path-style"] === true || /^(1|true|yes)$/i.test(env.AWS_S3_FORCE_PATH_STYLE ?? "") || (endpoint !== undefined && isLocalHost(endpoint));
  if (endpoint !== undefined && !URL.canParse(endpoint)) throw new UsageError(`--endpoint ${JSON.stringify(endpoint)} is not a URL`);
  const open = (at: string) =>
    new S3ObjectStore({
      bucket,
      prefix: at,
      region,
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(pathStyle ? { forcePathStyle: true } : {}),
      ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } }
        : {}),
    });
  return {
    description: `s3://${bucket}/${prefix}`,
    prefix,
    async hasFilesystem() {
      const store = open(prefix);
      try {
        await store.head(formatKey);
        return true;
      } catch (error) {
        return error instanceof NotFoundError ? false : undefined;
      } finally {
        await store.close?.();
      }
    },
    storeAt: (at) => new LocatedStore(open(at), at, open),
  };
}

function isLocalHost(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname;
    return host === "localhost" || /^[\d.]+$/.test(host) || host.startsWith("[");
  } catch {
    return false;
  }
}

// ---- output ---------------------------------------------------------------------------------

function printGarbageReport(report: GarbageReport, io: Io, verbose: boolean): void {
  const verb = report.dryRun ? "would delete" : "deleted";
  io.stdout(`${report.dryRun ? "dry run (nothing deleted; --delete to act)" : "garbage collected"}: ${report.listed.objects} objects, ${humanBytes(report.listed.bytes)} listed\n`);
  io.stdout(`retention ${formatDuration(report.retentionMs)}, grace ${formatDuration(report.graceMs)}, now ${report.now} (${report.clock} clock)\n`);
  io.stdout(`log at seq ${report.tip}; every state from seq ${report.retainedFrom} on is kept (the window starts at seq ${report.horizonSeq})\n`);
  const byKind = new Map<string, { count: number; bytes: number }>();
  for (const deletion of report.deletions) {
    const total = byKind.get(deletion.kind) ?? { count: 0, bytes: 0 };
    total.count++;
    total.bytes += deletion.size;
    byKind.set(deletion.kind, total);
  }
  io.stdout(`${verb} ${report.deletions.length} objects, ${humanBytes(report.deletedBytes)}${byKind.size === 0 ? "" : `: ${[...byKind].map(([kind, total]) => `${total.count} ${kind}${total.count === 1 ? "" : "s"}`).join(", ")}`}\n`);
  io.stdout(`kept: ${report.kept.referenced} in use, ${report.kept.young} younger than the grace period, ${report.kept.pinned} pinned by forks, ${report.kept.other} other\n`);
  if (report.compaction.objects.length > 0) {
    io.stdout(`compaction: ${report.dryRun ? "would rewrite" : "rewrote"} ${report.compaction.objects.length} objects with little live data (${humanBytes(report.compaction.objects.reduce((sum, object) => sum + object.liveBytes, 0))} live)${report.compaction.commits.length === 0 ? "" : ` in seq ${report.compaction.commits.join(", ")}`}\n`);
  }
  if (verbose) for (const deletion of report.deletions) io.stdout(`  ${deletion.key}  ${humanBytes(deletion.size)}  ${deletion.reason}\n`);
}

function printFsckReport(report: FsckReport, io: Io, verbose: boolean): void {
  const { checked } = report;
  io.stdout(`checked seq ${report.retainedFrom}..${report.tip}: ${checked.records} records${checked.voidRecords > 0 ? ` (${checked.voidRecords} void: pipelined records whose parent is not in the log, never applied)` : ""}${checked.recordsPastEnd > 0 ? ` and ${checked.recordsPastEnd} pipelined past the log's end (in flight, or left by a writer whose record before them never landed)` : ""}, ${checked.snapshots} snapshots, ${checked.objects} objects, ${checked.extents} extents, ${humanBytes(checked.bytes)} verified\n`);
  for (const problem of report.problems) {
    io.stdout(`PROBLEM ${problem.kind}: ${problem.key}: ${problem.detail}${problem.paths === undefined ? "" : ` (files: ${problem.paths.join(", ")})`}\n`);
  }
  if (report.orphans.length > 0) {
    io.stdout(`${report.orphans.length} orphans (${humanBytes(report.orphanBytes)}), nothing refers to them; gc removes them once past the grace period\n`);
    if (verbose) for (const orphan of report.orphans) io.stdout(`  ${orphan.key}  ${humanBytes(orphan.size)}  ${orphan.lastModified}\n`);
  }
  io.stdout(report.sound ? "the filesystem is sound\n" : `the filesystem is NOT sound: ${report.problems.length} problems\n`);
}

function describeStats(stats: Awaited<ReturnType<S3CachedFs["stat"]>>) {
  return {
    type: stats.isDirectory() ? "directory" : stats.isSymbolicLink() ? "symlink" : "file",
    size: stats.size,
    mode: `0${(stats.mode & 0o7777).toString(8)}`,
    mtime: stats.mtime.toISOString(),
    ctime: stats.ctime.toISOString(),
    birthtime: stats.birthtime.toISOString(),
  };
}

function typeLetter(stats: Awaited<ReturnType<S3CachedFs["stat"]>>): string {
  return stats.isDirectory() ? "d" : stats.isSymbolicLink() ? "l" : "-";
}

function permissions(mode: number): string {
  const letters = "rwxrwxrwx";
  let out = "";
  for (let bit = 0; bit < 9; bit++) out += mode & (1 << (8 - bit)) ? letters[bit] : "-";
  return out;
}

function humanBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatDuration(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** This run's requests to the store, by operation, and the bytes it sent: what a copy cost. */
function requestCounts(fs: S3CachedFs): Record<string, number> {
  const requests = fs.stats().requests;
  return { ...Object.fromEntries(Object.entries(requests).map(([kind, counts]) => [kind, counts.requests])), bytesOut: requests.total.bytesOut };
}

/** A progress bar on stderr: "[#####.....]  45%  12.3 MiB / 27.0 MiB  120/300 files". */
function progressBar(io: Io, label: string, total: number | undefined, files?: number) {
  let last = 0;
  const draw = (bytes: number, count: number | undefined, final: boolean, unchanged = 0) => {
    if (!io.progress) return;
    const now = performance.now();
    if (!final && now - last < 100) return;
    last = now;
    const fraction = total === undefined || total === 0 ? (final ? 1 : 0) : Math.min(1, bytes / total);
    const width = 24;
    const filled = Math.round(fraction * width);
    const counts = files === undefined || count === undefined ? "" : `  ${count}/${files} files${unchanged === 0 ? "" : ` (${unchanged} unchanged)`}`;
    io.stderr(`\r${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%  ${humanBytes(bytes)}${total === undefined ? "" : ` / ${humanBytes(total)}`}${counts}${final ? "\n" : ""}`);
  };
  return {
    update: (bytes: number, count?: number, unchanged?: number) => draw(bytes, count, false, unchanged),
    done: (bytes: number, count?: number, unchanged?: number) => draw(bytes, count, true, unchanged),
  };
}

// ---- local files ----------------------------------------------------------------------------

interface LocalEntry {
  absolute: string;
  relative: string;
  kind: "file" | "directory" | "symlink";
  size: number;
  mode: number;
  mtimeMs: number;
  atimeMs: number;
}

/** A local entry the filesystem cannot hold (a FIFO, socket or device), and why it is skipped. */
interface SkippedEntry {
  absolute: string;
  why: string;
}

/** Every entry under `root`, parents first (symbolic links are copied as links, never followed), and what is skipped. */
function walkLocal(root: string): { entries: LocalEntry[]; skipped: SkippedEntry[] } {
  const entries: LocalEntry[] = [];
  const skipped: SkippedEntry[] = [];
  const visit = (directory: string) => {
    for (const name of readdirSync(directory).sort()) {
      const absolute = join(directory, name);
      const info = lstatSync(absolute);
      const relativePath = relative(root, absolute).split("\\").join("/");
      const times = { mtimeMs: info.mtimeMs, atimeMs: info.atimeMs };
      if (info.isSymbolicLink()) entries.push({ absolute, relative: relativePath, kind: "symlink", size: 0, mode: 0o777, ...times });
      else if (info.isDirectory()) {
        entries.push({ absolute, relative: relativePath, kind: "directory", size: 0, mode: info.mode & 0o7777, ...times });
        visit(absolute);
      } else if (info.isFile()) entries.push({ absolute, relative: relativePath, kind: "file", size: info.size, mode: info.mode & 0o7777, ...times });
      else {
        const kind = info.isFIFO() ? "a FIFO (named pipe)" : info.isSocket() ? "a socket" : info.isCharacterDevice() ? "a character device" : "a block device";
        skipped.push({ absolute, why: `${kind}; the filesystem holds only files, directories and symbolic links` });
      }
    }
  };
  visit(root);
  return { entries, skipped };
}

/**
 * What --delete removes below `target`: the paths the filesystem has and `present` (relative path ->
 * is a directory) has not, or has as the other of directory and non-directory; the topmost of each
 * such subtree.
 */
async function extraneousPaths(fs: Pick<S3CachedFs, "walk">, target: string, present: ReadonlyMap<string, boolean>): Promise<string[]> {
  const removed = new Set<string>();
  for (const entry of await fs.walk(target)) {
    if (present.get(entry.path) === entry.stats.isDirectory()) continue;
    const parts = entry.path.split("/");
    if (parts.some((_, index) => index > 0 && removed.has(parts.slice(0, index).join("/")))) continue;
    removed.add(entry.path);
  }
  return [...removed].map((path) => joinVirtual(target, path));
}

/**
 * What export's --delete removes below `root` (never following a link): the local entries whose
 * relative path `wanted` (-> is a directory) has not, or has as the other of directory and
 * non-directory; the topmost of each such subtree.
 */
function extraneousLocal(root: string, wanted: ReadonlyMap<string, boolean>): string[] {
  const extraneous: string[] = [];
  const visit = (directory: string, prefix: string) => {
    for (const name of readdirSync(directory).sort()) {
      const path = prefix === "" ? name : `${prefix}/${name}`;
      const absolute = join(directory, name);
      const isDirectory = lstatSync(absolute).isDirectory();
      if (wanted.get(path) !== isDirectory) extraneous.push(absolute);
      else if (isDirectory) visit(absolute, path);
    }
  };
  visit(root, "");
  return extraneous;
}

/**
 * The real directory `root`/`parts`, made where missing. Each component must be a real directory:
 * a host link there (left by an earlier export of a link the filesystem has since replaced) is
 * removed, never followed, so nothing is written outside `root`; anything else is ENOTDIR.
 */
function localDirectory(root: string, parts: readonly string[], path: string): string {
  let directory = root;
  for (const part of parts) {
    directory = join(directory, part);
    let found = lstatSync(directory, { throwIfNoEntry: false });
    if (found?.isSymbolicLink()) {
      unlinkSync(directory);
      found = undefined;
    }
    if (found === undefined) {
      try {
        mkdirSync(directory); // never follows a link: EEXIST if one appeared meanwhile
      } catch (error) {
        throw localCopyError(error, "export", path, `the local directory ${directory}`);
      }
    } else if (!found.isDirectory()) {
      throw new FsError("ENOTDIR", "export", { path, detail: `${directory} is in the way: a local file where the filesystem has a directory` });
    }
  }
  return directory;
}

/**
 * Sets a local file's or directory's permission bits and times through a handle opened without
 * following a link, so a link swapped in meanwhile is refused (ELOOP), never changed through.
 */
async function setLocalMetadata(local: string, path: string, metadata: { mode: number; atime?: Date; mtime?: Date }): Promise<void> {
  try {
    const handle = await open(local, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      if (((await handle.stat()).mode & 0o7777) !== metadata.mode) await handle.chmod(metadata.mode);
      if (metadata.atime !== undefined && metadata.mtime !== undefined) await handle.utimes(metadata.atime, metadata.mtime);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw localCopyError(error, "export", path, `the local ${local}`);
  }
}

/** Waits until what was written to stdout has left (or the pipe turned out closed). */
async function drainStdout(): Promise<void> {
  if (stdoutClosed) return;
  await new Promise<void>((done) => {
    const settle = (error?: unknown) => {
      process.stdout.off("error", settle);
      if (error !== undefined && error !== null) {
        if (!isClosedPipe(error)) throw error;
        stdoutClosed = true;
      }
      done();
    };
    process.stdout.on("error", settle);
    try {
      process.stdout.write("", settle);
    } catch (error) {
      settle(error);
    }
  });
}

async function pipeToStdout(stream: ReadableStream<Uint8Array>): Promise<void> {
  for await (const piece of stream) {
    writeStdout(piece);
    await drainStdout(); // one piece at a time: memory stays bounded however slow the reader
    if (stdoutClosed) throw new StdoutClosed();
  }
}

// ---- arguments ------------------------------------------------------------------------------

function joinVirtual(directory: string, name: string): string {
  if (name === "" || name === ".") return directory;
  return `${directory.replace(/\/+$/, "")}/${name}`;
}

/**
 * The command line's flags and positionals. Unlike the runtime's parser, each mistake is named
 * plainly: an unknown flag with the nearest known one, a flag missing its value, a switch given one.
 */
function parseCommandLine(name: string, command: Command, args: string[]): { values: Values; positionals: string[] } {
  const flags: Record<string, Omit<Flag, "help">> = { ...globalOptions, ...command.options };
  const { tokens } = parseArgs({ args, options: Object.fromEntries(Object.entries(flags).map(([flag, spec]) => [flag, { type: spec.type, ...(spec.short === undefined ? {} : { short: spec.short }) }])), allowPositionals: true, strict: false, tokens: true });
  const values: Values = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") positionals.push(token.value);
    if (token.kind !== "option") continue;
    const flag = flags[token.name];
    if (flag === undefined) {
      const nearest = token.rawName.startsWith("--") ? nearestName(token.name, Object.keys(flags)) : undefined;
      throw new UsageError(`unknown option ${token.rawName}${nearest === undefined ? "" : ` (did you mean --${nearest}?)`}`, name);
    }
    const shown = flag.short === token.name ? `-${token.name}` : `--${token.name}`;
    if (flag.type === "string") {
      if (token.value === undefined || (token.inlineValue !== true && token.value.startsWith("-") && token.value !== "-")) {
        throw new UsageError(`${shown} needs a value${flag.value === undefined ? "" : ` (${shown} ${flag.value})`}`, name);
      }
      values[token.name] = token.value;
    } else {
      if (token.inlineValue === true) throw new UsageError(`${shown} takes no value; give ${shown} alone`, name);
      values[token.name] = true;
    }
  }
  return { values, positionals };
}

/** The known name nearest `given` by edit distance, if near enough to be what was meant. */
function nearestName(given: string, known: string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(given, name);
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  if (best === undefined) return undefined;
  return best.distance <= Math.max(2, Math.floor(given.length / 3)) ? best.name : known.find((name) => given.length >= 3 && name.startsWith(given));
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/** --writer, or its short forms --wait and --no-wait (one of them at most). */
function writerMode(values: Values): "wait" | "fail" | "takeover" {
  const given = [values.writer === undefined ? undefined : "--writer", values.wait ? "--wait" : undefined, values["no-wait"] ? "--no-wait" : undefined].filter((flag) => flag !== undefined);
  if (given.length > 1) throw new UsageError(`give one of --writer, --wait or --no-wait, not both (${given.join(" and ")})`);
  if (values.wait) return "wait";
  if (values["no-wait"]) return "fail";
  const writer = values.writer === undefined ? "wait" : String(values.writer);
  if (writer !== "wait" && writer !== "fail" && writer !== "takeover") throw new UsageError(`--writer must be wait, fail or takeover, not ${JSON.stringify(writer)}`);
  return writer;
}

/** "1h 5m", "4m 30s", "12s". */
function formatTimeLeft(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const [h, m, s] = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60];
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

/**
 * [from, to] pairs for mv and cp: into the last path when it is a directory (or several paths are
 * given, or it ends in "/"), else onto it. With noClobber, a pair whose target exists is left out.
 */
async function targets(fs: S3CachedFs, syscall: string, args: string[], noClobber: boolean): Promise<[string, string][]> {
  const sources = args.slice(0, -1);
  const target = args.at(-1)!;
  const into = sources.length > 1 || target.endsWith("/") || (await fs.stat(target).then((stats) => stats.isDirectory(), () => false));
  if (into && !(await fs.stat(target).then((stats) => stats.isDirectory(), () => false))) throw new FsError("ENOTDIR", syscall, { path: target, detail: "not a directory (several paths go into a directory)" });
  const pairs: [string, string][] = sources.map((from) => [from, into ? joinVirtual(target, from.split("/").filter(Boolean).pop() ?? "") : target]);
  if (!noClobber) return pairs;
  const kept: [string, string][] = [];
  for (const pair of pairs) if (!(await fs.exists(pair[1]))) kept.push(pair);
  return kept;
}

function atMost(args: string[], count: number, command: string): void {
  if (args.length > count) throw new UsageError(`${command} takes ${count === 0 ? "no arguments" : `at most ${count} path`}; unexpected ${JSON.stringify(args[count])}`, command);
}

function parseMode(text: string, what = "--mode"): number {
  if (!/^0?[0-7]{1,4}$/.test(text)) throw new UsageError(`${what} must be octal permission bits such as 644, not ${JSON.stringify(text)}`);
  return Number.parseInt(text, 8);
}

function positiveInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`${flag} must be a whole number above 0, not ${JSON.stringify(text)}`);
  return value;
}

function nonNegativeInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new UsageError(`${flag} must be a whole number, not ${JSON.stringify(text)}`);
  return value;
}

function fraction(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new UsageError(`${flag} must be a fraction from 0 to 1, not ${JSON.stringify(text)}`);
  return value;
}

function gcOptions(values: Values): GarbageCollectionOptions {
  return {
    dryRun: !values.delete,
    retentionMs: values.retention === undefined ? defaultRetentionMs : parseDuration(String(values.retention), "--retention"),
    graceMs: values.grace === undefined ? defaultGraceMs : parseDuration(String(values.grace), "--grace"),
    compact: !values["no-compact"],
    ...(values["compact-below"] === undefined ? {} : { compactBelow: fraction(String(values["compact-below"]), "--compact-below") }),
  };
}

/** "90s", "30m", "24h", "7d", "500ms", or a number of milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) throw new UsageError(`${flag} must be a duration such as 90s, 30m, 24h or 7d, not ${JSON.stringify(text)}`);
  const scale = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? "ms"]!;
  return Math.round(Number(match[1]) * scale);
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
  // A closed pipe noticed only as the last output leaves still ends the command as one.
  process.on("exit", () => {
    if (stdoutClosed && process.exitCode === exitCodes.ok) process.exitCode = exitCodes.closedPipe;
  });
}
