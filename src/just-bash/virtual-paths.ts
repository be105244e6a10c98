// Path math for the just-bash adapter, done the way just-bash's own filesystems do it (its
// `resolvePath` is synchronous and never touches storage): absolute, "/"-separated, and ".." at
// the root stays at the root. The core still refuses anything hostile (NUL bytes, absurd lengths);
// clamping ".." here only mirrors what every just-bash IFileSystem does, and can never name a
// host path because the tree is virtual.

import { FsError } from "../core.ts";

/** The normalised absolute form of `path` ("a/./b/../c" -> "/a/c", "/../x" -> "/x"). */
export function normalizeVirtualPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** `path` resolved against the directory `base`: just-bash's `resolvePath(base, path)`. */
export function resolveVirtualPath(base: string, path: string): string {
  if (path.startsWith("/")) return normalizeVirtualPath(path);
  return normalizeVirtualPath(base === "/" ? `/${path}` : `${base}/${path}`);
}

/** Components of a normalised path ("/" -> []). */
export function splitVirtualPath(path: string): string[] {
  return path === "/" ? [] : path.slice(1).split("/");
}

export function joinVirtualPath(directory: string, name: string): string {
  return directory === "/" ? `/${name}` : `${directory}/${name}`;
}

export function parentOfVirtualPath(path: string): string {
  const index = path.lastIndexOf("/");
  return index <= 0 ? "/" : path.slice(0, index);
}

/** Whether `path` is `ancestor` or lies below it (both normalised). */
export function isWithinVirtualPath(path: string, ancestor: string): boolean {
  return ancestor === "/" || path === ancestor || path.startsWith(`${ancestor}/`);
}

/** Where a symbolic link's target points, resolved against the directory holding the link. */
export function resolveLinkTarget(linkDirectory: string, target: string): string {
  return target.startsWith("/") ? normalizeVirtualPath(target) : resolveVirtualPath(linkDirectory, target);
}

/**
 * Checks a caller's path and normalises it. A NUL byte is refused with just-bash's own message
 * ("ENOENT: path contains null byte, open '...'"), so its commands report it as they would over
 * InMemoryFs; everything else the core checks again.
 */
export function checkedPath(path: string, syscall: string): string {
  if (typeof path !== "string") throw new FsError("EINVAL", syscall, { detail: `the path must be a string, got ${path === null ? "null" : typeof path}` });
  if (path.includes("\0")) throw new FsError("ENOENT", syscall, { path, detail: "path contains null byte" });
  if (path === "") throw new FsError("ENOENT", syscall, { path });
  return normalizeVirtualPath(path);
}
