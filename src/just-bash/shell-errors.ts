// Errors as just-bash expects them. Its commands recognise a failure by the text of the message
// ("ENOENT", "no such file", "EEXIST", "ENOTEMPTY", "EPERM") and some print it, so every error
// leaving the adapter is a core FsError (it carries `code`, `syscall`, `path`) whose message has
// exactly the shape just-bash's InMemoryFs uses: `CODE: description, <op> '<path>'`, naming the
// operation just-bash called (mv, cp, utimes, ...) and the path it passed.

import { FsError, type FsErrorCode } from "../core.ts";

/**
 * Re-labels a core error for the just-bash operation `op` on `path`. Errors with a specific
 * description (an i/o failure, a bad mode) keep the core's message, which already has the Node
 * shape; anything that is not an FsError passes through untouched.
 */
export function asShellError(error: unknown, op: string, path: string): unknown {
  if (!(error instanceof FsError)) return error;
  // Reading a directory is "EISDIR: ..., read" in Node and in just-bash alike, whatever the caller.
  const syscall = error.code === "EISDIR" && error.syscall === "read" ? "read" : op;
  if (error.syscall === syscall && error.path === path && error.dest === undefined) return error; // already as just-bash says it
  if (!hasStandardMessage(error)) return error;
  return new FsError(error.code, syscall, { path, cause: error });
}

/** An FsError for `op` on `path`, with the standard description of `code` unless `detail` is given. */
export function shellError(code: FsErrorCode, op: string, path: string, detail?: string): FsError {
  return new FsError(code, op, { path, ...(detail === undefined ? {} : { detail }) });
}

/** just-bash's wording for a tree copied or moved into itself (`cp -r a a/b`, `mv a a/b`). */
export function intoItselfError(op: "cp" | "mv", path: string, dest: string): FsError {
  const error = new FsError("EINVAL", op, { path, dest });
  error.message = `EINVAL: cannot ${op === "cp" ? "copy" : "move"} '${path}' into itself, '${dest}'`;
  return error;
}

/** Whether the core used the standard description for the code (not a specific one). */
function hasStandardMessage(error: FsError): boolean {
  return error.message === new FsError(error.code, error.syscall, { path: error.path, dest: error.dest }).message;
}
