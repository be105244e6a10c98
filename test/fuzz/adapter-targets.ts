// The three adapters under the fuzzer: Mastra's AcceleratedFS (and a read-only instance beside it),
// just-bash's AcceleratedJustBashFs and its shell, and Flue's sandbox factory. Each works on a
// store of its own. No model of their semantics here (each has its own suite for that): every
// call must settle, fail only with FsError or the framework's own errors (with a code, never a
// host path, in shell output neither), publish nothing when it fails, and at the end a fresh
// mount from the store must equal what the adapter's mount shows.

import { join } from "node:path";
import { FilesystemError, WorkspaceError } from "@mastra/core/workspace";
import { FlueError } from "@flue/runtime";
import { CountingStore, FsError, LocalObjectStore, type MaterializedFile, type S3CachedFs } from "../../src/core.ts";
import { AcceleratedFS } from "../../src/mastra/index.ts";
import { AcceleratedJustBashFs, createAcceleratedJustBashShell, type AcceleratedJustBashShell } from "../../src/just-bash/index.ts";
import { acceleratedFsSandbox, type AcceleratedFsSandboxFactory, type AcceleratedSandbox } from "../../src/flue/index.ts";
import type { Called, FuzzRun, Surface, Target } from "./fuzzer.ts";
import { abortedSignal, contentText, modeArg, numberArg, pathArg, showValue, type PathArg } from "./values.ts";

const quiet = { headDelayMs: 5, leaseTtlMs: 5_000, layout: { blockBytes: 4, chunkBytes: 16, largeFileBytes: 24, inlineRecordBytes: 64, packBytes: 128, uploadConcurrency: 2 } };

const fsErrors = (error: unknown) => error instanceof FsError;
const mastraErrors = (error: unknown) => error instanceof FsError || error instanceof FilesystemError || error instanceof WorkspaceError;
const isAbort = (error: unknown) => error instanceof DOMException && error.name === "AbortError";
const flueErrors = (error: unknown) => error instanceof FsError || error instanceof FlueError;

/** A mount's whole tree, bytes and link targets included, to compare two mounts of one store. */
async function treeOf(fs: S3CachedFs): Promise<string[]> {
  const lines: string[] = [];
  for (const { path, stats } of await fs.walk("/")) {
    const absolute = `/${path}`;
    const kind = stats.isDirectory() ? "directory" : stats.isSymbolicLink() ? "symlink" : "file";
    const detail = kind === "file" ? Bun.hash((await fs.readFile(absolute)) as Uint8Array).toString(16) : kind === "symlink" ? await fs.readlink(absolute) : "-";
    lines.push(`${absolute} ${kind} ${(stats.mode & 0o7777).toString(8)} ${kind === "file" ? stats.size : "-"} ${detail}`);
  }
  return lines.sort();
}

/** The shared work of an adapter target: its store, paths, calls and the end-of-run comparison. */
abstract class AdapterTarget implements Target {
  abstract readonly name: string;
  protected readonly storeRoot: string;
  protected known: string[] = [];
  protected nested = 0;

  constructor(
    protected readonly run: FuzzRun,
    readonly weight: number,
    label: string,
  ) {
    this.storeRoot = join(run.directory, `store-${label}`);
  }

  protected get p() {
    return this.run.p;
  }

  abstract setup(): Promise<void>;
  abstract step(): Promise<void>;
  abstract finish(): Promise<void>;
  abstract dispose(): Promise<void>;

  /** A path for the adapter: mostly ones seen in its tree, often hostile. */
  protected path(hostility = 0.3): PathArg {
    return pathArg(this.p, this.known, hostility);
  }

  protected async learn(fs: S3CachedFs | undefined): Promise<void> {
    if (fs === undefined || fs.closed) return;
    try {
      this.known = fs.allPaths().filter((path) => path !== "/" && !path.startsWith("/proc")).slice(0, 200);
    } catch {
      // a closed mount: keep the paths known
    }
  }

  protected call(surface: Surface, method: string, args: readonly unknown[] | string, tags: readonly string[], run: () => unknown, allowed: (error: unknown) => boolean, extra: { consume?: (value: unknown) => Promise<unknown>; sequential?: boolean } = {}): Promise<Called> {
    return this.run.call(surface, method, args, tags, run, { sequential: extra.sequential ?? true, allowed, ...(extra.consume === undefined ? {} : { consume: extra.consume }) });
  }

  /** A write must not be accepted for an argument no filesystem can use (not a string, NUL, too long). */
  protected refusedInput(outcome: Called, path: PathArg): void {
    // Adapters resolve paths lexically first (shell style): ".." at the root stays there, and a
    // component removed by ".." (NUL included) never reaches the filesystem.
    if (outcome.status !== "ok" || path.refusedWith === undefined || path.flaw === "climbs" || path.flaw === "empty" || String(path.value).includes("\0/..")) return;
    this.run.violate({ check: "model", message: `${outcome.record.method} accepted a path it must refuse (${path.flaw})`, call: outcome.record, outcome });
  }

