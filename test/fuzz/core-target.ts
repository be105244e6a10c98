// The core's surface under the fuzzer: S3CachedFsManagerImpl, a writer mount's every method (reads,
// writes, streams, readRange, materialize, walk, openWrite handles, transactions and the tx object,
// refresh, stats, snapshot, history, fsck, collectGarbage, close), a read-only mount beside it, and
// calls on closed mounts, inside transaction bodies and callbacks, and concurrently on the same
// paths. The model (node:fs semantics, test/fs/model.ts) says what each call must answer and what
// the tree must hold afterwards.

import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FsError, S3CachedFsManagerImpl, type MaterializedFile, type S3CachedFs, type Transaction, type WriteHandle } from "../../src/core.ts";
import { outcomeCode, type Outcome } from "./checks.ts";
import { FilesystemModel, ModelError, difference, lookup, modelOf, paths, readdir as modelReaddir, readFile as modelReadFile, tryLookup, walk as modelWalk } from "./fuzz-model.ts";
import type { Called, FuzzRun, Target } from "./fuzzer.ts";
import { abortedSignal, badData, contentText, dataOf, modeArg, numberArg, pathArg, showValue, type PathArg } from "./values.ts";

const tinyLayout = { blockBytes: 4, chunkBytes: 16, largeFileBytes: 24, inlineRecordBytes: 64, packBytes: 128, uploadConcurrency: 2 };
const mountConfig = { name: "core", layout: tinyLayout, snapshotEveryCommits: 25, headDelayMs: 5, leaseTtlMs: 5_000 };

/** What a call may answer: success (then `apply` updates the model) and/or an error with one of `codes`. */
interface Expectation {
  ok?: { apply?: (model: FilesystemModel) => void; check?: (value: unknown) => string | undefined };
  codes: string[];
}

const refuse = (...codes: string[]): Expectation => ({ codes: [...new Set(codes)] });

/** The model's answer to a mutation: success that applies `op`, or the code it throws. */
function modelled(model: FilesystemModel, op: (m: FilesystemModel) => void): Expectation {
  try {
    op(model.clone());
    return { ok: { apply: op }, codes: [] };
  } catch (error) {
    if (error instanceof ModelError) return refuse(error.code);
    throw error;
  }
}

/** The model's answer to a read: success whose value `check` verifies, or the code it throws. */
function read<T>(model: FilesystemModel, query: (m: FilesystemModel) => T, check: (value: unknown, wanted: T) => string | undefined): Expectation {
  try {
    const wanted = query(model);
    return { ok: { check: (value) => check(value, wanted) }, codes: [] };
  } catch (error) {
    if (error instanceof ModelError) return refuse(error.code);
    throw error;
  }
}

function union(a: Expectation, b: Expectation): Expectation {
  return { ...(a.ok ?? b.ok ? { ok: (a.ok ?? b.ok)! } : {}), codes: [...new Set([...a.codes, ...b.codes])] };
}

const equalBytes = (value: unknown, wanted: Uint8Array): string | undefined => {
  if (!(value instanceof Uint8Array)) return `returned ${showValue(value)}, not bytes`;
  return Buffer.compare(Buffer.from(value), Buffer.from(wanted)) === 0 ? undefined : `returned ${value.byteLength} bytes ${JSON.stringify(Buffer.from(value).toString().slice(0, 40))}, the model ${wanted.byteLength} ${JSON.stringify(Buffer.from(wanted).toString().slice(0, 40))}`;
};

type PathRole = "create-file" | "any";

/** A trailing slash on something that is not a directory must fail (node:fs: ENOTDIR, EISDIR or EEXIST); no change. */
const slashRefusals = ["ENOTDIR", "EISDIR", "EEXIST", "ENOENT", "EINVAL"];

/** Whether a plan's input is flawed (a refused path, a bad number, bad data, ...): its refusal may come first. */
const flawed = (plan: { tags: string[] }) => plan.tags.some((tag) => !["in-tx", "concurrent", "readonly", "closed", "tx-ended", "spelled-differently", "max-name"].includes(tag) && !/^[A-Z]/.test(tag) && tag !== "hex" && tag !== "base64");

/**
 * Applies a path argument's flaw to the expectation `inner` (which works on normalised paths):
 * refused input, a trailing slash on something that is not a directory, a lone surrogate.
 */
export function withPaths(model: FilesystemModel, args: { arg: PathArg; role: PathRole }[], inner: (...normalized: string[]) => Expectation): Expectation {
  // node:fs writes a lone surrogate as U+FFFD; refusing it (EINVAL) is the other clear answer, also
  // when another argument is refused: which of two bad arguments is named first is not node:fs's contract.
  const surrogate = args.some(({ arg }) => arg.flaw === "lone-surrogate") ? ["EINVAL"] : [];
  const refusals = args.map(({ arg }) => arg.refusedWith).filter((code): code is string => code !== undefined);
  if (refusals.length > 0) return refuse(...refusals, ...surrogate);
  const normalized = args.map(({ arg }) => arg.normalized!);
  for (const { arg, role } of args) {
    if (arg.flaw !== "trailing-slash") continue;
    const node = tryLookup(model, arg.normalized!);
    // node:fs: "file/" is ENOTDIR; creating a file at "name/" is EISDIR (ENOENT/EINVAL also fail clearly).
    if (node?.kind === "file") return refuse(...slashRefusals);
    if (node === undefined && role === "create-file") return refuse(...slashRefusals);
  }
  // A file renamed or copied to "dest/" fails in node:fs, whatever is at dest: a missing dest
  // (ENOTDIR, EISDIR), a directory (rename: ENOTDIR, copyFile: EISDIR; seed 54 found the model
  // answering rename's EISDIR for a file onto a directory without the slash).
  if (args.length === 2 && args[1]!.arg.flaw === "trailing-slash" && tryLookup(model, normalized[0]!)?.kind === "file") {
    return refuse(...slashRefusals);
  }
  const expectation = inner(...normalized);
  // `normalized` holds the U+FFFD form of a lone surrogate, as node:fs writes it.
  return surrogate.length > 0 ? { ...expectation, codes: [...new Set([...expectation.codes, ...surrogate])] } : expectation;
}

interface Plan {
  method: string;
  args: unknown[];
  tags: string[];
  run: (target: S3CachedFs | Transaction) => Promise<unknown>;
  expect: (model: FilesystemModel) => Expectation;
  /** Errors the fuzzer's own callbacks throw (passing them through unchanged is right). */
  own?: unknown[];
  consume?: (value: unknown) => Promise<unknown>;
  /** Calls it makes from a callback meanwhile (awaited after it). */
  nested?: Promise<void>[];
}

export class CoreTarget implements Target {
  readonly name = "core";
  private storeRoot: string;
  private manager!: S3CachedFsManagerImpl;
  private fs!: S3CachedFs;
  private reader!: S3CachedFs;
  private readerManager!: S3CachedFsManagerImpl;
  private model = new FilesystemModel();
  private closedMounts: S3CachedFs[] = [];
  private escapedTx: Transaction | undefined;
  private nestedCounter = 0;
  private abandoned: S3CachedFs[] = [];
  private materialized: MaterializedFile[] = [];
  /** While set, plans use well-formed arguments only (concurrent groups: the order check needs exact answers). */
  private tame = false;
  /** While set, plans are for a transaction body. */
  private planningTransaction = false;

  constructor(
    private readonly run: FuzzRun,
    readonly weight: number,
  ) {
    this.storeRoot = join(run.directory, "store-core");
  }

  private get p() {
    return this.run.p;
  }

  async setup(): Promise<void> {
    this.manager = this.run.manager(this.storeRoot, "core");
    this.fs = await this.manager.mount(mountConfig);
    this.readerManager = this.run.manager(this.storeRoot, "core-reader");
    this.reader = await this.readerManager.mount({ ...mountConfig, name: "core-reader", mode: "readonly" });
  }

  private num(make: () => number): { value: unknown; valid: boolean } {
    return this.tame ? { value: make(), valid: true } : numberArg(this.p, make);
  }

  private modeValue(): { value: unknown; valid: boolean } {
    const mode = modeArg(this.p);
    return this.tame && !mode.valid ? { value: 0o644, valid: true } : mode;
  }

  private existing(): string[] {
    return paths(this.model);
  }

  private path(hostility = 0.25): PathArg {
    return pathArg(this.p, this.existing(), this.tame ? 0 : hostility);
  }

  async step(): Promise<void> {
    const roll = this.p.random();
    if (roll < 0.32) return this.single(this.mutation());
    if (roll < 0.58) return this.single(this.readPlan());
    if (roll < 0.68) return this.transaction();
    if (roll < 0.73) return this.concurrent();
    if (roll < 0.78) return this.openWrite();
    if (roll < 0.82) return this.readerStep();
    if (roll < 0.86) return this.closedMountStep();
    if (roll < 0.89) return this.maintenance();
    if (roll < 0.92) return this.managerMisuse();
    if (roll < 0.95) return this.transactionMisuse();
    if (roll < 0.97) return this.materializedStep();
    return this.lifecycle();
  }

  // ---- plans: one call of the fs (or tx) API with its expectation -------------------------------

