// Paths inside the virtual tree: always absolute, "/"-separated, normalised. Hostile input is
// refused before it reaches the index or the store (docs/guarantees.md, guarantee 7): NUL bytes, ".." that would
// climb above the root, and names or paths longer than Linux allows.

import { FsError } from "./errors.ts";

export const maxNameBytes = 255;
export const maxPathBytes = 4096;
/** Symbolic links followed while resolving one path before it is ELOOP (Linux's limit). */
export const maxSymlinkHops = 40;

/** The normalised absolute form of `path` ("a/./b/../c" -> "/a/c"), or an FsError for `syscall`. */
export function normalizePath(path: unknown, syscall: string): string {
  if (typeof path !== "string") {
    throw new FsError("EINVAL", syscall, { detail: `the path must be a string, got ${path === null ? "null" : typeof path}` });
  }
  if (path.includes("\0")) throw new FsError("EINVAL", syscall, { path: path.replaceAll("\0", "\\0"), detail: "path contains a NUL byte" });
  if (!path.isWellFormed()) {
    // A lone surrogate has no UTF-8 form: stored, it would become U+FFFD and name another file.
    throw new FsError("EINVAL", syscall, { path: escapeLoneSurrogates(path), detail: "path contains a lone UTF-16 surrogate, which has no UTF-8 form" });
  }
  if (path === "") throw new FsError("ENOENT", syscall, { path });
  if (Buffer.byteLength(path) > maxPathBytes) throw new FsError("ENAMETOOLONG", syscall, { path: `${path.slice(0, 64)}...` });
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) throw new FsError("EINVAL", syscall, { path, detail: "path climbs above the root of the filesystem" });
      parts.pop();
      continue;
    }
    if (Buffer.byteLength(part) > maxNameBytes) throw new FsError("ENAMETOOLONG", syscall, { path });
    parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** `text` with each lone UTF-16 surrogate written as \uXXXX, for messages. */
export function escapeLoneSurrogates(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Components of a normalised path ("/" -> []). */
export function splitPath(path: string): string[] {
  return path === "/" ? [] : path.slice(1).split("/");
}

export function joinPath(directory: string, name: string): string {
  return directory === "/" ? `/${name}` : `${directory}/${name}`;
}

export function parentOf(path: string): string {
  const index = path.lastIndexOf("/");
  return index <= 0 ? "/" : path.slice(0, index);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Whether `path` is `ancestor` or lies below it. */
export function isWithin(path: string, ancestor: string): boolean {
  return ancestor === "/" || path === ancestor || path.startsWith(`${ancestor}/`);
}

/**
 * Resolves a symbolic link's target against the directory holding the link, POSIX style: ".."
 * at the root stays at the root, so a link can never point outside the virtual tree.
 */
export function resolveLinkTarget(linkDirectory: string, target: string): string {
  const parts = target.startsWith("/") ? [] : splitPath(linkDirectory);
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/**
 * `path` resolved against the directory `base` as a shell resolves it: absolute, "/"-separated,
 * and ".." at the root stays at the root, so the result never leaves the tree. (normalizePath,
 * which the filesystem's own methods use, refuses a ".." above the root instead.)
 */
export function resolveWithin(base: string, path: string): string {
  return resolveLinkTarget("/", path.startsWith("/") ? path : `${base}/${path}`);
}
