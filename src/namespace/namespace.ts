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
// the object store (snapshot plus log), so it is written with synchronous=NORMAL. Only this
// process opens it (see `indexUri`): SQLite's map of the WAL lives in memory, not in a -shm file.
//
// Every operation is validated by applying it (apply-ops.ts) inside a savepoint on the pending
// view: an invalid one fails its caller and leaves no trace, so nothing invalid is ever published.

import { Database, SQLiteError, constants, type Statement } from "bun:sqlite";
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { FsError } from "../base/errors.ts";
import type { Extent } from "../log/ops.ts";
import { joinPath, maxSymlinkHops, resolveLinkTarget, splitPath } from "../base/paths.ts";

export const rootId = 1;
/** The index's layout (PRAGMA user_version): an index of another layout is rebuilt, never read. */
export const indexLayoutVersion = 5;

export type NodeKind = "directory" | "file" | "symlink";
const kindCodes: Record<NodeKind, number> = { directory: 0, file: 1, symlink: 2 };
const kindNames: NodeKind[] = ["directory", "file", "symlink"];

/**
 * The local index is damaged: a row fails its checksum or is not the row asked for, SQLite finds
 * the file corrupt, or the index was found damaged before. It is an EIO naming the local index,
 * never the object store: the index is rebuilt from the log (at once where the mount can, else
 * at the next mount), and the bucket is not at fault.
 */
export class LocalIndexCorruptError extends FsError {
  constructor(what: string, options: { cause?: unknown } = {}) {
    super("EIO", "index", { detail: `the local index is damaged (${what}); it is rebuilt from the log at the next mount`, cause: options.cause });
  }
}

/**
 * The local disk (the mount's directory under cacheRoot) has no space left for the index. Nothing
 * was published; the mount works again as soon as there is space.
 */
export class LocalDiskFullError extends FsError {
  constructor(syscall = "write", options: { cause?: unknown } = {}) {
    super("ENOSPC", syscall, { detail: "no space left on the local disk for the filesystem's index (under cacheRoot); nothing was published", cause: options.cause });
  }
}

/** Whether `error` is the local disk being full (SQLite's SQLITE_FULL or SQLITE_IOERR_SHMSIZE, or ENOSPC from the file system). */
export function isDiskFullError(error: unknown): boolean {
  if (error instanceof LocalDiskFullError) return true;
  // SQLITE_IOERR_SHMSIZE: the index's -shm file could not grow (SQLite names the full disk as its cause).
  if (error instanceof SQLiteError) return String(error.code).startsWith("SQLITE_FULL") || error.code === "SQLITE_IOERR_SHMSIZE" || /database or disk is full/.test(error.message);
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOSPC";
}

/**
 * Space the index keeps in reserve beside it (a file of zeros): when the disk fills up between a
 * batch's check and its local commit, after its record was published, freeing the reserve lets
 * the commit through, so a published record is always taken into the index. A batch starts only
 * while the reserve is whole: with a full disk it fails before anything is published.
 */
export const indexReserveBytes = 4 * 1024 * 1024;

/**
 * Whether SQLite says the database file itself is damaged or is no database, or found one of its
 * files (the index or its -wal) shorter than its own records say: cut short under the open mount.
 */
export function isCorruptionError(error: unknown): error is SQLiteError {
  return error instanceof SQLiteError && (String(error.code).startsWith("SQLITE_CORRUPT") || error.code === "SQLITE_NOTADB" || error.code === "SQLITE_IOERR_SHORT_READ");
}

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
  /**
   * The inode: the key of the file's data (its extents) and the `ino` stat reports. A node's own
   * id, unless it is one of several names of one file (hard links), which all share one inode.
   */
  ino: number;
  /** How many names the file has (1 unless hard links gave it more). */
  nlink: number;
}

interface RawNode extends Omit<NodeRow, "kind" | "ino"> {
  kind: number;
  /** The inode shared by every name of a file that has, or had, hard links; null for any other node (its inode is its id). */
  inode: number | null;
  /** The name of the next entry of its directory in the index's order (see `compareNames`), or null for the last. */
  next: string | null;
  /** A directory's first entry in that order, or null while it is empty; null for other kinds. */
  first: string | null;
  sum: number;
}

interface RawExtent extends Extent {
  node: number;
  position: number;
  sum: number;
}

export interface Resolved {
  node: NodeRow;
  /** The canonical path of the node reached (symbolic links resolved). */
  path: string;
}

/** A path that leads nowhere: why, and whether a symbolic link was followed on the way. */
export interface Missing {
  missing: "ENOENT" | "ENOTDIR";
  /** A symbolic link was followed before the walk stopped (only then can the path lead somewhere the index does not hold). */
  throughLink: boolean;
}

/**
 * Lookups a view remembers between changes to the index: resolved paths and files' extents, as
 * they were read and checked. Every change to the index, and every end of a batch, forgets them
 * all (Namespace.changed): a remembered answer is always what reading the rows again would give.
 */
class Lookups {
  static readonly maxEntries = 4096;
  generation = -1;
  readonly paths = new Map<string, Resolved | Missing>();
  readonly extents = new Map<number, readonly (Extent & { position: number })[]>();

  /** Forgets everything if the index changed since it was remembered. */
  at(generation: number): this {
    if (generation !== this.generation) {
      this.paths.clear();
      this.extents.clear();
      this.generation = generation;
    }
    return this;
  }
}

/**
 * The rows of the pending view a batch has read (checked) or written since the index last changed
 * in any other way, by id and by (directory, name). Applying an operation reads a few rows over
 * and over (the root and each directory on its path, the directory it adds an entry to), and
 * every row it writes moves `Namespace.changes`, so `Lookups` alone forgets them after each
 * write. A row written through `Namespace.writeNode` is taken in as written (with its checksum);
 * anything else that changes the index (a row deleted, a savepoint or batch rolled back or ended,
 * the extents, the meta) forgets them all. A remembered row is thus always what reading it again
 * would give, as with `Lookups`. Only directories are kept (a node never changes kind): they are
 * the rows read again; a transaction's thousands of new files would only crowd them out.
 */
class RowMemory {
  static readonly maxEntries = 4096;
  generation = -1;
  readonly rows = new Map<number, RawNode>();
  /** `${parent}/${name}` to the id of the entry found there (a name holds no "/"). */
  readonly names = new Map<string, number>();

  at(generation: number): this {
    if (generation !== this.generation) {
      this.rows.clear();
      this.names.clear();
      this.generation = generation;
    }
    return this;
  }

  remember(row: RawNode): void {
    if (row.kind !== kindCodes.directory) return;
    if (this.rows.size >= RowMemory.maxEntries) {
      this.rows.clear();
      this.names.clear();
    }
    this.rows.set(row.id, row);
    this.names.set(`${row.parent}/${row.name}`, row.id);
  }

  /** The entry `name` of directory `parent`, if remembered there (a row moved or renamed since is not). */
  child(parent: number, name: string): RawNode | undefined {
    const id = this.names.get(`${parent}/${name}`);
    if (id === undefined) return undefined;
    const row = this.rows.get(id);
    return row !== undefined && row.parent === parent && row.name === name ? row : undefined;
  }
}

/** A node to add: its columns, and for one of several names of a file (a hard link), the inode they share and their count. */
export type NewNode = Omit<NodeRow, "id" | "ino" | "nlink"> & { inode?: number | null; nlink?: number };

/** Where a new entry would go: the directory that holds it, and its name there. */
export interface Place {
  parent: NodeRow;
  parentPath: string;
  name: string;
  path: string;
  /** What is there now (not following a final symbolic link), if anything. */
  existing: NodeRow | undefined;
}

