// Applying one operation to the namespace: the single place where the filesystem's rules live.
//
// The writer calls this to validate an operation before publishing it (inside a savepoint: an
// FsError leaves nothing behind), and every mount calls it again to replay the published record.
// It must therefore be deterministic: its result depends only on the namespace and the operation
// (times, modes and extents travel inside the operation). The rules mirror POSIX and Node's fs
// (the node:fs reference run of the filesystem suite keeps them honest).

import { FsError } from "../base/errors.ts";
import { extentBytes, extentsBroughtIn, unknownOperation, type Extent, type Op, type Relocation } from "../log/ops.ts";
import { isWithin, joinPath, maxNameBytes, maxPathBytes, parentOf, splitPath } from "../base/paths.ts";
import type { Namespace, NodeKind, NodeRow } from "./namespace.ts";

export const defaultFileMode = 0o644;
export const defaultDirectoryMode = 0o755;
export const symlinkMode = 0o777;

/** The syscall name each operation reports in its errors, as Node and just-bash do. */
const syscalls: Record<Op["op"], string> = {
  mkdir: "mkdir",
  write: "open",
  append: "open",
  rm: "rm",
  rename: "rename",
  copy: "copyfile",
  symlink: "symlink",
  chmod: "chmod",
  utimes: "utime",
  lutimes: "lutime",
  link: "link",
  epoch: "epoch",
  relocate: "relocate",
  collect: "collect",
  laneOpen: "laneOpen",
  laneClose: "laneClose",
  laneEnd: "laneEnd",
};

export class OpApplier {
  constructor(private readonly namespace: Namespace) {}

  private get view() {
    return this.namespace.pending;
  }

  /** Whether new entries are held to the name and path limits (see apply's `replay`). */
  private checkLimits = true;

  /**
   * Applies `op`; `recordKey` replaces the "" object of inline extents. Throws FsError (and
   * changes nothing, when run inside Namespace.step) if the operation is invalid here. A `replay`
   * of a published record does not enforce the name and path limits on new entries: records
   * written before they were enforced must still replay to the same tree.
   */
  apply(op: Op, recordKey: string, options: { replay?: boolean } = {}): void {
    this.checkLimits = options.replay !== true;
    switch (op.op) {
      case "mkdir":
        return this.mkdir(op.path, op.mode, op.recursive, op.time);
      case "write":
        return this.write(op.path, op.mode, extentsBroughtIn(op, recordKey), op.time, false);
      case "append":
        return this.write(op.path, op.mode, extentsBroughtIn(op, recordKey), op.time, true);
      case "rm":
        return this.rm(op.path, op.recursive, op.force, op.time);
      case "rename":
        return this.rename(op.from, op.to, op.time);
      case "copy":
        return this.copy(op.from, op.to, op.recursive, op.overwrite, op.time);
      case "symlink":
        return this.symlink(op.target, op.path, op.time);
      case "link":
        return this.link(op.from, op.to, op.time);
      case "chmod": {
        const { node } = this.view.resolve(op.path, true, syscalls.chmod);
        this.namespace.updateNode(node.id, { mode: op.mode & 0o7777, ctime: op.time });
        return;
      }
      case "utimes":
      case "lutimes": {
        const { node } = this.view.resolve(op.path, op.op === "utimes", syscalls[op.op]);
        this.namespace.updateNode(node.id, { atime: op.atime, mtime: op.mtime, ctime: op.time });
        return;
      }
      case "epoch":
      case "collect":
      // Lanes change no entry: where each lane stands is the replay's to keep (src/commit/lanes.ts).
      case "laneOpen":
      case "laneClose":
      case "laneEnd":
        return;
      case "relocate":
        return this.relocate(op.moves, extentsBroughtIn(op, recordKey));
      default: {
        // Decoding refuses unknown kinds (record.ts); this guards any other way in. Never an
        // FsError: that would read as "the index disagrees with the log", not "upgrade".
        const unknown: never = op;
        throw unknownOperation(recordKey, (unknown as { op?: unknown }).op);
      }
    }
  }

  private mkdir(path: string, mode: number, recursive: boolean, time: number): void {
    const syscall = syscalls.mkdir;
    if (path === "/") {
      if (recursive) return;
      throw new FsError("EEXIST", syscall, { path });
    }
    if (!recursive) {
      const place = this.view.place(path, false, syscall);
      if (place.existing !== undefined) throw new FsError("EEXIST", syscall, { path });
      this.checkNewEntry(place.parentPath, place.name, syscall, { path });
      this.create(place.parent, place.name, "directory", mode, time, null);
      return;
    }
    this.makeDirectories(path, mode, time, syscall, path);
  }

