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
  const db = namespace.writeConnection;
  namespace.clear();
  db.query("UPDATE nodes SET mode = ?, mtime = ?, ctime = ?, atime = ?, birthtime = ? WHERE id = ?").run(
    document.root.mode,
    document.root.mtime,
    document.root.ctime,
    document.root.atime,
    document.root.birthtime,
    rootId,
  );
  const insertNode = db.query<{ id: number }, [number, string, number, number, number, number, number, number, number, string | null]>(
    "INSERT INTO nodes (parent, name, kind, mode, size, mtime, ctime, atime, birthtime, target) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
  );
  const insertExtent = db.query("INSERT INTO extents (node, position, object, offset, length, hash) VALUES (?, ?, ?, ?, ?, ?)");
  const ids = new Map<string, number>([["", rootId]]);
  for (const [path, kind, mode, size, mtime, ctime, atime, birthtime, target, extents] of document.nodes) {
    const slash = path.lastIndexOf("/");
    const parent = ids.get(slash < 0 ? "" : path.slice(0, slash));
    if (parent === undefined) throw new CorruptObjectError(`snapshot ${key} lists ${path} before its parent`, { operation: "get", key });
    const row = insertNode.get(parent, path.slice(slash + 1), kindCode(kind), mode, size, mtime, ctime, atime, birthtime, target);
    if (row === null) throw new Error("inserting a node returned no id");
    ids.set(path, row.id);
    let position = 0;
    for (const [object, offset, length, hash] of extents) {
      insertExtent.run(row.id, position, object, offset, length, hash);
      position += length;
    }
  }
  return document.position;
}