  /** A fresh mount of the store, with a cache of its own, equals what `fs` shows. */
  protected async compareFresh(fs: S3CachedFs, label: string, storeFactory: () => CountingStore, mountName: string): Promise<void> {
    const wanted = await treeOf(fs);
    await fs.close();
    const manager = new (await import("../../src/core.ts")).S3CachedFsManagerImpl({ cacheRoot: this.run.cacheRoot(`${label}-fresh`), storeFactory });
    const fresh = await manager.mount({ ...quiet, name: mountName, mode: "readonly" });
    const actual = await treeOf(fresh);
    await fresh.close();
    if (JSON.stringify(actual) !== JSON.stringify(wanted)) {
      const extra = actual.filter((line) => !wanted.includes(line));
      const missing = wanted.filter((line) => !actual.includes(line));
      this.run.violate({ check: "fresh-mount", message: `${label}: a fresh mount differs from the adapter's view: only the fresh mount's: ${extra.slice(0, 10).join(", ")}; only the adapter's: ${missing.slice(0, 10).join(", ")}`, call: undefined });
    }
  }

  protected deadlockKnown(): boolean {
    return (this.run.tolerated.get("nested-write-in-transaction-deadlocks")?.count ?? 0) >= 2;
  }
}

// ---- Mastra ---------------------------------------------------------------------------------------

export class MastraTarget extends AdapterTarget {
  readonly name = "mastra";
  private fs!: AcceleratedFS;
  private reader!: AcceleratedFS;
  private cacheRoot: string;
  private storeFactory: () => CountingStore;
  private held: MaterializedFile[] = [];

  constructor(run: FuzzRun, weight: number) {
    super(run, weight, "mastra");
    this.cacheRoot = run.cacheRoot("mastra");
    this.storeFactory = run.storeFactory(this.storeRoot);
  }

  async setup(): Promise<void> {
    this.fs = new AcceleratedFS({ id: "fuzz-mastra", cacheRoot: this.cacheRoot, storeFactory: this.storeFactory, mountName: "mastra", ...quiet });
    await this.fs.init();
    this.reader = new AcceleratedFS({ id: "fuzz-mastra-reader", cacheRoot: this.run.cacheRoot("mastra-reader"), storeFactory: this.storeFactory, readOnly: true, maxStalenessMs: 0, mountName: "mastra", ...quiet });
  }

  private content(): unknown {
    const text = contentText(this.p, 24);
    return this.p.pick<unknown>([text, text, Buffer.from(text), new TextEncoder().encode(text), 42, null, { text }]);
  }

