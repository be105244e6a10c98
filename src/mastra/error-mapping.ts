// The one table from the core's FsError codes to Mastra's error classes (two tiers of errors,
// one mapping). The workspace tools act on these classes: write_file goes ahead when stat()
// throws FileNotFoundError, file_stat prints "not found" for it, grep treats code ENOENT/ENOTDIR as
// "nothing searched", the .gitignore loader swallows only code ENOENT. So each error keeps its errno
// `code` and names the path as the caller gave it, and the original FsError rides along as `cause`.

import {
  DirectoryNotEmptyError,
  DirectoryNotFoundError,
  FileExistsError,
  FileNotFoundError,
  FilesystemError,
  IsDirectoryError,
  NotDirectoryError,
  PermissionError,
  WorkspaceReadOnlyError,
} from "@mastra/core/workspace";
import { FsError } from "../core.ts";

/**
 * What the caller expected to find at the path, which decides between FileNotFoundError and
 * DirectoryNotFoundError for ENOENT (readdir, rmdir and walk name a directory; the rest a file).
 */
export type Expected = "file" | "directory";

export interface ErrorContext {
  /** The path as the caller wrote it (the source, for copyFile and moveFile). */
  path: string;
  /** The destination as the caller wrote it (copyFile, moveFile): EEXIST and ENOTEMPTY name it. */
  destination?: string;
  /** The WorkspaceFilesystem method, for PermissionError and WorkspaceReadOnlyError messages. */
  operation: string;
  expected?: Expected;
}

/** Mastra's error for `error`; anything that is not an FsError passes through unchanged. */
export function toMastraError(error: unknown, context: ErrorContext): unknown {
  if (!(error instanceof FsError)) return error;
  const mapped = mastraErrorFor(error, context);
  // Error's `cause` cannot be passed through Mastra's constructors; set it as `new Error(m, { cause })` would.
  Object.defineProperty(mapped, "cause", { value: error, enumerable: false, configurable: true, writable: true });
  return mapped;
}

function mastraErrorFor(error: FsError, { path, destination, operation, expected }: ErrorContext): Error {
  switch (error.code) {
    case "ENOENT":
      return expected === "directory" ? new DirectoryNotFoundError(path) : new FileNotFoundError(path);
    case "EEXIST":
      return new FileExistsError(destination ?? path);
    case "EISDIR":
      return new IsDirectoryError(path);
    case "ENOTDIR":
      return new NotDirectoryError(path);
    case "ENOTEMPTY":
      return new DirectoryNotEmptyError(destination ?? path);
    case "EROFS":
      return new WorkspaceReadOnlyError(operation);
    case "EACCES":
    case "EPERM":
      return new PermissionError(path, `${operation} (${error.message})`);
    default:
      // EIO, EINVAL, ENOSPC, EFENCED, EBADF, ...: Mastra has no class for them; keep code and message.
      return new FilesystemError(error.message, error.code, path);
  }
}

/**
 * A failure of the filesystem as a whole (mounting, closing, a transaction's commit) rather than of
 * one path: a FilesystemError with the FsError's code and message, naming `subject` (the mount).
 * Read-only and permission failures keep their own classes.
 */
export function toFilesystemError(error: unknown, subject: string, operation: string): unknown {
  if (!(error instanceof FsError)) return error;
  if (error.code === "EROFS" || error.code === "EACCES" || error.code === "EPERM") return toMastraError(error, { path: subject, operation });
  const mapped = new FilesystemError(error.message, error.code, subject);
  Object.defineProperty(mapped, "cause", { value: error, enumerable: false, configurable: true, writable: true });
  return mapped;
}

/** Runs `body`, turning an FsError it throws into Mastra's error for `context`. */
export async function translated<T>(context: ErrorContext, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw toMastraError(error, context);
  }
}
