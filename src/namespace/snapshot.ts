// Snapshots: the namespace at one seq, and nothing else (no cache state, no local paths), so any
// mount can start from it. Gzipped JSON; nodes listed parents first.

import { CorruptObjectError } from "../stores/store-errors.ts";
import type { LogPosition } from "../log/record.ts";
import { kindCode, rootId, type Namespace, type NamespaceView, type NodeKind } from "./namespace.ts";

export const snapshotFormat = 1;

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
 */
export function encodeSnapshot(view: NamespaceView, position: LogPosition, objectName: (object: string) => string = (object) => object): Uint8Array {
  const root = view.root();
  const nodes: SnapshotNode[] = view.descendants(rootId).map(({ node, relative }) => [
    relative,
    node.kind,
    node.mode,
    node.size,
    node.mtime,
    node.ctime,
    node.atime,
    node.birthtime,
    node.target,
    node.kind === "file" ? view.extents(node.id).map((extent) => [objectName(extent.object), extent.offset, extent.length, extent.hash]) : [],
  ]);
  const document: SnapshotDocument = {
    format: snapshotFormat,
    position,
    root: { mode: root.mode, mtime: root.mtime, ctime: root.ctime, atime: root.atime, birthtime: root.birthtime },
    nodes,
  };
  return Bun.gzipSync(new TextEncoder().encode(JSON.stringify(document)));
}

/** The snapshot document in `bytes`, checked for shape. Throws CorruptObjectError if it is unreadable. */
export function decodeSnapshot(key: string, bytes: Uint8Array): SnapshotDocument {
  let document: SnapshotDocument;
  try {
    document = JSON.parse(new TextDecoder().decode(Bun.gunzipSync(bytes as Uint8Array<ArrayBuffer>)));
  } catch (error) {
    throw new CorruptObjectError(`snapshot ${key} is unreadable (${(error as Error).message})`, { operation: "get", key });
  }
  if (document === null || typeof document !== "object" || document.format !== snapshotFormat || !Array.isArray(document.nodes) || typeof document.position?.seq !== "number") {
    throw new CorruptObjectError(`snapshot ${key} has unknown format ${(document as { format?: unknown } | null)?.format}`, { operation: "get", key });
  }
  return document;
}

/** Replaces the namespace's contents with the snapshot's, in the open batch. Returns its position. */
export function loadSnapshot(namespace: Namespace, key: string, bytes: Uint8Array): LogPosition {
  const document = decodeSnapshot(key, bytes);
  namespace.clear();
  namespace.setRoot(document.root);
  const ids = new Map<string, number>([["", rootId]]);
  for (const [path, kind, mode, size, mtime, ctime, atime, birthtime, target, extents] of document.nodes) {
    const slash = path.lastIndexOf("/");
    const parent = ids.get(slash < 0 ? "" : path.slice(0, slash));
    if (parent === undefined) throw new CorruptObjectError(`snapshot ${key} lists ${path} before its parent`, { operation: "get", key });
    if (kindCode(kind) === undefined) throw new CorruptObjectError(`snapshot ${key} gives ${path} the unknown kind ${JSON.stringify(kind)}`, { operation: "get", key });
    const node = namespace.insertNode({ parent, name: path.slice(slash + 1), kind, mode, size, mtime, ctime, atime, birthtime, target });
    ids.set(path, node.id);
    const end = namespace.insertExtents(node.id, 0, extents.map(([object, offset, length, hash]) => ({ object, offset, length, hash })));
    if (kind === "file" ? end !== size : end !== 0) {
      throw new CorruptObjectError(`snapshot ${key} gives ${path} extents of ${end} bytes, but a size of ${size}`, { operation: "get", key });
    }
  }
  return document.position;
}