  async step(): Promise<void> {
    const fs = this.p.chance(0.15) ? this.reader : this.fs;
    const surfaceTags = fs === this.reader ? ["readonly"] : [];
    const kind = this.p.pick([
      "readFile", "writeFile", "writeFile", "appendFile", "deleteFile", "copyFile", "moveFile", "mkdir", "rmdir", "readdir", "walk", "grep",
      "exists", "stat", "realpath", "readRange", "materialize", "refresh", "transaction", "lifecycle", "info",
    ] as const);
    const path = this.path();
    const tags = [...surfaceTags, ...(path.flaw === undefined ? [] : [path.flaw])];
    const p = path.value as string;
    const bool = () => this.p.pick<unknown>([true, false, undefined, "yes"]);
    let outcome: Called;
    switch (kind) {
      case "readFile": {
        const options = this.p.chance(0.3) ? { encoding: this.p.pick<unknown>(["utf-8", "base64", "bogus"]) } : undefined;
        outcome = await this.call("mastra", kind, [p, options], [...tags, ...(options?.encoding === "bogus" ? ["bad-encoding"] : [])], () => fs.readFile(p, options as { encoding?: BufferEncoding }), mastraErrors);
        break;
      }
      case "writeFile":
      case "appendFile": {
        const content = this.content();
        const options = kind === "writeFile" && this.p.chance(0.4) ? { recursive: bool(), overwrite: bool(), ...(this.p.chance(0.2) ? { expectedMtime: this.p.pick<unknown>([new Date(0), new Date(Number.NaN), "now"]) } : {}) } : undefined;
        const badMtime = options?.expectedMtime !== undefined && !(options.expectedMtime instanceof Date && Number.isFinite(options.expectedMtime.getTime()));
        const contentTags = typeof content === "string" || content instanceof Uint8Array ? [] : ["bad-content"];
        outcome = await this.call("mastra", kind, [p, content, options], [...tags, ...contentTags, ...(badMtime ? ["bad-mtime"] : [])], () => (kind === "writeFile" ? fs.writeFile(p, content as string, options as { recursive?: boolean }) : fs.appendFile(p, content as string)), mastraErrors);
        this.refusedInput(outcome, path);
        break;
      }
      case "deleteFile":
      case "rmdir":
      case "mkdir": {
        const options = { recursive: bool(), ...(kind === "mkdir" ? {} : { force: bool() }) };
        outcome = await this.call("mastra", kind, [p, options], tags, () => fs[kind](p, options as { recursive?: boolean }), mastraErrors);
        this.refusedInput(outcome, path);
        break;
      }
      case "copyFile":
      case "moveFile": {
        const to = this.path(0.2);
        const options = this.p.chance(0.5) ? { overwrite: bool(), recursive: bool() } : undefined;
        outcome = await this.call("mastra", kind, [p, to.value, options], [...tags, ...(to.flaw === undefined ? [] : [to.flaw])], () => fs[kind](p, to.value as string, options as { overwrite?: boolean }), mastraErrors);
        break;
      }
      case "readdir":
      case "walk": {
        const options = this.p.chance(0.5) ? { recursive: bool(), maxDepth: numberArg(this.p, () => 1 + this.p.int(3)).value, includeHidden: bool(), extension: this.p.pick<unknown>([undefined, ".txt", ["a", 3], 42]) } : undefined;
        outcome = await this.call("mastra", kind, [p, options], tags, () => (kind === "readdir" ? fs.readdir(p, options as { recursive?: boolean }) : fs.walk(p, options as { maxDepth?: number })), mastraErrors);
        break;
      }
      case "grep": {
        const options = {
          pattern: this.p.pick<unknown>(["x", "(", "[a-", ".*", "", 42, "x".repeat(10_000), "(a+)+$"]),
          path: path.value,
          caseSensitive: bool(),
          includeHidden: bool(),
          ...(this.p.chance(0.3) ? { maxCountPerFile: numberArg(this.p, () => 1 + this.p.int(3)).value, contextLines: numberArg(this.p, () => this.p.int(3)).value } : {}),
        };
        const badNumber = [options.maxCountPerFile, options.contextLines].some((value) => value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= 0));
        outcome = await this.call("mastra", kind, [options], [...tags, ...(badNumber ? ["bad-number"] : [])], () => fs.grep(options as never), mastraErrors);
        break;
      }
      case "exists":
      case "stat":
      case "realpath":
        outcome = await this.call("mastra", kind, [p], tags, () => fs[kind](p), mastraErrors);
        if (kind === "exists" && outcome.status === "error") this.run.violate({ check: "model", message: "exists() threw", call: outcome.record, outcome });
        break;
      case "readRange": {
        const offset = numberArg(this.p, () => this.p.int(30));
        const length = numberArg(this.p, () => this.p.int(30));
        outcome = await this.call("mastra", kind, [p, offset.value, length.value], [...tags, ...(offset.valid && length.valid ? [] : ["bad-number"])], () => fs.readRange(p, offset.value as number, length.value as number), mastraErrors);
        if (outcome.status === "ok" && !(offset.valid && length.valid)) this.run.violate({ check: "model", message: "readRange accepted an offset or length that is not a count", call: outcome.record, outcome });
        break;
      }
      case "materialize":
        outcome = await this.call("mastra", kind, [p], tags, () => fs.materialize(p), mastraErrors, {
          consume: async (value) => {
            const handle = value as MaterializedFile;
            if (this.p.chance(0.8)) await handle.release();
            else this.held.push(handle);
            return handle.path;
          },
        });
        break;
      case "refresh":
        outcome = await this.call("mastra", kind, [], surfaceTags, () => fs.refresh(), mastraErrors);
        if (outcome.status === "error") this.run.violate({ check: "model", message: `refresh() failed: ${outcome.code}`, call: outcome.record, outcome });
        break;
      case "transaction":
        outcome = await this.transaction(fs, surfaceTags);
        break;
      case "lifecycle":
        outcome = await this.lifecycle();
        break;
      case "info":
        outcome = await this.call("mastra", "getInfo", [], surfaceTags, () => [fs.getInfo(), fs.getInstructions()], mastraErrors);
        if (outcome.status !== "ok") this.run.violate({ check: "model", message: `getInfo()/getInstructions() answered ${outcome.status}`, call: outcome.record, outcome });
        break;
    }
    void outcome;
    await this.learn(this.fs.status === "ready" ? this.fs.filesystem : undefined);
  }

  private async transaction(fs: AcceleratedFS, tags: string[]): Promise<Called> {
    const nestedOuter = !this.deadlockKnown() && this.p.chance(0.1);
    const throws = this.p.chance(0.3);
    const sentinel = new Error("the fuzzer's Mastra transaction body throws");
    const body = this.p.chance(0.05) ? this.p.pick<unknown>([42, null, "body"]) : async (tx: { writeFile(path: string, content: string): Promise<void>; readdir(path: string): Promise<unknown> }) => {
      const path = this.path(0.2);
      await this.call("mastra", "tx.writeFile", [path.value, "t"], ["in-tx"], () => tx.writeFile(path.value as string, "t"), mastraErrors, { sequential: false });
      await this.call("mastra", "tx.readdir", ["/"], ["in-tx"], () => tx.readdir("/"), mastraErrors, { sequential: false });
      if (nestedOuter) {
        const other = `/mn${++this.nested}`;
        await this.call("mastra", "writeFile", [other, "n"], ["nested", "in-tx-body"], () => this.fs.writeFile(other, "n"), mastraErrors, { sequential: false });
      }
      if (throws) throw sentinel;
      return "done";
    };
    const outcome = await this.run.call("mastra", "transaction", typeof body === "function" ? `body${throws ? " that throws" : ""}${nestedOuter ? " with a nested outer write" : ""}` : [body], [...tags, ...(nestedOuter ? ["nested:outer-write"] : []), ...(typeof body === "function" ? [] : ["not-a-function"]), ...(throws ? ["throws"] : [])], () => fs.transaction(body as never), {
      allowed: mastraErrors,
      own: [sentinel],
      sequential: !nestedOuter,
    });
    if (outcome.status === "pending") await this.recover();
    return outcome;
  }

  /** destroy and re-init (also concurrently with calls), a second instance on the same mount name. */
  private async lifecycle(): Promise<Called> {
    const kind = this.p.pick(["destroy-then-call", "destroy-twice", "init-race", "same-mount-name"] as const);
    switch (kind) {
      case "destroy-then-call": {
        await this.call("mastra", "destroy", [], [], () => this.fs.destroy(), mastraErrors);
        const outcome = await this.call("mastra", "filesystem", [], ["destroyed"], () => this.fs.filesystem, mastraErrors);
        if (outcome.status === "ok") this.run.violate({ check: "model", message: "the filesystem getter answered after destroy()", call: outcome.record, outcome });
        // The next operation mounts again (a writer's mount publishes its epoch record).
        return this.call("mastra", "readdir", ["/"], ["after-destroy"], () => this.fs.readdir("/"), mastraErrors, { sequential: false });
      }
      case "destroy-twice": {
        const outcome = await this.call("mastra", "destroy", [], ["twice"], () => Promise.all([this.fs.destroy(), this.fs.destroy()]), mastraErrors);
        await this.fs.init();
        return outcome;
      }
      case "init-race":
        return this.call("mastra", "init", [], ["concurrent"], () => Promise.all([this.fs.init(), this.fs.exists("/x"), this.fs.init()]), mastraErrors);
      case "same-mount-name": {
        await this.fs.init();
        const other = new AcceleratedFS({ id: "fuzz-mastra-twin", cacheRoot: this.cacheRoot, storeFactory: this.storeFactory, mountName: "mastra", onWriterBusy: "fail", ...quiet });
        // A second AcceleratedFS of the same workspace shares the open mount; destroying it leaves
        // the first one's mount open (the calls after this one go on using it).
        const outcome = await this.call("mastra", "init", [], ["same-mount-name"], () => other.init(), mastraErrors);
        if (outcome.status !== "ok") {
          this.run.violate({ check: "model", message: "a second AcceleratedFS of a workspace open in this process did not share its mount", call: outcome.record, outcome });
        }
        await other.destroy();
        return outcome;
      }
    }
  }

  private async recover(): Promise<void> {
    await Promise.race([this.fs.destroy().catch(() => {}), new Promise((resolve) => setTimeout(resolve, this.run.boundMs))]);
    this.cacheRoot = this.run.cacheRoot("mastra");
    this.fs = new AcceleratedFS({ id: "fuzz-mastra", cacheRoot: this.cacheRoot, storeFactory: this.storeFactory, mountName: "mastra", onWriterBusy: "takeover", ...quiet });
    await this.fs.init();
  }

  async finish(): Promise<void> {
    for (const handle of this.held.splice(0)) await handle.release();
    await this.reader.destroy();
    await this.fs.init();
    const mounted = this.fs.filesystem;
    await this.compareFresh(mounted, "mastra", this.storeFactory, "mastra-fresh");
    await this.fs.destroy();
  }

  async dispose(): Promise<void> {
    await this.fs?.destroy().catch(() => {});
    await this.reader?.destroy().catch(() => {});
  }
}

