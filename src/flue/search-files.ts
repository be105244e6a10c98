// The files the grep and glob tools look through. For a sandbox made by this adapter the list is
// one walk of the core's local index and the bytes come from its cache (a cold tree is fetched in
// one prefetch, so neighbouring files of one stored object cost one ranged GET); a warm search
// makes no request at all.
//
// Flue sometimes hands tools a sandbox rebuilt around ours (`useSandbox(factory, { cwd })`, a
// subagent task with a `cwd`) that no longer carries the link to the core. Then the files are
// listed and read through the Sandbox verbs (readdir, stat, readFileBuffer): for our sandbox
// still answered by the index and the cache, just one call per entry and without the prefetch,
// and correct for any other Flue sandbox too.
//
// What is searched, as `grep -r` and `find -type f` choose: regular files below the root, hidden
// ones included, symbolic links not followed (a root that is a link is followed). The shell's
// in-memory system directories (/bin, /dev, /proc, /usr) are left out unless the root is in them.

import type { Sandbox } from "@flue/runtime";
import type { S3CachedFs } from "../core.ts";
import { inSystemTree, workspaceOf } from "./accelerated-sandbox.ts";

export interface SearchFile {
  /** Absolute path in the sandbox. */
  path: string;
  /** Path below the search root ("" when the root is this file). */
  relative: string;
  /** Size in bytes, when the sandbox knows it. */
  size: number | undefined;
}

export interface SearchTree {
  /** The regular files below the root (or the root itself, if it is one), sorted by path. */
  files: SearchFile[];
  /** The file's bytes; undefined if it went away since it was listed. */
  read(file: SearchFile): Promise<Uint8Array | undefined>;
  /** Fetches the bytes of `selected` ahead of reading them, when that is cheaper than file by file. */
  warm(selected: readonly SearchFile[]): Promise<void>;
}

/** Deepest directory the verb-by-verb walk descends to (a sandbox whose stat follows links could loop). */
const maxWalkDepth = 64;

/** The files below `path` (resolved against the sandbox's cwd); undefined if it does not exist. */
export async function searchTree(sandbox: Sandbox, path: string): Promise<SearchTree | undefined> {
  const root = sandbox.resolvePath(path);
  const workspace = workspaceOf(sandbox);
  if (workspace !== undefined && !inSystemTree(root)) {
    try {
      return await coreTree(workspace.filesystem, root);
    } catch (error) {
      // Missing, or a link into the system tree, which only the shell's view of the files resolves.
      if (!isAbsent(error)) throw error;
    }
  }
  return sandboxTree(sandbox, root);
}

/** Matches a file against a glob (`*`, `?`, `[...]`, `{a,b}`, `**`): its name, or its path below the root if the glob has a "/". */
export function globMatcher(pattern: string): (file: SearchFile) => boolean {
  const byPath = pattern.includes("/");
  const glob = new Bun.Glob(byPath ? pattern.replace(/^(\.\/)+/, "") : pattern);
  return (file) => glob.match(byPath && file.relative !== "" ? file.relative : baseName(file.path));
}

/** The path as `grep -r`, `rg` and `find` print it: the root as the caller wrote it, then the path below it. */
export function shownPath(given: string, file: SearchFile): string {
  if (file.relative === "") return given;
  return given.endsWith("/") ? `${given}${file.relative}` : `${given}/${file.relative}`;
}

async function coreTree(filesystem: S3CachedFs, root: string): Promise<SearchTree> {
  const stats = await filesystem.stat(root);
  const read = (file: SearchFile) => filesystem.readFile(file.path).catch(absentAsUndefined);
  if (!stats.isDirectory()) {
    return { files: stats.isFile() ? [{ path: root, relative: "", size: stats.size }] : [], read, warm: async () => {} };
  }
  const files = (await filesystem.walk(root))
    .filter((entry) => entry.stats.isFile())
    .map((entry) => ({ path: joinPath(root, entry.path), relative: entry.path, size: entry.stats.size }))
    .sort(byRelativePath);
  const treeBytes = totalBytes(files);
  return {
    files,
    read,
    /**
     * One prefetch of the whole tree lets the core coalesce neighbouring files of one stored object
     * (a commit record, a pack) into one ranged GET, where reading file by file costs a GET each.
     * Only when most of the tree is to be read anyway, and the tree takes at most a quarter of the
     * cache (a search never evicts much more than it reads). Cached bytes are skipped, so a warm
     * tree costs nothing; a failed prefetch only means the reads fetch their own bytes.
     */
    warm: async (selected) => {
      if (selected.length < 2 || treeBytes === 0) return;
      if (treeBytes > filesystem.stats().cache.maxBytes / 4 || totalBytes(selected) * 2 < treeBytes) return;
      await filesystem.prefetch(root).catch(() => {});
    },
  };
}

async function sandboxTree(sandbox: Sandbox, root: string): Promise<SearchTree | undefined> {
  const stats = await sandbox.stat(root).catch(absentAsUndefined);
  if (stats === undefined) return undefined;
  const read = async (file: SearchFile) => sandbox.readFileBuffer(file.path).catch(absentAsUndefined);
  const warm = async () => {};
  if (!stats.isDirectory) return { files: stats.isFile ? [{ path: root, relative: "", size: stats.size }] : [], read, warm };
  const files: SearchFile[] = [];
  const leaveOutSystemTree = !inSystemTree(root);
  const visit = async (directory: string, relative: string, depth: number): Promise<void> => {
    const names = await sandbox.readdir(directory).catch(absentAsUndefined);
    for (const name of names ?? []) {
      const path = joinPath(directory, name);
      if (leaveOutSystemTree && inSystemTree(path)) continue;
      const below = relative === "" ? name : `${relative}/${name}`;
      const entry = await sandbox.stat(path).catch(absentAsUndefined);
      if (entry === undefined || entry.isSymbolicLink === true) continue;
      if (entry.isDirectory) {
        if (depth < maxWalkDepth) await visit(path, below, depth + 1);
      } else if (entry.isFile) {
        files.push({ path, relative: below, size: entry.size });
      }
    }
  };
  await visit(root, "", 1);
  return { files: files.sort(byRelativePath), read, warm };
}

function totalBytes(files: readonly SearchFile[]): number {
  return files.reduce((sum, file) => sum + (file.size ?? 0), 0);
}

function byRelativePath(a: SearchFile, b: SearchFile): number {
  return a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0;
}

function joinPath(directory: string, name: string): string {
  return directory === "/" ? `/${name}` : `${directory}/${name}`;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * A missing path or a path through a non-directory: the core's FsError carries `code`; other
 * sandboxes (just-bash's own filesystems) only put the code at the start of the message.
 */
function isAbsent(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === "ENOTDIR") return true;
  const message = error instanceof Error ? error.message : "";
  return message.startsWith("ENOENT") || message.startsWith("ENOTDIR");
}

function absentAsUndefined(error: unknown): undefined {
  if (isAbsent(error)) return undefined;
  throw error;
}