  /** mkdir -p: creates each missing directory of `path`; following links to directories. */
  private makeDirectories(path: string, mode: number, time: number, syscall: string, reported: string): NodeRow {
    let current = this.view.root();
    let currentPath = "/";
    const parts = splitPath(path);
    for (const [index, name] of parts.entries()) {
      const last = index === parts.length - 1;
      const existing = this.view.child(current.id, name);
      if (existing === undefined) {
        this.checkNewEntry(currentPath, name, syscall, { path: reported });
        current = this.create(current, name, "directory", mode, time, null);
        currentPath = joinPath(currentPath, name);
        continue;
      }
      const resolved = existing.kind === "symlink" ? this.view.tryResolve(joinPath(currentPath, name), true, syscall) : { node: existing, path: joinPath(currentPath, name) };
      if (resolved === undefined) throw new FsError(last ? "EEXIST" : "ENOENT", syscall, { path: reported });
      if (resolved.node.kind !== "directory") throw new FsError(last ? "EEXIST" : "ENOTDIR", syscall, { path: reported });
      current = resolved.node;
      currentPath = resolved.path;
    }
    return current;
  }

  private write(path: string, mode: number, extents: Extent[], time: number, append: boolean): void {
    const syscall = syscalls.write;
    if (path === "/") throw new FsError("EISDIR", syscall, { path });
    // Writes create missing parent directories (writeFile, appendFile and openWrite do, unlike node:fs).
    const parentPath = parentOf(path);
    const parentReached = this.view.tryResolve(parentPath, true, syscall);
    if (parentReached === undefined) this.makeDirectories(parentPath, defaultDirectoryMode, time, syscall, path);
    else if (parentReached.node.kind !== "directory") throw new FsError("ENOTDIR", syscall, { path });
    const place = this.view.place(path, true, syscall);
    const existing = place.existing;
    if (existing?.kind === "directory") throw new FsError("EISDIR", syscall, { path });
    if (existing === undefined) {
      this.checkNewEntry(place.parentPath, place.name, syscall, { path });
      const node = this.create(place.parent, place.name, "file", mode, time, null, extentBytes(extents));
      this.namespace.insertExtents(node.id, 0, extents);
      return;
    }
    // The bytes belong to the inode: every name of the file (hard links) sees them.
    if (append) {
      const size = this.namespace.insertExtents(existing.ino, existing.size, extents);
      this.namespace.updateNode(existing.id, { size, mtime: time, ctime: time });
    } else {
      this.namespace.deleteExtents(existing.ino);
      const size = this.namespace.insertExtents(existing.ino, 0, extents);
      this.namespace.updateNode(existing.id, { size, mtime: time, ctime: time });
    }
  }

  /**
   * Repoints every extent equal to a move's source, in every file that shares it (copies share
   * extents). The bytes are the same (same length and hash), so no time or size changes; a source
   * nothing uses any more (the file was removed since) is simply skipped.
   */
  private relocate(moves: readonly Relocation[], destinations: readonly Extent[]): void {
    for (const [index, move] of moves.entries()) {
      if (!Number.isSafeInteger(move.length) || move.length <= 0 || !Number.isSafeInteger(move.toOffset) || move.toOffset < 0) {
        throw new FsError("EINVAL", syscalls.relocate, { detail: `invalid relocation of ${move.object}@${move.offset}` });
      }
      const destination = destinations[index]!;
      this.namespace.relocateExtents(move, destination.object, destination.offset);
    }
  }

  private rm(path: string, recursive: boolean, force: boolean, time: number): void {
    const syscall = syscalls.rm;
    if (path === "/") throw new FsError("EPERM", syscall, { path, detail: "the root directory cannot be removed" });
    let place;
    try {
      place = this.view.place(path, false, syscall);
    } catch (error) {
      if (force && error instanceof FsError && (error.code === "ENOENT" || error.code === "ENOTDIR")) return;
      throw error;
    }
    const node = place.existing;
    if (node === undefined) {
      if (force) return;
      throw new FsError("ENOENT", syscall, { path });
    }
    if (node.kind === "directory" && !recursive && this.view.hasChildren(node.id)) throw new FsError("ENOTEMPTY", syscall, { path });
    this.removeTree(node.id, time);
    this.touch(place.parent.id, time);
  }