// ---- just-bash --------------------------------------------------------------------------------------

const commands = [
  "echo hi > f.txt",
  "cat f.txt",
  "ls -la /",
  "ls -R /workspace",
  "mkdir -p a/b && touch a/b/c && ls a/b",
  "rm -rf a",
  "cat /etc/passwd",
  "cd ../../..; pwd; ls",
  "echo x > /workspace/f.txt/",
  "echo x > /workspace/nowhere/deep/f",
  "seq 1 50 > big.txt && wc -l big.txt",
  "cp -r a b; mv b c; ls",
  "ln -s /workspace/f.txt link && cat link",
  "ln -s ../../../../etc escape && ls escape",
  "cat /proc/self/status",
  "echo $(printf 'x%.0s' $(seq 1 300)) > long.txt",
  "touch $(printf 'n%.0s' $(seq 1 300))",
  "cat missing-file",
  "printf 'a\\0b' > nul.txt && wc -c nul.txt",
  "grep -r x /workspace",
  "find / -maxdepth 2 -name '*.txt'",
  "chmod 777 f.txt && stat f.txt",
  "echo y >> f.txt && cat f.txt",
  "mv f.txt f.txt",
  "cp f.txt f.txt",
  "rm -r /",
  "exit 3",
  "sleep 1",
  "while true; do :; done",
  "cat /dev/urandom | head -c 10 | wc -c",
  "echo 'é😀' > u.txt && cat u.txt",
  "mkdir d && cd d && echo x > y && cd .. && rm -r d",
] as const;