  private mutation(hostility = 0.25): Plan {
    const kinds = ["write", "write", "append", "mkdir", "mkdir", "rm", "rename", "copyFile", "cp", "chmod", "utimes", "symlink"] as const;
    const kind = this.p.pick(this.tame ? kinds.filter((candidate) => candidate !== "symlink") : kinds);
    const path = this.path(hostility);
    switch (kind) {
      case "write":
      case "append":
        return this.writePlan(kind, path);
      case "mkdir": {
        const recursive = this.p.chance(0.5);
        const mode = this.p.chance(0.3) ? this.modeValue() : undefined;
        const options = { recursive, ...(mode === undefined ? {} : { mode: mode.value }) };
        return {
          method: "mkdir",
          args: [path.value, options],
          tags: path.flaw === undefined ? [] : [path.flaw],
          run: (target) => target.mkdir(path.value as string, options as { recursive: boolean; mode?: number }),
          expect: (model) => {
            if (mode !== undefined && !mode.valid) return union(refuse("EINVAL"), withPaths(model, [{ arg: path, role: "any" }], () => refuse()));
            return withPaths(model, [{ arg: path, role: "any" }], (p) =>
              modelled(model, (m) => {
                const created = recursive ? [] : [p];
                if (recursive) for (let at = p; at !== "/" && tryLookup(m, at) === undefined; at = at.slice(0, at.lastIndexOf("/")) || "/") created.push(at);
                m.mkdir(p, recursive);
                if (mode !== undefined) for (const at of created) m.nodes.set(at, { kind: "directory", mode: mode.value as number });
              }),
            );
          },
        };
      }
      case "rm": {
        const options = { recursive: this.p.chance(0.5), force: this.p.chance(0.3) };
        return {
          method: "rm",
          args: [path.value, options],
          tags: path.flaw === undefined ? [] : [path.flaw],
          run: (target) => target.rm(path.value as string, options),
          expect: (model) => withPaths(model, [{ arg: path, role: "any" }], (p) => modelled(model, (m) => m.rm(p, options.recursive, options.force))),
        };
      }
      case "rename":
      case "copyFile":
      case "cp": {
        const to = this.path(hostility / 2);
        const overwrite = this.p.chance(0.7);
        const recursive = this.p.chance(0.5);
        const options = kind === "rename" ? undefined : kind === "cp" ? { recursive, overwrite } : { overwrite };
        return {
          method: kind,
          args: options === undefined ? [path.value, to.value] : [path.value, to.value, options],
          tags: [path.flaw, to.flaw].filter((flaw): flaw is NonNullable<typeof flaw> => flaw !== undefined),
          run: (target) =>
            kind === "rename" ? target.rename(path.value as string, to.value as string) : kind === "cp" ? target.cp(path.value as string, to.value as string, options) : target.copyFile(path.value as string, to.value as string, options),
          expect: (model) =>
            withPaths(model, [{ arg: path, role: "any" }, { arg: to, role: "create-file" }], (from, dest) => {
              if (kind === "rename") return modelled(model, (m) => m.rename(from!, dest!));
              const source = tryLookup(model, from!);
              if (kind === "cp" && source?.kind === "directory") return this.cpTreeExpectation(model, from!, dest!, recursive, overwrite);
              return modelled(model, (m) => m.copyFile(from!, dest!, overwrite));
            }),
        };
      }
      case "chmod": {
        const mode = this.modeValue();
        return {
          method: "chmod",
          args: [path.value, mode.value],
          tags: path.flaw === undefined ? [] : [path.flaw],
          run: (target) => target.chmod(path.value as string, mode.value as number),
          expect: (model) => {
            const paths = withPaths(model, [{ arg: path, role: "any" }], (p) => (mode.valid ? modelled(model, (m) => m.chmod(p, mode.value as number)) : union(refuse("EINVAL"), read(model, (m) => lookup(m, p), () => undefined))));
            return mode.valid ? paths : { codes: [...new Set(["EINVAL", ...paths.codes])] };
          },
        };
      }
      case "utimes": {
        const time = () => this.p.pick<unknown>(this.tame ? [new Date(1_000_000), 1_700_000_000] : [new Date(1_000_000), 1_700_000_000, 0, new Date(Number.NaN), Number.NaN, "yesterday", null, Number.POSITIVE_INFINITY, -1]);
        const atime = time();
        const mtime = time();
        const valid = (value: unknown) => (value instanceof Date && Number.isFinite(value.getTime())) || (typeof value === "number" && Number.isFinite(value));
        return {
          method: "utimes",
          args: [path.value, atime, mtime],
          tags: path.flaw === undefined ? [] : [path.flaw],
          run: (target) => target.utimes(path.value as string, atime as number, mtime as number),
          expect: (model) => {
            const paths = withPaths(model, [{ arg: path, role: "any" }], (p) => read(model, (m) => lookup(m, p), () => undefined));
            return valid(atime) && valid(mtime) ? paths : { codes: [...new Set(["EINVAL", ...paths.codes])] };
          },
        };
      }
      case "symlink": {
        // Only link targets the core must refuse (the model has no links): empty, NUL, too long, not a string.
        const target = this.p.pick<unknown>(["", "a\0b", "t".repeat(5000), 42, null, undefined]);
        return {
          method: "symlink",
          args: [target, path.value],
          tags: path.flaw === undefined ? ["bad-link-target"] : [path.flaw, "bad-link-target"],
          run: (fs) => fs.symlink(target as string, path.value as string),
          expect: (model) => {
            const paths = withPaths(model, [{ arg: path, role: "create-file" }], () => refuse());
            return { codes: [...new Set(["EINVAL", ...paths.codes])] };
          },
        };
      }
    }
  }

  /** cp of a directory: without `recursive` refused; with it, the tree copied (what node's fs.cp does). */
  private cpTreeExpectation(model: FilesystemModel, from: string, to: string, recursive: boolean, overwrite: boolean): Expectation {
    if (!recursive) return refuse("EISDIR", "EINVAL");
    // Into itself: node:fs says EINVAL before looking at the destination's parent; ENOENT/ENOTDIR for it are as clear.
    if (to === from || to.startsWith(`${from}/`)) return refuse("EINVAL", "ENOENT", "ENOTDIR");
    const copyTree = (m: FilesystemModel) => {
      const parent = to.slice(0, to.lastIndexOf("/")) || "/";
      const parentNode = lookup(m, parent);
      if (parentNode.kind !== "directory") throw new ModelError("ENOTDIR");
      const existing = m.nodes.get(to);
      if (existing !== undefined && existing.kind !== "directory") throw new ModelError(overwrite ? "ENOTDIR" : "EEXIST");
      for (const [path, node] of [...m.nodes]) {
        if (path !== from && !path.startsWith(`${from}/`)) continue;
        const target = to + path.slice(from.length);
        const there = m.nodes.get(target);
        if (there !== undefined) {
          if (there.kind !== node.kind) throw new ModelError(there.kind === "directory" ? "EISDIR" : "ENOTDIR");
          if (node.kind === "file" && !overwrite) throw new ModelError("EEXIST");
          if (node.kind === "directory") continue;
        }
        m.nodes.set(target, { ...node });
      }
    };
    // The merge rules of a tree copy onto an existing tree are the core's own: any clear refusal
    // is fine, and a success must be the copy the model makes.
    const answer = modelled(model, copyTree);
    return { ...answer, codes: [...new Set([...answer.codes, "EEXIST", "ENOTDIR", "EISDIR", "ENOTEMPTY"])] };
  }

  private writePlan(kind: "write" | "append", path: PathArg): Plan {
    const method = kind === "write" ? "writeFile" : "appendFile";
    const text = contentText(this.p, tinyLayout.largeFileBytes);
    const tags: string[] = path.flaw === undefined ? [] : [path.flaw];
    const refusals: string[] = [];
    let data: unknown;
    let options: Record<string, unknown> = {};
    const own: unknown[] = [];
    const nested: Promise<void>[] = [];
    const extraApply: ((model: FilesystemModel) => void)[] = [];
    if (!this.tame && this.p.chance(0.15)) {
      const bad = badData(this.p);
      data = bad.data;
      options = { ...bad.options };
      tags.push(`bad-data:${bad.kind}`);
      refusals.push(...(bad.kind === "erroring-stream" ? ["EIO", "EINVAL", "ECANCELED"] : ["EINVAL"]));
    } else {
      const given = dataOf(this.p, text);
      data = given.data;
      options = { ...given.options };
      if (given.form !== "string") tags.push(given.form);
    }
    let mode: { value: unknown; valid: boolean } | undefined;
    if (!this.tame && this.p.chance(0.2)) {
      mode = modeArg(this.p);
      options.mode = mode.value;
      if (!mode.valid) refusals.push("EINVAL");
    }
    if (!this.tame && this.p.chance(0.08)) {
      options.signal = abortedSignal();
      tags.push("aborted-signal");
      refusals.push("ECANCELED");
    }
    const large = Buffer.byteLength(text) > tinyLayout.largeFileBytes;
    if (large && !this.tame && this.p.chance(0.4)) {
      const deadlocks = this.planningTransaction && (this.run.tolerated.get("nested-write-in-transaction-deadlocks")?.count ?? 0) >= 2;
      if (deadlocks || this.p.chance(0.5)) {
        const thrown = new Error("thrown by the fuzzer's onProgress");
        own.push(thrown);
        tags.push("onProgress-throws");
        options.onProgress = () => {
          throw thrown;
        };
      } else {
        // A write of another file from inside the callback, not awaited by it.
        const other = `/n${++this.nestedCounter}`;
        tags.push(`onProgress-writes:${other}`);
        let started = false;
        options.onProgress = () => {
          if (started) return;
          started = true;
          nested.push(
            this.run
              .call("core", "writeFile", [other, "n"], ["nested", "in-onProgress"], () => this.fs.writeFile(other, "n"))
              .then((outcome) => {
                if (outcome.status === "ok") extraApply.push((m) => m.write(other, "n", false));
              }),
          );
        };
      }
    }
    const plan: Plan = {
      method,
      args: [path.value, data, options],
      tags,
      own,
      nested,
      run: (target) => (kind === "write" ? target.writeFile(path.value as string, data as string, options) : target.appendFile(path.value as string, data as string, options)),
      expect: (model) => {
        const answer = withPaths(model, [{ arg: path, role: "create-file" }], (p) =>
          modelled(model, (m) => {
            const isNew = tryLookup(m, p) === undefined;
            m.write(p, text, kind === "append");
            if (isNew && mode?.valid) m.nodes.set(p, { kind: "file", content: text, mode: mode.value as number });
          }),
        );
        if (refusals.length > 0) return { codes: [...new Set([...refusals, ...answer.codes])] };
        // Its own error is also right, and so is EIO carrying it (the write fails as a failed data source does, publishing nothing).
        if (tags.includes("onProgress-throws")) return { ...answer, codes: [...new Set([...answer.codes, "EIO"])] };
        return answer;
      },
    };
    (plan as Plan & { extraApply: typeof extraApply }).extraApply = extraApply;
    return plan;
  }

