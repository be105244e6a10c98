// Turning what a caller passes to writeFile/appendFile into bytes, honouring every accepted type
// (string, bytes, Blob, Response, ReadableStream) and refusing anything else: nothing is ever
// silently written as an empty file.

import { FsError } from "./errors.ts";

export type WriteData = string | Uint8Array | ArrayBuffer | ArrayBufferView | Blob | Response | ReadableStream<Uint8Array>;

export type Content =
  | { kind: "bytes"; bytes: Uint8Array }
  /** Larger than the small-file limit: `head` was read already, `rest` continues it. */
  | { kind: "stream"; head: Uint8Array; rest: AsyncIterable<Uint8Array> };

type TextEncoding = "utf8" | "utf-8" | "ascii" | "latin1" | "binary" | "base64" | "base64url" | "hex" | "ucs2" | "utf16le";

/**
 * Reads `data` into memory if it is at most `smallLimit` bytes; otherwise returns the bytes read
 * so far and the rest as a stream, so a large file is never held in memory whole.
 */
export async function readContent(data: WriteData, smallLimit: number, syscall: string, path: string, encoding?: TextEncoding): Promise<Content> {
  if (typeof data === "string") return { kind: "bytes", bytes: encoding === undefined ? new TextEncoder().encode(data) : new Uint8Array(Buffer.from(data, encoding)) };
  if (data instanceof Uint8Array) return { kind: "bytes", bytes: data.slice() };
  if (data instanceof ArrayBuffer) return { kind: "bytes", bytes: new Uint8Array(data.slice(0)) };
  if (ArrayBuffer.isView(data)) return { kind: "bytes", bytes: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
  if (data instanceof Blob) {
    if (data.size <= smallLimit) return { kind: "bytes", bytes: new Uint8Array(await data.arrayBuffer()) };
    return fromStream(data.stream(), smallLimit);
  }
  if (data instanceof Response) {
    if (data.bodyUsed) throw new FsError("EINVAL", syscall, { path, detail: "the Response body has already been read" });
    if (data.body === null) return { kind: "bytes", bytes: new Uint8Array(0) };
    return fromStream(data.body, smallLimit);
  }
  if (data instanceof ReadableStream) {
    if (data.locked) throw new FsError("EINVAL", syscall, { path, detail: "the ReadableStream is locked (already being read)" });
    return fromStream(data, smallLimit);
  }
  const what = data === null ? "null" : typeof data === "object" ? ((data as object).constructor?.name ?? "object") : typeof data;
  throw new FsError("EINVAL", syscall, {
    path,
    detail: `cannot write a ${what}: pass a string, Uint8Array, ArrayBuffer, Blob, Response or ReadableStream`,
  });
}

async function fromStream(stream: ReadableStream<Uint8Array>, smallLimit: number): Promise<Content> {
  const reader = stream.getReader();
  const pieces: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { kind: "bytes", bytes: concatenate(pieces, total) };
    const piece = toBytes(value);
    pieces.push(piece);
    total += piece.byteLength;
    if (total > smallLimit) break;
  }
  const head = concatenate(pieces, total);
  async function* rest(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield toBytes(value);
      }
    } finally {
      reader.releaseLock();
    }
  }
  return { kind: "stream", head, rest: rest() };
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return new TextEncoder().encode(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new FsError("EINVAL", "write", { detail: `a stream produced a ${typeof value} chunk; streams must yield bytes or strings` });
}

export function concatenate(pieces: readonly Uint8Array[], total?: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const size = total ?? pieces.reduce((sum, piece) => sum + piece.byteLength, 0);
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const piece of pieces) {
    bytes.set(piece, offset);
    offset += piece.byteLength;
  }
  return bytes;
}

/** The stream's bytes, prefixed by `head`. */
export async function* withHead(head: Uint8Array, rest: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (head.byteLength > 0) yield head;
  yield* rest;
}
