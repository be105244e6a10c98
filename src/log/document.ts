// The filesystem's small JSON documents in the object store (format.json, the head, the writer
// lease, fork registrations, the garbage collector's clock), read and written one way: a read
// returns the document with its ETag, checked against its schema, and a document that cannot be
// used is a DamagedDocumentError naming its key, never a SyntaxError or a half-checked value; a
// write is create-only, compare-and-swap over an ETag, or (for the clock alone) a plain overwrite.
// The conditional writes are what fences writers (docs/s3-layout.md W1-W5, S2); this module keeps
// them in one place.

import type { z } from "zod";
import type { ObjectStore, StoredObject } from "../stores/object-store.ts";
import { CorruptObjectError, NotFoundError, UnsupportedFormatError } from "../stores/store-errors.ts";

/** One kind of document: how it is checked when read and how it is serialised when written. */
export interface DocumentKind<T> {
  /** The document's shape. Checks only: a read returns the document as stored, in its own key order. */
  readonly schema: z.ZodType;
  /** Checks beyond the shape (a checksum, an ordering), on the document as stored: what is wrong, or undefined. */
  readonly check?: ((stored: T) => string | undefined) | undefined;
  /** A document of a newer format than this version reads: the sentence to refuse it with (before the shape is checked). */
  readonly newer?: ((json: unknown) => string | undefined) | undefined;
  /** The JSON written for a document (default: the document itself), and the value a read returns from the JSON stored. */
  readonly toJson?: ((document: T) => unknown) | undefined;
  readonly fromJson?: ((json: unknown) => T) | undefined;
  /** Indented (two spaces, the default) or on one line. */
  readonly compact?: boolean | undefined;
  /** The error for a damaged document (default DamagedDocumentError). */
  readonly damaged?: ((key: string, etag: string, problem: string) => DamagedDocumentError) | undefined;
}

/** A document read from the store, and the ETag a compare-and-swap over it names. */
export interface Versioned<T> {
  document: T;
  etag: string;
}

/**
 * How a write may land: only if the key is free, only if it still holds `ifMatch` (the ETag it
 * was read with), or regardless (the garbage collector's clock, which nothing reads back).
 */
export type WriteCondition = { create: true } | { ifMatch: string } | { overwrite: true };

/** A document is unreadable (not JSON), of the wrong shape, or fails its own checks. */
export class DamagedDocumentError extends CorruptObjectError {
  constructor(
    key: string,
    /** The damaged object's ETag: a writer replaces it by compare-and-swap over it. */
    readonly etag: string,
    /** What is wrong, in a phrase. */
    readonly problem: string,
  ) {
    super(`${key} is damaged: ${problem}`, { operation: "get", key });
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The document `key` holds in `bytes`, checked; throws DamagedDocumentError (or UnsupportedFormatError) naming what is wrong. */
export function parseDocument<T>(kind: DocumentKind<T>, key: string, bytes: Uint8Array, etag: string): T {
  const damaged = (problem: string) => kind.damaged?.(key, etag, problem) ?? new DamagedDocumentError(key, etag, problem);
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw damaged(`it is not valid JSON (${(error as Error).message})`);
  }
  const newer = kind.newer?.(json);
  if (newer !== undefined) throw new UnsupportedFormatError(`${key} ${newer}`, { operation: "get", key });
  const result = kind.schema.safeParse(json);
  if (!result.success) throw damaged(describeIssue(result.error.issues[0]));
  const problem = kind.check?.(json as T);
  if (problem !== undefined) throw damaged(problem);
  return kind.fromJson === undefined ? (json as T) : kind.fromJson(json);
}

/** The bytes written for `document`. */
export function serializeDocument<T>(kind: DocumentKind<T>, document: T): Uint8Array {
  const json = kind.toJson === undefined ? document : kind.toJson(document);
  return encoder.encode(kind.compact ? JSON.stringify(json) : JSON.stringify(json, null, 2));
}

/** The document at `key` with its ETag, or undefined if there is none. Throws DamagedDocumentError if it cannot be used. */
export async function readDocument<T>(store: ObjectStore, key: string, kind: DocumentKind<T>): Promise<Versioned<T> | undefined> {
  let object: StoredObject;
  try {
    object = await store.get(key);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  return { document: parseDocument(kind, key, object.body, object.etag), etag: object.etag };
}

/**
 * The document at `key` if it changed since `etag` (one conditional GET: unchanged costs no body),
 * "unchanged", or undefined if there is none.
 */
export async function readDocumentIfChanged<T>(store: ObjectStore, key: string, kind: DocumentKind<T>, etag: string): Promise<Versioned<T> | "unchanged" | undefined> {
  let object: StoredObject | undefined;
  try {
    object = await store.getIfChanged(key, etag);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  if (object === undefined) return "unchanged";
  return { document: parseDocument(kind, key, object.body, object.etag), etag: object.etag };
}

/** Writes `document` at `key` under `condition`; returns the new ETag. A condition that does not hold throws PreconditionFailedError. */
export async function writeDocument<T>(store: ObjectStore, key: string, kind: DocumentKind<T>, document: T, condition: WriteCondition): Promise<string> {
  const guard = "create" in condition ? { ifNoneMatch: "*" as const } : "ifMatch" in condition ? { ifMatch: condition.ifMatch } : {};
  return (await store.put(key, serializeDocument(kind, document), { ...guard, contentType: "application/json" })).etag;
}

/** The compare-and-swap condition over `etag`, or create-only when there is no document yet. */
export function replacing(etag: string | undefined): WriteCondition {
  return etag === undefined ? { create: true } : { ifMatch: etag };
}

/** A schema issue as a phrase: where, and what is wrong. */
function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return "it does not have the expected shape";
  const where = issue.path.length === 0 ? "" : `${issue.path.map(String).join(".")}: `;
  return `${where}${issue.message}`;
}