  private readPlan(): Plan {
    const kind = this.p.pick(["stat", "lstat", "exists", "readdir", "readlink", "realpath", "readFile", "readText", "readRange", "stream", "stream", "walk", "walk", "prefetch", "allPaths", "materialize"] as const);
    const path = this.path(0.3);
    const tags = path.flaw === undefined ? [] : [path.flaw];
    const base = (method: string, args: unknown[], run: Plan["run"], expect: Plan["expect"], extra: Partial<Plan> = {}): Plan => ({ method, args, tags, run, expect, ...extra });
    const onPath = (model: FilesystemModel, inner: (p: string) => Expectation) => withPaths(model, [{ arg: path, role: "any" }], inner);
    const node = (m: FilesystemModel, p: string) => lookup(m, p);
    switch (kind) {
      case "stat":
      case "lstat":
        return base(kind, [path.value], (t) => t[kind](path.value as string), (model) =>
          onPath(model, (p) =>
            read(model, (m) => node(m, p), (value, wanted) => {
              const stats = value as { isDirectory(): boolean; size: number; mode: number };
              if (stats.isDirectory() !== (wanted.kind === "directory")) return `says directory=${stats.isDirectory()}`;
              if (wanted.kind === "file" && stats.size !== Buffer.byteLength(wanted.content)) return `size ${stats.size}, the model ${Buffer.byteLength(wanted.content)}`;
              if ((stats.mode & 0o7777) !== wanted.mode) return `mode ${(stats.mode & 0o7777).toString(8)}, the model ${wanted.mode.toString(8)}`;
              return undefined;
            }),
          ),
        );
      case "exists":
        return base("exists", [path.value], (t) => t.exists(path.value as string), (model) => {
          const answer = withPaths(model, [{ arg: path, role: "any" }], (p) => ({ ok: { check: (value) => (value === (tryLookup(model, p) !== undefined) ? undefined : `answered ${showValue(value)}`) }, codes: [] }));
          // A path it cannot use simply does not exist (node's existsSync); a flawed one: false.
          if (answer.ok === undefined) return { ok: { check: (value) => (value === false ? undefined : `answered ${showValue(value)} for a path that cannot exist`) }, codes: [] };
          return answer;
        });
      case "readdir": {
        const withFileTypes = this.p.chance(0.3);
        return base("readdir", withFileTypes ? [path.value, { withFileTypes }] : [path.value], (t) => (withFileTypes ? t.readdir(path.value as string, { withFileTypes: true }) : t.readdir(path.value as string)), (model) =>
          onPath(model, (p) =>
            read(model, (m) => modelReaddir(m, p), (value, wanted) => {
              const names = (value as (string | { name: string })[]).map((entry) => (typeof entry === "string" ? entry : entry.name)).sort();
              return JSON.stringify(names) === JSON.stringify(wanted) ? undefined : `listed ${names.join(",")}, the model ${wanted.join(",")}`;
            }),
          ),
        );
      }
      case "readlink":
        return base("readlink", [path.value], (t) => t.readlink(path.value as string), (model) => onPath(model, (p) => union(refuse("EINVAL"), { codes: read(model, (m) => node(m, p), () => undefined).codes })));
      case "realpath":
        return base("realpath", [path.value], (t) => t.realpath(path.value as string), (model) => onPath(model, (p) => read(model, (m) => node(m, p), (value) => (value === p ? undefined : `answered ${showValue(value)}, not ${p}`))));
      case "readFile":
      case "readText": {
        const encoding = kind === "readText" && this.p.chance(0.4) ? this.p.pick<unknown>(this.tame ? ["utf8", "hex"] : ["utf8", "hex", "base64", "latin1", "bogus", 42]) : undefined;
        const validEncoding = encoding === undefined || ["utf8", "hex", "base64", "latin1"].includes(encoding as string);
        return base(kind, encoding === undefined ? [path.value] : [path.value, encoding], (t) => (kind === "readFile" ? t.readFile(path.value as string) : t.readText(path.value as string, encoding as "utf8")), (model) => {
          const answer = onPath(model, (p) =>
            read(model, (m) => modelReadFile(m, p), (value, wanted) => {
              if (kind === "readFile") return equalBytes(value, new TextEncoder().encode(wanted));
              const text = encoding === undefined ? wanted : Buffer.from(wanted).toString(encoding as BufferEncoding);
              return value === text ? undefined : `read ${JSON.stringify(String(value).slice(0, 40))}`;
            }),
          );
          return validEncoding ? answer : { codes: [...new Set(["EINVAL", ...answer.codes])] };
        }, validEncoding ? {} : { tags: [...tags, "bad-encoding"] });
      }
      case "readRange": {
        const offset = this.num(() => this.p.int(40));
        const length = this.num(() => this.p.int(40));
        const valid = offset.valid && length.valid;
        return base("readRange", [path.value, offset.value, length.value], (t) => t.readRange(path.value as string, offset.value as number, length.value as number), (model) => {
          const answer = onPath(model, (p) => {
            const found = read(model, (m) => modelReadFile(m, p), (value, wanted) => equalBytes(value, new TextEncoder().encode(wanted).subarray(offset.value as number, (offset.value as number) + (length.value as number))));
            const target = tryLookup(model, p);
            return target?.kind === "directory" ? refuse("EISDIR") : found;
          });
          return valid ? answer : { codes: [...new Set(["EINVAL", ...answer.codes])] };
        }, valid ? {} : { tags: [...tags, "bad-number"] });
      }
      case "stream": {
        const options: Record<string, unknown> = {};
        let valid = true;
        let emptyOk = false;
        const maybe = (key: string, make: () => number) => {
          if (!this.p.chance(0.5)) return;
          const given = this.num(make);
          options[key] = given.value;
          if (!given.valid) valid = false;
        };
        maybe("start", () => this.p.int(40));
        maybe("end", () => this.p.int(40));
        maybe("windowBytes", () => 1 + this.p.int(20));
        maybe("windowsAhead", () => 1 + this.p.int(4));
        if (valid && typeof options.start === "number" && typeof options.end === "number" && options.end < options.start) emptyOk = true;
        const consume = async (value: unknown) => new Uint8Array(await new Response(value as ReadableStream<Uint8Array>).arrayBuffer());
        return base("stream", [path.value, options], (t) => t.stream(path.value as string, options as { start?: number }), (model) => {
          const answer = onPath(model, (p) =>
            read(model, (m) => modelReadFile(m, p), (value, wanted) => {
              const bytes = new TextEncoder().encode(wanted);
              const start = (options.start as number | undefined) ?? 0;
              const end = options.end === undefined ? bytes.byteLength : (options.end as number) + 1;
              return equalBytes(value, bytes.subarray(start, Math.max(start, end)));
            }),
          );
          if (!valid) return { codes: [...new Set(["EINVAL", ...answer.codes])] };
          return emptyOk ? { ...answer, codes: [...new Set([...answer.codes, "EINVAL"])] } : answer;
        }, { consume, tags: valid ? tags : [...tags, "bad-number"] });
      }
      case "walk": {
        const depth = this.p.chance(0.5) ? this.num(() => 1 + this.p.int(3)) : undefined;
        const options = depth === undefined ? undefined : { maxDepth: depth.value };
        const zero = depth?.value === 0;
        // walk's maxDepth is a whole number >= 0, or Infinity for no limit (the core's documented contract).
        const depthValid = depth === undefined || depth.valid || depth.value === Number.POSITIVE_INFINITY;
        return base("walk", options === undefined ? [path.value] : [path.value, options], (t) => t.walk(path.value as string, options as { maxDepth?: number }), (model) => {
          const answer = onPath(model, (p) =>
            read(model, (m) => modelWalk(m, p, depth !== undefined && depthValid ? (depth.value as number) : undefined), (value, wanted) => {
              const lines = (value as { path: string; stats: { isDirectory(): boolean }; depth: number }[]).map((entry) => `${entry.path} ${entry.stats.isDirectory() ? "directory" : "file"} ${entry.depth}`).sort();
              return JSON.stringify(lines) === JSON.stringify(wanted) ? undefined : `walked ${lines.length} entries, the model ${wanted.length}`;
            }),
          );
          if (!depthValid) return { codes: [...new Set(["EINVAL", ...answer.codes])] };
          return answer;
        }, !depthValid ? { tags: [...tags, "bad-number"] } : zero ? { tags: [...tags, "depth-0"] } : {});
      }
      case "prefetch":
        return base("prefetch", [path.value], (t) => t.prefetch(path.value as string), (model) => onPath(model, (p) => read(model, (m) => node(m, p), () => undefined)));
      case "allPaths":
        return base("allPaths", [], async (t) => t.allPaths(), (model) => ({
          ok: {
            check: (value) => {
              const got = [...(value as string[])].sort();
              const wanted = ["/", ...paths(model)].sort();
              return JSON.stringify(got) === JSON.stringify(wanted) ? undefined : `listed ${got.length} paths, the model ${wanted.length}`;
            },
          },
          codes: [],
        }));
      case "materialize": {
        const options: Record<string, unknown> = {};
        if (!this.tame && this.p.chance(0.3)) options.allowOversize = this.p.pick<unknown>([true, false, "yes", 1]);
        const own: unknown[] = [];
        if (!this.tame && this.p.chance(0.15)) {
          const thrown = new Error("thrown by the fuzzer's materialize onProgress");
          own.push(thrown);
          options.onProgress = () => {
            throw thrown;
          };
        }
        const consume = async (value: unknown) => {
          const handle = value as MaterializedFile;
          const bytes = readFileSync(handle.path);
          if (this.p.chance(0.7)) await handle.release();
          else this.materialized.push(handle);
          return bytes;
        };
        return base("materialize", [path.value, options], (t) => t.materialize(path.value as string, options as { allowOversize?: boolean }), (model) =>
          onPath(model, (p) => {
            const answer = read(model, (m) => modelReadFile(m, p), (value, wanted) => equalBytes(value, new TextEncoder().encode(wanted)));
            if (own.length > 0 && tryLookup(model, p)?.kind === "file" && Buffer.byteLength((tryLookup(model, p) as { content: string }).content) > 0) return refuse();
            return answer;
          }),
        { consume, own, tags: own.length > 0 ? [...tags, "onProgress-throws"] : tags });
      }
    }
  }

