// The namespace index: every directory, file and symbolic link of one filesystem, with each file's
// extents, in a local bun:sqlite database. `stat`, `exists`, `readdir` and walks are answered
// here, never by the object store.
//
// Two connections to one database in WAL mode give two views:
//   committed  what is durable in the object store (the log up to `seq`); plain reads use it
//   pending    the committed state plus the batch being validated; only the committer and an
//              open transaction read it (read-your-writes)
// SQLite's snapshot isolation keeps the committed view free of pending changes until the batch's
// record is durable and the batch commits. The index is disposable: it can always be rebuilt from
// the object store (snapshot plus log), so it is written with synchronous=NORMAL.
//
// Every operation is validated by applying it (apply-ops.ts) inside a savepoint on the pending
// view: an invalid one fails its caller and leaves no trace, so nothing invalid is ever published.

import { Database, type Statement } from "bun:sqlite";
import { FsError } from "../errors.ts";
import type { Extent } from "../log/ops.ts";
import { joinPath, resolveLinkTarget, splitPath } from "../paths.ts";

export const rootId = 1;
export const maxSymlinkHops = 40;

export type NodeKind = "directory" | "file" | "symlink";
const kindCodes: Record<NodeKind, number> = { directory: 0, file: 1, symlink: 2 };
const kindNames: NodeKind[] = ["directory", "file", "symlink"];

export interface NodeRow {
  id: number;
  parent: number;
  name: string;
  kind: NodeKind;
  mode: number;
  size: number;
  mtime: number;
  ctime: number;
  atime: number;
  birthtime: number;
  target: string | null;
}

interface RawNode extends Omit<NodeRow, "kind"> {
  kind: number;
}

export interface Resolved {
  node: NodeRow;
  /** The canonical path of the node reached (symbolic links resolved). */
  path: string;
}

