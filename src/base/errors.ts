// FsError: the one error class the filesystem throws, shaped like Node's (code, errno, syscall,
// path, dest, and the message "ENOENT: no such file or directory, stat '/a/b'"). Store errors are
// mapped to it once, by one table (fromStoreError), at the facade's boundary (mapStoreErrorsAt,
// applied to the public methods in src/fs.ts): the layers below throw store errors as they are.

import { constants } from "node:os";
import {
  AmbiguousOutcomeError,
  CorruptObjectError,
  InvalidRequestError,
  MisconfiguredError,
  NotFoundError,
  PreconditionFailedError,
  StoreError,
  UnauthorizedError,
  UnavailableError,
  UnsupportedFormatError,
} from "../stores/store-errors.ts";

export type FsErrorCode =
  | "ENOENT"
  | "EEXIST"
  | "ENOTDIR"
  | "EISDIR"
  | "ENOTEMPTY"
  | "EROFS"
  | "EINVAL"
  | "EBUSY"
  | "EIO"
  | "ENOSPC"
  | "EFBIG"
  | "ENAMETOOLONG"
  | "ELOOP"
  | "EPERM"
  | "EACCES"
  | "EBADF"
  | "ECANCELED"
  | "EDEADLK"
  | "EAGAIN"
  | "EFENCED";

const descriptions: Record<FsErrorCode, string> = {
  ENOENT: "no such file or directory",
  EEXIST: "file already exists",
  ENOTDIR: "not a directory",
  EISDIR: "illegal operation on a directory",
  ENOTEMPTY: "directory not empty",
  EROFS: "read-only file system",
  EINVAL: "invalid argument",
  EBUSY: "resource busy or locked",
  EIO: "i/o error",
  ENOSPC: "no space left on device",
  EFBIG: "file too large",
  ENAMETOOLONG: "name too long",
  ELOOP: "too many symbolic links encountered",
  EPERM: "operation not permitted",
  EACCES: "permission denied",
  EBADF: "bad file descriptor",
  ECANCELED: "operation canceled",
  EDEADLK: "resource deadlock avoided",
  EAGAIN: "resource temporarily unavailable",
  EFENCED: "this writer was fenced by a newer writer and can no longer publish",
};

export interface FsErrorDetails {
  path?: string | undefined;
  dest?: string | undefined;
  /** Replaces the standard description ("no such file or directory") with a more specific one. */
  detail?: string | undefined;
  cause?: unknown;
}

export class FsError extends Error {
  readonly code: FsErrorCode;
  /** Negative errno, as Node reports it (EFENCED has none: -1). */
  readonly errno: number;
  readonly syscall: string;
  readonly path: string | undefined;
  readonly dest: string | undefined;