  // ---- steps ----------------------------------------------------------------------------------

  /** One call on the writer, alone: its answer against the model, then the tree. */
  private async single(plan: Plan): Promise<void> {
    const expectation = plan.expect(this.model);
    const outcome = await this.run.call("core", plan.method, plan.args, plan.tags, () => plan.run(this.fs), {
      sequential: (plan.nested ?? []).length === 0,
      ...(plan.consume === undefined ? {} : { consume: plan.consume }),
      ...(plan.own === undefined ? {} : { own: plan.own }),
    });
    await Promise.all(plan.nested ?? []);
    if (outcome.status === "pending") return this.recoverFromPending();
    const matched = this.judge(plan, expectation, outcome, this.model);
    for (const apply of (plan as Plan & { extraApply?: ((m: FilesystemModel) => void)[] }).extraApply ?? []) apply(this.model);
    // A deviation the checker tolerated (a known finding) leaves the tree as the core made it.
    if (!matched) this.model = await modelOf(this.fs);
    else await this.compare(this.fs, this.p.chance(0.05), `after ${plan.method}`);
  }

  /** Checks an outcome against the expectation, applying a success to `model`. Returns whether it matched. */
  private judge(plan: Plan, expectation: Expectation, outcome: Called, model: FilesystemModel): boolean {
    if (outcome.status === "error") {
      if (plan.own?.includes(outcome.error)) return true;
      if (expectation.codes.includes(outcome.code)) return true;
      const wanted = [expectation.ok === undefined ? undefined : "ok", ...expectation.codes].filter(Boolean).join(" or ");
      this.run.violate({ check: "model", message: `${plan.method} failed with ${outcome.code}; node:fs semantics (the model) answer ${wanted}`, call: outcome.record, outcome });
      return false;
    }
    if (outcome.status !== "ok") return false;
    if (expectation.ok === undefined) {
      this.run.violate({ check: "model", message: `${plan.method} succeeded; node:fs semantics (the model) answer ${expectation.codes.join(" or ")}`, call: outcome.record, outcome });
      return false;
    }
    const problem = expectation.ok.check?.(outcome.value);
    if (problem !== undefined) {
      this.run.violate({ check: "result", message: `${plan.method}: ${problem}`, call: outcome.record, outcome });
      return false;
    }
    expectation.ok.apply?.(model);
    return true;
  }

  /** The writer's tree (and sometimes every file's bytes) against the model; a tolerated deviation resyncs the model. */
  private async compare(fs: S3CachedFs, contents: boolean, when: string): Promise<void> {
    const problem = await difference(fs, this.model, contents);
    if (problem === undefined) return;
    this.run.violate({ check: "model", message: `${when}: ${problem}`, call: this.run.history.at(-1) });
    this.model = await modelOf(fs);
  }

