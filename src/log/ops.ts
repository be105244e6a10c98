// The operations a commit record carries. They are logical (paths, not inode numbers) and carry
// every input that affects their result (times, modes, extents), so replaying a record on the
// namespace at its parent seq reproduces the writer's namespace exactly.

import { UnsupportedFormatError } from "../stores/store-errors.ts";

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
  /** Times of the entry at `path` itself: a final symbolic link is not followed (lutimes). */
  | { op: "lutimes"; path: string; atime: number; mtime: number; time: number }
  /**
   * A hard link: `to` becomes another name of the file or symbolic link at `from` (not followed),
   * sharing its inode (data, mode, times) from then on.
   */
  | { op: "link"; from: string; to: string; time: number }
  /** A new writer took over: from this record on, only records of this epoch or later are valid. */
  | { op: "epoch"; epoch: number; writer: string; time: number }
  /**
   * Compaction: the same bytes now live elsewhere. Every extent equal to a move's source (object,
   * offset, length and hash) in any file is repointed at its destination; nothing else changes (no
   * times, no modes, no sizes), because no byte changed. Sources no longer in use are skipped, so
   * the result depends only on the namespace and the operation (docs/s3-layout.md L3a).
   */
  | { op: "relocate"; moves: Relocation[]; time: number }
  /**
   * Garbage collection with several writers: the collector's fence. Data objects (packs, chunks)
   * stored before `before` (ms on the store's clock) that no record up to this one names may be
   * deleted from now on. A writer that applies it before its own record lands re-uploads any data
   * its batch names whose upload began before it had applied this record, so no record after it
   * names a deleted object (docs/s3-layout.md GC9). Changes nothing in the namespace.
   */
  | { op: "collect"; before: number; collector: string; time: number }
  /**
   * Lanes (docs/s3-layout.md L3d), in a main-log record: the top-level directory `path` gets a log
   * of its own, the lane whose id is this record's seq, in which only `owner` publishes; until it
   * is closed no main-log record touches `path` or anything below it.
   */
  | { op: "laneOpen"; path: string; owner: string; time: number }
  /**
   * In a main-log record: lane `lane` (of the top-level directory `path`) is closed after its
   * record `seq`, whose hash is `hash` (0 and the opening record's hash for a lane that took no
   * record). Its records are part of every state from this record on; the lane record after
   * `seq` is its close marker.
   */
  | { op: "laneClose"; lane: number; path: string; seq: number; hash: string; time: number }
  /** A lane's close marker, alone in the lane record after its last: no record follows it. */
  | { op: "laneEnd"; writer: string; time: number };

/** One extent's bytes, moved by compaction: from `object`/`offset` to `toObject`/`toOffset` ("" = this record). */
export interface Relocation {
  object: string;
  offset: number;
  length: number;
  hash: string;
  toObject: string;
  toOffset: number;
}

/** Every operation kind this version knows (a Record: adding a kind to Op without listing it here fails to compile). */
const knownOps: Record<Op["op"], true> = {
  mkdir: true,
  write: true,
  append: true,
  rm: true,
  rename: true,
  copy: true,
  symlink: true,
  chmod: true,
  utimes: true,
  lutimes: true,
  link: true,
  epoch: true,
  relocate: true,
  collect: true,
  laneOpen: true,
  laneClose: true,
  laneEnd: true,
};

export function isKnownOp(kind: string): kind is Op["op"] {
  return Object.hasOwn(knownOps, kind);
}

/**
 * The extents `op` brings into a namespace, with inline ones ("") naming `recordKey`: a write's
 * and an append's, and the destinations of a relocation. No other kind brings any (`copy` shares
 * extents already there). The applier inserts exactly these, and garbage collection keeps every
 * object they name (docs/s3-layout.md GC3): one exhaustive switch, so a new kind cannot compile
 * without saying what it brings, and an unknown one stops the caller.
 */
export function extentsBroughtIn(op: Op, recordKey: string): Extent[] {
  switch (op.op) {
    case "write":
    case "append":
      return op.extents.map((extent) => (extent.object === "" ? { ...extent, object: recordKey } : extent));
    case "relocate":
      return op.moves.map((move) => ({ object: move.toObject === "" ? recordKey : move.toObject, offset: move.toOffset, length: move.length, hash: move.hash }));
    case "copy":
    case "mkdir":
    case "rm":
    case "rename":
    case "symlink":
    case "chmod":
    case "utimes":
    case "lutimes":
    case "link":
    case "epoch":
    case "collect":
    case "laneOpen":
    case "laneClose":
    case "laneEnd":
      return [];
    default: {
      const unknown: never = op;
      throw unknownOperation(recordKey, (unknown as { op?: unknown }).op);
    }
  }
}

/** Advice closing every refusal of something a newer version wrote. */
export const upgradeAdvice = "; upgrade s3-bun-cached-fs to read this filesystem";

/** The error for an operation kind this version does not know, in record `key`. */
export function unknownOperation(key: string, kind: unknown): UnsupportedFormatError {
  const text = String(kind);
  // 'frobnicate' as it is; anything long or odd as a short JSON string.
  const quoted = /^[A-Za-z0-9_-]{1,64}$/.test(text) ? `'${text}'` : JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}...` : text);
  return new UnsupportedFormatError(`commit record ${key} holds operation kind ${quoted}, which this version does not know${upgradeAdvice}`, { operation: "get", key });
}

export function extentBytes(extents: readonly Extent[]): number {
  let total = 0;
  for (const extent of extents) total += extent.length;
  return total;
}

export function hashBytes(bytes: Uint8Array): string {
  return Bun.hash.xxHash3(bytes).toString(16).padStart(16, "0");
}