export class JustBashTarget extends AdapterTarget {
  readonly name = "just-bash";
  private manager!: import("../../src/core.ts").S3CachedFsManagerImpl;
  private mount!: S3CachedFs;
  private fs!: AcceleratedJustBashFs;
  private shell!: AcceleratedJustBashShell;
  private storeFactory: () => CountingStore;

  constructor(run: FuzzRun, weight: number) {
    super(run, weight, "bash");
    this.storeFactory = run.storeFactory(this.storeRoot);
  }

  async setup(): Promise<void> {
    this.manager = this.run.manager(this.storeRoot, "bash");
    this.mount = await this.manager.mount({ ...quiet, name: "bash" });
    this.shell = await createAcceleratedJustBashShell({ filesystem: this.mount, cwd: "/workspace" });
    this.fs = this.shell.fs;
  }

  async step(): Promise<void> {
    if (this.mount.closed) await this.remount();
    const roll = this.p.random();
    if (roll < 0.3) await this.exec();
    else if (roll < 0.36) await this.transaction();
    else if (roll < 0.38) await this.closeAndCall();
    else await this.fsCall();
    await this.learn(this.mount);
  }

  private async exec(): Promise<void> {
    const command = this.p.chance(0.1) ? this.p.pick(["", "\0", "x".repeat(100_000), "$((1/0))", "cat <(ls)", "echo ${!x}"]) : this.p.pick(commands);
    const options: Record<string, unknown> = { timeoutMs: command.includes("while") || command.includes("sleep") ? 200 : 5_000 };
    const tags: string[] = [];
    if (this.p.chance(0.08)) {
      options.signal = abortedSignal();
      tags.push("aborted-signal");
    }
    if (this.p.chance(0.1)) {
      options.timeoutMs = this.p.pick<unknown>([Number.NaN, -1, 0, "5", Number.POSITIVE_INFINITY]);
      tags.push("bad-number");
    }
    if (this.p.chance(0.1)) {
      options.cwd = this.p.pick<unknown>(["/nowhere", "../..", "/workspace/f.txt", "\0"]);
      tags.push("odd-cwd");
    }
    if (this.p.chance(0.05)) {
      options.env = { PATH: "\0", HOME: "x".repeat(5000) };
      tags.push("odd-env");
    }
    const outcome = await this.call("shell", "exec", [command, options], tags, () => this.shell.exec(command, options as { timeoutMs?: number }), (error) => fsErrors(error) || (tags.includes("aborted-signal") && isAbort(error)));
    if (outcome.status === "ok") {
      const result = outcome.value as { stdout: string; stderr: string; exitCode: number };
      for (const host of this.run.hostPaths) {
        if (`${result.stdout}${result.stderr}`.includes(host)) this.run.violate({ check: "errors", message: `the shell's output shows a host path (${host}): ${result.stderr.slice(0, 200)}`, call: outcome.record, outcome });
      }
      if (typeof result.exitCode !== "number") this.run.violate({ check: "result", message: `exec resolved without an exit code: ${showValue(result)}`, call: outcome.record, outcome });
      if (tags.includes("aborted-signal")) this.run.violate({ check: "model", message: "exec with an aborted signal resolved instead of rejecting with an AbortError", call: outcome.record, outcome });
    }
  }

