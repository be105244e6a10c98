// The operations a commit record carries. They are logical (paths, not inode numbers) and carry
// every input that affects their result (times, modes, extents), so replaying a record on the
// namespace at its parent seq reproduces the writer's namespace exactly.

/** Where a run of a file's bytes lives. */
export interface Extent {
  /**
   * The object holding the bytes ("packs/...", "chunks/...", "wal/..."). In a record being built
   * or read, "" means "this record" (inline data), resolved to the record's key when applied.
   */
  object: string;
  /** Byte offset within the object. */
  offset: number;
  length: number;
  /** xxHash3-64 of the bytes, 16 hex digits: verified before any byte is returned. */
  hash: string;
}

export type Op =
  | { op: "mkdir"; path: string; mode: number; recursive: boolean; time: number }
  | { op: "write"; path: string; mode: number; extents: Extent[]; time: number }
  | { op: "append"; path: string; mode: number; extents: Extent[]; time: number }
  | { op: "rm"; path: string; recursive: boolean; force: boolean; time: number }
  | { op: "rename"; from: string; to: string; time: number }
  | { op: "copy"; from: string; to: string; recursive: boolean; overwrite: boolean; time: number }
  | { op: "symlink"; target: string; path: string; time: number }
  | { op: "chmod"; path: string; mode: number; time: number }
  | { op: "utimes"; path: string; atime: number; mtime: number; time: number }
  /** A new writer took over: from this record on, only records of this epoch or later are valid. */
  | { op: "epoch"; epoch: number; writer: string; time: number }
  /**
   * Compaction: the same bytes now live elsewhere. Every extent equal to a move's source (object,
   * offset, length and hash) in any file is repointed at its destination; nothing else changes (no
   * times, no modes, no sizes), because no byte changed. Sources no longer in use are skipped, so
   * the result depends only on the namespace and the operation (docs/s3-layout.md L3a).
   */
  | { op: "relocate"; moves: Relocation[]; time: number };

/** One extent's bytes, moved by compaction: from `object`/`offset` to `toObject`/`toOffset` ("" = this record). */
export interface Relocation {
  object: string;
  offset: number;
  length: number;
  hash: string;
  toObject: string;
  toOffset: number;
}

export type OpName = Op["op"];

/** Every operation kind this version knows (a Record: adding a kind to Op without listing it here fails to compile). */
const knownOps: Record<OpName, true> = {
  mkdir: true,
  write: true,
  append: true,
  rm: true,
  rename: true,
  copy: true,
  symlink: true,
  chmod: true,
  utimes: true,
  epoch: true,
  relocate: true,
};

export function isKnownOp(kind: string): kind is OpName {
  return Object.hasOwn(knownOps, kind);
}

export function extentBytes(extents: readonly Extent[]): number {
  let total = 0;
  for (const extent of extents) total += extent.length;
  return total;
}

export function hashBytes(bytes: Uint8Array): string {
  return Bun.hash.xxHash3(bytes).toString(16).padStart(16, "0");
}
