// Reads of the model-based test's model (test/fs/model.ts), which has the writes: what node:fs
// would answer to stat, readdir, readFile, walk, ... on the model's tree, and the comparison of a
// mounted filesystem's whole tree with the model.

import type { S3CachedFs, Transaction } from "../../src/core.ts";
import { FilesystemModel, ModelError, type ModelNode } from "../fs/model.ts";

export { FilesystemModel, ModelError };

const parentOf = (path: string) => (path.lastIndexOf("/") <= 0 ? "/" : path.slice(0, path.lastIndexOf("/")));

/** The node at `path` as node:fs resolves it: ENOENT for a missing component, ENOTDIR through a file. */
export function lookup(model: FilesystemModel, path: string): ModelNode {
  let current = "/";
  for (const part of path === "/" ? [] : path.slice(1).split("/")) {
    if (model.nodes.get(current)?.kind !== "directory") throw new ModelError("ENOTDIR");
    current = current === "/" ? `/${part}` : `${current}/${part}`;
    if (!model.nodes.has(current)) throw new ModelError("ENOENT");
  }
  return model.nodes.get(current)!;
}

export function tryLookup(model: FilesystemModel, path: string): ModelNode | undefined {
  try {
    return lookup(model, path);
  } catch {
    return undefined;
  }
}

export function children(model: FilesystemModel, path: string): string[] {
  return [...model.nodes.keys()].filter((candidate) => candidate !== "/" && candidate !== path && parentOf(candidate) === path).map((child) => child.slice(child.lastIndexOf("/") + 1)).sort();
}

export function readdir(model: FilesystemModel, path: string): string[] {
  const node = lookup(model, path);
  if (node.kind !== "directory") throw new ModelError("ENOTDIR");
  return children(model, path);
}

export function readFile(model: FilesystemModel, path: string): string {
  const node = lookup(model, path);
  if (node.kind === "directory") throw new ModelError("EISDIR");
  return node.content;
}

/** "relative kind depth" lines of a walk below `path`, to `maxDepth` levels (1: children only). */
export function walk(model: FilesystemModel, path: string, maxDepth?: number): string[] {
  const node = lookup(model, path);
  if (node.kind !== "directory") throw new ModelError("ENOTDIR");
  const prefix = path === "/" ? "/" : `${path}/`;
  return [...model.nodes]
    .filter(([candidate]) => candidate !== path && candidate.startsWith(prefix))
    .map(([candidate, entry]) => ({ relative: candidate.slice(prefix.length), kind: entry.kind }))
    .map((entry) => ({ ...entry, depth: entry.relative.split("/").length }))
    .filter((entry) => maxDepth === undefined || entry.depth <= maxDepth)
    .map((entry) => `${entry.relative} ${entry.kind} ${entry.depth}`)
    .sort();
}

/** Every path that exists in the model (not the root). */
export function paths(model: FilesystemModel): string[] {
  return [...model.nodes.keys()].filter((path) => path !== "/");
}

export function describeTree(lines: readonly string[]): string {
  return lines.length > 30 ? `${lines.slice(0, 30).join(", ")}, ... (${lines.length})` : lines.join(", ");
}

/** A filesystem's tree as model.listing() gives it ("path kind mode size links", sorted). */
export async function listing(target: S3CachedFs | Transaction): Promise<string[]> {
  return (await target.walk("/"))
    .map(
      ({ path, stats }) =>
        `/${path} ${stats.isDirectory() ? "directory" : stats.isSymbolicLink() ? "symlink" : "file"} ${(stats.mode & 0o7777).toString(8)} ${stats.isDirectory() ? "- -" : `${stats.size} ${stats.nlink}`}`,
    )
    .sort();
}

/**
 * Where the filesystem differs from the model (undefined: nowhere): the tree always, and the
 * contents of every file when `contents` is set.
 */
export async function difference(target: S3CachedFs | Transaction, model: FilesystemModel, contents: boolean): Promise<string | undefined> {
  const actual = await listing(target);
  const wanted = model.listing();
  if (JSON.stringify(actual) !== JSON.stringify(wanted)) {
    const extra = actual.filter((line) => !wanted.includes(line));
    const missing = wanted.filter((line) => !actual.includes(line));
    return `the tree differs from the model: only ours: ${describeTree(extra)}; only the model's: ${describeTree(missing)}`;
  }
  if (!contents) return undefined;
  for (const [path, content] of model.files()) {
    const read = await target.readText(path);
    if (read !== content) return `${path} holds ${JSON.stringify(read.slice(0, 80))}, the model ${JSON.stringify(content.slice(0, 80))}`;
  }
  return undefined;
}

/** The model of what a filesystem holds now (after a deviation the checker tolerated). */
export async function modelOf(target: S3CachedFs | Transaction): Promise<FilesystemModel> {
  const model = new FilesystemModel();
  for (const { path, stats } of await target.walk("/")) {
    const absolute = `/${path}`;
    if (stats.isDirectory()) model.nodes.set(absolute, { kind: "directory", mode: stats.mode & 0o7777 });
    else if (stats.isFile()) model.nodes.set(absolute, { kind: "file", mode: stats.mode & 0o7777, content: await target.readText(absolute) });
  }
  return model;
}