  private async fsCall(): Promise<void> {
    const kind = this.p.pick([
      "readFile", "readFileBuffer", "exists", "stat", "lstat", "readdir", "readdirWithFileTypes", "readlink", "realpath", "resolvePath", "getAllPaths",
      "writeFile", "writeFile", "appendFile", "mkdir", "rm", "cp", "mv", "chmod", "utimes", "symlink", "link",
    ] as const);
    const path = this.path();
    const p = path.value as string;
    const tags = path.flaw === undefined ? [] : [path.flaw];
    const fs = this.fs;
    const bool = () => this.p.pick<unknown>([true, false, undefined]);
    let outcome: Called;
    switch (kind) {
      case "readFile":
        const encoding = this.p.pick<unknown>([undefined, "utf8", "base64", "bogus", { encoding: "hex" }]);
        outcome = await this.call("just-bash", kind, [p, encoding], [...tags, ...(encoding === "bogus" ? ["bad-encoding"] : [])], () => fs.readFile(p, encoding as "utf8"), fsErrors);
        break;
      case "exists":
        outcome = await this.call("just-bash", kind, [p], tags, () => fs.exists(p), fsErrors);
        if (outcome.status === "error") this.run.violate({ check: "model", message: "exists() threw (it never throws)", call: outcome.record, outcome });
        break;
      case "readFileBuffer":
      case "stat":
      case "lstat":
      case "readdir":
      case "readdirWithFileTypes":
      case "readlink":
      case "realpath":
        outcome = await this.call("just-bash", kind, [p], tags, () => fs[kind](p), fsErrors);
        break;
      case "resolvePath": {
        const base = this.p.pick<unknown>(["/", "/workspace", "", "\0", 42]);
        outcome = await this.call("just-bash", kind, [base, p], tags, () => fs.resolvePath(base as string, p), fsErrors);
        break;
      }
      case "getAllPaths":
        outcome = await this.call("just-bash", kind, [], tags, () => fs.getAllPaths(), fsErrors);
        break;
      case "writeFile":
      case "appendFile": {
        const content = this.p.pick<unknown>([contentText(this.p, 24), new Uint8Array([0, 255, 1]), 42, null]);
        const options = this.p.chance(0.3) ? this.p.pick<unknown>(["utf8", "base64", "bogus", { encoding: "binary" }, { encoding: 42 }]) : undefined;
        const contentTags = typeof content === "string" || content instanceof Uint8Array ? [] : ["bad-content"];
        const encodingTags = options === "bogus" || (typeof options === "object" && (options as { encoding: unknown }).encoding === 42) ? ["bad-encoding"] : [];
        outcome = await this.call("just-bash", kind, [p, content, options], [...tags, ...contentTags, ...encodingTags], () => fs[kind](p, content as string, options as "utf8"), fsErrors);
        this.refusedInput(outcome, path);
        break;
      }
      case "mkdir":
      case "rm": {
        const options = kind === "mkdir" ? { recursive: bool() } : { recursive: bool(), force: bool() };
        outcome = await this.call("just-bash", kind, [p, options], tags, () => fs[kind](p, options as { recursive?: boolean }), fsErrors);
        this.refusedInput(outcome, path);
        break;
      }
      case "cp":
      case "mv":
      case "link":
      case "symlink": {
        const to = this.path(0.2);
        const args = kind === "cp" ? [p, to.value, { recursive: bool() }] : [p, to.value];
        outcome = await this.call("just-bash", kind, args, [...tags, ...(to.flaw === undefined ? [] : [to.flaw])], () => (kind === "cp" ? fs.cp(p, to.value as string, args[2] as { recursive?: boolean }) : fs[kind](p, to.value as string)), fsErrors);
        break;
      }
      case "chmod": {
        const mode = modeArg(this.p);
        outcome = await this.call("just-bash", kind, [p, mode.value], tags, () => fs.chmod(p, mode.value as number), fsErrors);
        if (outcome.status === "ok" && !mode.valid) this.run.violate({ check: "model", message: `chmod accepted mode ${showValue(mode.value)}`, call: outcome.record, outcome });
        break;
      }
      case "utimes": {
        const time = () => this.p.pick<unknown>([new Date(0), new Date(Number.NaN), 5, "x"]);
        outcome = await this.call("just-bash", kind, [p, "time", "time"], tags, () => fs.utimes(p, time() as Date, time() as Date), fsErrors);
        break;
      }
    }
    void outcome;
  }

  private async transaction(): Promise<void> {
    const nestedOuter = !this.deadlockKnown() && this.p.chance(0.1);
    const sentinel = new Error("the fuzzer's just-bash transaction body throws");
    const throws = this.p.chance(0.3);
    let escaped: AcceleratedJustBashFs | undefined;
    const outcome = await this.run.call("just-bash", "transaction", `body${throws ? " that throws" : ""}${nestedOuter ? " with a nested outer write" : ""}`, [...(nestedOuter ? ["nested:outer-write"] : []), ...(throws ? ["throws"] : [])], () =>
      this.fs.transaction(async (inner) => {
        escaped = inner;
        const path = this.path(0.2);
        await this.call("just-bash", "writeFile", [path.value, "t"], ["in-tx"], () => inner.writeFile(path.value as string, "t"), fsErrors, { sequential: false });
        await this.call("just-bash", "transaction", "joined", ["in-tx"], () => inner.transaction(async (joined) => joined.mkdir("/joined", { recursive: true })), fsErrors, { sequential: false });
        if (nestedOuter) {
          const other = `/jn${++this.nested}`;
          await this.call("just-bash", "writeFile", [other, "n"], ["nested", "in-tx-body"], () => this.fs.writeFile(other, "n"), fsErrors, { sequential: false });
        }
        if (throws) throw sentinel;
      }),
      { allowed: fsErrors, own: [sentinel], sequential: !nestedOuter },
    );
    if (outcome.status === "pending") {
      await this.remount(true);
      return;
    }
    if (escaped !== undefined) {
      const after = await this.call("just-bash", "writeFile", ["/escaped", "x"], ["tx-ended"], () => escaped!.writeFile("/escaped", "x"), fsErrors);
      if (after.status === "ok") this.run.violate({ check: "model", message: "a write through a transaction's adapter after the transaction ended succeeded", call: after.record, outcome: after });
    }
  }

