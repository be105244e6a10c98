// Snapshots: the namespace at one seq, and nothing else (no cache state, no local paths), so any
// mount can start from it. Gzipped JSON; nodes listed parents first.
//
// Format 2 adds hard links: each node has an eleventh field, null, or for the second and later
// names of one file the path of its first name in the list (which alone carries the extents).
// A snapshot holding no hard link is still written in format 1, which older versions read; they
// refuse format 2 as unknown (docs/s3-layout.md V4) rather than load each name as its own file.
//
// A snapshot taken where the record at its seq was void (docs/s3-layout.md I7) says so in its
// position (`voided: true`; absent otherwise, so such snapshots are byte for byte what earlier
// versions wrote): replay from it must judge the next record as replay to it would have.

import { CorruptObjectError } from "../stores/store-errors.ts";
import { seqOfSnapshotKey } from "../log/keys.ts";
import type { LogPosition } from "../log/record.ts";
import { compareNames, kindCode, rootId, type Namespace, type NamespaceView, type NodeKind } from "./namespace.ts";

/** The newest snapshot format this version writes and reads (it reads every format from 1). */
export const snapshotFormat = 2;

export type SnapshotNode = [
  path: string,
  kind: NodeKind,
  mode: number,
  size: number,
  mtime: number,
  ctime: number,
  atime: number,
  birthtime: number,
  target: string | null,
  extents: [object: string, offset: number, length: number, hash: string][],
  /** Format 2: the path of the file's first name in the list, for its other names (hard links); null otherwise. */
  link?: string | null,
];

export interface SnapshotDocument {
  format: number;
  position: LogPosition;
  root: { mode: number; mtime: number; ctime: number; atime: number; birthtime: number };
  nodes: SnapshotNode[];
}

/**
 * Serialises the view (call synchronously: no commit can interleave). `objectName` renames each
 * extent's object (a fork names its parent's objects `origin/<fsId>/<key>`); by default names stay.
 * Every row is read checked and each directory whole (see `NamespaceView.descendants`), and an
 * index found damaged is refused (EIO): damage in the index never reaches the store.
 */
export function encodeSnapshot(view: NamespaceView, position: LogPosition, objectName: (object: string) => string = (object) => object): Uint8Array {
  view.assertUndamaged(); // an index found damaged is never published, even in the parts that read well
  const root = view.root();
  // The first name listed of each file with several: its other names point at it.
  const firstNames = new Map<number, string>();
  const nodes: SnapshotNode[] = view.descendants(rootId).map(({ node, relative }): SnapshotNode => {
    const first = node.nlink > 1 ? firstNames.get(node.ino) : undefined;
    if (node.nlink > 1 && first === undefined) firstNames.set(node.ino, relative);
    const extents: SnapshotNode[9] =
      node.kind === "file" && first === undefined ? view.extents(node.ino, node).map((extent) => [objectName(extent.object), extent.offset, extent.length, extent.hash]) : [];
    return [relative, node.kind, node.mode, node.size, node.mtime, node.ctime, node.atime, node.birthtime, node.target, extents, first ?? null];
  });
  // Without hard links, format 1 (ten fields a node), which older versions read.
  const format = firstNames.size > 0 ? snapshotFormat : 1;
  if (format === 1) for (const node of nodes) node.length = 10;
  const document: SnapshotDocument = {
    format,
    position: snapshotPosition(position),
    root: { mode: root.mode, mtime: root.mtime, ctime: root.ctime, atime: root.atime, birthtime: root.birthtime },
    nodes,
  };
  return Bun.gzipSync(new TextEncoder().encode(JSON.stringify(document)));
}

/** The position as a snapshot holds it: `voided` only when true, and nothing else beside the four fields. */
function snapshotPosition(position: LogPosition): LogPosition {
  const { fsId, seq, hash, epoch } = position;
  return position.voided === true ? { fsId, seq, hash, epoch, voided: true } : { fsId, seq, hash, epoch };
}

