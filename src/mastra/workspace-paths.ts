// Workspace paths as Mastra passes them, turned into the core's absolute paths and back.
//
// Mastra's tools hand a filesystem paths verbatim: "/src/a.ts", "src/a.ts", "./src", "src/", "." and
// "" (the workspace root, from a CompositeFilesystem mount). Here they all name one place, rooted at
// the workspace root: "" and "." are "/", and "src", "./src", "/src" and "src/" are "/src". Going
// the other way, the paths we report (stat().path, realpath) are relative without a leading "/"
// ("src/a.ts", "" for the root), as Mastra's own LocalFilesystem reports them, so the tools print the
// same headers over either filesystem.

import { FilesystemError, PermissionError } from "@mastra/core/workspace";

/**
 * The core path for a workspace path. Throws PermissionError for a path that climbs above the
 * root, and FilesystemError EINVAL for one that is not a string (before any of Mastra's error
 * classes would embed it in a message: a Symbol cannot be).
 */
export function toCorePath(path: string): string {
  if (typeof path !== "string") {
    const type = path === null ? "null" : typeof path;
    throw new FilesystemError(`EINVAL: the path must be a string, got ${type}`, "EINVAL", `<${type}>`);
  }
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      // LocalFilesystem refuses a path outside its basePath with PermissionError; so do we.
      if (parts.length === 0) throw new PermissionError(path, "access (path is outside the workspace)");
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** The path Mastra sees for a core path: "/src/a.ts" is "src/a.ts", "/" is "". */
export function toWorkspacePath(corePath: string): string {
  return corePath.replace(/^\/+/, "");
}

/** The last component of a core or relative path ("" for the root). */
export function baseNameOf(corePath: string): string {
  return corePath.slice(corePath.lastIndexOf("/") + 1);
}

/** The parent of a workspace path as the caller wrote it, for errors that name the parent ("a/b" -> "a"). */
export function parentAsGiven(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const index = trimmed.lastIndexOf("/");
  if (index < 0) return ".";
  return index === 0 ? "/" : trimmed.slice(0, index);
}

/** `relative` below the core directory `directory` ("/src" + "a/b" -> "/src/a/b"). */
export function joinCore(directory: string, relative: string): string {
  return directory === "/" ? `/${relative}` : `${directory}/${relative}`;
}

/** Whether any component of a relative path is hidden (starts with "."). */
export function isHiddenPath(relative: string): boolean {
  return relative.split("/").some((segment) => segment.startsWith("."));
}
