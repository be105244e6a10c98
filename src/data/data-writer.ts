// Placing file bytes in the object store.
//
// - Small data goes into the batch being committed (batch.ts): inline in the commit record while
//   the record stays small, then into packs (`packs/<uuid>`) for large transactions.
// - Large files are cut into chunks (`chunks/<id>`, default 8 MiB) uploaded in parallel with
//   bounded concurrency before the record that names them, so memory stays bounded by
//   (concurrency + 1) chunks whatever the file size.
// Either way bytes are split into extents of at most `blockBytes`, each with its own hash: the
// unit a reader fetches and verifies.

import type { ObjectStore } from "../stores/object-store.ts";
import { hashBytes, type Extent } from "../log/ops.ts";
import { StreamingWriteMemory } from "./memory.ts";
import { newChunkKey } from "../log/keys.ts";

export interface DataLayout {
  /** Largest extent: the unit of verification and of random reads (default 1 MiB). */
  blockBytes: number;
  /** Size of each large-file chunk object (default 8 MiB). */
  chunkBytes: number;
  /** Files larger than this are written as chunks; smaller ones go into the batch (default 4 MiB). */
  largeFileBytes: number;
  /** Inline data a commit record may carry before spilling into packs (default 4 MiB). */
  inlineRecordBytes: number;
  /** Size at which a pack is closed and uploaded (default 16 MiB). */
  packBytes: number;
  /** Chunks or packs uploaded at once (default 4). */
  uploadConcurrency: number;
}

/** Extents for `bytes` stored at `offset` in `object`, each at most `blockBytes`. */
export function extentsFor(object: string, offset: number, bytes: Uint8Array, blockBytes: number): Extent[] {
  const extents: Extent[] = [];
  for (let start = 0; start < bytes.byteLength; start += blockBytes) {
    const piece = bytes.subarray(start, Math.min(bytes.byteLength, start + blockBytes));
    extents.push({ object, offset: offset + start, length: piece.byteLength, hash: hashBytes(piece) });
  }
  return extents;
}

/**
 * One watch on memory for every chunked upload of the process: a transaction of many large files
 * (each a fresh buffer of the caller's, each file its own upload) inflates memory across uploads,
 * which a watch per upload, its baseline taken anew at each file, would never see.
 */
const chunkUploadMemory = new StreamingWriteMemory();

/**
 * Reads `source` to its end, uploading each full chunk as it fills. Returns the extents in file
 * order. On any failure, pending uploads are awaited and the error is thrown: nothing is
 * published, and the chunks already written are unreferenced (garbage collection reclaims them).
 */
export async function uploadChunks(
  store: ObjectStore,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  layout: DataLayout,
  hooks: {
    onProgress?: (bytes: number) => void;
    signal?: AbortSignal;
    /** Called with each chunk's key as its upload begins (the committer notes when: docs/s3-layout.md GC9). */
    onUpload?: (key: string) => void;
  } = {},
): Promise<{ extents: Extent[]; size: number }> {
  const pieces: Extent[][] = [];
  const uploads = new Set<Promise<void>>();
  let failure: unknown;
  let size = 0;
  let uploadedBytes = 0;
  const memory = chunkUploadMemory;
  let buffer = new Uint8Array(layout.chunkBytes);
  let filled = 0;

  // Chunk buffers are reused once their upload is done: streaming a file of any size through here
  // allocates (concurrency + 1) buffers, not one per chunk for the garbage collector to find.
  const spare: Uint8Array<ArrayBuffer>[] = [];
  const flush = async () => {
    if (filled === 0) return;
    const bytes = buffer.subarray(0, filled);
    const owned = buffer;
    buffer = spare.pop() ?? new Uint8Array(layout.chunkBytes);
    filled = 0;
    const key = newChunkKey();
    pieces.push(extentsFor(key, 0, bytes, layout.blockBytes));
    while (uploads.size >= layout.uploadConcurrency) await Promise.race(uploads);
    if (failure !== undefined) throw failure;
    hooks.onUpload?.(key);
    const upload = store
      .put(key, bytes, hooks.signal === undefined ? {} : { signal: hooks.signal })
      .then(() => {
        uploadedBytes += bytes.byteLength; // chunks finish in any order: report the running total
        hooks.onProgress?.(uploadedBytes);
        spare.push(owned);
      })
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => uploads.delete(upload));
    uploads.add(upload);
  };

  try {
    for await (const chunk of source) {
      hooks.signal?.throwIfAborted();
      if (failure !== undefined) throw failure;
      let offset = 0;
      while (offset < chunk.byteLength) {
        const take = Math.min(layout.chunkBytes - filled, chunk.byteLength - offset);
        buffer.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        size += take;
        if (filled === layout.chunkBytes) {
          await flush();
          memory.moved(layout.chunkBytes);
        }
      }
    }
    await flush();
  } finally {
    await Promise.all(uploads);
  }
  if (failure !== undefined) throw failure;
  return { extents: pieces.flat(), size };
}
