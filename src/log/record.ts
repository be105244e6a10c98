// The commit record: the bytes of `wal/<seq>`, whose create-only PUT is the commit point.
//
//   [ inline data ][ header (UTF-8 JSON) ][ trailer, 32 bytes ]
//   trailer: "S3BCFSR1" | header offset (u64 LE) | header length (u32 LE) | 0 (u32) | xxHash3-64 (u64 LE)
//
// Inline data comes first so an extent's offset into the record is known while the record is
// still being built; the hash covers data and header, so a torn or altered record is refused.
// The header links to its parent record (seq - 1 and that record's hash): the log is a hash chain,
// and an orphan or foreign record can never be taken for the committed one.
//
// Format 2 ("pipelined") has the same bytes and fields. Its writer built it while its parent, the
// writer's own record at seq - 1, was still in flight. If that parent lost its slot (another
// writer's record stands there) or is itself void, the record may still land, built on a state
// that never existed: it is then void, never applied, by anyone (followRecord; docs/s3-layout.md
// I7).

import { CorruptObjectError, UnsupportedFormatError } from "../stores/store-errors.ts";
import { isKnownOp, unknownOperation, upgradeAdvice, type Op } from "./ops.ts";

/** The record format of a record built on a parent its writer read (format 1). */
export const recordFormat = 1;
/** The record format of a record built while its parent, its writer's own, was still in flight (void if that parent is not in the log). */
export const pipelinedRecordFormat = 2;
/** The newest record format this version reads. */
const newestRecordFormat = pipelinedRecordFormat;
const magic = new TextEncoder().encode("S3BCFSR1");
const trailerBytes = 32;

export interface RecordHeader {
  format: number;
  fsId: string;
  seq: number;
  /** seq - 1, and the hash of that record ("" for the first record). */
  parent: number;
  parentHash: string;
  epoch: number;
  writer: string;
  /** Unique per record: a writer recognises its own record after a lost answer. */
  nonce: string;
  time: number;
  ops: Op[];
  /** A lane's record (`lanes/<lane>/<seq>`): the lane's id. Absent in the main log's records. */
  lane?: number;
  /** A lane's record: the main-log seq its writer had applied when it built it (docs/s3-layout.md LN2). */
  after?: number;
  /** A main-log record: where each open lane stood in its writer's view when it built it (docs/s3-layout.md LN6). */
  lanes?: Record<string, number>;
}

export interface DecodedRecord {
  header: RecordHeader;
  /** The record's own hash (16 hex digits), which the next record names as parentHash. */
  hash: string;
  bytes: Uint8Array;
  /** Where inline data ends (and the header starts). */
  dataBytes: number;
}

export function encodeRecord(data: Uint8Array[], header: RecordHeader): { bytes: Uint8Array; hash: string } {
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  let dataBytes = 0;
  for (const piece of data) dataBytes += piece.byteLength;
  const bytes = new Uint8Array(dataBytes + headerBytes.byteLength + trailerBytes);
  let offset = 0;
  for (const piece of data) {
    bytes.set(piece, offset);
    offset += piece.byteLength;
  }
  bytes.set(headerBytes, offset);
  const hashed = bytes.subarray(0, dataBytes + headerBytes.byteLength);
  const hash = Bun.hash.xxHash3(hashed);
  const trailer = new DataView(bytes.buffer, bytes.byteOffset + hashed.byteLength, trailerBytes);
  bytes.set(magic, hashed.byteLength);
  trailer.setBigUint64(8, BigInt(dataBytes), true);
  trailer.setUint32(16, headerBytes.byteLength, true);
  trailer.setUint32(20, 0, true);
  trailer.setBigUint64(24, hash, true);
  return { bytes, hash: hashHex(hash) };
}