/** Where a new entry would go: the directory that holds it, and its name there. */
export interface Place {
  parent: NodeRow;
  parentPath: string;
  name: string;
  path: string;
  /** What is there now (not following a final symbolic link), if anything. */
  existing: NodeRow | undefined;
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
  id INTEGER PRIMARY KEY,
  parent INTEGER NOT NULL,
  name TEXT NOT NULL,
  kind INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  mtime REAL NOT NULL,
  ctime REAL NOT NULL,
  atime REAL NOT NULL,
  birthtime REAL NOT NULL,
  target TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS nodes_by_parent ON nodes (parent, name);
CREATE TABLE IF NOT EXISTS extents (
  node INTEGER NOT NULL,
  position INTEGER NOT NULL,
  object TEXT NOT NULL,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (node, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS extents_by_object ON extents (object);
`;

/** Queries on one connection. */
export class NamespaceView {
  private readonly childStatement: Statement<RawNode, [number, string]>;
  private readonly nodeStatement: Statement<RawNode, [number]>;
  private readonly childrenStatement: Statement<RawNode, [number]>;
  private readonly extentsStatement: Statement<Extent & { position: number }, [number]>;
  private readonly hasChildrenStatement: Statement<{ one: number }, [number]>;

  constructor(readonly db: Database) {
    this.childStatement = db.query("SELECT * FROM nodes WHERE parent = ? AND name = ?");
    this.nodeStatement = db.query("SELECT * FROM nodes WHERE id = ?");
    this.childrenStatement = db.query("SELECT * FROM nodes WHERE parent = ? ORDER BY name");
    this.extentsStatement = db.query("SELECT position, object, offset, length, hash FROM extents WHERE node = ? ORDER BY position");
    this.hasChildrenStatement = db.query("SELECT 1 AS one FROM nodes WHERE parent = ? LIMIT 1");
  }

  node(id: number): NodeRow | undefined {
    return toNode(this.nodeStatement.get(id));
  }

  root(): NodeRow {
    const root = this.node(rootId);
    if (root === undefined) throw new Error("namespace index has no root directory");
    return root;
  }

  child(parent: number, name: string): NodeRow | undefined {
    return toNode(this.childStatement.get(parent, name));
  }

  children(parent: number): NodeRow[] {
    return this.childrenStatement.all(parent).map((row) => toNode(row)!);
  }

  hasChildren(parent: number): boolean {
    return this.hasChildrenStatement.get(parent) !== null;
  }

  extents(node: number): (Extent & { position: number })[] {
    return this.extentsStatement.all(node);
  }

  /**
   * Follows `path` from the root. Symbolic links in the middle are always followed, the last one
   * only if `followLast`. Throws ENOENT, ENOTDIR or ELOOP naming `reported` (the caller's path).
   */
  resolve(path: string, followLast: boolean, syscall: string, reported: string = path): Resolved {
    let parts = splitPath(path);
    let current = this.root();
    let currentPath = "/";
    let hops = 0;
    for (let index = 0; index < parts.length; ) {
      if (current.kind !== "directory") throw new FsError("ENOTDIR", syscall, { path: reported });
      const name = parts[index]!;
      const child = this.child(current.id, name);
      if (child === undefined) throw new FsError("ENOENT", syscall, { path: reported });
      const last = index === parts.length - 1;
      if (child.kind === "symlink" && (!last || followLast)) {
        if (++hops > maxSymlinkHops) throw new FsError("ELOOP", syscall, { path: reported });
        parts = [...splitPath(resolveLinkTarget(currentPath, child.target ?? "")), ...parts.slice(index + 1)];
        current = this.root();
        currentPath = "/";
        index = 0;
        continue;
      }
      current = child;
      currentPath = joinPath(currentPath, name);
      index++;
    }
    return { node: current, path: currentPath };
  }

  /** Like `resolve`, but answers undefined where `resolve` would throw ENOENT or ENOTDIR. */
  tryResolve(path: string, followLast: boolean, syscall: string): Resolved | undefined {
    try {
      return this.resolve(path, followLast, syscall);
    } catch (error) {
      if (error instanceof FsError && (error.code === "ENOENT" || error.code === "ENOTDIR")) return undefined;
      throw error;
    }
  }

  /**
   * The place for an entry at `path`: its parent directory must exist (ENOENT) and be a directory
   * (ENOTDIR). With `followLast`, a final symbolic link is followed to the place it names, so a
   * write through a dangling link creates its target, as POSIX open(O_CREAT) does.
   */
  place(path: string, followLast: boolean, syscall: string, reported: string = path): Place {
    let target = path;
    for (let hops = 0; ; hops++) {
      const parts = splitPath(target);
      if (parts.length === 0) {
        const root = this.root();
        return { parent: root, parentPath: "/", name: "", path: "/", existing: root };
      }
      const name = parts.at(-1)!;
      const parentPath = `/${parts.slice(0, -1).join("/")}`;
      const parent = this.resolve(parentPath, true, syscall, reported);
      if (parent.node.kind !== "directory") throw new FsError("ENOTDIR", syscall, { path: reported });
      const existing = this.child(parent.node.id, name);
      const canonical = joinPath(parent.path, name);
      if (followLast && existing?.kind === "symlink") {
        if (hops >= maxSymlinkHops) throw new FsError("ELOOP", syscall, { path: reported });
        target = resolveLinkTarget(parent.path, existing.target ?? "");
        continue;
      }
      return { parent: parent.node, parentPath: parent.path, name, path: canonical, existing };
    }
  }

  /** Every node below `directory` (not itself), parents before children, with paths relative to it. */
  descendants(directory: number, options: { maxDepth?: number } = {}): { node: NodeRow; relative: string; depth: number }[] {
    const rows = this.db
      .query<RawNode & { relative: string; depth: number }, [number, number]>(
        `WITH RECURSIVE tree(id, relative, depth) AS (
           SELECT id, name, 1 FROM nodes WHERE parent = ?1
           UNION ALL
           SELECT n.id, tree.relative || '/' || n.name, tree.depth + 1 FROM nodes n JOIN tree ON n.parent = tree.id
             WHERE tree.depth < ?2
         )
         SELECT nodes.*, tree.relative, tree.depth FROM tree JOIN nodes ON nodes.id = tree.id ORDER BY tree.relative`,
      )
      .all(directory, options.maxDepth ?? 1_000_000);
    return rows.map((row) => ({ node: toNode(row)!, relative: row.relative, depth: row.depth }));
  }

  /** Every path in the filesystem, sorted ("/" first). */
  allPaths(): string[] {
    return ["/", ...this.descendants(rootId).map((entry) => `/${entry.relative}`)];
  }

  counts(): { files: number; directories: number; symlinks: number; bytes: number } {
    const row = this.db
      .query<{ files: number; directories: number; symlinks: number; bytes: number }, []>(
        `SELECT SUM(kind = 1) AS files, SUM(kind = 0) AS directories, SUM(kind = 2) AS symlinks, COALESCE(SUM(CASE WHEN kind = 1 THEN size END), 0) AS bytes FROM nodes`,
      )
      .get();
    return { files: row?.files ?? 0, directories: row?.directories ?? 0, symlinks: row?.symlinks ?? 0, bytes: row?.bytes ?? 0 };
  }

  meta(key: string): string | undefined {
    return this.db.query<{ value: string }, [string]>("SELECT value FROM meta WHERE key = ?").get(key)?.value;
  }
}

/** The index of one filesystem: two views on one database file, and the batch lifecycle. */
export class Namespace {
  readonly committed: NamespaceView;
  readonly pending: NamespaceView;
  private readonly writer: Database;
  private readonly reader: Database;
  private batchOpen = false;

  constructor(readonly file: string) {
    this.writer = new Database(file, { create: true });
    this.writer.exec("PRAGMA journal_mode = WAL");
    this.writer.exec("PRAGMA synchronous = NORMAL");
    this.writer.exec("PRAGMA busy_timeout = 5000");
    this.writer.exec(schema);
    const now = 0;
    this.writer
      .query("INSERT OR IGNORE INTO nodes (id, parent, name, kind, mode, size, mtime, ctime, atime, birthtime) VALUES (?, 0, '', 0, ?, 0, ?, ?, ?, ?)")
      .run(rootId, 0o755, now, now, now, now);
    this.reader = new Database(file);
    this.reader.exec("PRAGMA busy_timeout = 5000");
    this.committed = new NamespaceView(this.reader);
    this.pending = new NamespaceView(this.writer);
  }

  get inBatch(): boolean {
    return this.batchOpen;
  }

  /** The database connection that batches write through (for apply-ops.ts). */
  get writeConnection(): Database {
    return this.writer;
  }

  beginBatch(): void {
    if (this.batchOpen) throw new Error("a namespace batch is already open");
    this.writer.exec("BEGIN IMMEDIATE");
    this.batchOpen = true;
  }

  /** Runs `step` in a savepoint of the open batch: if it throws, none of its changes remain. */
  step<T>(step: () => T): T {
    if (!this.batchOpen) throw new Error("no namespace batch is open");
    this.writer.exec("SAVEPOINT step");
    try {
      const result = step();
      this.writer.exec("RELEASE step");
      return result;
    } catch (error) {
      this.writer.exec("ROLLBACK TO step");
      this.writer.exec("RELEASE step");
      throw error;
    }
  }

  /** Makes the batch visible in the committed view, recording the log position it reached. */
  commitBatch(meta: Record<string, string>): void {
    if (!this.batchOpen) throw new Error("no namespace batch is open");
    this.setMeta(meta);
    this.writer.exec("COMMIT");
    this.batchOpen = false;
  }

  rollbackBatch(): void {
    if (!this.batchOpen) return;
    this.writer.exec("ROLLBACK");
    this.batchOpen = false;
  }

  setMeta(meta: Record<string, string>): void {
    const statement = this.writer.query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    for (const [key, value] of Object.entries(meta)) statement.run(key, value);
  }

  /** Empties the index (before loading a snapshot into it), leaving a root with the given times. */
  clear(rootTime = 0): void {
    this.writer.exec("DELETE FROM extents; DELETE FROM nodes WHERE id != 1; DELETE FROM meta;");
    this.writer.query("UPDATE nodes SET mode = ?, size = 0, mtime = ?, ctime = ?, atime = ?, birthtime = ? WHERE id = ?").run(0o755, rootTime, rootTime, rootTime, rootTime, rootId);
  }

  close(): void {
    this.rollbackBatch();
    this.reader.close();
    this.writer.close();
  }
}

export function toNode(row: RawNode | null | undefined): NodeRow | undefined {
  if (row === null || row === undefined) return undefined;
  return { ...row, kind: kindNames[row.kind] ?? "file" };
}

export function kindCode(kind: NodeKind): number {
  return kindCodes[kind];
}