/**
 * The snapshot document in `bytes`, checked: gzip's own CRC and length, the header this code
 * writes (no flags, no time), the document's shape down to each node and extent, and, when `key`
 * names a seq, that the snapshot holds that seq. Throws CorruptObjectError naming what is wrong: a
 * damaged snapshot is never loaded, even in part.
 */
export function decodeSnapshot(key: string, bytes: Uint8Array): SnapshotDocument {
  const corrupt = (what: string) => new CorruptObjectError(`snapshot ${key} is damaged: ${what}`, { operation: "get", key });
  // Bun.gzipSync writes no flags and no modification time; gunzip would ignore both bytes' damage.
  if (bytes.byteLength < 18 || bytes[0] !== 0x1f || bytes[1] !== 0x8b || bytes[2] !== 8) throw corrupt("it is not gzip data");
  if (bytes[3] !== 0 || bytes[4] !== 0 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) throw corrupt("unexpected gzip header flags or time");
  let document: SnapshotDocument;
  try {
    document = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Bun.gunzipSync(bytes as Uint8Array<ArrayBuffer>)));
  } catch (error) {
    throw new CorruptObjectError(`snapshot ${key} is unreadable (${(error as Error).message})`, { operation: "get", key });
  }
  if (document === null || typeof document !== "object" || (document.format !== 1 && document.format !== 2) || !Array.isArray(document.nodes) || typeof document.position?.seq !== "number") {
    throw new CorruptObjectError(`snapshot ${key} has unknown format ${(document as { format?: unknown } | null)?.format}`, { operation: "get", key });
  }
  const problem = documentProblem(document);
  if (problem !== undefined) throw corrupt(problem);
  const seq = seqOfSnapshotKey(key);
  if (seq !== undefined && document.position.seq !== seq) throw corrupt(`it holds seq ${document.position.seq}`);
  return document;
}

const isCount = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
const isTime = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);
const kinds = new Set<unknown>(["directory", "file", "symlink"]);

/** What is wrong with the document's shape, or undefined. */
function documentProblem(document: SnapshotDocument): string | undefined {
  const { position, root } = document;
  if (typeof position.fsId !== "string" || !isCount(position.seq) || typeof position.hash !== "string" || !isCount(position.epoch)) return "its position is malformed";
  if (position.voided !== undefined && typeof position.voided !== "boolean") return "its position's voided is not a boolean";
  if (root === null || typeof root !== "object" || !isCount(root.mode) || !isTime(root.mtime) || !isTime(root.ctime) || !isTime(root.atime) || !isTime(root.birthtime)) {
    return "its root is malformed";
  }
  // Format 2's first names of files, by path: a hard link must name one listed before it.
  const firstNames = new Map<string, unknown[]>();
  for (const node of document.nodes as unknown[]) {
    if (!Array.isArray(node) || node.length !== (document.format === 1 ? 10 : 11)) return "a node is malformed";
    const [path, kind, mode, size, mtime, ctime, atime, birthtime, target, extents, link] = node as unknown[];
    const where = typeof path === "string" ? JSON.stringify(path) : "a node";
    if (document.format !== 1) {
      if (link !== null) {
        const first = typeof link === "string" ? firstNames.get(link) : undefined;
        if (first === undefined) return `${where} is a hard link to ${JSON.stringify(link)}, which is no file or symbolic link listed before it`;
        if (!Array.isArray(extents) || extents.length > 0 || [1, 2, 3, 4, 5, 6, 7, 8].some((field) => node[field] !== first[field])) {
          return `${where} is a hard link to ${JSON.stringify(link)} but differs from it`;
        }
      } else if (typeof path === "string" && kind !== "directory") {
        firstNames.set(path, node);
      }
    }
    if (typeof path !== "string" || path === "" || path.startsWith("/") || path.endsWith("/")) return `${where} has a malformed path`;
    if (!kinds.has(kind) || !isCount(mode) || !isCount(size) || !isTime(mtime) || !isTime(ctime) || !isTime(atime) || !isTime(birthtime)) return `${where} is malformed`;
    if (kind === "symlink" ? typeof target !== "string" : target !== null) return `${where} has a malformed target`;
    if (!Array.isArray(extents) || (kind !== "file" && extents.length > 0)) return `${where} has malformed extents`;
    let total = 0;
    for (const extent of extents as unknown[]) {
      if (!Array.isArray(extent) || extent.length !== 4) return `${where} has a malformed extent`;
      const [object, offset, length, hash] = extent as unknown[];
      if (typeof object !== "string" || object === "" || !isCount(offset) || !isCount(length) || typeof hash !== "string") return `${where} has a malformed extent`;
      total += length;
    }
    if (kind === "file" && link == null && total !== size) return `${where} has extents of ${total} bytes, but size ${size}`;
  }
  return undefined;
}

