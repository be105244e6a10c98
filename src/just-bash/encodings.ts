// Text encodings as just-bash's IFileSystem defines them (its src/fs/encoding.ts): a string is
// turned into bytes by its encoding ("binary"/"latin1" one byte per character, "base64", "hex",
// anything else UTF-8), and bytes back into a string the same way. A Uint8Array is always taken
// as raw bytes. Mirroring just-bash exactly matters: commands such as `tar` and `printf` pass
// "binary" strings and expect every byte back unchanged.

import type { BufferEncoding, FileContent } from "just-bash";
import { FsError } from "../core.ts";

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** The encoding named by an options argument ("utf8", { encoding: "hex" }, null, undefined). */
export function encodingOf(options: { encoding?: BufferEncoding | null | undefined } | BufferEncoding | null | undefined): BufferEncoding | undefined {
  if (options === null || options === undefined) return undefined;
  if (typeof options === "string") return options;
  return options.encoding ?? undefined;
}

/** The bytes of `content` for a write of `path`; content that is neither a string nor bytes is EINVAL, naming the path. */
export function contentToBytes(content: FileContent, encoding: BufferEncoding | undefined, syscall: string, path: string): Uint8Array {
  if (content instanceof Uint8Array) return content;
  if (typeof content !== "string") {
    throw new FsError("EINVAL", syscall, { path, detail: `file content must be a string or a Uint8Array, got ${content === null ? "null" : Array.isArray(content) ? "an array" : typeof content}` });
  }
  switch (encoding) {
    case "binary":
    case "latin1":
      return new Uint8Array(Buffer.from(content, "latin1"));
    case "base64":
      return new Uint8Array(Buffer.from(content, "base64"));
    case "hex":
      return new Uint8Array(Buffer.from(content, "hex"));
    default:
      // "utf8", "utf-8" and "ascii": just-bash encodes all three as UTF-8.
      return utf8Encoder.encode(content);
  }
}

export function bytesToText(bytes: Uint8Array, encoding: BufferEncoding | undefined): string {
  switch (encoding) {
    case "binary":
    case "latin1":
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
    case "base64":
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
    case "hex":
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
    default:
      return utf8Decoder.decode(bytes);
  }
}