  /** Close the mount under the shell, then call: every call fails clearly (exists: false). */
  private async closeAndCall(): Promise<void> {
    await this.call("core", "close", [], ["under-the-shell"], () => this.mount.close(), fsErrors);
    const read = await this.call("just-bash", "readFile", ["/workspace/f.txt"], ["closed"], () => this.fs.readFile("/workspace/f.txt"), fsErrors);
    if (read.status === "ok") this.run.violate({ check: "model", message: "readFile on a closed mount succeeded", call: read.record, outcome: read });
    const exists = await this.call("just-bash", "exists", ["/workspace"], ["closed"], () => this.fs.exists("/workspace"), fsErrors);
    if (exists.status !== "ok" || exists.value !== false) this.run.violate({ check: "model", message: `exists on a closed mount answered ${showValue(exists.status === "ok" ? exists.value : exists.status)}`, call: exists.record, outcome: exists });
    await this.call("shell", "exec", ["ls"], ["closed"], () => this.shell.exec("ls"), fsErrors);
    await this.call("just-bash", "getAllPaths", [], ["closed"], () => this.fs.getAllPaths(), fsErrors);
    await this.remount();
  }

  private async remount(takeover = false): Promise<void> {
    if (!this.mount.closed) await Promise.race([this.mount.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, this.run.boundMs))]);
    if (takeover || !this.mount.closed) this.manager = this.run.manager(this.storeRoot, "bash");
    this.mount = await this.manager.mount({ ...quiet, name: "bash", ...(takeover ? { onWriterBusy: "takeover" as const } : {}) });
    this.shell = await createAcceleratedJustBashShell({ filesystem: this.mount, cwd: "/workspace" });
    this.fs = this.shell.fs;
  }

  async finish(): Promise<void> {
    await this.shell.close();
    await this.compareFresh(this.mount, "just-bash", this.storeFactory, "bash-fresh");
  }

  async dispose(): Promise<void> {
    await this.mount?.close().catch(() => {});
  }
}

// ---- Flue --------------------------------------------------------------------------------------------

export class FlueTarget extends AdapterTarget {
  readonly name = "flue";
  private factory!: AcceleratedFsSandboxFactory;
  private sandbox!: AcceleratedSandbox;
  private cacheRoot: string;

  constructor(run: FuzzRun, weight: number) {
    super(run, weight, "flue");
    this.cacheRoot = run.cacheRoot("flue");
  }

  /** Stores that honour the mount's prefix (one workspace per instance id), counting requests. */
  private readonly storeFactory = (config: { prefix: string }) => {
    const store = new CountingStore(new LocalObjectStore({ root: join(this.storeRoot, config.prefix), fsync: false }), { record: true });
    this.run.stores.push(store);
    return store;
  };

  private makeFactory(): AcceleratedFsSandboxFactory {
    return acceleratedFsSandbox({ mount: { prefix: "agents", ...quiet }, managerConfig: { cacheRoot: this.cacheRoot, storeFactory: this.storeFactory } });
  }

  async setup(): Promise<void> {
    this.factory = this.makeFactory();
    this.sandbox = await this.factory.createSandbox({ id: "one" });
  }