// Every row carries `sum`, a checksum over all its other columns (its own keys included), checked
// whenever the row is read: a flipped bit anywhere in a row (an extent's hash, a node's parent or
// name) is found, not trusted. What checksums cannot see (a row lost from a page, an index entry
// pointing elsewhere) PRAGMA integrity_check finds when the index is opened.
//
// A lookup that finds no row sees no row to check: a key of the (parent, name) index changed in
// a page (SQLite checks the -wal's frame checksums only when it recovers the -wal, never when it
// reads a page from it) would answer "no such entry" for one that exists. So each directory's
// entries are chained in the index's order, under the checksums: a directory names its first
// entry (`first`), each entry the one after it (`next`). A lookup that misses reads the entry
// before the name in the index and checks that the chain goes from it straight past the name;
// a listing checks that it is the whole chain. Both cost a lookup or two, never a directory's
// length, and damage that hides an entry breaks the chain: EIO naming the local index.
const schema = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, sum INTEGER NOT NULL);
CREATE TABLE nodes (
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
  target TEXT,
  inode INTEGER,
  nlink INTEGER NOT NULL DEFAULT 1,
  next TEXT,
  first TEXT,
  sum INTEGER NOT NULL
);
CREATE UNIQUE INDEX nodes_by_parent ON nodes (parent, name);
CREATE INDEX nodes_by_inode ON nodes (inode) WHERE inode IS NOT NULL;
CREATE TABLE extents (
  node INTEGER NOT NULL,
  position INTEGER NOT NULL,
  object TEXT NOT NULL,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  hash TEXT NOT NULL,
  sum INTEGER NOT NULL,
  PRIMARY KEY (node, position)
) WITHOUT ROWID;
CREATE INDEX extents_by_object ON extents (object);
PRAGMA user_version = ${indexLayoutVersion};
`;

/**
 * A 53-bit checksum of a row's values (two seeded xxHash32 of one canonical encoding: a tag byte
 * per value, then a number's float64 or a string's UTF-8 length and bytes). Strings are taken as
 * SQLite stores them (UTF-8: a lone surrogate becomes U+FFFD, as Buffer encodes it), numbers as
 * their float64 (-0 as 0, which is what SQLite gives back). A value of any other type (a flipped
 * bit in a record's header can make SQLite read a text column back as a blob) gets an encoding no
 * written row has, so its row fails the check, as damage. Binary rather than text, because a walk
 * checks every row it lists and printing four times per row costs more than the query.
 */
export function rowSum(table: string, values: readonly unknown[]): number {
  const sum = new RowSum(table);
  for (const value of values) sum.add(value);
  return sum.value();
}

/** The encoding `rowSum` hashes, built in one buffer reused by every row. */
class RowSum {
  private static buffer = Buffer.alloc(4096);
  private static view = new DataView(RowSum.buffer.buffer, RowSum.buffer.byteOffset, RowSum.buffer.byteLength);
  private at = 0;

  constructor(table: string) {
    this.add(table);
  }

  add(value: unknown): this {
    if (typeof value === "number") {
      this.room(9);
      RowSum.buffer[this.at] = 2;
      RowSum.view.setFloat64(this.at + 1, value === 0 ? 0 : value, true);
      this.at += 9;
    } else if (typeof value === "string") {
      this.text(3, value);
    } else if (value === null) {
      this.room(1);
      RowSum.buffer[this.at++] = 1;
    } else {
      this.text(4, `${typeof value}:${String(value)}`);
    }
    return this;
  }

  value(): number {
    const bytes = RowSum.buffer.subarray(0, this.at);
    return Bun.hash.xxHash32(bytes, 0x5eed) * 0x200000 + (Bun.hash.xxHash32(bytes, 0x0d1) & 0x1fffff);
  }

  private text(tag: number, value: string): void {
    this.room(5 + value.length * 3);
    const written = RowSum.buffer.write(value, this.at + 5, "utf8");
    RowSum.buffer[this.at] = tag;
    RowSum.view.setUint32(this.at + 1, written, true);
    this.at += 5 + written;
  }

  private room(bytes: number): void {
    if (this.at + bytes <= RowSum.buffer.length) return;
    const grown = Buffer.alloc(Math.max(RowSum.buffer.length * 2, this.at + bytes));
    RowSum.buffer.copy(grown, 0, 0, this.at);
    RowSum.buffer = grown;
    RowSum.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }
}

/** `rowSum("nodes", [...every column but sum])`, without the array: a walk checks every row it lists. */
function nodeSum(row: Omit<RawNode, "sum">): number {
  return new RowSum("nodes")
    .add(row.id)
    .add(row.parent)
    .add(row.name)
    .add(row.kind)
    .add(row.mode)
    .add(row.size)
    .add(row.mtime)
    .add(row.ctime)
    .add(row.atime)
    .add(row.birthtime)
    .add(row.target)
    .add(row.inode)
    .add(row.nlink)
    .add(row.next)
    .add(row.first)
    .value();
}

/**
 * The order of names in the index: SQLite compares text by its UTF-8 bytes (a lone surrogate is
 * stored as U+FFFD, as Buffer.from encodes it too).
 */
export function compareNames(a: string, b: string): number {
  // Below U+D800, UTF-16 code units are code points, whose order is UTF-8's: JavaScript compares them.
  if (!beyondPlainUnits.test(a) && !beyondPlainUnits.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const beyondPlainUnits = /[\ud800-\uffff]/;

/** Whether two rows of one node hold the same values in every column. */
function sameColumns(a: RawNode, b: RawNode): boolean {
  return (
    a.mode === b.mode &&
    a.size === b.size &&
    a.mtime === b.mtime &&
    a.ctime === b.ctime &&
    a.atime === b.atime &&
    a.birthtime === b.birthtime &&
    a.target === b.target &&
    a.inode === b.inode &&
    a.nlink === b.nlink &&
    a.next === b.next &&
    a.first === b.first &&
    a.kind === b.kind
  );
}

/** A checked row as the NodeRow callers see (its chain links left out). */
function asNode(row: RawNode): NodeRow {
  return {
    id: row.id,
    parent: row.parent,
    name: row.name,
    kind: kindNames[row.kind]!,
    mode: row.mode,
    size: row.size,
    mtime: row.mtime,
    ctime: row.ctime,
    atime: row.atime,
    birthtime: row.birthtime,
    target: row.target,
    ino: row.inode ?? row.id,
    nlink: row.nlink,
  };
}

function extentSum(row: Omit<RawExtent, "sum">): number {
  return rowSum("extents", [row.node, row.position, row.object, row.offset, row.length, row.hash]);
}

function metaSum(key: string, value: string): number {
  return rowSum("meta", [key, value]);
}

/** Queries on one connection; every row read is checked (see `rowSum`), and every miss and listing against its directory's chain. */
export class NamespaceView {
  private readonly atOrBeforeStatement: Statement<RawNode, [number, string]>;
  private readonly nodeStatement: Statement<RawNode, [number]>;
  private readonly childrenStatement: Statement<RawNode, [number]>;
  private readonly beforeStatement: Statement<RawNode, [number, string]>;
  private readonly extentsStatement: Statement<RawExtent, [number]>;
  private readonly hasChildrenStatement: Statement<RawNode, [number]>;
  private readonly metaStatement: Statement<{ key: string; value: string; sum: number }, [string]>;
  private readonly namesStatement: Statement<RawNode, [number]>;
  private readonly anyLinkStatement: Statement<{ id: number }, []>;

  private readonly lookups = new Lookups();
  private readonly memory = new RowMemory();
  /** Where the chain lookups of `neighbours` were last asked, with their answers, at one count of changes. */
  private readonly neighbourAnswers = new Map<string, { before: RawNode | undefined; after: string | null }>();
  private neighbourGeneration = -1;

  constructor(
    readonly db: Database,
    /** Turns a sign of damage into the error to throw (and remembers that the index is damaged). */
    private readonly damaged: (error: unknown) => unknown,
    /** The damage found in the index so far, if any. */
    private readonly damageFound: () => LocalIndexCorruptError | undefined = () => undefined,
    /** Counts the index's changes: lookups remembered at another count are forgotten. */
    private readonly generation: () => number = () => Number.NaN,
    /** Counts the index's changes other than node rows written through this view's connection (see RowMemory); NaN: rows are never remembered. */
    private readonly rowGeneration: () => number = () => Number.NaN,
  ) {
    // The entry (parent, name) if there is one, else the one just before it: the chain check of a
    // miss needs that one, so a lookup and the check of its miss are one seek.
    this.atOrBeforeStatement = db.query("SELECT * FROM nodes WHERE (parent, name) <= (?1, ?2) ORDER BY parent DESC, name DESC LIMIT 1");
    this.nodeStatement = db.query("SELECT * FROM nodes WHERE id = ?");
    this.childrenStatement = db.query("SELECT * FROM nodes WHERE parent = ? ORDER BY name");
    // The index's entry just before (parent, name), in any directory (a row value: SQLite seeks it
    // at once, where `parent = ? AND name < ?` with ORDER BY and LIMIT takes several times as long).
    this.beforeStatement = db.query("SELECT * FROM nodes WHERE (parent, name) < (?1, ?2) ORDER BY parent DESC, name DESC LIMIT 1");
    this.extentsStatement = db.query("SELECT node, position, object, offset, length, hash, sum FROM extents WHERE node = ? ORDER BY position");
    this.hasChildrenStatement = db.query("SELECT * FROM nodes WHERE parent = ? LIMIT 1");
    this.metaStatement = db.query("SELECT key, value, sum FROM meta WHERE key = ?");
    this.namesStatement = db.query("SELECT * FROM nodes WHERE inode = ? ORDER BY id");
    this.anyLinkStatement = db.query("SELECT id FROM nodes WHERE inode IS NOT NULL LIMIT 1");
  }

  /** Throws the damage found in the index so far, if any (nothing is built from a damaged index). */
  assertUndamaged(): void {
    const damage = this.damageFound();
    if (damage !== undefined) throw damage;
  }

  /** Runs a read, turning SQLite's corruption errors into LocalIndexCorruptError. */
  private read<T>(body: () => T): T {
    try {
      return body();
    } catch (error) {
      throw this.damaged(error);
    }
  }

  private corrupt(what: string): unknown {
    return this.damaged(new LocalIndexCorruptError(what));
  }

  /** The row, after checking its checksum and that it is the row asked for. */
  private checkedRaw(row: RawNode | null | undefined, asked: { id?: number; parent?: number; name?: string }): RawNode | undefined {
    if (row === null || row === undefined) return undefined;
    if (row.sum !== nodeSum(row)) throw this.corrupt(`node ${row.id} (${JSON.stringify(row.name)}) fails its checksum`);
    if ((asked.id !== undefined && row.id !== asked.id) || (asked.parent !== undefined && row.parent !== asked.parent) || (asked.name !== undefined && row.name !== asked.name)) {
      throw this.corrupt(`looking up ${JSON.stringify(asked)} found node ${row.id}, parent ${row.parent}, ${JSON.stringify(row.name)}`);
    }
    if (kindNames[row.kind] === undefined) throw this.corrupt(`node ${row.id} has unknown kind ${row.kind}`);
    return row;
  }

  /** Node `id`'s row with its chain links, checked (for the writes of Namespace). */
  raw(id: number): RawNode | undefined {
    const memory = this.memory.at(this.rowGeneration());
    const known = memory.rows.get(id);
    if (known !== undefined) return known;
    const row = this.read(() => this.checkedRaw(this.nodeStatement.get(id), { id }));
    if (row !== undefined) memory.remember(row);
    return row;
  }

  /** Takes in a row just written through this view's connection, as written (Namespace.writeNode). */
  wrote(row: RawNode): void {
    this.memory.at(this.rowGeneration()).remember(row);
  }

  /**
   * Where `name` goes in `directory`'s chain: the entry before it in the index (leaving out node
   * `except`, one being moved), and the name that entry (or, with none, the directory) says comes
   * next. Checked: the entry before is below `name` and the chain goes past `name` from it, so
   * `after` is null or above `name`, or equal to it (the name is taken). Damage if not.
   */
  neighbours(directory: RawNode, name: string, except = 0, candidate?: RawNode | null): { before: RawNode | undefined; after: string | null } {
    // Asked twice for one new entry (the lookup that misses it, then the insert that links it in)
    // with no change between: the second answer is the first.
    const generation = this.generation();
    if (generation !== this.neighbourGeneration) {
      this.neighbourAnswers.clear();
      this.neighbourGeneration = generation;
    }
    const key = `${directory.id}/${except}/${name}`;
    const known = this.neighbourAnswers.get(key);
    if (known !== undefined && Number.isFinite(generation)) return known;
    const answer = this.findNeighbours(directory, name, except, candidate);
    if (this.neighbourAnswers.size >= Lookups.maxEntries) this.neighbourAnswers.clear();
    this.neighbourAnswers.set(key, answer);
    return answer;
  }

  /** `candidate`: the entry just before (directory, name) in the index, if the caller has read it already (null: none). */
  private findNeighbours(directory: RawNode, name: string, except: number, candidate?: RawNode | null): { before: RawNode | undefined; after: string | null } {
    return this.read(() => {
      let row = this.checkedRaw(candidate === undefined ? this.beforeStatement.get(directory.id, name) : candidate, {});
      // The entry being moved is still at its old key (perhaps in another directory): skip it.
      if (row !== undefined && row.id === except) row = this.checkedRaw(this.beforeStatement.get(row.parent, row.name), {});
      const before = row?.parent === directory.id ? row : undefined;
      if (before !== undefined && compareNames(before.name, name) >= 0) {
        throw this.corrupt(`looking for an entry before ${JSON.stringify(name)} in directory ${directory.id} found ${JSON.stringify(before.name)}`);
      }
      const after = before === undefined ? directory.first : before.next;
      if (after !== null && compareNames(after, name) < 0) {
        throw this.corrupt(`directory ${directory.id} lists ${JSON.stringify(after)} after ${before === undefined ? "its start" : JSON.stringify(before.name)}, which the index has not`);
      }
      return { before, after };
    });
  }

  node(id: number): NodeRow | undefined {
    const row = this.raw(id);
    return row === undefined ? undefined : asNode(row);
  }

  /** Every name of inode `inode` that shares it with others (or did: a file that had hard links), by id; [] for any other inode. */
  namesOf(inode: number): RawNode[] {
    return this.read(() =>
      this.namesStatement.all(inode).map((row) => {
        const checked = this.checkedRaw(row, {})!;
        if (checked.inode !== inode) throw this.corrupt(`looking up the names of inode ${inode} found node ${checked.id} of inode ${checked.inode}`);
        return checked;
      }),
    );
  }

  /** A name of inode `inode` (its own node, or any of its hard links), or undefined if it has none. */
  nodeOfInode(inode: number): NodeRow | undefined {
    const own = this.node(inode);
    if (own !== undefined && own.ino === inode) return own;
    const names = this.namesOf(inode);
    return names.length === 0 ? undefined : asNode(names[0]!);
  }

  /** Whether any file has, or had, hard links (names sharing an inode): then a path no longer says which files an operation touches. */
  hasHardLinks(): boolean {
    return this.read(() => this.anyLinkStatement.get() !== null);
  }

  root(): NodeRow {
    const root = this.node(rootId);
    if (root === undefined) throw this.corrupt("it has no root directory");
    return root;
  }

  /**
   * The entry `name` of directory `parent`. No row found is an answer only if the directory's
   * chain agrees that there is none (see the schema): an entry hidden by damage is EIO.
   */
  child(parent: number, name: string): NodeRow | undefined {
    const memory = this.memory.at(this.rowGeneration());
    const known = memory.child(parent, name);
    if (known !== undefined) return asNode(known);
    return this.read(() => {
      const seen = this.atOrBeforeStatement.get(parent, name);
      if (seen !== null && seen.parent === parent && seen.name === name) {
        const found = this.checkedRaw(seen, { parent, name })!;
        memory.remember(found);
        return asNode(found);
      }
      const directory = this.raw(parent);
      if (directory === undefined || directory.kind !== kindCodes.directory) return undefined;
      // No such entry: `seen` is the one before it, whose chain link must go past the name.
      const { after } = this.neighbours(directory, name, 0, seen);
      if (after !== null && compareNames(after, name) === 0) {
        throw this.corrupt(`directory ${parent} lists ${JSON.stringify(name)}, which the index does not find`);
      }
      return undefined;
    });
  }

  /** The entries of directory `parent` in name order: the whole of its chain, or EIO. */
  children(parent: number): NodeRow[] {
    return this.read(() => {
      const rows = this.childrenStatement.all(parent).map((row) => this.checkedRaw(row, { parent })!);
      const directory = this.checkedRaw(this.nodeStatement.get(parent), { id: parent });
      if (directory !== undefined) {
        let expected = directory.first;
        let index = 0;
        for (; index < rows.length && rows[index]!.name === expected; index++) expected = rows[index]!.next;
        if (index < rows.length || expected !== null) {
          throw this.corrupt(`the index lists ${rows.length} entries of directory ${parent}, not its chain (${JSON.stringify(expected)} missing or out of place)`);
        }
      }
      return rows.map(asNode);
    });
  }

  hasChildren(parent: number): boolean {
    return this.read(() => {
      const any = this.checkedRaw(this.hasChildrenStatement.get(parent), { parent }) !== undefined;
      const directory = this.checkedRaw(this.nodeStatement.get(parent), { id: parent });
      if (directory !== undefined && any !== (directory.first !== null)) {
        throw this.corrupt(`directory ${parent} ${any ? "has entries but names none" : `names ${JSON.stringify(directory.first)} but the index has no entry`}`);
      }
      return any;
    });
  }

  /**
   * A file's extents in order, by its inode (`NodeRow.ino`: every name of a file shares them).
   * They must follow each other from 0 to the file's size: an extent row lost or moved to another
   * file is damage, never a shorter or different file. `owner` is a row of the file if the caller
   * has just read it (resolving the path): it is not read again.
   */
  extents(node: number, owner?: NodeRow): readonly (Extent & { position: number })[] {
    if (owner !== undefined && owner.ino !== node) throw new TypeError(`extents of inode ${node} checked against node ${owner.id} (inode ${owner.ino})`);
    const lookups = this.lookups.at(this.generation());
    const known = lookups.extents.get(node);
    if (known !== undefined) return known;
    const extents = this.readExtents(node, owner);
    if (lookups.extents.size >= Lookups.maxEntries) lookups.extents.clear();
    lookups.extents.set(node, extents);
    return extents;
  }

  private readExtents(node: number, owner: NodeRow | undefined): (Extent & { position: number })[] {
    return this.read(() => {
      const extents: (Extent & { position: number })[] = [];
      let end = 0;
      for (const row of this.extentsStatement.all(node)) {
        if (row.sum !== extentSum(row)) throw this.damaged(new LocalIndexCorruptError(`extent ${row.position} of node ${row.node} fails its checksum`));
        if (row.node !== node || row.position !== end) {
          throw this.damaged(new LocalIndexCorruptError(`node ${node}'s extents break off at ${end} (found node ${row.node}, position ${row.position})`));
        }
        extents.push({ position: row.position, object: row.object, offset: row.offset, length: row.length, hash: row.hash });
        end += row.length;
      }
      // The owner's row as the caller just read and checked it (a read resolves it first), or read now.
      owner ??= this.nodeOfInode(node);
      if (owner === undefined ? extents.length > 0 : owner.kind === "file" ? owner.size !== end : extents.length > 0) {
        throw this.damaged(new LocalIndexCorruptError(`node ${node}'s extents cover ${end} bytes, not its size ${owner?.size}`));
      }
      return extents;
    });
  }

  /**
   * Follows `path` from the root. Symbolic links in the middle are always followed, the last one
   * only if `followLast`. Throws ENOENT, ENOTDIR or ELOOP naming `reported` (the caller's path).
   */
  resolve(path: string, followLast: boolean, syscall: string, reported: string = path): Resolved {
    const found = this.lookup(path, followLast, syscall, reported);
    if ("missing" in found) throw new FsError(found.missing, syscall, { path: reported });
    return found;
  }

  /**
   * As `resolve`, but a path that leads nowhere (ENOENT, ENOTDIR) is an answer, not an error:
   * nothing is built for it. Only ELOOP (and damage) throws. Answers are remembered until the
   * index next changes.
   */
  lookup(path: string, followLast: boolean, syscall: string, reported: string = path): Resolved | Missing {
    const lookups = this.lookups.at(this.generation());
    const key = followLast ? `L${path}` : `N${path}`;
    const known = lookups.paths.get(key);
    if (known !== undefined) return known;
    const found = this.walk(path, followLast, syscall, reported);
    if (lookups.paths.size >= Lookups.maxEntries) lookups.paths.clear();
    lookups.paths.set(key, found);
    return found;
  }

  private walk(path: string, followLast: boolean, syscall: string, reported: string): Resolved | Missing {
    let parts = splitPath(path);
    let current = this.root();
    let currentPath = "/";
    let hops = 0;
    for (let index = 0; index < parts.length; ) {
      if (current.kind !== "directory") return { missing: "ENOTDIR", throughLink: hops > 0 };
      const name = parts[index]!;
      const child = this.child(current.id, name);
      if (child === undefined) return { missing: "ENOENT", throughLink: hops > 0 };
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
    const found = this.lookup(path, followLast, syscall);
    return "missing" in found ? undefined : found;
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

  /**
   * Every node below `directory` (not itself), parents before children, with paths relative to
   * it. Each row must be the one its index entry names, and each directory listed in full (its
   * chain: see the schema) where its entries are within `maxDepth`; else EIO.
   */
  descendants(directory: number, options: { maxDepth?: number } = {}): { node: NodeRow; relative: string; depth: number }[] {
    const maxDepth = options.maxDepth ?? 1_000_000;
    return this.read(() => {
      const rows = this.db
        .query<RawNode & { relative: string; depth: number; under: number; listed: string }, [number, number]>(
          `WITH RECURSIVE tree(id, under, listed, relative, depth) AS (
             SELECT id, parent, name, name, 1 FROM nodes WHERE parent = ?1
             UNION ALL
             SELECT n.id, n.parent, n.name, tree.relative || '/' || n.name, tree.depth + 1 FROM nodes n JOIN tree ON n.parent = tree.id
               WHERE tree.depth < ?2
           )
           SELECT nodes.*, tree.under, tree.listed, tree.relative, tree.depth FROM tree JOIN nodes ON nodes.id = tree.id ORDER BY tree.relative`,
        )
        .all(directory, maxDepth);
      // The name each listed directory's chain says comes next. Within one directory the rows come
      // in name order (ORDER BY relative sorts siblings by their names, in the index's byte order),
      // and a directory's own row before its entries, so one pass checks every chain.
      const expected = new Map<number, string | null>();
      const top = this.checkedRaw(this.nodeStatement.get(directory), { id: directory });
      if (top !== undefined && top.kind === kindCodes.directory) expected.set(directory, top.first);
      const result: { node: NodeRow; relative: string; depth: number }[] = new Array(rows.length);
      for (let index = 0; index < rows.length; index++) {
        const row = rows[index]!;
        const raw = this.checkedRaw(row, { parent: row.under, name: row.listed })!;
        const next = expected.get(raw.parent);
        if (next === undefined) throw this.corrupt(`node ${raw.id} is listed under node ${raw.parent}, which is not a directory listed`);
        if (next !== raw.name) {
          throw this.corrupt(`the index lists ${JSON.stringify(raw.name)} in directory ${raw.parent} where its chain has ${JSON.stringify(next)}`);
        }
        expected.set(raw.parent, raw.next);
        if (raw.kind === kindCodes.directory && row.depth < maxDepth) expected.set(raw.id, raw.first);
        result[index] = { node: asNode(raw), relative: row.relative, depth: row.depth };
      }
      for (const [id, next] of expected) {
        if (next !== null) throw this.corrupt(`the index's entries of directory ${id} end before its chain does (${JSON.stringify(next)} missing)`);
      }
      return result;
    });
  }

  /** The bytes of the longest path below `directory`, relative to it ("/a/b" below it is 4); 0 if it is empty. */
  deepestPathBelow(directory: number): number {
    return this.read(() => {
      const row = this.db
        .query<{ deepest: number | null }, [number]>(
          `WITH RECURSIVE tree(id, bytes) AS (
             SELECT id, length(CAST(name AS BLOB)) + 1 FROM nodes WHERE parent = ?1
             UNION ALL
             SELECT n.id, tree.bytes + length(CAST(n.name AS BLOB)) + 1 FROM nodes n JOIN tree ON n.parent = tree.id
           )
           SELECT max(bytes) AS deepest FROM tree`,
        )
        .get(directory);
      return row?.deepest ?? 0;
    });
  }

  /** Every path in the filesystem, sorted ("/" first). */
  allPaths(): string[] {
    return ["/", ...this.descendants(rootId).map((entry) => `/${entry.relative}`)];
  }

  counts(): { files: number; directories: number; symlinks: number; bytes: number } {
    const row = this.read(() =>
      this.db
        .query<{ files: number; directories: number; symlinks: number; bytes: number }, []>(
          // Bytes count each file once, however many names (hard links) it has.
          `SELECT SUM(kind = 1) AS files, SUM(kind = 0) AS directories, SUM(kind = 2) AS symlinks,
                  COALESCE(SUM(CASE WHEN kind = 1 AND inode IS NULL THEN size END), 0)
                    + COALESCE((SELECT SUM(size) FROM (SELECT MAX(size) AS size FROM nodes WHERE inode IS NOT NULL AND kind = 1 GROUP BY inode)), 0) AS bytes
             FROM nodes`,
        )
        .get(),
    );
    return { files: row?.files ?? 0, directories: row?.directories ?? 0, symlinks: row?.symlinks ?? 0, bytes: row?.bytes ?? 0 };
  }

  meta(key: string): string | undefined {
    return this.read(() => {
      const row = this.metaStatement.get(key);
      if (row === null) return undefined;
      if (row.key !== key || row.sum !== metaSum(row.key, row.value)) throw this.damaged(new LocalIndexCorruptError(`its ${JSON.stringify(key)} record fails its checksum`));
      return row.value;
    });
  }

  // Objects and the files that use them, for maintenance (compaction, fsck): the index's schema
  // stays in this module.

  /** Every object files use, with the bytes of its distinct extents (shared copies count once) and its longest extent. */
  objectUsage(): ObjectUsage[] {
    return this.read(() =>
      this.db
        .query<ObjectUsage, []>(
          `SELECT object, SUM(length) AS liveBytes, MAX(length) AS longestExtent
             FROM (SELECT DISTINCT object, offset, length, hash FROM extents)
            GROUP BY object`,
        )
        .all(),
    );
  }

  /** The distinct extents files use in `object` (each once, however many files share it), by offset. */
  extentsIn(object: string): Extent[] {
    return this.read(() =>
      this.db
        .query<{ offset: number; length: number; hash: string }, [string]>("SELECT DISTINCT offset, length, hash FROM extents WHERE object = ? ORDER BY offset")
        .all(object)
        .map((row) => ({ object, ...row })),
    );
  }

  /** Every distinct extent files use, in any object. */
  allExtents(): Extent[] {
    return this.read(() =>
      this.db.query<Extent, []>("SELECT DISTINCT object, offset, length, hash FROM extents ORDER BY object, offset, length, hash").all().map((row) => ({ ...row })),
    );
  }

  /** Paths of the files with extents in `object` (only at `offsets`, if given), sorted, at most `limit`. */
  filesUsing(object: string, offsets?: ReadonlySet<number>, limit = 20): string[] {
    const rows = this.read(() => this.db.query<{ node: number; offset: number }, [string]>("SELECT DISTINCT node, offset FROM extents WHERE object = ?").all(object));
    const nodes = [...new Set(rows.filter((row) => offsets === undefined || offsets.has(row.offset)).map((row) => row.node))];
    return nodes
      .slice(0, limit)
      .map((inode) => this.pathOf(this.nodeOfInode(inode)?.id ?? inode))
      .sort();
  }

  /** The path of node `id`, by its parents ("/" for the root). */
  pathOf(id: number): string {
    const names: string[] = [];
    let node = this.node(id);
    for (let depth = 0; node !== undefined && node.id !== rootId && depth < 4096; depth++) {
      names.unshift(node.name);
      node = this.node(node.parent);
    }
    return `/${names.join("/")}`;
  }
}

/**
 * The writes of a batch that was sealed and then undone (a landed record before it was
 * committed: SQLite commits a transaction whole), statement for statement: `reseal` does them
 * again, on the same rows they were first done on, without validating the operations again.
 */
export interface SealedChanges {
  readonly writes: readonly (() => void)[];
}

/** An object files use: the bytes of its distinct extents, and its longest extent. */
export interface ObjectUsage {
  object: string;
  liveBytes: number;
  longestExtent: number;
}

/** The index of one filesystem: two views on one database file, the batch lifecycle, and every change to its rows. */
export class Namespace {
  private writer!: Database;
  private reader!: Database;
  private committedView!: NamespaceView;
  private pendingView!: NamespaceView;
  private batchOpen = false;
  /**
   * Batches sealed in the write transaction below the open one: records in flight, not yet
   * durable (the committer's pipeline). Each is followed by a savepoint `sealed_<n>`, so the
   * batches after any of them can be undone while it stays.
   */
  private sealedBatches = 0;
  /**
   * The open batch's writes, in order, when it was begun to be sealed (`beginBatch(true)`): each
   * statement with its arguments, so a sealed batch that is undone can be done again exactly.
   */
  private journal: (() => void)[] | undefined;
  /** The journal of each sealed batch, oldest first. */
  private sealedJournals: (() => void)[][] = [];
  /** The reserve was made whole by this index and not given up since (ensureReserve). */
  private reserveWhole = false;
  /** Counts changes to the index (and ends of batches): the views forget their remembered lookups when it moves. */
  private changes = 0;
  /** Counts the changes other than a node row written by `writeNode` in a batch: the pending view's remembered rows go when it moves (RowMemory). */
  private resets = 0;
  /** The id `insertNode` gave out last, and `resets` then. */
  private lastId: { id: number; resets: number } | undefined;
  /** Why the open batch was lost (SQLite rolled it back on a full disk, say): it can only be rolled back now. */
  private batchFailure: unknown;
  private damage: LocalIndexCorruptError | undefined;
  private maxIdStatement!: Statement<{ id: number | null }, []>;
  private insertNodeStatement!: Statement<
    unknown,
    [number, number, string, number, number, number, number, number, number, number, string | null, number | null, number, string | null, string | null, number]
  >;
  private updateNodeStatement!: Statement<
    unknown,
    [number, string, number, number, number, number, number, number, number, string | null, number | null, number, string | null, string | null, number, number]
  >;
  private insertExtentStatement!: Statement<unknown, [number, number, string, number, number, string, number]>;
  /**
   * A step's savepoint and its release, prepared once (a transaction of many files takes one per
   * operation). Through `query`, whose statements closing the connection finalizes: one left
   * open would keep the index's -wal after close, and the next open would verify it all again.
   */
  private savepointStatement!: Statement<unknown, []>;
  private releaseStatement!: Statement<unknown, []>;

  /**
   * Opens (or creates) the index in `file`. An index found damaged before (a marker beside it)
   * is replaced by an empty one; an index of another layout or one failing its checks is refused
   * with LocalIndexCorruptError (see `verify`), so the caller can start afresh.
   */
  constructor(readonly file: string) {
    if (existsSync(damageMarker(file))) removeIndexFiles(file);
    this.closedCleanly = matchesDigest(file);
    this.connect();
  }

  /**
   * Whether the file is byte for byte what this library left at its last clean close (its digest
   * was recorded then): only such an index may skip `verify` when it is opened.
   */
  readonly closedCleanly: boolean;

  private connect(): void {
    this.writer = new Database(indexUri(this.file), constants.SQLITE_OPEN_READWRITE | constants.SQLITE_OPEN_CREATE | constants.SQLITE_OPEN_URI);
    try {
      this.writer.exec("PRAGMA journal_mode = WAL");
      this.writer.exec("PRAGMA synchronous = NORMAL");
      this.writer.exec("PRAGMA busy_timeout = 5000");
      const version = this.writer.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version ?? 0;
      const tables = this.writer.query<{ count: number }, []>("SELECT COUNT(*) AS count FROM sqlite_master").get()?.count ?? 0;
      if (version === 0 && tables === 0) {
        this.writer.exec(`BEGIN; ${schema} COMMIT;`);
      } else if (version !== indexLayoutVersion) {
        throw new LocalIndexCorruptError(`layout ${version}, not ${indexLayoutVersion}`);
      }
      this.prepare();
      if (this.pendingView.node(rootId) === undefined) {
        this.writeNode({ id: rootId, parent: 0, name: "", kind: kindCodes.directory, mode: 0o755, size: 0, mtime: 0, ctime: 0, atime: 0, birthtime: 0, target: null, inode: null, nlink: 1, next: null, first: null });
      }
      this.reader = new Database(indexUri(this.file), constants.SQLITE_OPEN_READWRITE | constants.SQLITE_OPEN_URI);
      this.reader.exec("PRAGMA busy_timeout = 5000");
      this.committedView = new NamespaceView(this.reader, (error) => this.sign(error), () => this.damage, () => this.changes);
    } catch (error) {
      this.reader?.close();
      this.writer.close();
      throw isCorruptionError(error) ? new LocalIndexCorruptError(error.message, { cause: error }) : error;
    }
  }

  private prepare(): void {
    this.pendingView = new NamespaceView(this.writer, (error) => this.sign(error), () => this.damage, () => this.changes, () => this.resets);
    // An inode outlives the node it was named after while another name holds it, yet its id is
    // never given again: every other name of it was added later, with a higher id, so MAX(id)
    // stays above every inode in use.
    this.maxIdStatement = this.writer.query("SELECT MAX(id) AS id FROM nodes");
    this.insertNodeStatement = this.writer.query(
      "INSERT INTO nodes (id, parent, name, kind, mode, size, mtime, ctime, atime, birthtime, target, inode, nlink, next, first, sum) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.updateNodeStatement = this.writer.query(
      "UPDATE nodes SET parent = ?, name = ?, kind = ?, mode = ?, size = ?, mtime = ?, ctime = ?, atime = ?, birthtime = ?, target = ?, inode = ?, nlink = ?, next = ?, first = ?, sum = ? WHERE id = ?",
    );
    this.insertExtentStatement = this.writer.query("INSERT INTO extents (node, position, object, offset, length, hash, sum) VALUES (?, ?, ?, ?, ?, ?, ?)");
    this.savepointStatement = this.writer.query("SAVEPOINT step");
    this.releaseStatement = this.writer.query("RELEASE step");
  }

  /**
   * Checks the whole index: SQLite's integrity check (pages, and every index entry against its
   * row) and every row's checksum. Throws LocalIndexCorruptError at the first problem.
   */
  verify(): void {
    try {
      const problems = this.writer.query<{ integrity_check: string }, []>("PRAGMA integrity_check(5)").all().map((row) => row.integrity_check);
      if (problems.length !== 1 || problems[0] !== "ok") throw new LocalIndexCorruptError(`integrity check: ${problems.join("; ")}`);
      // Every entry must be in its directory's chain, and every chain whole (see the schema).
      const directories = new Map<number, { first: string | null; entries: Map<string, string | null> }>();
      const entries: { parent: number; name: string; next: string | null }[] = [];
      for (const row of this.writer.query<RawNode, []>("SELECT * FROM nodes").iterate()) {
        if (row.sum !== nodeSum(row)) throw new LocalIndexCorruptError(`node ${row.id} fails its checksum`);
        if (row.kind === kindCodes.directory) directories.set(row.id, { first: row.first, entries: new Map() });
        if (row.id !== rootId) entries.push({ parent: row.parent, name: row.name, next: row.next });
      }
      for (const entry of entries) {
        const directory = directories.get(entry.parent);
        if (directory === undefined) throw new LocalIndexCorruptError(`an entry ${JSON.stringify(entry.name)} is in node ${entry.parent}, which is no directory`);
        directory.entries.set(entry.name, entry.next);
      }
      for (const [id, directory] of directories) {
        let walked = 0;
        for (let name = directory.first, previous: string | null = null; name !== null; walked++) {
          if (!directory.entries.has(name) || walked > directory.entries.size) throw new LocalIndexCorruptError(`directory ${id}'s chain names ${JSON.stringify(name)}, which it does not hold`);
          if (previous !== null && compareNames(previous, name) >= 0) throw new LocalIndexCorruptError(`directory ${id}'s chain puts ${JSON.stringify(name)} after ${JSON.stringify(previous)}`);
          previous = name;
          name = directory.entries.get(name)!;
        }
        if (walked !== directory.entries.size) throw new LocalIndexCorruptError(`directory ${id} holds ${directory.entries.size} entries, but its chain ${walked}`);
      }
      for (const row of this.writer.query<RawExtent, []>("SELECT node, position, object, offset, length, hash, sum FROM extents").iterate()) {
        if (row.sum !== extentSum(row)) throw new LocalIndexCorruptError(`extent ${row.position} of node ${row.node} fails its checksum`);
      }
      for (const row of this.writer.query<{ key: string; value: string; sum: number }, []>("SELECT key, value, sum FROM meta").iterate()) {
        if (row.sum !== metaSum(row.key, row.value)) throw new LocalIndexCorruptError(`its ${JSON.stringify(row.key)} record fails its checksum`);
      }
      if (this.pendingView.node(rootId)?.kind !== "directory") throw new LocalIndexCorruptError("its root is not a directory");
    } catch (error) {
      throw this.sign(error);
    }
  }

  /**
   * Classifies an error met reading or writing the index: signs of damage become (and are
   * remembered as) LocalIndexCorruptError; anything else is returned as it is.
   */
  private sign(error: unknown): unknown {
    if (!(error instanceof LocalIndexCorruptError) && !isCorruptionError(error)) return error;
    const damage = error instanceof LocalIndexCorruptError ? error : new LocalIndexCorruptError(error.message, { cause: error });
    if (this.damage === undefined) {
      this.damage = damage;
      try {
        writeFileSync(damageMarker(this.file), `${damage.message}\n`); // the next mount rebuilds, even after a crash
      } catch {
        // close() removes the index anyway
      }
    }
    return damage;
  }

  /** The damage found in this index, if any (then it is rebuilt: at once by `recreate`, or at the next mount). */
  get damaged(): LocalIndexCorruptError | undefined {
    return this.damage;
  }

  /** The view of what is durable in the object store. */
  get committed(): NamespaceView {
    return this.committedView;
  }

  /** The committed view plus the open batch. */
  get pending(): NamespaceView {
    return this.pendingView;
  }

  /** Throws away the index file and starts an empty one in its place (a damaged index, rebuilt from the log). */
  recreate(): void {
    this.changed();
    this.batchOpen = false;
    this.sealedBatches = 0;
    this.journal = undefined;
    this.sealedJournals = [];
    this.reserveWhole = false;
    this.closeConnections();
    removeIndexFiles(this.file);
    this.damage = undefined;
    this.connect();
  }

  /** The database connection that batches write through (for apply-ops.ts). */
  get writeConnection(): Database {
    return this.writer;
  }

  /**
   * Opens a batch. Fails with LocalDiskFullError (and opens nothing) if the index's reserve of
   * disk space cannot be made whole. `sealable`: the batch may be sealed (its writes are kept,
   * so that `reseal` can do them again once a commit below it undid them).
   */
  beginBatch(sealable = false): void {
    if (this.batchOpen) throw new Error("a namespace batch is already open");
    this.changed();
    if (this.sealedBatches === 0) {
      this.ensureReserve();
      try {
        this.writer.exec("BEGIN IMMEDIATE");
      } catch (error) {
        throw this.classify(error, "write");
      }
      this.batchFailure = undefined;
    } else {
      this.assertBatchIntact(); // the sealed batches' transaction, which this one continues
    }
    this.journal = sealable ? [] : undefined;
    this.batchOpen = true;
  }

  /** Batches sealed below the open one (records in flight). */
  get sealed(): number {
    return this.sealedBatches;
  }

  /**
   * Seals the open batch: its record is in flight. Its changes stay in the write transaction
   * (the pending view shows them; the committed view does not), and the next batch opens on top
   * of them. `commitOldestSealed` makes the oldest sealed batch committed once its record lands;
   * `rollbackAll` undoes every sealed batch (a record in flight lost its slot, say).
   */
  sealBatch(): void {
    if (!this.batchOpen) throw new Error("no namespace batch is open");
    const journal = this.journal;
    if (journal === undefined) throw new Error("a namespace batch not begun sealable cannot be sealed");
    this.assertBatchIntact();
    try {
      this.writer.exec(`SAVEPOINT sealed_${this.sealedBatches + 1}`);
    } catch (error) {
      throw this.loseBatch(error);
    }
    this.sealedJournals.push(journal);
    this.journal = undefined;
    this.sealedBatches++;
    this.batchOpen = false;
  }

  /**
   * Opens a batch that does `changes` again, statement for statement, and seals it: the batch of
   * a record still in flight that a commit below it undid. Its operations were validated on the
   * same rows (the batches below it are the same, committed or sealed), so they are not
   * validated again. On failure nothing of it remains (SQLite failing loses every sealed batch).
   */
  reseal(changes: SealedChanges): void {
    this.beginBatch(true);
    try {
      this.step(() => this.replay(changes.writes));
      this.sealBatch();
    } catch (error) {
      this.rollbackBatch();
      throw error;
    }
  }

  /**
   * Commits, in a batch of their own, batches that were sealed and then undone (records that
   * landed after a commit below them), done again statement for statement, recording `meta`.
   * On a full disk, as commitBatch.
   */
  commitChanges(changes: readonly SealedChanges[], meta: Record<string, string>): void {
    if (this.sealedBatches > 0) throw new Error("sealed namespace batches lie below the changes to commit");
    const redo = () => {
      for (const batch of changes) this.replay(batch.writes);
    };
    this.beginBatch();
    try {
      this.step(redo);
    } catch (error) {
      this.rollbackBatch();
      throw error;
    }
    this.commitBatch(meta, redo);
  }

  /** Does journaled writes again (into the open batch's journal too, if it keeps one). */
  private replay(writes: readonly (() => void)[]): void {
    this.changed(); // rows written other than through writeNode: nothing remembered holds, nor the last id given out
    for (const write of writes) {
      write();
      this.journal?.push(write);
    }
    this.changed();
  }

  /** Runs a write statement, keeping it in the open batch's journal (if it keeps one). */
  private write(write: () => void): void {
    write();
    this.journal?.push(write);
  }

  /**
   * Commits the oldest sealed batch (its record landed), recording `meta` with it. Every later
   * sealed batch is undone first (SQLite commits a transaction whole): their changes are
   * returned, oldest first, for `reseal` to do again before the next batch opens on top of them
   * (or for `commitChanges`, should their records land first). On a full disk, as commitBatch
   * (the oldest batch's changes are done again).
   */
  commitOldestSealed(meta: Record<string, string>): SealedChanges[] {
    if (this.batchOpen) throw new Error("a namespace batch is open above the sealed ones");
    if (this.sealedBatches === 0) throw new Error("no namespace batch is sealed");
    this.assertBatchIntact();
    const [oldest = [], ...later] = this.sealedJournals;
    try {
      try {
        if (this.sealedBatches > 1) this.writer.exec("ROLLBACK TO sealed_1");
      } catch (error) {
        this.sealedBatches = 0;
        this.sealedJournals = [];
        throw this.endLostBatch(error);
      }
      this.sealedBatches = 0;
      this.sealedJournals = [];
      this.batchOpen = true;
      this.journal = undefined;
      this.commitOrLose(meta, () => this.replay(oldest));
    } finally {
      this.changed();
    }
    return later.map((writes) => ({ writes }));
  }

  /** Undoes the open batch and every sealed one. Never throws. */
  rollbackAll(): void {
    const open = this.batchOpen || this.sealedBatches > 0;
    this.sealedBatches = 0;
    this.batchOpen = open;
    this.rollbackBatch();
  }

  /**
   * Runs `step` in a savepoint of the open batch: if it throws, none of its changes remain. If
   * SQLite itself fails (a full disk, damage), the whole batch is lost: this step and every later
   * one throw, and the batch can only be rolled back.
   */
  step<T>(step: () => T): T {
    if (!this.batchOpen) throw new Error("no namespace batch is open");
    this.assertBatchIntact();
    this.changes++; // what the step changes moves it again; rows it writes stay remembered (RowMemory)
    let undone = true;
    const journaled = this.journal?.length ?? 0;
    try {
      this.savepointStatement.run();
    } catch (error) {
      throw this.loseBatch(error);
    }
    try {
      const result = step();
      this.releaseStatement.run();
      undone = false;
      return result;
    } catch (error) {
      // SQLite failing (a full disk, damage, I/O) may have ended the transaction: the batch is lost.
      if ((error instanceof SQLiteError && !String(error.code).startsWith("SQLITE_CONSTRAINT")) || !this.writer.inTransaction) throw this.loseBatch(error);
      try {
        this.writer.exec("ROLLBACK TO step");
        this.writer.exec("RELEASE step");
      } catch (rollbackError) {
        throw this.loseBatch(rollbackError);
      }
      throw error;
    } finally {
      // The step's changes, or their undoing (then every row remembered since it began may be gone).
      if (undone) {
        this.changed();
        if (this.journal !== undefined) this.journal.length = journaled; // its writes are undone: not done again either
      } else this.changes++;
    }
  }

  /** Throws why the open batch was lost, if it was (before publishing it: its changes are gone). */
  assertBatchIntact(): void {
    if (this.batchFailure !== undefined) throw this.batchFailure;
    if ((this.batchOpen || this.sealedBatches > 0) && !this.writer.inTransaction) throw this.loseBatch(new Error("the index's transaction ended on its own"));
  }

  /**
   * Makes the batch visible in the committed view, recording the log position it reached. On a
   * full disk SQLite rolls the whole batch back: then the reserve is given up and, if `redo` is
   * given (it applies the batch's changes again), the batch is done once more and committed in
   * the space freed. If that fails too, the batch is lost and LocalDiskFullError thrown.
   */
  commitBatch(meta: Record<string, string>, redo?: () => void): void {
    if (!this.batchOpen) throw new Error("no namespace batch is open");
    if (this.sealedBatches > 0) throw new Error("sealed namespace batches lie below the open one");
    this.assertBatchIntact();
    try {
      this.commitOrLose(meta, redo);
    } finally {
      this.changed(); // the committed view now sees the batch (or, lost, the pending view no longer does)
    }
  }

  private commitOrLose(meta: Record<string, string>, redo?: () => void): void {
    try {
      this.setMeta(meta);
      this.writer.exec("COMMIT");
      this.batchOpen = false;
      this.journal = undefined;
      return;
    } catch (error) {
      const diskFull = isDiskFullError(error);
      const failure = this.endLostBatch(error);
      if (!diskFull || !this.releaseReserve() || redo === undefined) throw failure;
    }
    try {
      this.writer.exec("BEGIN IMMEDIATE");
      this.batchOpen = true;
      redo();
      this.setMeta(meta);
      this.writer.exec("COMMIT");
      this.batchOpen = false;
    } catch (again) {
      throw this.endLostBatch(again);
    }
  }

  /** A commit that failed ends the batch: rolled back, closed, and the error to throw returned. */
  private endLostBatch(error: unknown): unknown {
    const failure = this.loseBatch(error);
    this.batchOpen = false;
    this.journal = undefined;
    this.batchFailure = undefined;
    return failure;
  }

  /** Ends the open batch, if any, undoing its changes. Never throws: the batch is closed after it. */
  rollbackBatch(): void {
    if (!this.batchOpen) return;
    this.changed();
    this.batchOpen = false;
    this.journal = undefined;
    if (this.sealedBatches > 0 && this.batchFailure === undefined && this.writer.inTransaction) {
      // Only the open batch goes: back to the savepoint after the newest sealed one.
      try {
        this.writer.exec(`ROLLBACK TO sealed_${this.sealedBatches}`);
        return;
      } catch (error) {
        this.loseBatch(error); // then the sealed batches are lost with it
      }
    }
    this.sealedBatches = 0;
    this.sealedJournals = [];
    this.batchFailure = undefined;
    if (!this.writer.inTransaction) return; // SQLite rolled it back already (on a full disk, say)
    try {
      this.writer.exec("ROLLBACK");
    } catch {
      // SQLite ends the transaction when ROLLBACK fails
    }
  }

  /** Records that the open batch is lost (rolling it back in SQLite, if it is not already), and returns the error to throw. */
  private loseBatch(error: unknown): unknown {
    this.changed();
    this.sealedBatches = 0; // rolled back with the rest: the committer sees `sealed` fall short of its records in flight
    this.sealedJournals = [];
    const failure = this.classify(error, "write");
    this.batchFailure ??= failure;
    if (this.writer.inTransaction) {
      try {
        this.writer.exec("ROLLBACK");
      } catch {
        // ended all the same
      }
    }
    return this.batchFailure;
  }

  /** Maps SQLite's errors to the filesystem's: a full disk is ENOSPC, damage LocalIndexCorruptError. */
  private classify(error: unknown, syscall: string): unknown {
    if (error instanceof FsError) return error;
    if (isDiskFullError(error)) return new LocalDiskFullError(syscall, { cause: error });
    return this.sign(error);
  }

  private get reserveFile(): string {
    return `${this.file}.reserve`;
  }

  /** Makes the reserve whole; LocalDiskFullError if the disk has not the space. */
  ensureReserve(): void {
    // Once made whole, only releaseReserve frees it: every batch begins without a stat of it.
    if (this.reserveWhole) return;
    try {
      if (statSync(this.reserveFile, { throwIfNoEntry: false })?.size !== indexReserveBytes) writeFileSync(this.reserveFile, new Uint8Array(indexReserveBytes));
      this.reserveWhole = true;
    } catch (error) {
      rmSync(this.reserveFile, { force: true });
      throw isDiskFullError(error) ? new LocalDiskFullError("write", { cause: error }) : error;
    }
  }

  /** Frees the reserve; whether there was one to free. */
  private releaseReserve(): boolean {
    this.reserveWhole = false;
    const had = existsSync(this.reserveFile);
    rmSync(this.reserveFile, { force: true });
    return had;
  }

  setMeta(meta: Record<string, string>): void {
    this.changed();
    const statement = this.writer.query("INSERT INTO meta (key, value, sum) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, sum = excluded.sum");
    for (const [key, value] of Object.entries(meta)) {
      const sum = metaSum(key, value);
      this.write(() => statement.run(key, value, sum));
    }
  }

  /** Empties the index (before loading a snapshot into it), leaving a root with the given times. */
  clear(rootTime = 0): void {
    this.changed();
    this.write(() => this.writer.exec("DELETE FROM extents; DELETE FROM nodes; DELETE FROM meta;"));
    this.changed(); // rows remembered before the delete are gone
    this.writeNode({ id: rootId, parent: 0, name: "", kind: kindCodes.directory, mode: 0o755, size: 0, mtime: rootTime, ctime: rootTime, atime: rootTime, birthtime: rootTime, target: null, inode: null, nlink: 1, next: null, first: null });
  }

  // ---- changes to rows (each row written whole, with its checksum) ----------------------------

  /** Writes a node row whole: a new one (`insert`), or over the existing row of its id. */
  private writeNode(row: Omit<RawNode, "sum">, insert = true): void {
    // The pending view takes the row in as written (RowMemory); outside a batch the write is the
    // committed view's too, and everything remembered goes.
    if (this.batchOpen) this.changes++;
    else this.changed();
    const sum = nodeSum(row);
    if (insert) this.write(() => this.insertNodeStatement.run(row.id, row.parent, row.name, row.kind, row.mode, row.size, row.mtime, row.ctime, row.atime, row.birthtime, row.target, row.inode, row.nlink, row.next, row.first, sum));
    else this.write(() => this.updateNodeStatement.run(row.parent, row.name, row.kind, row.mode, row.size, row.mtime, row.ctime, row.atime, row.birthtime, row.target, row.inode, row.nlink, row.next, row.first, sum, row.id));
    if (this.batchOpen) this.pendingView.wrote({ ...row, sum });
  }

  /** Node `id`'s row with its links, read and checked (damage is never carried into a new checksum). */
  private current(id: number, what = "node"): RawNode {
    const row = this.pendingView.raw(id);
    if (row === undefined) throw this.sign(new LocalIndexCorruptError(`${what} ${id} is missing`));
    return row;
  }

  /** Directory `id`'s row, read and checked: it must be a directory. */
  private directoryRow(id: number): RawNode {
    const row = this.current(id, "directory");
    if (row.kind !== kindCodes.directory) throw this.sign(new LocalIndexCorruptError(`node ${id} holds entries but is no directory`));
    return row;
  }

  /**
   * Where an entry `name` goes in directory `parent`'s chain (leaving out node `except`): the
   * name after it, and the change that puts it in (the entry before it, or the directory, then
   * names it). The name must be free: the entry's own insert or update refuses a taken one.
   */
  private linkPlace(parent: number, name: string, except = 0): { after: string | null; link: () => void } {
    const directory = this.directoryRow(parent);
    const { before, after } = this.pendingView.neighbours(directory, name, except);
    const link = () => {
      if (before === undefined) this.writeNode({ ...directory, first: name }, false);
      else this.writeNode({ ...before, next: name }, false);
    };
    return { after: after !== null && compareNames(after, name) === 0 ? null : after, link };
  }

  /** Takes `row` out of its directory's chain (before it is removed or moved). */
  private unlink(row: RawNode): void {
    const directory = this.directoryRow(row.parent);
    const { before, after } = this.pendingView.neighbours(directory, row.name, row.id);
    if (after !== row.name) throw this.sign(new LocalIndexCorruptError(`directory ${row.parent} lists ${JSON.stringify(after)} where node ${row.id} (${JSON.stringify(row.name)}) is`));
    if (before === undefined) this.writeNode({ ...directory, first: row.next }, false);
    else this.writeNode({ ...before, next: row.next }, false);
  }

  /**
   * Adds a node; returns it with its new id. Its directory's chain takes it in, unless `links`
   * gives them (loading a whole snapshot, whose chains are known at once: see `snapshot.ts`).
   */
  insertNode(node: NewNode, links?: { next: string | null; first: string | null }): NodeRow {
    // The highest id is read once per run of inserts: while nothing but node rows written here
    // changed the index (`resets`), the last id this method gave out is still the highest.
    const id = (this.lastId?.resets === this.resets ? this.lastId.id : (this.maxIdStatement.get()?.id ?? rootId)) + 1;
    const { inode = null, nlink = 1, ...columns } = node;
    const row = { ...columns, id, kind: kindCodes[node.kind], inode, nlink };
    if (links !== undefined) {
      this.writeNode({ ...row, ...links });
      this.lastId = { id, resets: this.resets };
      return asNode({ ...row, ...links, sum: 0 });
    }
    const place = this.linkPlace(node.parent, node.name);
    this.writeNode({ ...row, next: place.after, first: null });
    this.lastId = { id, resets: this.resets };
    place.link();
    return asNode({ ...row, next: place.after, first: null, sum: 0 });
  }

  /**
   * Changes columns of node `id` (read and checked first: damage is never carried into a new
   * checksum); a new parent or name moves it in the chains. The file's other names (hard links)
   * take the same mode, size and times: they are one file.
   */
  updateNode(id: number, changes: Partial<Omit<NodeRow, "id" | "kind" | "ino" | "nlink"> & { inode: number; nlink: number }>): NodeRow {
    const current = this.current(id);
    const changed = { ...current, ...changes };
    if (changed.parent === current.parent && changed.name === current.name) {
      // A directory touched again at the same time (a transaction's files share its time) is
      // already as asked: no row to write.
      if (!sameColumns(current, changed)) this.writeNode(changed, false);
    } else {
      this.unlink(current);
      const place = this.linkPlace(changed.parent, changed.name, id);
      this.writeNode({ ...changed, next: place.after }, false);
      place.link();
    }
    if (changed.inode !== null) this.shareInode(changed);
    return asNode(changed);
  }

  /** Gives every other name of `row`'s inode its mode, size, times and link count. */
  private shareInode(row: RawNode): void {
    for (const name of this.pendingView.namesOf(row.inode!)) {
      if (name.id === row.id) continue;
      if (name.mode === row.mode && name.size === row.size && name.mtime === row.mtime && name.ctime === row.ctime && name.atime === row.atime && name.birthtime === row.birthtime && name.nlink === row.nlink) continue;
      this.writeNode({ ...name, mode: row.mode, size: row.size, mtime: row.mtime, ctime: row.ctime, atime: row.atime, birthtime: row.birthtime, nlink: row.nlink }, false);
    }
  }

  /**
   * Gives the file or symbolic link `id` one more name, `name` in directory `parent` (a hard
   * link): both names share its inode, so its data, mode and times, and each counts one more link.
   * The link's change time is `time`, as link(2) sets it. Returns the new name's node.
   */
  addHardLink(id: number, parent: number, name: string, time: number): NodeRow {
    const current = this.current(id);
    if (current.kind === kindCodes.directory) throw new Error("refusing to link a directory");
    const inode = current.inode ?? current.id;
    const names = current.inode === null ? [current] : this.pendingView.namesOf(inode);
    const nlink = names.length + 1;
    for (const row of names) this.writeNode({ ...row, inode, nlink, ctime: time }, false);
    const { mode, size, mtime, atime, birthtime, target } = current;
    return this.insertNode({ parent, name, kind: kindNames[current.kind]!, mode, size, mtime, ctime: time, atime, birthtime, target, inode, nlink });
  }

  /** Replaces the root's mode and times, and its first entry if `first` is given (loading a snapshot). */
  setRoot(root: { mode: number; mtime: number; ctime: number; atime: number; birthtime: number }, first?: string | null): void {
    const current = this.directoryRow(rootId);
    this.writeNode({ ...current, ...root, first: first === undefined ? current.first : first }, false);
  }

  /** Adds extents to a file at `start` onwards (empty ones are skipped); returns the new end. */
  insertExtents(node: number, start: number, extents: readonly Extent[]): number {
    this.changes++; // extents only: the node rows remembered stay (RowMemory)
    let position = start;
    for (const extent of extents) {
      if (extent.length === 0) continue;
      const row = { node, position, object: extent.object, offset: extent.offset, length: extent.length, hash: extent.hash };
      const at = position;
      const sum = extentSum(row);
      this.write(() => this.insertExtentStatement.run(node, at, row.object, row.offset, row.length, row.hash, sum));
      position += extent.length;
    }
    return position;
  }

  deleteExtents(node: number): void {
    this.changes++; // extents only: the node rows remembered stay (RowMemory)
    const statement = this.writer.query("DELETE FROM extents WHERE node = ?");
    this.write(() => statement.run(node));
  }

  /** Gives inode `to` the extents of inode `from` (a copy shares them). */
  copyExtents(from: number, to: number): void {
    this.insertExtents(to, 0, this.pendingView.extents(from));
  }

  /**
   * Repoints every extent equal to (object, offset, length, hash) at `toObject`@`toOffset`: the
   * same bytes elsewhere.
   */
  relocateExtents(move: { object: string; offset: number; length: number; hash: string }, toObject: string, toOffset: number): void {
    this.changes++; // extents only: the node rows remembered stay (RowMemory)
    const rows = this.writer
      .query<RawExtent, [string, number, number, string]>("SELECT node, position, object, offset, length, hash, sum FROM extents WHERE object = ? AND offset = ? AND length = ? AND hash = ?")
      .all(move.object, move.offset, move.length, move.hash);
    const update = this.writer.query("UPDATE extents SET object = ?, offset = ?, sum = ? WHERE node = ? AND position = ?");
    for (const row of rows) {
      if (row.sum !== extentSum(row)) throw this.sign(new LocalIndexCorruptError(`extent ${row.position} of node ${row.node} fails its checksum`));
      const moved = { ...row, object: toObject, offset: toOffset };
      const sum = extentSum(moved);
      this.write(() => update.run(toObject, toOffset, sum, row.node, row.position));
    }
  }

  /**
   * Removes node `id` and everything below it, with their extents. A file with other names left
   * (hard links) keeps its extents: each of its remaining names counts one link less, with change
   * time `time` (as unlink(2) sets it); the last name takes the extents with it.
   */
  removeTree(id: number, time: number): void {
    this.changed();
    if (id === rootId) throw new Error("refusing to remove the root node");
    const row = this.current(id);
    this.unlink(row);
    const subtree = `WITH RECURSIVE tree(id) AS (SELECT ?1 UNION ALL SELECT nodes.id FROM nodes JOIN tree ON nodes.parent = tree.id)`;
    let inodes: number[];
    if (row.kind !== kindCodes.directory) {
      inodes = row.inode === null ? [] : [row.inode];
      if (row.inode === null) this.deleteExtents(row.id);
      const statement = this.writer.query("DELETE FROM nodes WHERE id = ?");
      this.write(() => statement.run(id));
    } else {
      inodes = this.writer
        .query<{ inode: number }, [number]>(`${subtree} SELECT DISTINCT nodes.inode AS inode FROM tree JOIN nodes ON nodes.id = tree.id WHERE nodes.inode IS NOT NULL`)
        .all(id)
        .map((found) => found.inode);
      const extents = this.writer.query(`${subtree} DELETE FROM extents WHERE node IN (SELECT tree.id FROM tree JOIN nodes ON nodes.id = tree.id WHERE nodes.inode IS NULL)`);
      const nodes = this.writer.query(`${subtree} DELETE FROM nodes WHERE id IN (SELECT id FROM tree)`);
      this.write(() => extents.run(id));
      this.write(() => nodes.run(id));
    }
    this.changed(); // rows remembered before the delete are gone
    for (const inode of inodes) {
      const names = this.pendingView.namesOf(inode);
      if (names.length === 0) this.deleteExtents(inode);
      for (const name of names) this.writeNode({ ...name, nlink: names.length, ctime: time }, false);
    }
  }

  /** Something in the index changed (or may have: a batch began or ended): the views' remembered lookups go. */
  private changed(): void {
    this.changes++;
    this.resets++;
  }

  private closeConnections(): void {
    for (const connection of [this.reader, this.writer]) {
      try {
        connection?.close();
      } catch {
        // closing a connection of a damaged file
      }
    }
  }

  close(): void {
    try {
      this.rollbackBatch();
    } finally {
      this.closeConnections();
      if (this.damage !== undefined) removeIndexFiles(this.file);
      else recordDigest(this.file);
    }
  }
}

/** The digest of a closed index file (its WAL folded in and gone), for `matchesDigest` at the next open. */
function recordDigest(file: string): void {
  try {
    if (!existsSync(`${file}-wal`)) writeFileSync(digestFile(file), fileDigest(file));
  } catch {
    // no digest: the next open verifies the whole index
  }
}

/** Whether `file` is what the last clean close left (digest recorded, no WAL since). The digest is used once. */
function matchesDigest(file: string): boolean {
  let recorded: string;
  try {
    recorded = readFileSync(digestFile(file), "utf8");
  } catch {
    return false;
  }
  rmSync(digestFile(file), { force: true }); // the file changes from now on
  try {
    return !existsSync(`${file}-wal`) && recorded === fileDigest(file);
  } catch {
    return false;
  }
}

/**
 * The index opened through SQLite's unix-excl VFS: the first connection takes a lock on the file
 * that keeps every other process out (the mount's directory lock already does), and SQLite keeps
 * its map of the -wal (the wal-index) in this process's memory, shared by the index's two
 * connections, instead of in a -shm file mapped into memory. There is then no -shm file whose
 * damage could hide a row (a flipped bit in its hash tables sends a lookup to a stale page) or
 * kill the process (a mapped file truncated under it is SIGBUS).
 */
function indexUri(file: string): string {
  return `file:${file.split("/").map(encodeURIComponent).join("/")}?vfs=unix-excl`;
}

function digestFile(file: string): string {
  return `${file}.digest`;
}

function fileDigest(file: string): string {
  const hasher = new Bun.CryptoHasher("sha256");
  const descriptor = openSync(file, "r");
  try {
    const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (;;) {
      const read = readSync(descriptor, buffer, 0, buffer.byteLength, null);
      if (read === 0) break;
      hasher.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(descriptor);
  }
  return hasher.digest("hex");
}

function damageMarker(file: string): string {
  return `${file}.damaged`;
}

/** Deletes the index database, its WAL and shared-memory files, and a damage marker. */
export function removeIndexFiles(file: string): void {
  for (const suffix of ["", "-wal", "-shm", ".damaged", ".digest", ".reserve"]) rmSync(`${file}${suffix}`, { force: true });
}

export function kindCode(kind: NodeKind): number {
  return kindCodes[kind];
}
