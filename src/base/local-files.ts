// Writing local (host) files: whole or not at all, and never through a link. materialize() and the
// command line's get and export copy the filesystem's bytes to local files this way: every write is
// awaited (a full disk is an error of the copy, never an unhandled rejection), and a copy that could
// not be written whole is removed before the error is reported.

import { constants, rmSync } from "node:fs";
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { FsError, type FsErrorCode } from "./errors.ts";

/** The one place bytes reach a local file (tests replace `write` to fill a disk on demand). */
export const localWrites = {
  /** Writes `data` at the handle's current position; returns how many bytes were written. */
  write: async (handle: FileHandle, data: Uint8Array, _path: string): Promise<number> => (await handle.write(data, 0, data.byteLength)).bytesWritten,
};

/** Creates `path` (it must not exist; a link there is never followed): O_EXCL | O_NOFOLLOW. */
export async function createExclusive(path: string, mode = 0o666): Promise<FileHandle> {
  return open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
}

/**
 * Writes every byte of `stream` to a new file at `path` (see createExclusive). On any failure (a
 * full disk, a stream that errors) the partial file is removed and the error rethrown, so a file
 * that exists afterwards is whole. Returns the bytes written.
 */
export async function writeNewFile(path: string, stream: AsyncIterable<Uint8Array>, onProgress?: (bytes: number) => void, mode = 0o666): Promise<number> {
  const handle = await createExclusive(path, mode);
  partialFiles.add(path);
  let written = 0;
  try {
    for await (const piece of stream) {
      for (let offset = 0; offset < piece.byteLength; ) {
        const count = await localWrites.write(handle, piece.subarray(offset), path);
        if (count <= 0) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        offset += count;
      }
      written += piece.byteLength;
      onProgress?.(written);
    }
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(path, { force: true }).catch(() => {});
    throw error;
  } finally {
    partialFiles.delete(path);
  }
  return written;
}

/** Files being written by writeNewFile right now. */
const partialFiles = new Set<string>();

/** Removes the files this process is writing now (for a signal handler about to exit). */
export function removePartialFiles(): void {
  for (const path of partialFiles) rmSync(path, { force: true });
  partialFiles.clear();
}

/**
 * Replaces `path` with a file holding every byte of `stream`: written under a temporary name in
 * the same directory, then renamed over `path`. A link at `path` is replaced, never written
 * through; what was at `path` stays as it was if the copy fails.
 */
export async function replaceFile(path: string, stream: AsyncIterable<Uint8Array>, onProgress?: (bytes: number) => void, mode = 0o666): Promise<number> {
  const temporary = temporarySibling(path);
  const written = await writeNewFile(temporary, stream, onProgress, mode);
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    throw error;
  }
  return written;
}

/** A short, unused name in `path`'s directory (names of the filesystem may be 255 bytes long). */
export function temporarySibling(path: string): string {
  return join(dirname(path), `.s3bcfs-${randomUUID()}.part`);
}

/**
 * `name` cut to at most `maxBytes` bytes of UTF-8 (never inside a character), keeping a short
 * extension so tools that look at it still can: a local name made from it stays within the host's
 * 255-byte limit.
 */
export function shortLocalName(name: string, maxBytes = 64): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  const dot = name.lastIndexOf(".");
  const extension = dot > 0 && Buffer.byteLength(name.slice(dot)) <= 16 ? name.slice(dot) : "";
  let stem = "";
  let bytes = Buffer.byteLength(extension);
  for (const character of name.slice(0, name.length - extension.length)) {
    bytes += Buffer.byteLength(character);
    if (bytes > maxBytes) break;
    stem += character;
  }
  return `${stem}${extension}`;
}

/** Host errno codes and the FsError code each stands for. */
const localCodes: Record<string, FsErrorCode> = {
  ENOSPC: "ENOSPC",
  EDQUOT: "ENOSPC",
  EFBIG: "EFBIG",
  ENAMETOOLONG: "ENAMETOOLONG",
  EACCES: "EACCES",
  EPERM: "EPERM",
  EROFS: "EROFS",
  ENOENT: "ENOENT",
  EEXIST: "EEXIST",
  ELOOP: "ELOOP",
  ENOTDIR: "ENOTDIR",
  EISDIR: "EISDIR",
};

/**
 * An error met writing a local copy of the filesystem's `path`, as an FsError naming that path
 * (never the host's): `what` says which copy ("the local copy", "the export"...).
 */
export function localCopyError(error: unknown, syscall: string, path: string, what: string): Error {
  if (error instanceof FsError) return error;
  const hostCode = (error as NodeJS.ErrnoException | undefined)?.code;
  if (hostCode === undefined) return error as Error;
  const code = localCodes[hostCode] ?? "EIO";
  const reason = code === "ENOSPC" ? "no space left on the local disk" : `${hostCode} on the local disk`;
  return new FsError(code, syscall, { path, detail: `${reason} while writing ${what}; nothing partial was left`, cause: error });
}