export function decodeRecord(key: string, bytes: Uint8Array): DecodedRecord {
  const corrupt = (what: string) => new CorruptObjectError(`commit record ${key} is corrupt: ${what}`, { operation: "get", key });
  if (bytes.byteLength < trailerBytes) throw corrupt(`only ${bytes.byteLength} bytes`);
  const trailerStart = bytes.byteLength - trailerBytes;
  if (Buffer.compare(bytes.subarray(trailerStart, trailerStart + 8), magic) !== 0) throw corrupt("no record trailer");
  const trailer = new DataView(bytes.buffer, bytes.byteOffset + trailerStart, trailerBytes);
  const dataBytes = Number(trailer.getBigUint64(8, true));
  const headerBytes = trailer.getUint32(16, true);
  if (dataBytes + headerBytes !== trailerStart) throw corrupt("lengths do not add up");
  const hash = Bun.hash.xxHash3(bytes.subarray(0, trailerStart));
  if (hash !== trailer.getBigUint64(24, true)) throw corrupt("checksum mismatch");
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(dataBytes, trailerStart)));
  } catch (error) {
    throw corrupt(`unreadable header (${(error as Error).message})`);
  }
  return { header: checkHeader(key, header), hash: hashHex(hash), bytes, dataBytes };
}

/** Bytes at the end of a record that hold its trailer, and usually its whole header. */
export const recordTailBytes = 64 * 1024;

/**
 * Where a record's header lies, from the last bytes of a `size`-byte record (at least the 32-byte
 * trailer). Lets maintenance read a large record's operations without its inline data.
 */
export function recordHeaderRange(key: string, size: number, tail: Uint8Array): { offset: number; length: number } {
  const corrupt = (what: string) => new CorruptObjectError(`commit record ${key} is corrupt: ${what}`, { operation: "get", key });
  if (tail.byteLength < trailerBytes || size < trailerBytes) throw corrupt(`only ${size} bytes`);
  const trailerStart = tail.byteLength - trailerBytes;
  if (Buffer.compare(tail.subarray(trailerStart, trailerStart + 8), magic) !== 0) throw corrupt("no record trailer");
  const trailer = new DataView(tail.buffer, tail.byteOffset + trailerStart, trailerBytes);
  const dataBytes = Number(trailer.getBigUint64(8, true));
  const headerBytes = trailer.getUint32(16, true);
  if (dataBytes + headerBytes + trailerBytes !== size) throw corrupt("lengths do not add up");
  return { offset: dataBytes, length: headerBytes };
}

/**
 * The header of a record from its header bytes alone, checked for shape but not against the
 * record's hash (which covers the inline data too). Garbage collection uses it to learn which
 * objects a large record names without downloading its data; fsck always reads whole records.
 */
export function decodeRecordHeader(key: string, bytes: Uint8Array): RecordHeader {
  const corrupt = (what: string) => new CorruptObjectError(`commit record ${key} is corrupt: ${what}`, { operation: "get", key });
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw corrupt(`unreadable header (${(error as Error).message})`);
  }
  return checkHeader(key, header);
}

/**
 * A header's shape, its record format and every operation's kind. A record of a newer format, or
 * holding an operation this version does not know, is refused (UnsupportedFormatError), never
 * skipped: replay must reproduce the writer's namespace exactly (docs/s3-layout.md V2, V3).
 */
function checkHeader(key: string, value: unknown): RecordHeader {
  const corrupt = (what: string) => new CorruptObjectError(`commit record ${key} is corrupt: ${what}`, { operation: "get", key });
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw corrupt("malformed header");
  const header = value as RecordHeader;
  if (Number.isSafeInteger(header.format) && header.format > newestRecordFormat) {
    throw new UnsupportedFormatError(`commit record ${key} has record format ${header.format}, which this version does not know (it reads formats ${recordFormat} to ${newestRecordFormat})${upgradeAdvice}`, {
      operation: "get",
      key,
    });
  }
  if (header.format !== recordFormat && header.format !== pipelinedRecordFormat) throw corrupt(`unknown record format ${JSON.stringify(header.format)}`);
  if (!Array.isArray(header.ops) || !Number.isSafeInteger(header.seq) || !Number.isSafeInteger(header.epoch)) throw corrupt("malformed header");
  if (header.lane !== undefined && !(Number.isSafeInteger(header.lane) && header.lane > 0)) throw corrupt("malformed header");
  if (header.after !== undefined && !(Number.isSafeInteger(header.after) && header.after >= 0)) throw corrupt("malformed header");
  if (header.lanes !== undefined) {
    if (header.lanes === null || typeof header.lanes !== "object" || Array.isArray(header.lanes)) throw corrupt("malformed header");
    for (const [id, seq] of Object.entries(header.lanes)) if (!/^[1-9]\d*$/.test(id) || !Number.isSafeInteger(seq) || seq < 0) throw corrupt("malformed header");
  }
  for (const [index, op] of (header.ops as unknown[]).entries()) {
    const kind = op !== null && typeof op === "object" ? (op as { op?: unknown }).op : undefined;
    if (typeof kind !== "string") throw corrupt(`operation ${index} has no kind`);
    if (!isKnownOp(kind)) throw unknownOperation(key, kind);
  }
  return header;
}

