// A caller's path, checked the way just-bash's own filesystems check it. The path math itself is
// the core's (resolveWithin and friends, src/base/paths.ts): absolute, "/"-separated, and ".." at the
// root stays at the root, as just-bash's `resolvePath` does. The core still refuses anything
// hostile (NUL bytes, absurd lengths); clamping ".." only mirrors what every just-bash
// IFileSystem does, and can never name a host path because the tree is virtual.

import { FsError, resolveWithin } from "../core.ts";

/**
 * Checks a caller's path and normalises it. A NUL byte is refused with just-bash's own message
 * ("ENOENT: path contains null byte, open '...'"), so its commands report it as they would over
 * InMemoryFs; everything else the core checks again.
 */
export function checkedPath(path: string, syscall: string): string {
  if (typeof path !== "string") throw new FsError("EINVAL", syscall, { detail: `the path must be a string, got ${path === null ? "null" : typeof path}` });
  if (path.includes("\0")) throw new FsError("ENOENT", syscall, { path, detail: "path contains null byte" });
  if (path === "") throw new FsError("ENOENT", syscall, { path });
  return resolveWithin("/", path);
}