  async step(): Promise<void> {
    const kind = this.p.pick(["readFile", "readFileBuffer", "writeFile", "writeFile", "stat", "readdir", "exists", "mkdir", "rm", "exec", "exec", "resolvePath", "factory"] as const);
    const path = this.path();
    const p = path.value as string;
    const tags: string[] = path.flaw === undefined ? [] : [path.flaw];
    const sandbox = this.sandbox;
    switch (kind) {
      case "readFile":
      case "readFileBuffer":
      case "stat":
      case "readdir":
        await this.call("flue", kind, [p], tags, () => sandbox[kind](p), flueErrors);
        break;
      case "exists": {
        const outcome = await this.call("flue", kind, [p], tags, () => sandbox.exists(p), flueErrors);
        if (outcome.status === "error") this.run.violate({ check: "model", message: "exists() threw (Flue's contract: never)", call: outcome.record, outcome });
        break;
      }
      case "writeFile": {
        const content = this.p.pick<unknown>([contentText(this.p, 24), new Uint8Array([1, 2]), 42, null]);
        const contentTags = typeof content === "string" || content instanceof Uint8Array ? [] : ["bad-content"];
        const outcome = await this.call("flue", kind, [p, content], [...tags, ...contentTags], () => sandbox.writeFile(p, content as string), flueErrors);
        this.refusedInput(outcome, path);
        break;
      }
      case "mkdir":
      case "rm": {
        const options = { recursive: this.p.chance(0.5), ...(kind === "rm" ? { force: this.p.chance(0.5) } : {}) };
        const outcome = await this.call("flue", kind, [p, options], tags, () => sandbox[kind](p, options), flueErrors);
        this.refusedInput(outcome, path);
        break;
      }
      case "resolvePath":
        await this.call("flue", kind, [p], tags, () => sandbox.resolvePath(p), flueErrors);
        break;
      case "exec": {
        const command = this.p.pick(commands);
        const options: Record<string, unknown> = { timeoutMs: command.includes("while") || command.includes("sleep") ? 200 : 5_000 };
        const execTags = [...tags];
        if (this.p.chance(0.1)) {
          options.signal = abortedSignal();
          execTags.push("aborted-signal");
        }
        if (this.p.chance(0.1)) {
          options.timeoutMs = this.p.pick<unknown>([Number.NaN, -1, 0, Number.POSITIVE_INFINITY]);
          execTags.push("bad-number");
        }
        if (this.p.chance(0.1)) {
          options.cwd = p;
          execTags.push("odd-cwd");
        }
        const outcome = await this.call("flue", "exec", [command, options], execTags, () => sandbox.exec(command, options as { timeoutMs?: number }), (error) => flueErrors(error) || (execTags.includes("aborted-signal") && isAbort(error)));
        if (outcome.status === "ok") {
          const result = outcome.value as { stdout: string; stderr: string };
          for (const host of this.run.hostPaths) {
            if (`${result.stdout}${result.stderr}`.includes(host)) this.run.violate({ check: "errors", message: `the sandbox's output shows a host path (${host})`, call: outcome.record, outcome });
          }
        }
        break;
      }
      case "factory":
        await this.factoryMisuse();
        break;
    }
    await this.learn(this.sandbox === sandbox ? await this.factory.filesystemFor("one").catch(() => undefined) : undefined);
  }

  private async factoryMisuse(): Promise<void> {
    const kind = this.p.pick(["bad-id", "close-then-call", "options"] as const);
    switch (kind) {
      case "bad-id": {
        const id = this.p.pick<unknown>(["", "../escape", "a/b", "\0", 42, "x".repeat(300), ".."]);
        // Any string names a workspace of its own (encoded into one key segment); others are EINVAL.
        const outcome = await this.call("flue", "createSandbox", [{ id }], ["bad-id"], () => this.factory.createSandbox({ id: id as string }), flueErrors);
        if (outcome.status === "ok" && (typeof id !== "string" || id === "")) {
          this.run.violate({ check: "model", message: `createSandbox accepted the instance id ${showValue(id)}`, call: outcome.record, outcome });
        }
        break;
      }
      case "close-then-call": {
        await this.call("flue", "close", [], [], () => this.factory.close(), flueErrors);
        const outcome = await this.call("flue", "readdir", ["/workspace"], ["closed"], () => this.sandbox.readdir("/workspace"), flueErrors);
        if (outcome.status === "ok") this.run.violate({ check: "model", message: "a sandbox answered after its factory closed", call: outcome.record, outcome });
        const again = await this.call("flue", "createSandbox", [{ id: "one" }], ["closed"], () => this.factory.createSandbox({ id: "one" }), flueErrors);
        if (again.status === "ok") this.run.violate({ check: "model", message: "a closed factory created a sandbox", call: again.record, outcome: again });
        this.factory = this.makeFactory();
        this.sandbox = await this.factory.createSandbox({ id: "one" });
        break;
      }
      case "options": {
        const options = this.p.pick<unknown>([null, {}, { filesystem: 42 }, { mount: {}, managerConfig: { cacheRoot: "" } }, { mount: {}, manager: {}, managerConfig: {} }, { cwd: "", mount: {}, managerConfig: { cacheRoot: "x" } }]);
        const outcome = await this.call("flue", "acceleratedFsSandbox", [options], ["bad-options"], () => acceleratedFsSandbox(options as never), flueErrors);
        if (outcome.status === "ok") this.run.violate({ check: "model", message: `acceleratedFsSandbox accepted ${showValue(options)}`, call: outcome.record, outcome });
        break;
      }
    }
  }

  async finish(): Promise<void> {
    const mounted = await this.factory.filesystemFor("one");
    const snapshot = await treeOf(mounted);
    await this.factory.close();
    const manager = new (await import("../../src/core.ts")).S3CachedFsManagerImpl({ cacheRoot: this.run.cacheRoot("flue-fresh"), storeFactory: this.storeFactory as never });
    const fresh = await manager.mount({ ...quiet, name: "flue-fresh", prefix: "agents/one", mode: "readonly" });
    const actual = await treeOf(fresh);
    await fresh.close();
    if (JSON.stringify(actual) !== JSON.stringify(snapshot)) this.run.violate({ check: "fresh-mount", message: "flue: a fresh mount differs from the sandbox's view", call: undefined });
  }

  async dispose(): Promise<void> {
    await this.factory?.close().catch(() => {});
  }
}