/** The hash a record's trailer states, from bytes ending with the trailer (unverified). */
export function trailerHash(tail: Uint8Array): string {
  const trailer = new DataView(tail.buffer, tail.byteOffset + tail.byteLength - trailerBytes, trailerBytes);
  return hashHex(trailer.getBigUint64(24, true));
}

function hashHex(hash: bigint): string {
  return hash.toString(16).padStart(16, "0");
}

/**
 * Where the log stood after the last record followed: the record in slot `seq`, whose hash is
 * `hash`, and the epoch the records applied up to it established.
 */
export interface LogPosition {
  fsId: string;
  seq: number;
  /** The hash of the record in slot `seq` (void or not): the next record names it as parentHash. */
  hash: string;
  /** The epoch of the applied records up to `seq` (a void record changes nothing, its epoch neither). */
  epoch: number;
  /** The record in slot `seq` was void (never applied): a pipelined record after it is void too. Absent: false. */
  voided?: boolean;
}

/** The epoch a record establishes, from its header: its own, or a higher one announced by an epoch operation. */
export function headerEpoch(header: Pick<RecordHeader, "epoch" | "ops">): number {
  let epoch = header.epoch;
  for (const op of header.ops) if (op.op === "epoch" && op.epoch > epoch) epoch = op.epoch;
  return epoch;
}

/** What following a record found: damage (`problem`), or where the log stands after it and whether it was void. */
export type RecordFollowing = { problem: string; position?: undefined; voided?: undefined } | { problem?: undefined; position: LogPosition; voided: boolean };

/**
 * Whether the record with `header` and `hash`, read in slot `previous.seq + 1`, follows
 * `previous` (docs/s3-layout.md I1-I4, I7), and where the log stands after it. The one place
 * the void rule is decided: replay (src/commit/replay.ts) and fsck both follow the log through it.
 *
 * Every record must be of this filesystem (I1) and contiguous (I2). A format-1 record must then
 * name `previous.hash` as its parent (I3, even when that record was void: its writer read it)
 * and not go back in epoch (I4), else the chain is broken. A format-2 (pipelined) record was
 * built on its writer's own record still in flight: if that record is not the one in the slot
 * before (the hash differs) or was void itself, the state it was validated on never existed,
 * so it is void. A void record is not applied and not checked for I4; the position moves past it
 * with its hash, keeps its epoch, and says `voided`.
 */
export function followRecord(previous: LogPosition, header: RecordHeader, hash: string): RecordFollowing {
  if (header.fsId !== previous.fsId) return { problem: `belongs to filesystem ${header.fsId}, not ${previous.fsId}` };
  if (header.seq !== previous.seq + 1 || header.parent !== previous.seq) return { problem: `has seq ${header.seq} after ${previous.seq}` };
  if (header.format !== recordFormat && header.format !== pipelinedRecordFormat) return { problem: `has unknown record format ${JSON.stringify(header.format)}` };
  if (header.format === pipelinedRecordFormat && (previous.voided === true || header.parentHash !== previous.hash)) {
    return { position: { fsId: previous.fsId, seq: header.seq, hash, epoch: previous.epoch, voided: true }, voided: true };
  }
  if (header.parentHash !== previous.hash) return { problem: `links to parent hash ${header.parentHash}, but record ${previous.seq} hashes to ${previous.hash}` };
  if (header.epoch < previous.epoch) return { problem: `has epoch ${header.epoch}, older than ${previous.epoch}` };
  return { position: { fsId: previous.fsId, seq: header.seq, hash, epoch: headerEpoch(header) }, voided: false };
}