  private rename(from: string, to: string, time: number): void {
    const syscall = syscalls.rename;
    const report = { path: from, dest: to };
    if (from === "/" || to === "/") throw new FsError(from === "/" ? "EBUSY" : "EEXIST", syscall, report);
    const source = this.placeFor(from, false, syscall, report);
    if (source.existing === undefined) throw new FsError("ENOENT", syscall, report);
    const target = this.placeFor(to, false, syscall, report);
    const moving = source.existing;
    if (source.path === target.path) return;
    if (moving.kind === "directory" && isWithin(target.path, source.path)) throw new FsError("EINVAL", syscall, report);
    if (Buffer.byteLength(target.path) > Buffer.byteLength(source.path)) {
      this.checkNewEntry(target.parentPath, target.name, syscall, report, this.deepestBelow(moving));
    }
    const replaced = target.existing;
    if (replaced !== undefined) {
      if (replaced.ino === moving.ino) return; // two names of one file: rename(2) does nothing
      if (moving.kind === "directory" && replaced.kind !== "directory") throw new FsError("ENOTDIR", syscall, report);
      if (moving.kind !== "directory" && replaced.kind === "directory") throw new FsError("EISDIR", syscall, report);
      if (replaced.kind === "directory" && this.view.hasChildren(replaced.id)) throw new FsError("ENOTEMPTY", syscall, report);
      this.removeTree(replaced.id, time);
    }
    this.namespace.updateNode(moving.id, { parent: target.parent.id, name: target.name, ctime: time });
    this.touch(source.parent.id, time);
    this.touch(target.parent.id, time);
  }

  private copy(from: string, to: string, recursive: boolean, overwrite: boolean, time: number): void {
    const syscall = recursive ? "cp" : syscalls.copy;
    const report = { path: from, dest: to };
    const source = this.resolveFor(from, true, syscall, report);
    if (source.node.kind === "directory" && !recursive) throw new FsError("EISDIR", syscall, report);
    const target = this.placeFor(to, true, syscall, report);
    if (source.node.kind === "directory" && isWithin(target.path, source.path)) {
      throw new FsError("EINVAL", syscall, { ...report, detail: `cannot copy '${from}' into itself, '${to}'` });
    }
    this.checkNewEntry(target.parentPath, target.name, syscall, report, this.deepestBelow(source.node));
    this.copyNode(source.node, target.parent, target.name, target.existing, overwrite, time, syscall, report);
  }

  private copyNode(
    source: NodeRow,
    parent: NodeRow,
    name: string,
    existing: NodeRow | undefined,
    overwrite: boolean,
    time: number,
    syscall: string,
    report: { path: string; dest: string },
  ): void {
    if (existing !== undefined && existing.ino === source.ino) {
      throw new FsError("EINVAL", syscall, { ...report, detail: `'${report.path}' and '${report.dest}' are the same file` });
    }
    if (source.kind === "directory") {
      let directory = existing;
      if (directory !== undefined && directory.kind !== "directory") throw new FsError("ENOTDIR", syscall, report);
      directory ??= this.create(parent, name, "directory", source.mode, time, null);
      for (const child of this.view.children(source.id)) {
        this.copyNode(child, directory, child.name, this.view.child(directory.id, child.name), overwrite, time, syscall, report);
      }
      return;
    }
    if (existing !== undefined) {
      if (existing.kind === "directory") throw new FsError("EISDIR", syscall, report);
      if (!overwrite) throw new FsError("EEXIST", syscall, report);
      if (existing.nlink > 1 && existing.kind === "file" && source.kind === "file") {
        // A file with other names is written in place, as copyfile(3) opens it with O_TRUNC: every name sees the copy.
        this.namespace.deleteExtents(existing.ino);
        this.namespace.copyExtents(source.ino, existing.ino);
        this.namespace.updateNode(existing.id, { size: source.size, mtime: time, ctime: time });
        return;
      }
      this.removeTree(existing.id, time);
    }
    const copy = this.create(parent, name, source.kind, source.mode, time, source.target, source.size);
    if (source.kind === "file") this.namespace.copyExtents(source.ino, copy.ino);
  }

