// `grep` served by the filesystem itself (WorkspaceFilesystem.grep, @mastra/core 1.71): the file list
// comes from one walk of the local index, the bytes from the cache, so a warm search makes no remote
// request at all. Without it, Mastra's grep tool walks the tree with one readdir per directory and
// reads every file itself.
//
// The output must let the tool print exactly what its own host-side search would: lines are split
// on "\n" (so a final newline leaves an empty last line, which `after` context includes), columns are
// UTF-16 indexes from RegExp.exec, and the regex gets the same flags ("" or "i"; the tool's "g" only
// matters for its lastIndex reset). Like the interface asks, results are not filtered by .gitignore:
// the tool does that.
//
// Which files are searched: every file (and link to a file) below the root, dot-entries only with
// includeHidden, except likely-binary content: a file whose extension is not a text one (per
// isTextFile, which the tool applies to our results anyway) is skipped if it is larger than
// `unknownTypeMaxBytes` or has a NUL byte in its first 8 KiB. So a dot-file like `.env` is searched,
// and a 2 GB data set is never downloaded to be searched for text.
//
// Small files are read whole, several ahead of the one being searched; a large one is streamed, so
// memory stays bounded and a search that has its matches (maxCountPerFile, maxTotalMatches) stops
// fetching the rest of the file.

import { UnsupportedGrepPatternError, type FilesystemGrepMatch, type FilesystemGrepOptions, type FilesystemGrepResult } from "@mastra/core/workspace";
import { S3CachedFs, type FileStats } from "../core.ts";
import type { FsTarget } from "./workspace-operations.ts";
import { baseNameOf, isHiddenPath, joinCore } from "./workspace-paths.ts";

export interface GrepSettings {
  isTextFile(name: string): boolean;
  /** Files without a text extension larger than this are not searched (default 1 MiB). */
  unknownTypeMaxBytes: number;
  /** Files read at once (default 8, as Mastra's own search). */
  concurrency: number;
}

/** A file to search: its core path, and its path relative to the search root. */
interface Candidate {
  path: string;
  relative: string;
  size: number;
  text: boolean;
}

const binaryProbeBytes = 8192;
/** Files larger than this are streamed rather than read whole. */
const streamAboveBytes = 4 * 1024 * 1024;

/** Searches below the core path `root` (a directory or one file). Throws the core's FsError for a missing root. */
export async function grepFiles(target: FsTarget, root: string, options: FilesystemGrepOptions, settings: GrepSettings): Promise<FilesystemGrepResult[]> {
  let regex: RegExp;
  try {
    regex = new RegExp(options.pattern, options.caseSensitive ? "" : "i");
  } catch (error) {
    throw new UnsupportedGrepPatternError(options.pattern, error instanceof Error ? error.message : String(error));
  }
  const below = await candidatesBelow(target, root, options.includeHidden, settings);
  const candidates = below.candidates.filter((candidate) => candidate.text || candidate.size <= settings.unknownTypeMaxBytes);
  await prefetchTree(target, root, below.tree);
  const budget: Budget = { remaining: options.maxTotalMatches ?? Number.POSITIVE_INFINITY };
  const limits = { context: Math.max(0, Math.floor(options.contextLines ?? 0)), perFile: options.maxCountPerFile ?? Number.POSITIVE_INFINITY };
  const results: FilesystemGrepResult[] = [];

  // Small files are read up to `concurrency` ahead of the one being searched; results stay in walk order.
  const reads: (Promise<Buffer | undefined> | undefined)[] = [];
  const startRead = (index: number) => {
    const candidate = candidates[index];
    if (candidate === undefined || candidate.size > streamAboveBytes || reads[index] !== undefined) return;
    const read = target.readFile(candidate.path).catch(absentAsUndefined);
    read.catch(() => {}); // awaited in order below; this only keeps an early failure from going unhandled
    reads[index] = read;
  };
  for (let index = 0; index < candidates.length && budget.remaining > 0; index++) {
    for (let ahead = index; ahead < Math.min(candidates.length, index + settings.concurrency); ahead++) startRead(ahead);
    const candidate = candidates[index]!;
    const scanner = new LineScanner(regex, limits, budget);
    const read = reads[index];
    reads[index] = undefined; // let the bytes go once searched
    const searched = read === undefined ? await searchStream(target, candidate, scanner) : await searchBytes(await read, candidate, scanner);
    if (searched && scanner.matches.length > 0) results.push({ path: candidate.relative, matches: scanner.matches });
  }
  return results;
}

interface Budget {
  /** Matches still allowed across all files (maxTotalMatches). */
  remaining: number;
}

/**
 * Finds matches line by line in text that arrives in pieces, with `before` and `after` context,
 * giving what `text.split("\n")` would: the text after the last "\n" (maybe "") is the last line.
 * Once the limits are reached it takes no new match, but keeps reading the lines the pending
 * matches still need as `after` context; then it is `finished`.
 */
class LineScanner {
  readonly matches: FilesystemGrepMatch[] = [];
  private line = 0;
  private partial = "";
  private readonly previous: string[] = [];
  private readonly waiting: FilesystemGrepMatch[] = [];
  private full = false;

