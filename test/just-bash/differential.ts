// Differential test harness for just-bash. It runs a shell case (seed files + one script) in a fresh `Bash`
// over any `IFileSystem`, snapshots `/workspace` through IFileSystem methods only, and compares the outcome
// (stdout, stderr, exit code, tree) against the same case run over just-bash's own `InMemoryFs`.
import { Bash, InMemoryFs, type IFileSystem } from "just-bash";
import { shellCorpus, type ShellCase } from "./corpus.ts";

export type { ShellCase } from "./corpus.ts";

/** The working directory every case runs in, and the only part of the filesystem that is snapshotted. */
export const WORKSPACE = "/workspace";

export type FsFactory = () => Promise<IFileSystem> | IFileSystem;

/** One path of the snapshot. `mode` is the permission bits in octal (type bits are masked off). */
export type TreeEntry =
  | { path: string; type: "dir"; mode: string }
  | { path: string; type: "file"; mode: string; encoding: "utf8" | "base64"; content: string }
  | { path: string; type: "symlink"; mode: string; target: string }
  | { path: string; type: "error"; error: string };

export interface ShellOutcome {
  stdout: string;
  stderr: string;
  exitCode: number;
  tree: TreeEntry[];
  /** Set when seeding the files or `exec` itself threw (or timed out); `null` on a normal run. */
  error: string | null;
}

export interface RunOptions {
  /** Per-case budget for seeding + exec + snapshot; default 30 s. */
  timeoutMs?: number;
}

export interface CaseComparison {
  name: string;
  /** Human-readable differences; empty when the candidate agrees with the reference. */
  differences: string[];
  expected: ShellOutcome;
  actual: ShellOutcome;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function joinPath(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

function seedPath(relative: string): string {
  const parts = relative.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.length === 0 || parts.includes("..") || relative.startsWith("/")) {
    throw new Error(`shell case file path must be relative and inside ${WORKSPACE}: ${JSON.stringify(relative)}`);
  }
  return `${WORKSPACE}/${parts.join("/")}`;
}

async function seedFiles(fs: IFileSystem, files: Record<string, string> | undefined): Promise<void> {
  await fs.mkdir(WORKSPACE, { recursive: true });
  for (const relative of Object.keys(files ?? {}).sort()) {
    const path = seedPath(relative);
    const parent = path.slice(0, path.lastIndexOf("/"));
    await fs.mkdir(parent, { recursive: true });
    await fs.writeFile(path, files?.[relative] ?? "");
  }
}

function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function encodeContent(bytes: Uint8Array): { encoding: "utf8" | "base64"; content: string } {
  try {
    const text = strictUtf8.decode(bytes);
    if (Buffer.from(text, "utf8").equals(bytes)) return { encoding: "utf8", content: text };
  } catch {
    // not valid UTF-8: fall through to base64
  }
  return { encoding: "base64", content: Buffer.from(bytes).toString("base64") };
}

/**
 * A deterministic snapshot of everything under `root`, sorted by path, built only with `readdir`, `lstat`,
 * `readFileBuffer` and `readlink` so it works for any `IFileSystem`. Symlinks are recorded, not followed.
 * Failures become `type: "error"` entries instead of aborting, so a broken fs still yields a comparable tree.
 */
export async function snapshotTree(fs: IFileSystem, root: string = WORKSPACE): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const visit = async (path: string): Promise<void> => {
    let stat;
    try {
      stat = await fs.lstat(path);
    } catch (error) {
      entries.push({ path, type: "error", error: `lstat: ${errorText(error)}` });
      return;
    }
    const mode = formatMode(stat.mode);
    if (stat.isSymbolicLink) {
      try {
        entries.push({ path, type: "symlink", mode, target: await fs.readlink(path) });
      } catch (error) {
        entries.push({ path, type: "error", error: `readlink: ${errorText(error)}` });
      }
    } else if (stat.isDirectory) {
      entries.push({ path, type: "dir", mode });
      let names: string[];
      try {
        names = await fs.readdir(path);
      } catch (error) {
        entries.push({ path, type: "error", error: `readdir: ${errorText(error)}` });
        return;
      }
      for (const name of [...names].sort()) await visit(joinPath(path, name));
    } else if (stat.isFile) {
      try {
        entries.push({ path, type: "file", mode, ...encodeContent(await fs.readFileBuffer(path)) });
      } catch (error) {
        entries.push({ path, type: "error", error: `readFileBuffer: ${errorText(error)}` });
      }
    } else {
      entries.push({ path, type: "error", error: "lstat: neither file, directory nor symlink" });
    }
  };
  await visit(root);
  return entries;
}