  /**
   * After a call that never settled the writer may be wedged: close it if it still closes, else
   * leave it and take the filesystem over with a new writer; the model restarts from the store.
   */
  private async recoverFromPending(): Promise<void> {
    const old = this.fs;
    const closing = old.close();
    closing.catch(() => {});
    const closed = await Promise.race([closing.then(() => true, () => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), this.run.boundMs))]);
    if (!closed) this.abandoned.push(old);
    this.run.log(`recovering from a pending call: the old writer ${closed ? "closed" : "never closed; taken over"}`);
    this.manager = this.run.manager(this.storeRoot, "core");
    this.fs = await this.manager.mount({ ...mountConfig, onWriterBusy: "takeover" });
    this.model = await modelOf(this.fs);
  }

  /** A transaction whose body makes modelled calls through tx, and sometimes misuses things inside. */
  private async transaction(): Promise<void> {
    this.planningTransaction = true;
    const plans = Array.from({ length: 1 + this.p.int(4) }, () => (this.p.chance(0.7) ? this.mutation(0.15) : this.readPlan()));
    this.planningTransaction = false;
    const throwAtEnd = this.p.chance(0.2);
    // While the deadlock of a write nested in a transaction body is a known finding (each costs a
    // whole settle bound), it is tried at most twice a run; once its entry is gone, every time.
    const deadlocks = (this.run.tolerated.get("nested-write-in-transaction-deadlocks")?.count ?? 0) >= 2;
    const nestedKinds = deadlocks ? (["outer-read", "reader-refresh", "outer-close", "escape"] as const) : (["outer-write", "outer-transaction", "outer-read", "reader-refresh", "outer-close", "escape"] as const);
    const nestedKind = this.p.chance(0.12) ? this.p.pick(nestedKinds) : undefined;
    const nestedInCallback = plans.some((plan) => plan.tags.some((tag) => tag.startsWith("onProgress-writes")));
    let draft = this.model.clone();
    const sentinel = new Error("the fuzzer's transaction body throws");
    let matched = true;
    let nestedOk: ((m: FilesystemModel) => void) | undefined;
    let wedged = false;
    let closing: Promise<unknown> | undefined;
    const fs = this.fs;
    const outcome = await this.run.call(
      "core",
      "transaction",
      `body of ${plans.length} call(s)${throwAtEnd ? ", throws at the end" : ""}${nestedKind === undefined ? "" : `, ${nestedKind} inside`}`,
      [...(throwAtEnd ? ["throws"] : []), ...(nestedKind === undefined ? [] : [`nested:${nestedKind}`]), ...(nestedInCallback ? ["nested:in-callback"] : [])],
      () =>
        fs.transaction(async (tx) => {
          for (const plan of plans) {
            const expectation = plan.expect(draft);
            const inner = await this.run.call("tx", plan.method, plan.args, [...plan.tags, "in-tx"], () => plan.run(tx), {
              ...(plan.consume === undefined ? {} : { consume: plan.consume }),
              ...(plan.own === undefined ? {} : { own: plan.own }),
            });
            await Promise.all(plan.nested ?? []);
            if (inner.status === "pending") {
              wedged = true;
              return;
            }
            if (!this.judge(plan, expectation, inner, draft)) {
              // A tolerated deviation: the rest of the body is judged against what tx holds now.
              matched = false;
              draft = await modelOf(tx);
            }
            for (const apply of (plan as Plan & { extraApply?: ((m: FilesystemModel) => void)[] }).extraApply ?? []) nestedOk = chain(nestedOk, apply);
          }
          if (nestedKind !== undefined) {
            const other = `/n${++this.nestedCounter}`;
            const tags = ["nested", "in-tx-body"];
            let result: Called | undefined;
            switch (nestedKind) {
              case "outer-write":
                result = await this.run.call("core", "writeFile", [other, "n"], tags, () => fs.writeFile(other, "n"));
                if (result.status === "ok") nestedOk = chain(nestedOk, (m) => m.write(other, "n", false));
                break;
              case "outer-transaction":
                result = await this.run.call("core", "transaction", `nested body writing ${other}`, tags, () => fs.transaction((inner) => inner.writeFile(other, "n")));
                if (result.status === "ok") nestedOk = chain(nestedOk, (m) => m.write(other, "n", false));
                break;
              case "outer-read":
                result = await this.run.call("core", "readdir", ["/"], tags, () => fs.readdir("/"));
                break;
              case "reader-refresh":
                result = await this.run.call("reader", "refresh", [], tags, () => this.reader.refresh());
                break;
              case "outer-close":
                // Closing the mount from inside its own transaction: it must settle (an error or after the body).
                closing = fs.close();
                closing.catch(() => {});
                result = await this.run.call("core", "close", [], tags, () => Promise.race([closing, new Promise((resolve) => setTimeout(() => resolve("still closing"), 50))]));
                break;
              case "escape":
                this.escapedTx = tx;
                break;
            }
            if (result?.status === "pending") wedged = true;
          }
          if (throwAtEnd) throw sentinel;
          return "body-result";
        }),
      { own: [sentinel] },
    );
    if (closing !== undefined && outcome.status !== "pending" && !wedged) {
      const closed = await this.run.call("core", "close", [], ["nested", "after-tx-body"], () => closing);
      if (closed.status === "pending") return this.recoverFromPending();
    }
    if (outcome.status === "pending" || wedged) return this.recoverFromPending();
    if (fs.closed || this.fs.closed) {
      // The body closed the mount: close() waited for the transaction, which committed (or not) first.
      if (outcome.status === "ok" && matched) {
        this.model = draft;
        nestedOk?.(this.model);
      }
      // After a tolerated deviation inside, the model restarts from what the store holds.
      await this.reopen("after the transaction body closed the mount", outcome.status === "ok" && !matched);
      return;
    }
    const committed = outcome.status === "ok";
    if (throwAtEnd && outcome.status === "error" && outcome.error !== sentinel) {
      this.run.violate({ check: "model", message: `a transaction whose body threw rejected with another error: ${outcome.code}`, call: outcome.record, outcome });
    }
    if (!throwAtEnd && !committed) {
      const code = outcomeCode(outcome);
      this.run.violate({ check: "model", message: `a transaction whose calls all answered as the model failed to commit: ${code}`, call: outcome.record, outcome });
    }
    if (committed && outcome.status === "ok" && outcome.value !== "body-result") {
      this.run.violate({ check: "result", message: `transaction returned ${showValue(outcome.value)}, not the body's result`, call: outcome.record, outcome });
    }
    if (committed && !matched) {
      // A call inside deviated (a tolerated known finding): the tree is what the core made it.
      this.model = await modelOf(this.fs);
      return;
    }
    if (committed) this.model = draft;
    nestedOk?.(this.model);
    await this.compare(this.fs, this.p.chance(0.1), "after the transaction");
  }

  /** 2-4 modelled calls at once on the same few paths: the outcome must be some serial order of them. */
  private async concurrent(): Promise<void> {
    this.tame = true;
    const plans = Array.from({ length: 2 + this.p.int(3) }, () => (this.p.chance(0.75) ? this.mutation(0.1) : this.readPlan()));
    this.tame = false;
    const outcomes = await Promise.all(
      plans.map((plan) =>
        this.run.call("core", plan.method, plan.args, [...plan.tags, "concurrent"], () => plan.run(this.fs), {
          ...(plan.consume === undefined ? {} : { consume: plan.consume }),
          ...(plan.own === undefined ? {} : { own: plan.own }),
        }),
      ),
    );
    await Promise.all(plans.flatMap((plan) => plan.nested ?? []));
    if (outcomes.some((outcome) => outcome.status === "pending")) return this.recoverFromPending();
    const actual = await modelOf(this.fs);
    // A call that failed with an error of the wrong kind was reported already (a tolerated known
    // finding): its answer cannot be ordered against the model, so the model restarts from the tree.
    if (outcomes.some((outcome, index) => outcome.status === "error" && !(outcome.error instanceof FsError) && !plans[index]!.own?.includes(outcome.error))) {
      this.model = actual;
      return;
    }
    const wantedListing = JSON.stringify(actual.listing());
    const contents = JSON.stringify(actual.files().sort());
    for (const order of permutations(plans.map((_plan, index) => index))) {
      const model = this.model.clone();
      let fits = true;
      for (const index of order) {
        const expectation = plans[index]!.expect(model);
        const outcome = outcomes[index]!;
        if (outcome.status === "error") {
          if (!expectation.codes.includes(outcome.code) && !plans[index]!.own?.includes(outcome.error)) fits = false;
        } else if (outcome.status === "ok") {
          if (expectation.ok === undefined || expectation.ok.check?.(outcome.value) !== undefined) fits = false;
          else expectation.ok.apply?.(model);
        }
        if (!fits) break;
      }
      for (const plan of plans) for (const apply of (plan as Plan & { extraApply?: ((m: FilesystemModel) => void)[] }).extraApply ?? []) apply(model);
      if (fits && JSON.stringify(model.listing()) === wantedListing && JSON.stringify(model.files().sort()) === contents) {
        this.model = model;
        return;
      }
    }
    const shown = plans.map((plan, index) => `${plan.method}(${plan.args.map(showValue).join(", ")}) => ${outcomeCode(outcomes[index]!)}`).join("; ");
    this.run.violate({ check: "model", message: `concurrent calls match no serial order of them under node:fs semantics: ${shown}`, call: this.run.history.at(-1) });
    this.model = actual;
  }

  /** openWrite: a handle, bytes written to its local file, then close/abort (twice, or after misuse). */
  private async openWrite(): Promise<void> {
    const path = this.path(0.2);
    const options: Record<string, unknown> = {};
    if (this.p.chance(0.2)) options.mode = modeArg(this.p).value;
    if (this.p.chance(0.2)) options.allowOversize = true;
    const modeValid = options.mode === undefined || (Number.isInteger(options.mode) && (options.mode as number) >= 0 && (options.mode as number) <= 0o7777);
    const opened = await this.run.call("core", "openWrite", [path.value, options], path.flaw === undefined ? [] : [path.flaw], () => this.fs.openWrite(path.value as string, options as { mode?: number }), { sequential: true });
    if (opened.status === "pending") return this.recoverFromPending();
    const openExpect = withPaths(this.model, [{ arg: path, role: "create-file" }], (p) => {
      const node = tryLookup(this.model, p);
      if (node?.kind === "directory") return refuse("EISDIR");
      return modelled(this.model, (m) => m.write(p, "", false));
    });
    if (opened.status === "error") {
      const codes = [...openExpect.codes, ...(modeValid ? [] : ["EINVAL"])];
      if (!codes.includes(opened.code)) this.run.violate({ check: "model", message: `openWrite failed with ${opened.code}; the model answers ${openExpect.ok ? "ok" : ""} ${codes.join(" or ")}`, call: opened.record, outcome: opened });
      return;
    }
    const handle = opened.value as WriteHandle;
    const text = contentText(this.p, tinyLayout.largeFileBytes);
    await Bun.write(handle.path, text);
    const finish = this.p.pick(["close", "close", "abort", "close-twice", "abort-then-close"] as const);
    const normalized = path.normalized!;
    const expectation = withPaths(this.model, [{ arg: path, role: "create-file" }], (p) =>
      modelled(this.model, (m) => {
        const isNew = tryLookup(m, p) === undefined;
        m.write(p, text, false);
        if (isNew && modeValid && options.mode !== undefined) m.nodes.set(p, { kind: "file", content: text, mode: options.mode as number });
      }),
    );
    const first = finish === "abort" || finish === "abort-then-close" ? "abort" : "close";
    const plan: Plan = { method: `handle.${first}`, args: [], tags: [], run: async () => undefined, expect: () => expectation };
    const pathTags = path.flaw === undefined ? [] : [path.flaw];
    const closed = await this.run.call("handle", first, [path.value], pathTags, () => (first === "abort" ? handle.abort() : handle.close()), { sequential: true });
    if (closed.status === "pending") return this.recoverFromPending();
    if (first === "abort") {
      if (closed.status === "error") this.run.violate({ check: "model", message: `handle.abort() failed: ${closed.code}`, call: closed.record, outcome: closed });
    } else {
      const wanted: Expectation = modeValid ? expectation : { codes: ["EINVAL", ...expectation.codes] };
      if (!this.judge({ ...plan, method: "close" }, wanted, closed, this.model)) {
        this.model = await modelOf(this.fs);
        return;
      }
    }
    if (finish === "close-twice" || finish === "abort-then-close") {
      const again = await this.run.call("handle", "close", [path.value], [...pathTags, "again"], () => handle.close(), { sequential: true });
      if (again.status === "ok" || (again.status === "error" && again.code !== "EBADF")) {
        this.run.violate({ check: "model", message: `a second close of a write handle answered ${outcomeCode(again)}, not EBADF`, call: again.record, outcome: again });
      }
    }
    if (existsSync(handle.path)) this.run.violate({ check: "result", message: `the handle's local file ${"<staging>"} is still there after ${first}`, call: this.run.history.at(-1) });
    await this.compare(this.fs, this.p.chance(0.2), "after the write handle");
  }

  /** The read-only mount: refresh, then reads against the model, and writes that must be EROFS. */
  private async readerStep(): Promise<void> {
    const refreshed = await this.run.call("reader", "refresh", [], ["readonly"], () => this.reader.refresh());
    if (refreshed.status !== "ok") {
      if (refreshed.status === "error") this.run.violate({ check: "model", message: `reader.refresh() failed: ${refreshed.code}`, call: refreshed.record, outcome: refreshed });
      return;
    }
    const problem = await difference(this.reader, this.model, this.p.chance(0.2));
    if (problem !== undefined) this.run.violate({ check: "model", message: `the reader after refresh: ${problem}`, call: this.run.history.at(-1) });
    for (let index = 0; index < 2; index++) {
      if (this.p.chance(0.5)) {
        const plan = this.readPlan();
        const expectation = plan.expect(this.model);
        const outcome = await this.run.call("reader", plan.method, plan.args, [...plan.tags, "readonly"], () => plan.run(this.reader), {
          ...(plan.consume === undefined ? {} : { consume: plan.consume }),
          ...(plan.own === undefined ? {} : { own: plan.own }),
        });
        if (outcome.status !== "pending") this.judge(plan, expectation, outcome, this.model.clone());
      } else {
        const plan = this.mutation(0.2);
        const expectation = plan.expect(this.model);
        const outcome = await this.run.call("reader", plan.method, plan.args, [...plan.tags, "readonly"], () => plan.run(this.reader), { sequential: true, ...(plan.own === undefined ? {} : { own: plan.own }) });
        await Promise.all(plan.nested ?? []);
        for (const apply of (plan as Plan & { extraApply?: ((m: FilesystemModel) => void)[] }).extraApply ?? []) apply(this.model);
        // A read-only mount refuses every write: EROFS, or the input's own refusal, never success.
        const codes = ["EROFS", ...(flawed(plan) ? expectation.codes : [])];
        if (outcome.status === "ok" || (outcome.status === "error" && !codes.includes(outcome.code) && !plan.own?.includes(outcome.error))) {
          this.run.violate({ check: "model", message: `a write on the read-only mount answered ${outcomeCode(outcome)}, not ${codes.join(" or ")}`, call: outcome.record, outcome });
        }
      }
    }
    for (const name of ["transaction", "snapshot", "collectGarbage"] as const) {
      if (!this.p.chance(0.2)) continue;
      const outcome = await this.run.call("reader", name, [], ["readonly"], () =>
        name === "transaction" ? this.reader.transaction(async (tx) => tx.writeFile("/ro", "x")) : name === "snapshot" ? this.reader.snapshot() : this.reader.collectGarbage({ dryRun: false }),
      );
      if (outcome.status === "ok" || (outcome.status === "error" && outcome.code !== "EROFS")) {
        this.run.violate({ check: "model", message: `reader.${name}() answered ${outcomeCode(outcome)}, not EROFS`, call: outcome.record, outcome });
      }
    }
  }

  /** Calls on a mount that was closed: every one EBADF (stats() still answers; close() again is fine). */
  private async closedMountStep(): Promise<void> {
    if (this.closedMounts.length === 0) {
      const manager = this.run.manager(this.storeRoot, "closed");
      const mount = await manager.mount({ ...mountConfig, name: "closed", mode: "readonly" });
      await mount.close();
      this.closedMounts.push(mount);
    }
    const closed = this.p.pick(this.closedMounts);
    for (let index = 0; index < 3; index++) {
      const roll = this.p.random();
      if (roll < 0.6) {
        const plan = this.p.chance(0.5) ? this.readPlan() : this.mutation(0.2);
        const outcome = await this.run.call("core", plan.method, plan.args, [...plan.tags, "closed"], () => plan.run(closed), { sequential: true, ...(plan.consume === undefined ? {} : { consume: plan.consume }) });
        await Promise.all(plan.nested ?? []);
        for (const apply of (plan as Plan & { extraApply?: ((m: FilesystemModel) => void)[] }).extraApply ?? []) apply(this.model);
        // EBADF, or the refusal of a flawed input if it is checked first.
        const codes = ["EBADF", ...(flawed(plan) ? plan.expect(this.model).codes : [])];
        if (outcome.status === "ok" || (outcome.status === "error" && !codes.includes(outcome.code) && !plan.own?.includes(outcome.error))) {
          this.run.violate({ check: "model", message: `${plan.method} on a closed mount answered ${outcomeCode(outcome)}, not ${codes.join(" or ")}`, call: outcome.record, outcome });
        }
      } else {
        const name = this.p.pick(["transaction", "refresh", "snapshot", "history", "fsck", "collectGarbage", "openWrite", "stats", "close"] as const);
        const outcome = await this.run.call("core", name, [], ["closed"], () => {
          switch (name) {
            case "transaction":
              return closed.transaction(async (tx) => tx.writeFile("/x", "x"));
            case "refresh":
              return closed.refresh();
            case "snapshot":
              return closed.snapshot();
            case "history":
              return closed.history();
            case "fsck":
              return closed.fsck({ verifyData: false });
            case "collectGarbage":
              return closed.collectGarbage({ dryRun: true });
            case "openWrite":
              return closed.openWrite("/x");
            case "stats":
              return closed.stats();
            case "close":
              return closed.close();
          }
        });
        const fine = name === "stats" || name === "close" ? outcome.status === "ok" : outcome.status === "error" && outcome.code === "EBADF";
        if (!fine) this.run.violate({ check: "model", message: `${name} on a closed mount answered ${outcomeCode(outcome)}, not ${name === "stats" || name === "close" ? "ok" : "EBADF"}`, call: outcome.record, outcome });
      }
    }
  }

  /** snapshot, history, fsck, collectGarbage (dry runs, and hostile options), stats. */
  private async maintenance(): Promise<void> {
    const name = this.p.pick(["snapshot", "history", "fsck", "collectGarbage", "stats", "fork"] as const);
    switch (name) {
      case "snapshot": {
        const outcome = await this.run.call("core", "snapshot", [], [], () => this.fs.snapshot(), { sequential: true });
        if (outcome.status === "error") this.run.violate({ check: "model", message: `snapshot() failed: ${outcome.code}`, call: outcome.record, outcome });
        if (outcome.status === "pending") return this.recoverFromPending();
        return;
      }
      case "history": {
        const options = this.p.chance(0.5) ? {} : { limit: numberArg(this.p, () => 1 + this.p.int(5)).value, ...(this.p.chance(0.3) ? { before: numberArg(this.p, () => this.p.int(50)).value } : {}) };
        const valid = Object.values(options).every((value) => Number.isSafeInteger(value) && (value as number) >= 0);
        const outcome = await this.run.call("core", "history", [options], valid ? [] : ["bad-number"], () => this.fs.history(options as { limit?: number }), { sequential: true });
        if (outcome.status === "error" && (valid || outcome.code !== "EINVAL")) this.run.violate({ check: "model", message: `history(${showValue(options)}) failed: ${outcome.code}`, call: outcome.record, outcome });
        if (outcome.status === "ok" && !valid) this.run.violate({ check: "model", message: `history(${showValue(options)}) accepted options that are not counts`, call: outcome.record, outcome });
        return;
      }
      case "fsck": {
        const options = { verifyData: this.p.chance(0.5), ...(this.p.chance(0.3) ? { concurrency: numberArg(this.p, () => 1 + this.p.int(8)).value } : {}) };
        const valid = options.concurrency === undefined || (Number.isSafeInteger(options.concurrency) && (options.concurrency as number) >= 1);
        const outcome = await this.run.call("core", "fsck", [options], valid ? [] : ["bad-number"], () => this.fs.fsck(options as { verifyData: boolean }), { sequential: true });
        if (outcome.status === "pending") return;
        if (outcome.status === "ok" && !valid) this.run.violate({ check: "model", message: `fsck accepted concurrency ${showValue(options.concurrency)}`, call: outcome.record, outcome });
        if (outcome.status === "error" && (valid || outcome.code !== "EINVAL")) this.run.violate({ check: "model", message: `fsck failed: ${outcome.code}`, call: outcome.record, outcome });
        if (outcome.status === "ok" && !(outcome.value as { sound: boolean }).sound) {
          this.run.violate({ check: "result", message: `fsck finds the filesystem unsound: ${JSON.stringify((outcome.value as { problems: unknown[] }).problems).slice(0, 300)}`, call: outcome.record, outcome });
        }
        return;
      }
      case "collectGarbage": {
        const options: Record<string, unknown> = { dryRun: this.p.chance(0.7) };
        let valid = true;
        for (const key of ["retentionMs", "graceMs", "compactBelow", "maxCompactBytes", "deleteConcurrency"] as const) {
          if (!this.p.chance(0.25)) continue;
          const given = numberArg(this.p, () => (key === "compactBelow" ? 0.5 : key === "deleteConcurrency" ? 4 : 3_600_000 + this.p.int(1000)));
          options[key] = given.value;
          if (!given.valid && !(key === "compactBelow" && typeof given.value === "number" && given.value >= 0 && given.value <= 1)) valid = false;
        }
        const outcome = await this.run.call("core", "collectGarbage", [options], valid ? [] : ["bad-number"], () => this.fs.collectGarbage(options), { sequential: options.dryRun === true });
        if (outcome.status === "pending") return this.recoverFromPending();
        if (outcome.status === "ok" && !valid) this.run.violate({ check: "model", message: `collectGarbage accepted ${showValue(options)}`, call: outcome.record, outcome });
        if (outcome.status === "error" && (valid || outcome.code !== "EINVAL")) this.run.violate({ check: "model", message: `collectGarbage(${showValue(options)}) failed: ${outcome.code}`, call: outcome.record, outcome });
        await this.compare(this.fs, true, "after collectGarbage");
        return;
      }
      case "stats": {
        const outcome = await this.run.call("core", "stats", [], [], () => this.fs.stats());
        if (outcome.status !== "ok") return;
        const stats = outcome.value as { files: { files: number; directories: number } };
        const files = this.model.files().length;
        const directories = paths(this.model).length - files;
        if (stats.files.files !== files || stats.files.directories !== directories + 1 && stats.files.directories !== directories) {
          this.run.violate({ check: "result", message: `stats() counts ${stats.files.files} files and ${stats.files.directories} directories; the model ${files} and ${directories}`, call: outcome.record, outcome });
        }
        return;
      }
      case "fork": {
        // Only options the core must refuse: forking for real is the fork tests' business.
        const options = this.p.pick<unknown>([{}, { prefix: "" }, { prefix: 42 }, null, undefined, { prefix: "../escape" }]);
        const outcome = await this.run.call("core", "fork", [options], ["bad-options"], () => this.fs.fork(options as { prefix: string }), { sequential: true });
        if (outcome.status === "ok") this.run.violate({ check: "model", message: `fork(${showValue(options)}) succeeded`, call: outcome.record, outcome });
        else if (outcome.status === "error" && outcome.code !== "EINVAL") this.run.violate({ check: "model", message: `fork(${showValue(options)}) failed with ${outcome.code}, not EINVAL`, call: outcome.record, outcome });
        return;
      }
    }
  }

  /** The manager with hostile options, configs and names. */
  private async managerMisuse(): Promise<void> {
    const kind = this.p.pick(["constructor", "mount-config", "mount-twice", "unmount", "get", "readonly-missing", "junk-store"] as const);
    switch (kind) {
      case "constructor": {
        // No options at all is valid: cacheRoot defaults to the platform's cache directory.
        const options = this.p.pick<unknown>([
          null,
          42,
          { cacheRoot: null },
          { cacheRoot: ["x"] },
          { cacheRoot: "" },
          { cacheRoot: 42 },
          { cacheRoot: join(this.run.directory, "x"), unknown: 1 },
          { cacheRoot: join(this.run.directory, "x"), cacheBytes: -1 },
          { cacheRoot: join(this.run.directory, "x"), cacheBytes: Number.NaN },
          { cacheRoot: join(this.run.directory, "x"), storeFactory: "not a function" },
          { cacheRoot: "/dev/null/cache" },
        ]);
        const outcome = await this.run.call("manager", "new S3CachedFsManagerImpl", [options], ["bad-options"], () => new S3CachedFsManagerImpl(options as { cacheRoot: string }));
        if (outcome.status === "ok") this.run.violate({ check: "model", message: `the manager accepted ${showValue(options)}`, call: outcome.record, outcome });
        else if (outcome.status === "error" && outcome.code !== "EINVAL") this.run.violate({ check: "model", message: `new S3CachedFsManagerImpl(${showValue(options)}) failed with ${outcome.code}, not EINVAL`, call: outcome.record, outcome });
        return;
      }
      case "mount-config": {
        const config = this.p.pick<Record<string, unknown>>([
          { name: "" },
          { name: "x".repeat(201) },
          { name: 42 },
          { name: "m", mode: "sideways" },
          { name: "m", layout: { chunkBytes: 2 ** 40 } },
          { name: "m", layout: { blockBytes: 0 } },
          { name: "m", cacheBytes: Number.NaN },
          { name: "m", leaseTtlMs: -1 },
          { name: "m", atSeq: 1 },
          { name: "m", unknown: true },
          { name: "m", readConcurrency: 1_000 },
          { name: "m", maxAttempts: 0 },
          { name: "m", endpoint: "localhost:9000" },
          {},
        ]);
        const manager = this.run.manager(join(this.run.directory, "store-scratch"), "scratch");
        const outcome = await this.run.call("manager", "mount", [config], ["bad-options"], () => manager.mount(config as { name: string }));
        if (outcome.status === "ok") {
          await (outcome.value as S3CachedFs).close();
          this.run.violate({ check: "model", message: `mount(${showValue(config)}) succeeded`, call: outcome.record, outcome });
        } else if (outcome.status === "error" && outcome.code !== "EINVAL") this.run.violate({ check: "model", message: `mount(${showValue(config)}) failed with ${outcome.code}, not EINVAL`, call: outcome.record, outcome });
        return;
      }
      case "mount-twice": {
        const outcome = await this.run.call("manager", "mount", [mountConfig], ["already-mounted"], () => this.manager.mount(mountConfig));
        if (outcome.status === "ok") {
          this.run.violate({ check: "model", message: "a second mount of a mounted name succeeded", call: outcome.record, outcome });
        } else if (outcome.status === "error" && outcome.code !== "EBUSY") this.run.violate({ check: "model", message: `a second mount of a mounted name failed with ${outcome.code}, not EBUSY`, call: outcome.record, outcome });
        return;
      }
      case "unmount": {
        const name = this.p.pick<unknown>(["nothing-here", "", 42, null]);
        const outcome = await this.run.call("manager", "unmount", [name], ["not-mounted"], () => this.manager.unmount(name as string));
        if (outcome.status !== "error" || outcome.code !== "EINVAL") this.run.violate({ check: "model", message: `unmount(${showValue(name)}) answered ${outcomeCode(outcome)}, not EINVAL`, call: outcome.record, outcome });
        return;
      }
      case "get": {
        const name = this.p.pick<unknown>(["core", "nothing-here", 42, undefined]);
        const outcome = await this.run.call("manager", "get", [name], [], () => [this.manager.get(name as string), this.manager.names, this.manager.cacheUsedBytes]);
        if (outcome.status !== "ok") this.run.violate({ check: "model", message: `get/names/cacheUsedBytes answered ${outcomeCode(outcome)}`, call: outcome.record, outcome });
        else if (((outcome.value as unknown[])[0] === this.fs) !== (name === "core")) this.run.violate({ check: "result", message: `get(${showValue(name)}) returned the wrong mount`, call: outcome.record, outcome });
        return;
      }
      case "junk-store": {
        // A storeFactory that returns something that is not a store: the mount must refuse it clearly.
        const junk = this.p.pick<unknown>([{}, null, 42, "s3://bucket", { get: 1 }]);
        const manager = new S3CachedFsManagerImpl({ cacheRoot: this.run.cacheRoot("junk"), storeFactory: () => junk as never });
        const outcome = await this.run.call("manager", "mount", [{ name: "junk", storeFactory: junk }], ["junk-store"], () => manager.mount({ name: "junk" }));
        if (outcome.status === "ok") {
          await (outcome.value as S3CachedFs).close().catch(() => {});
          this.run.violate({ check: "model", message: `a mount on a storeFactory returning ${showValue(junk)} succeeded`, call: outcome.record, outcome });
        } else if (outcome.status === "error" && outcome.code !== "EINVAL") this.run.violate({ check: "model", message: `a mount on a storeFactory returning ${showValue(junk)} failed with ${outcome.code}, not EINVAL`, call: outcome.record, outcome });
        return;
      }
      case "readonly-missing": {
        const manager = this.run.manager(join(this.run.directory, `store-empty-${this.p.int(1e9)}`), "empty");
        const outcome = await this.run.call("manager", "mount", [{ name: "empty", mode: "readonly" }], ["no-filesystem"], () => manager.mount({ name: "empty", mode: "readonly" }));
        if (outcome.status !== "error" || outcome.code !== "ENOENT") this.run.violate({ check: "model", message: `a read-only mount of an empty store answered ${outcomeCode(outcome)}, not ENOENT`, call: outcome.record, outcome });
        return;
      }
    }
  }

  /** transaction() given something that is not a function, and a tx used after its body ended. */
  private async transactionMisuse(): Promise<void> {
    if (this.escapedTx !== undefined && this.p.chance(0.5)) {
      const tx = this.escapedTx;
      const plan = this.p.chance(0.5) ? this.readPlan() : this.mutation(0.1);
      const outcome = await this.run.call("tx", plan.method, plan.args, [...plan.tags, "tx-ended"], () => plan.run(tx), { sequential: true, ...(plan.consume === undefined ? {} : { consume: plan.consume }) });
      await Promise.all(plan.nested ?? []);
      for (const apply of (plan as Plan & { extraApply?: ((m: FilesystemModel) => void)[] }).extraApply ?? []) apply(this.model);
      const codes = ["EBADF", ...(flawed(plan) ? plan.expect(this.model).codes : [])];
      if (outcome.status === "ok" || (outcome.status === "error" && !codes.includes(outcome.code) && !plan.own?.includes(outcome.error))) {
        this.run.violate({ check: "model", message: `${plan.method} on a transaction that ended answered ${outcomeCode(outcome)}, not ${codes.join(" or ")}`, call: outcome.record, outcome });
      }
      await this.compare(this.fs, false, "after a call on an ended transaction");
      return;
    }
    const body = this.p.pick<unknown>([42, null, undefined, "body", {}, async () => undefined]);
    const outcome = await this.run.call("core", "transaction", [body], typeof body === "function" ? [] : ["not-a-function"], () => this.fs.transaction(body as () => Promise<void>), { sequential: true });
    if (outcome.status === "pending") return this.recoverFromPending();
    if (typeof body === "function") {
      if (outcome.status !== "ok") this.run.violate({ check: "model", message: `an empty transaction failed: ${outcomeCode(outcome)}`, call: outcome.record, outcome });
    } else if (outcome.status !== "error" || outcome.code !== "EINVAL") {
      this.run.violate({ check: "model", message: `transaction(${showValue(body)}) answered ${outcomeCode(outcome)}, not EINVAL`, call: outcome.record, outcome });
    }
  }

  /** Handles of materialized files kept open: released (twice) later. */
  private async materializedStep(): Promise<void> {
    const handle = this.materialized.shift();
    if (handle === undefined) return this.single(this.readPlan());
    for (let time = 0; time < 2; time++) {
      const outcome = await this.run.call("materialized", "release", [], time === 0 ? [] : ["again"], () => handle.release());
      if (outcome.status !== "ok") this.run.violate({ check: "model", message: `release() of a materialized file answered ${outcomeCode(outcome)}`, call: outcome.record, outcome });
    }
    if (existsSync(handle.path)) this.run.violate({ check: "result", message: "a released materialized file is still on disk", call: this.run.history.at(-1) });
  }

  /** Close the writer (twice, concurrently, with writes in flight, with a handle open) and mount again. */
  private async lifecycle(): Promise<void> {
    const kind = this.p.pick(["remount", "close-twice", "close-amid-writes", "handle-after-close", "materialized-after-close", "cache-deleted"] as const);
    if (kind === "cache-deleted") return this.cacheDeleted();
    const fs = this.fs;
    let handle: WriteHandle | undefined;
    let materialized: MaterializedFile | undefined;
    const inflight: Promise<Called>[] = [];
    const writes: { path: string; text: string }[] = [];
    if (kind === "handle-after-close") {
      const target = `/h${++this.nestedCounter}`;
      const opened = await this.run.call("core", "openWrite", [target], [], () => fs.openWrite(target), { sequential: true });
      if (opened.status !== "ok") return;
      handle = opened.value as WriteHandle;
      await Bun.write(handle.path, "kept by the handle");
    }
    if (kind === "materialized-after-close") {
      const file = this.model.files()[0];
      if (file !== undefined) {
        const got = await this.run.call("core", "materialize", [file[0]], [], () => fs.materialize(file[0]));
        if (got.status === "ok") materialized = got.value as MaterializedFile;
      }
    }
    if (kind === "close-amid-writes") {
      for (let index = 0; index < 3; index++) {
        const path = `/w${++this.nestedCounter}`;
        const text = `amid close ${index}`;
        writes.push({ path, text });
        inflight.push(this.run.call("core", "writeFile", [path, text], ["concurrent", "amid-close"], () => fs.writeFile(path, text)));
      }
    }
    const closes = kind === "close-twice" ? [fs.close(), fs.close()] : [fs.close()];
    const outcome = await this.run.call("core", "close", [], kind === "close-twice" ? ["twice"] : [], () => Promise.all(closes));
    const written = await Promise.all(inflight);
    if (outcome.status === "pending") {
      this.abandoned.push(fs);
      this.manager = this.run.manager(this.storeRoot, "core");
      this.fs = await this.manager.mount({ ...mountConfig, onWriterBusy: "takeover" });
      this.model = await modelOf(this.fs);
      return;
    }
    if (outcome.status === "error") this.run.violate({ check: "model", message: `close() failed: ${outcome.code}`, call: outcome.record, outcome });
    written.forEach((result, index) => {
      if (result.status === "ok") this.model.write(writes[index]!.path, writes[index]!.text, false);
      else if (result.status === "error" && result.code !== "EBADF") this.run.violate({ check: "model", message: `a write racing close() failed with ${result.code}, not EBADF`, call: result.record, outcome: result });
    });
    this.closedMounts.push(fs);
    if (this.closedMounts.length > 3) this.closedMounts.shift();
    if (handle !== undefined) {
      const target = handle.target;
      const closed = await this.run.call("handle", "close", [target], ["closed"], () => handle.close(), { sequential: true });
      // The bytes must be committed or kept, never dropped without an error: a clear error is fine.
      if (closed.status === "ok") this.model.write(target, "kept by the handle", false);
    }
    if (materialized !== undefined) {
      const released = await this.run.call("materialized", "release", [], ["closed"], () => materialized.release());
      if (released.status !== "ok") this.run.violate({ check: "model", message: `release() after close answered ${outcomeCode(released)}`, call: released.record, outcome: released });
    }
    await this.reopen(`after ${kind}`);
  }

  /** The mount's whole cache directory deleted under it: reads fail clearly (or still work), and a remount rebuilds. */
  private async cacheDeleted(): Promise<void> {
    rmSync(this.manager.cacheRoot, { recursive: true, force: true });
    const file = this.model.files()[0];
    if (file !== undefined) {
      const [path, content] = file;
      const outcome = await this.run.call("core", "materialize", [path], ["cache-deleted"], () => this.fs.materialize(path), {
        consume: async (value) => {
          const handle = value as MaterializedFile;
          const bytes = readFileSync(handle.path, "utf8");
          await handle.release();
          return bytes;
        },
      });
      if (outcome.status === "ok" && outcome.value !== content) this.run.violate({ check: "result", message: "materialize after the cache was deleted returned other bytes", call: outcome.record, outcome });
      const read = await this.run.call("core", "readText", [path], ["cache-deleted"], () => this.fs.readText(path));
      if (read.status === "ok" && read.value !== content) this.run.violate({ check: "result", message: "readText after the cache was deleted returned other bytes", call: read.record, outcome: read });
    }
    await this.fs.close().catch(() => {});
    await this.reopen("after its cache directory was deleted");
  }

  /** Mounts the writer again; a fresh mount must hold the model's tree and bytes. */
  private async reopen(why: string, resync = false): Promise<void> {
    if (!this.fs.closed) await this.fs.close().catch(() => {});
    const mounted = await this.run.call("manager", "mount", [{ name: "core" }], ["remount"], () => this.manager.mount(mountConfig));
    if (mounted.status !== "ok") {
      this.run.violate({ check: "fresh-mount", message: `mounting the writer again (${why}) answered ${outcomeCode(mounted)}`, call: mounted.record, ...(mounted.status === "pending" ? {} : { outcome: mounted }) });
      this.manager = this.run.manager(this.storeRoot, "core");
      this.fs = await this.manager.mount({ ...mountConfig, onWriterBusy: "takeover" });
      this.model = await modelOf(this.fs);
      return;
    }
    this.fs = mounted.value as S3CachedFs;
    if (resync) {
      this.model = await modelOf(this.fs);
      return;
    }
    const problem = await difference(this.fs, this.model, true);
    if (problem !== undefined) {
      this.run.violate({ check: "fresh-mount", message: `the writer mounted again ${why}: ${problem}`, call: this.run.history.at(-1) });
      this.model = await modelOf(this.fs);
    }
  }

  async finish(): Promise<void> {
    for (const handle of this.materialized.splice(0)) await handle.release();
    await this.compare(this.fs, true, "at the end");
    await this.fs.close();
    // A fresh mount, with a cache of its own, from the store alone.
    const manager = this.run.manager(this.storeRoot, "final");
    const fresh = await manager.mount({ ...mountConfig, name: "final", mode: "readonly" });
    const problem = await difference(fresh, this.model, true);
    await fresh.close();
    if (problem !== undefined) this.run.violate({ check: "fresh-mount", message: `a fresh mount at the end: ${problem}`, call: undefined });
    const refreshed = await this.reader.refresh();
    void refreshed;
    const readerProblem = await difference(this.reader, this.model, true);
    if (readerProblem !== undefined) this.run.violate({ check: "fresh-mount", message: `the reader at the end: ${readerProblem}`, call: undefined });
    await this.reader.close();
  }

  async dispose(): Promise<void> {
    for (const mount of [this.fs, this.reader]) await mount?.close().catch(() => {});
  }
}

function chain(first: ((m: FilesystemModel) => void) | undefined, next: (m: FilesystemModel) => void): (m: FilesystemModel) => void {
  return (m) => {
    first?.(m);
    next(m);
  };
}

function* permutations(items: number[]): Generator<number[]> {
  if (items.length <= 1) {
    yield items;
    return;
  }
  for (const [index, item] of items.entries()) {
    for (const rest of permutations([...items.slice(0, index), ...items.slice(index + 1)])) yield [item, ...rest];
  }
}