/** Replaces the namespace's contents with the snapshot's, in the open batch. Returns its position (`voided` kept). */
export function loadSnapshot(namespace: Namespace, key: string, bytes: Uint8Array): LogPosition {
  const document = decodeSnapshot(key, bytes);
  const corrupt = (what: string) => new CorruptObjectError(`snapshot ${key} ${what}`, { operation: "get", key });
  // Each directory's chain (its entries in the index's order; see namespace.ts), for the whole
  // tree at once: each row is then written once, with its links.
  const entries = new Map<string, string[]>();
  for (const [path] of document.nodes) {
    const slash = path.lastIndexOf("/");
    const directory = slash < 0 ? "" : path.slice(0, slash);
    let names = entries.get(directory);
    if (names === undefined) entries.set(directory, (names = []));
    names.push(path.slice(slash + 1));
  }
  const nextOf = new Map<string, string | null>();
  for (const [directory, names] of entries) {
    names.sort(compareNames);
    for (const [index, name] of names.entries()) nextOf.set(directory === "" ? name : `${directory}/${name}`, names[index + 1] ?? null);
  }
  // The names of each file with hard links, by its first name (format 2).
  const nameCounts = new Map<string, number>();
  for (const node of document.nodes) if (node[10] != null) nameCounts.set(node[10], (nameCounts.get(node[10]) ?? 1) + 1);
  const inodes = new Map<string, number>();
  namespace.clear();
  namespace.setRoot(document.root, entries.get("")?.[0] ?? null);
  const directories = new Map<string, number>([["", rootId]]);
  for (const [path, kind, mode, size, mtime, ctime, atime, birthtime, target, extents, link] of document.nodes) {
    const slash = path.lastIndexOf("/");
    const parent = directories.get(slash < 0 ? "" : path.slice(0, slash));
    if (parent === undefined) throw corrupt(`lists ${path} before its parent, or in no directory`);
    if (kindCode(kind) === undefined) throw corrupt(`gives ${path} the unknown kind ${JSON.stringify(kind)}`);
    const links = { next: nextOf.get(path) ?? null, first: kind === "directory" ? (entries.get(path)?.[0] ?? null) : null };
    const columns = { parent, name: path.slice(slash + 1), kind, mode, size, mtime, ctime, atime, birthtime, target };
    if (link != null) {
      // Another name of a file listed before: its inode, whose extents are already in.
      namespace.insertNode({ ...columns, inode: inodes.get(link)!, nlink: nameCounts.get(link)! }, links);
      continue;
    }
    const node = namespace.insertNode(columns, links);
    if (kind === "directory") directories.set(path, node.id);
    const names = nameCounts.get(path);
    if (names !== undefined) {
      namespace.updateNode(node.id, { inode: node.id, nlink: names });
      inodes.set(path, node.id);
    }
    const end = namespace.insertExtents(node.id, 0, extents.map(([object, offset, length, hash]) => ({ object, offset, length, hash })));
    if (kind === "file" ? end !== size : end !== 0) throw corrupt(`gives ${path} extents of ${end} bytes, but a size of ${size}`);
  }
  return snapshotPosition(document.position);
}