async function withTimeout<T>(work: (signal: AbortSignal) => Promise<T>, ms: number, what: string): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`${what} timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Seeds the case's files into `fs`, runs its script in a fresh `Bash` at `/workspace`, then snapshots. */
export async function runShellCase(fs: IFileSystem, c: ShellCase, options: RunOptions = {}): Promise<ShellOutcome> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let outcome: Omit<ShellOutcome, "tree">;
  try {
    outcome = await withTimeout(
      async (signal) => {
        await seedFiles(fs, c.files);
        const bash = new Bash({ fs, cwd: WORKSPACE, defenseInDepth: false });
        const result = await bash.exec(c.script, { signal });
        return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode, error: null };
      },
      timeoutMs,
      `case ${JSON.stringify(c.name)}`,
    );
  } catch (error) {
    outcome = { stdout: "", stderr: "", exitCode: -1, error: errorText(error) };
  }
  let tree: TreeEntry[];
  try {
    tree = await withTimeout(() => snapshotTree(fs), timeoutMs, `snapshot of ${JSON.stringify(c.name)}`);
  } catch (error) {
    tree = [{ path: WORKSPACE, type: "error", error: errorText(error) }];
  }
  return { ...outcome, tree };
}

function show(value: unknown, limit = 400): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > limit ? `${text.slice(0, limit)}… (${text.length} chars)` : text;
}

function describeEntry(entry: TreeEntry): string {
  switch (entry.type) {
    case "dir":
      return `dir ${entry.mode}`;
    case "file":
      return `file ${entry.mode} ${entry.encoding} ${show(entry.content, 200)}`;
    case "symlink":
      return `symlink ${entry.mode} -> ${show(entry.target)}`;
    case "error":
      return `error ${show(entry.error)}`;
  }
}

/** Lists every way `actual` differs from `expected`; empty when they agree exactly. */
export function diffOutcomes(expected: ShellOutcome, actual: ShellOutcome): string[] {
  const differences: string[] = [];
  if (expected.error !== actual.error) {
    differences.push(`harness error: expected ${show(expected.error)}, got ${show(actual.error)}`);
  }
  if (expected.exitCode !== actual.exitCode) {
    differences.push(`exit code: expected ${expected.exitCode}, got ${actual.exitCode}`);
  }
  for (const stream of ["stdout", "stderr"] as const) {
    if (expected[stream] !== actual[stream]) {
      differences.push(`${stream}:\n    expected ${show(expected[stream])}\n    got      ${show(actual[stream])}`);
    }
  }
  const byPath = (tree: TreeEntry[]) => new Map(tree.map((entry) => [`${entry.path}\0${entry.type === "error"}`, entry]));
  const expectedTree = byPath(expected.tree);
  const actualTree = byPath(actual.tree);
  const keys = [...new Set([...expectedTree.keys(), ...actualTree.keys()])].sort();
  for (const key of keys) {
    const want = expectedTree.get(key);
    const got = actualTree.get(key);
    if (want === undefined && got !== undefined) {
      differences.push(`tree ${got.path}: unexpected (${describeEntry(got)})`);
    } else if (got === undefined && want !== undefined) {
      differences.push(`tree ${want.path}: missing (expected ${describeEntry(want)})`);
    } else if (want !== undefined && got !== undefined && describeEntry(want) !== describeEntry(got)) {
      if (want.type === "file" && got.type === "file" && want.mode === got.mode) {
        differences.push(`tree ${want.path}: content differs\n    expected ${describeEntry(want)}\n    got      ${describeEntry(got)}`);
      } else {
        differences.push(`tree ${want.path}: expected ${describeEntry(want)}, got ${describeEntry(got)}`);
      }
    }
  }
  return differences;
}

/** Runs one case over a fresh reference fs and a fresh candidate fs and diffs the outcomes. */
export async function compareCase(
  makeFs: FsFactory,
  c: ShellCase,
  options: RunOptions & { makeReference?: FsFactory } = {},
): Promise<CaseComparison> {
  const makeReference = options.makeReference ?? (() => new InMemoryFs());
  const expected = await runShellCase(await makeReference(), c, options);
  const actual = await runShellCase(await makeFs(), c, options);
  return { name: c.name, differences: diffOutcomes(expected, actual), expected, actual };
}

/**
 * Runs every case (default: the whole corpus) over `InMemoryFs` and over a fresh fs from `makeFs`, sequentially,
 * and returns one comparison per case. Callers typically assert `differences` is empty per case.
 */
export async function compareWithInMemory(
  makeFs: FsFactory,
  cases: readonly ShellCase[] = shellCorpus,
  options: RunOptions & { makeReference?: FsFactory } = {},
): Promise<CaseComparison[]> {
  const results: CaseComparison[] = [];
  for (const c of cases) results.push(await compareCase(makeFs, c, options));
  return results;
}

/** A multi-line summary of the cases that differ (empty string if all agree). */
export function formatComparisons(results: readonly CaseComparison[]): string {
  return results
    .filter((result) => result.differences.length > 0)
    .map((result) => `✗ ${result.name}\n${result.differences.map((line) => `  - ${line}`).join("\n")}`)
    .join("\n");
}

export interface FsCall {
  method: string;
  args: string[];
}

function formatArg(arg: unknown): string {
  if (arg instanceof Uint8Array) return `<${arg.byteLength} bytes>`;
  if (arg instanceof Date) return "<Date>";
  if (typeof arg === "function") return "<fn>";
  return show(arg, 80);
}

/**
 * Wraps `fs` in a Proxy that records every method call (async and sync, including probes such as `mkdirSync`
 * presence checks that end in a call) in `calls`. Use it to see which IFileSystem methods a command triggers.
 */
export function recordFsCalls<T extends IFileSystem>(fs: T): { fs: T; calls: FsCall[] } {
  const calls: FsCall[] = [];
  const proxy = new Proxy(fs, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      return (...args: unknown[]) => {
        calls.push({ method: property, args: args.map(formatArg) });
        return (value as (...callArgs: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { fs: proxy, calls };
}
