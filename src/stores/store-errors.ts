// Store errors say what the caller should do, not what went wrong on the wire. The facade maps
// them to errno once (src/base/errors.ts); the retrying decorator decides from `retryable` alone.
//
//   NotFoundError            the key does not exist: a normal answer, never retried
//   PreconditionFailedError  an ifNoneMatch/ifMatch condition does not hold: nothing was written
//   AmbiguousOutcomeError    a write may or may not have landed: read the key back to settle
//   UnavailableError         nothing happened (throttled, 5xx, connection refused): retry later
//   UnauthorizedError        credentials or permissions are wrong: retrying will not help
//   CorruptObjectError       bytes do not match their checksum or format: never use them
//   UnsupportedFormatError   (a CorruptObjectError) sound, but of a newer format: upgrade to use them
//   InvalidRequestError      the request itself is wrong (bad key, range past the end)
//   MisconfiguredError       the store's configuration is wrong (no such bucket, an unusable
//                            endpoint or bucket name): fix the named field; retrying will not help

export type StoreOperation = "get" | "head" | "put" | "delete" | "list";

export interface StoreErrorDetails {
  operation: StoreOperation;
  key?: string | undefined;
  cause?: unknown;
  /** The HTTP status or local errno behind the error, for messages and diagnostics. */
  status?: number | string | undefined;
}

export abstract class StoreError extends Error {
  abstract readonly kind: "not-found" | "precondition-failed" | "ambiguous" | "unavailable" | "unauthorized" | "corrupt" | "invalid" | "misconfigured";
  /** Whether repeating the same request later may succeed. */
  abstract readonly retryable: boolean;
  readonly operation: StoreOperation;
  readonly key: string | undefined;
  readonly status: number | string | undefined;

  constructor(message: string, details: StoreErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.operation = details.operation;
    this.key = details.key;
    this.status = details.status;
  }
}

export class NotFoundError extends StoreError {
  readonly kind = "not-found";
  readonly retryable = false;
}

export class PreconditionFailedError extends StoreError {
  readonly kind = "precondition-failed";
  readonly retryable = false;
}

export class AmbiguousOutcomeError extends StoreError {
  readonly kind = "ambiguous";
  /** Not blindly: the write may have landed. Settle by reading back (see conditional-put.ts). */
  readonly retryable = false;
}

export class UnavailableError extends StoreError {
  readonly kind = "unavailable";
  readonly retryable = true;
}

export class UnauthorizedError extends StoreError {
  readonly kind = "unauthorized";
  readonly retryable = false;
}

export class CorruptObjectError extends StoreError {
  readonly kind = "corrupt";
  readonly retryable = false;
}

/**
 * The object is sound but written by a newer version of the format: a record format, an
 * operation kind or a format.json version this reader does not know. Never skipped, never
 * applied in part: whoever meets it stops, and the message says to upgrade.
 */
export class UnsupportedFormatError extends CorruptObjectError {}

export class InvalidRequestError extends StoreError {
  readonly kind = "invalid";
  readonly retryable = false;
}

/** The configuration field at fault in a MisconfiguredError. */
export type ConfigurationField = "bucket" | "endpoint" | "region";

export class MisconfiguredError extends StoreError {
  readonly kind = "misconfigured";
  readonly retryable = false;
  /** The field of the store's configuration (the mount config) that is wrong. */
  readonly field: ConfigurationField;
  /** The bucket the configuration names does not exist (as opposed to a malformed value). */
  readonly missing: boolean;

  constructor(message: string, details: StoreErrorDetails & { field: ConfigurationField; missing?: boolean }) {
    super(message, details);
    this.field = details.field;
    this.missing = details.missing ?? false;
  }
}

export function isStoreError(error: unknown): error is StoreError {
  return error instanceof StoreError;
}

/** Formats `"<operation> <key>: <what>"` so every store error names what it was doing. */
export function describe(operation: StoreOperation, key: string | undefined, what: string): string {
  return key === undefined ? `${operation}: ${what}` : `${operation} ${JSON.stringify(key)}: ${what}`;
}