  /**
   * A new name `to` for the file or symbolic link at `from` (a final link is not followed, as
   * link(2) on Linux). Errors come in Linux's order: the source must exist (ENOENT), the new
   * name's directory must exist (ENOENT) and the name be free (EEXIST), and the source must not
   * be a directory (EPERM).
   */
  private link(from: string, to: string, time: number): void {
    const syscall = syscalls.link;
    const report = { path: from, dest: to };
    if (from === "/") throw new FsError(to === "/" ? "EEXIST" : "EPERM", syscall, report);
    const source = this.placeFor(from, false, syscall, report);
    if (source.existing === undefined) throw new FsError("ENOENT", syscall, report);
    if (to === "/") throw new FsError("EEXIST", syscall, report);
    const target = this.placeFor(to, false, syscall, report);
    if (target.existing !== undefined) throw new FsError("EEXIST", syscall, report);
    if (source.existing.kind === "directory") throw new FsError("EPERM", syscall, report); // as node:fs words it
    this.checkNewEntry(target.parentPath, target.name, syscall, report);
    this.namespace.addHardLink(source.existing.id, target.parent.id, target.name, time);
    this.touch(target.parent.id, time);
  }

  private symlink(target: string, path: string, time: number): void {
    const syscall = syscalls.symlink;
    const report = { path: target, dest: path };
    if (path === "/") throw new FsError("EEXIST", syscall, report);
    const place = this.placeFor(path, false, syscall, report);
    if (place.existing !== undefined) throw new FsError("EEXIST", syscall, report);
    this.checkNewEntry(place.parentPath, place.name, syscall, report);
    this.create(place.parent, place.name, "symlink", symlinkMode, time, target, Buffer.byteLength(target));
  }

  private placeFor(path: string, followLast: boolean, syscall: string, report: { path: string; dest: string }) {
    try {
      return this.view.place(path, followLast, syscall);
    } catch (error) {
      throw withReport(error, report);
    }
  }

  private resolveFor(path: string, followLast: boolean, syscall: string, report: { path: string; dest: string }) {
    try {
      return this.view.resolve(path, followLast, syscall);
    } catch (error) {
      throw withReport(error, report);
    }
  }

  /**
   * An entry named `name` in the directory whose real path is `parentPath` (symbolic links
   * resolved), with `below` bytes of path under it (a tree moved or copied there), must keep every
   * name to 255 bytes and every real path to 4096, as the path checks of the facade do for the
   * paths callers give: a link must not let an entry escape them.
   */
  private checkNewEntry(parentPath: string, name: string, syscall: string, report: { path: string; dest?: string }, below = 0): void {
    if (!this.checkLimits) return;
    const nameBytes = Buffer.byteLength(name);
    const pathBytes = Buffer.byteLength(joinPath(parentPath, name)) + below;
    if (nameBytes > maxNameBytes) {
      throw new FsError("ENAMETOOLONG", syscall, { ...report, detail: `name too long: a name reached through a symbolic link would be ${nameBytes} bytes (at most ${maxNameBytes})` });
    }
    if (pathBytes > maxPathBytes) {
      throw new FsError("ENAMETOOLONG", syscall, { ...report, detail: `name too long: the real path${below > 0 ? " of an entry below it" : ""} would be ${pathBytes} bytes (at most ${maxPathBytes})` });
    }
  }

  /** The longest path below `node`, in bytes ("/a/b" below it is 4); 0 for a file or an empty directory. */
  private deepestBelow(node: NodeRow): number {
    return node.kind === "directory" ? this.view.deepestPathBelow(node.id) : 0;
  }

  private create(parent: NodeRow, name: string, kind: NodeKind, mode: number, time: number, target: string | null, size = 0): NodeRow {
    const node = this.namespace.insertNode({ parent: parent.id, name, kind, mode: mode & 0o7777, size, mtime: time, ctime: time, atime: time, birthtime: time, target });
    this.touch(parent.id, time);
    return node;
  }

  /** A directory's mtime and ctime change when an entry is added or removed (POSIX). */
  private touch(directory: number, time: number): void {
    this.namespace.updateNode(directory, { mtime: time, ctime: time });
  }

  private removeTree(id: number, time: number): void {
    this.namespace.removeTree(id, time);
  }
}

/** Errors from path lookups name both paths for two-path operations, as Node does. */
function withReport(error: unknown, report: { path: string; dest: string }): unknown {
  if (!(error instanceof FsError) || error.dest !== undefined) return error;
  return new FsError(error.code, error.syscall, report);
}