  constructor(code: FsErrorCode, syscall: string, details: FsErrorDetails = {}) {
    const description = details.detail ?? descriptions[code];
    // A caller's path that is not a string (a Symbol, an object) is not named: it is not a virtual
    // path, and embedding it could throw while the error is built.
    const path = typeof details.path === "string" ? details.path : undefined;
    const dest = typeof details.dest === "string" ? details.dest : undefined;
    const where = path === undefined ? "" : dest === undefined ? ` '${path}'` : ` '${path}' -> '${dest}'`;
    super(`${code}: ${description}, ${syscall}${where}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.errno = -((constants.errno as Record<string, number>)[code] ?? 1);
    this.syscall = syscall;
    this.path = path;
    this.dest = dest;
  }
}

/**
 * The writer lost its lease: a newer writer (higher epoch) owns the filesystem. Every later write
 * through this mount fails with this error; nothing it does can be published any more.
 */
export class FencedError extends FsError {
  readonly epoch: number;
  readonly newerEpoch: number | undefined;

  constructor(syscall: string, details: FsErrorDetails & { epoch: number; newerEpoch?: number | undefined }) {
    super("EFENCED", syscall, {
      ...details,
      detail:
        details.detail ??
        `this writer (epoch ${details.epoch}) was fenced by a newer writer${details.newerEpoch === undefined ? "" : ` (epoch ${details.newerEpoch})`} and can no longer publish`,
    });
    this.epoch = details.epoch;
    this.newerEpoch = details.newerEpoch;
  }
}

/** Maps a store error met while serving `syscall` on `path` to the errno a caller can act on. */
export function fromStoreError(error: unknown, syscall: string, path?: string, dest?: string): Error {
  if (error instanceof FsError || !(error instanceof StoreError)) return error as Error;
  const details = { path, dest, cause: error };
  if (error instanceof MisconfiguredError) {
    // Permanent: the mount config names the wrong thing. ENOENT for a bucket that does not exist.
    return new FsError(error.field === "bucket" && error.missing ? "ENOENT" : "EINVAL", syscall, { ...details, detail: `invalid mount config: ${error.field}: ${error.message}` });
  }
  if (error instanceof UnauthorizedError) return new FsError("EACCES", syscall, { ...details, detail: `object store refused access (${error.message})` });
  if (error instanceof UnsupportedFormatError) return new FsError("EIO", syscall, { ...details, detail: error.message });
  if (error instanceof CorruptObjectError) return new FsError("EIO", syscall, { ...details, detail: `corrupt data in the object store (${error.message})` });
  if (error instanceof NotFoundError) return new FsError("EIO", syscall, { ...details, detail: `an object the filesystem refers to is missing (${error.message})` });
  if (error instanceof UnavailableError || error instanceof AmbiguousOutcomeError) {
    return new FsError("EIO", syscall, { ...details, detail: `the object store is unavailable (${error.message})` });
  }
  if (error instanceof PreconditionFailedError || error instanceof InvalidRequestError) {
    return new FsError("EIO", syscall, { ...details, detail: error.message });
  }
  return new FsError("EIO", syscall, { ...details, detail: error.message });
}

/** Host errnos passed on as they are (the rest become EIO). */
const hostCodes = new Set<string>(["ENOENT", "EEXIST", "ENOTDIR", "EISDIR", "ENOTEMPTY", "EROFS", "EINVAL", "EBUSY", "EIO", "ENOSPC", "EFBIG", "ENAMETOOLONG", "ELOOP", "EPERM", "EACCES"]);

/**
 * Maps an error met on the local disk (cache root, index, staging files) while serving `syscall`
 * to an FsError naming the virtual `path`, if any, and never a host path: the host's errno where
 * it is one of ours (ENOSPC, EACCES, ...; SQLITE_FULL and SQLITE_IOERR_SHMSIZE, a -shm file that cannot grow, are ENOSPC), else EIO. `what` says what
 * failed. FsErrors pass unchanged; store errors are mapped as fromStoreError maps them.
 */
export function fromLocalError(error: unknown, syscall: string, what: string, path?: string): FsError {
  if (error instanceof FsError) return error;
  if (error instanceof StoreError) return fromStoreError(error, syscall, path) as FsError;
  const hostCode = (error as { code?: unknown } | null)?.code;
  if (typeof hostCode === "string") {
    // An errno's message names the host path: say the code and its meaning instead.
    const code: FsErrorCode = hostCode === "SQLITE_FULL" || hostCode === "SQLITE_IOERR_SHMSIZE" ? "ENOSPC" : hostCodes.has(hostCode) ? (hostCode as FsErrorCode) : "EIO";
    const reason = hostCodes.has(hostCode) ? `${hostCode}: ${descriptions[hostCode as FsErrorCode]}` : hostCode;
    return new FsError(code, syscall, { path, detail: `${what} (${reason})`, cause: error });
  }
  return new FsError("EIO", syscall, { path, detail: `${what} (${error instanceof Error ? error.message : String(error)})`, cause: error });
}

/** How a method at the errno boundary reports a store error: its syscall, and which of its arguments are the paths to name. */
export interface BoundarySyscall {
  syscall: string;
  /** The index of the argument that is the (virtual) path the error names. */
  path?: number;
  /** The index of the argument that is the destination path (rename, copy, symlink). */
  dest?: number;
}

/**
 * The errno boundary, in one place: each named method of `prototype` (an async method of the
 * facade) maps a store error thrown anywhere below it to the FsError fromStoreError gives, with
 * the method's syscall and paths. Layers below the boundary throw store errors as they are;
 * FsErrors and any other error pass unchanged.
 */
export function mapStoreErrorsAt<T extends object>(prototype: T, methods: { readonly [name in keyof T & string]?: BoundarySyscall }): void {
  for (const [name, how] of Object.entries(methods) as [string, BoundarySyscall][]) {
    const method = (prototype as Record<string, unknown>)[name];
    if (typeof method !== "function") throw new TypeError(`${name} is not a method`);
    const argument = (args: unknown[], index: number | undefined) => (index !== undefined && typeof args[index] === "string" ? args[index] : undefined);
    const mapped = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
      try {
        return await method.apply(this, args);
      } catch (error) {
        throw fromStoreError(error, how.syscall, argument(args, how.path), argument(args, how.dest));
      }
    };
    Object.defineProperty(mapped, "name", { value: name });
    Object.defineProperty(prototype, name, { value: mapped, writable: true, configurable: true, enumerable: false });
  }
}