  constructor(
    private readonly regex: RegExp,
    private readonly limits: { context: number; perFile: number },
    private readonly budget: Budget,
  ) {}

  get finished(): boolean {
    return this.full && this.waiting.length === 0;
  }

  push(text: string): void {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop()!;
    for (const line of lines) {
      this.take(line);
      if (this.finished) return;
    }
  }

  end(): void {
    if (!this.finished) this.take(this.partial);
  }

  private take(text: string): void {
    this.line++;
    const { context } = this.limits;
    for (const match of this.waiting) match.after!.push(text);
    while (this.waiting.length > 0 && this.waiting[0]!.after!.length >= context) this.waiting.shift();
    if (!this.full) {
      const found = this.regex.exec(text);
      if (found !== null) {
        const match: FilesystemGrepMatch = { line: this.line, column: found.index, text };
        if (context > 0) {
          match.before = [...this.previous];
          match.after = [];
          this.waiting.push(match);
        }
        this.matches.push(match);
        this.budget.remaining--;
        if (this.matches.length >= this.limits.perFile || this.budget.remaining <= 0) this.full = true;
      }
    }
    if (context > 0) {
      this.previous.push(text);
      if (this.previous.length > context) this.previous.shift();
    }
  }
}

/** Searches bytes read whole; false if the file was gone or is binary. */
async function searchBytes(bytes: Buffer | undefined, candidate: Candidate, scanner: LineScanner): Promise<boolean> {
  if (bytes === undefined || looksBinary(bytes, candidate)) return false;
  // Buffer#toString, not TextDecoder: it keeps a byte-order mark, as the tool's own readFile path does.
  scanner.push(bytes.toString("utf-8"));
  scanner.end();
  return true;
}

/** Searches a large file as it streams in, and stops fetching once the scanner is finished. */
async function searchStream(target: FsTarget, candidate: Candidate, scanner: LineScanner): Promise<boolean> {
  // One window ahead: a search often stops early, and what is read ahead of it is wasted.
  const stream = await target.stream(candidate.path, { windowsAhead: 1 }).catch(absentAsUndefined);
  if (stream === undefined) return false;
  const reader = stream.getReader();
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true }); // keeps a byte-order mark, as Buffer#toString does
  try {
    for (let first = true; ; first = false) {
      const { done, value } = await reader.read();
      if (done) break;
      if (first && looksBinary(value, candidate)) return false;
      scanner.push(decoder.decode(value, { stream: true }));
      if (scanner.finished) return true;
    }
    scanner.push(decoder.decode());
    scanner.end();
    return true;
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function looksBinary(bytes: Uint8Array, candidate: Candidate): boolean {
  return !candidate.text && bytes.subarray(0, binaryProbeBytes).includes(0);
}

/**
 * A cold tree of small files is fetched in one go before it is searched: the core then coalesces
 * neighbouring files of one object (a commit record, a pack) into one ranged GET, where reading file
 * by file costs a GET per file. Only when the whole tree takes at most a quarter of the cache (a
 * search never evicts more than it reads) and holds no file large enough to be streamed (those are
 * objects of their own, gain nothing, and a search may stop early in them). A warm tree costs nothing
 * here: cached extents are skipped. Not in a transaction: its own bytes are not in the store yet.
 */
async function prefetchTree(target: FsTarget, root: string, tree: TreeSize | undefined): Promise<void> {
  if (!(target instanceof S3CachedFs) || tree === undefined || tree.bytes === 0 || tree.largest > streamAboveBytes) return;
  if (tree.bytes > target.stats().cache.maxBytes / 4) return;
  await target.prefetch(root);
}

interface TreeSize {
  /** Bytes of all files below the root, hidden ones too (what a prefetch of the root fetches). */
  bytes: number;
  largest: number;
}

/** The files to search below `root`, in walk order (sorted by path), and the size of the tree. */
async function candidatesBelow(
  target: FsTarget,
  root: string,
  includeHidden: boolean,
  settings: GrepSettings,
): Promise<{ candidates: Candidate[]; tree: TreeSize | undefined }> {
  const rootStats = await target.stat(root);
  const candidate = (path: string, relative: string, stats: FileStats): Candidate => ({ path, relative, size: stats.size, text: settings.isTextFile(baseNameOf(path)) });
  if (!rootStats.isDirectory()) return { candidates: [candidate(root, baseNameOf(root), rootStats)], tree: undefined };
  const candidates: Candidate[] = [];
  const tree: TreeSize = { bytes: 0, largest: 0 };
  for (const entry of await target.walk(root)) {
    if (entry.stats.isFile()) {
      tree.bytes += entry.stats.size;
      tree.largest = Math.max(tree.largest, entry.stats.size);
    }
    if (!includeHidden && isHiddenPath(entry.path)) continue;
    const path = joinCore(root, entry.path);
    let stats: FileStats | undefined = entry.stats;
    if (stats.isSymbolicLink()) stats = await target.stat(path).catch(() => undefined); // a dangling link has nothing to search
    if (stats?.isFile()) candidates.push(candidate(path, entry.path, stats));
  }
  return { candidates, tree };
}

/** A file removed between the walk and the read is simply not there to search. */
function absentAsUndefined(error: unknown): undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === "ENOTDIR") return undefined;
  throw error;
}
