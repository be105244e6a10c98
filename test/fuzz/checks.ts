// The checks every fuzzed call goes through, whatever it called: it settles within the bound, an
// error is of the surface's own kind (FsError for the core, or the adapter's framework error) with
// a code and a virtual path, and no host path of the mount's local state shows in what it reports.

import { FsError } from "../../src/core.ts";

export const fsErrorCodes = new Set([
  "ENOENT",
  "EEXIST",
  "ENOTDIR",
  "EISDIR",
  "ENOTEMPTY",
  "EROFS",
  "EINVAL",
  "EBUSY",
  "EIO",
  "ENOSPC",
  "EFBIG",
  "ENAMETOOLONG",
  "ELOOP",
  "EPERM",
  "EACCES",
  "EBADF",
  "ECANCELED",
  "EDEADLK",
  "EAGAIN",
  "EFENCED",
]);

/** Codes that are about a path: an FsError with one of them names the (virtual) path. */
export const pathCodes = new Set(["ENOENT", "EEXIST", "ENOTDIR", "EISDIR", "ENOTEMPTY", "ENAMETOOLONG", "ELOOP"]);

export type Outcome = { status: "ok"; value: unknown } | { status: "error"; error: unknown; code: string } | { status: "pending" };

export function outcomeCode(outcome: Outcome): string {
  return outcome.status === "ok" ? "ok" : outcome.status === "pending" ? "pending" : outcome.code;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.constructor.name}${code === undefined ? "" : `(${String(code)})`}: ${error.message.slice(0, 300)}`;
  }
  return `a thrown ${typeof error}: ${String(error).slice(0, 200)}`;
}

/**
 * What identifies the error to a caller: its `code` (FsError, Mastra's errors), a Flue error's
 * `type`, an AbortError's name; undefined if it has none.
 */
export function identityOf(error: unknown): string | undefined {
  const fields = error as { code?: unknown; type?: unknown } | null;
  if (typeof fields?.code === "string" && fields.code !== "") return fields.code;
  if (error instanceof DOMException && error.name === "AbortError") return "AbortError";
  if (error instanceof Error && typeof fields?.type === "string" && fields.type !== "") return fields.type;
  return undefined;
}

/** The error's identity (see identityOf), else a label naming what was thrown. */
export function codeOf(error: unknown): string {
  const code = identityOf(error);
  if (code !== undefined) return code;
  if (error instanceof Error) return `<${error.constructor.name}>`;
  return `<${typeof error}>`;
}

/** What the error says, everywhere a caller or a log would show it. */
export function errorTexts(error: unknown, depth = 0): string[] {
  if (depth > 3 || typeof error !== "object" || error === null) return [String(error)];
  const fields = error as { message?: unknown; path?: unknown; dest?: unknown; stack?: unknown; cause?: unknown };
  const texts = [fields.message, fields.path, fields.dest].filter((text): text is string => typeof text === "string");
  if (fields.cause !== undefined && fields.cause instanceof FsError) texts.push(...errorTexts(fields.cause, depth + 1));
  return texts;
}

/** A problem with the error's shape (undefined: fine). `allowed` says which classes the surface may throw. */
export function errorShapeProblem(error: unknown, allowed: (error: unknown) => boolean, hostPaths: readonly string[]): string | undefined {
  if (!allowed(error)) return `not an error of this surface: ${describeError(error)}`;
  const code = identityOf(error);
  if (code === undefined) return `an error without a code: ${describeError(error)}`;
  if (error instanceof FsError) {
    if (!fsErrorCodes.has(code)) return `an FsError with an unknown code ${code}`;
    if (pathCodes.has(code) && error.path === undefined) return `an FsError ${code} that names no path: ${error.message}`;
  }
  for (const text of errorTexts(error)) {
    for (const host of hostPaths) if (text.includes(host)) return `a host path (${host}) in the error: ${text.slice(0, 300)}`;
  }
  return undefined;
}

/** `promise` settled, or "pending" once `boundMs` passed: the safety net for "never settles". */
export async function settleWithin<T>(promise: Promise<T>, boundMs: number): Promise<{ settled: true; value: T } | { settled: true; error: unknown } | { settled: false }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<{ settled: false }>((resolve) => {
    timer = setTimeout(() => resolve({ settled: false }), boundMs);
  });
  try {
    return await Promise.race([promise.then((value) => ({ settled: true as const, value }), (error: unknown) => ({ settled: true as const, error })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
