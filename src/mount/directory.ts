// A mount's cache directory: its name under cacheRoot, the lock that keeps it to one mount at a
// time across processes, and the staging directory cleared on close.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database, SQLiteError } from "bun:sqlite";
import { FsError } from "../base/errors.ts";
import { LocalDiskFullError, isDiskFullError } from "../namespace/namespace.ts";

/** Mount directories held by this process (another manager must not share one). */
const heldDirectories = new Set<string>();
/** Mount names held by this process, by their first directory (whichever slot each took). */
const heldNames = new Set<string>();

/**
 * Directories a mount that is no exclusive writer may take under cacheRoot: its own, then
 * `<its own>~2` ... up to this. Each slot is a whole cache directory (index, cache, staging).
 */
export const maxDirectorySlots = 32;

/**
 * Takes the mount's cache directory under `cacheRoot`, creating it if needed. An exclusive
 * writer gets its own directory or EBUSY, as ever. A shared writer or a reader (`slots`) whose
 * directory another process holds takes the first free sibling `<directory>~<n>` instead: two
 * processes of one app, one cacheRoot, each mounting the same workspace, both work. A slot is a
 * cache like the first directory: whoever finds it free later reuses its index and cached data
 * (the mount checks both against the log), and its bytes count in the budget of the manager that
 * mounts it. Within one process a name is held once (EBUSY), whichever slot it took.
 */
export function holdMountDirectory(cacheRoot: string, name: string, options: { slots: boolean }): { directory: string; release: () => void } {
  const first = join(cacheRoot, mountDirectoryName(name));
  if (heldNames.has(first)) {
    throw new FsError("EBUSY", "mount", { path: name, detail: `mount ${JSON.stringify(name)} is already open in this process under the same cacheRoot` });
  }
  for (let slot = 1; ; slot++) {
    const directory = slot === 1 ? first : `${first}~${slot}`;
    mkdirSync(directory, { recursive: true }); // the host's error, mapped by the manager as before
    let release: () => void;
    try {
      release = holdDirectory(directory, name);
    } catch (error) {
      if (!options.slots || !(error instanceof FsError && error.code === "EBUSY")) throw error;
      if (slot >= maxDirectorySlots) {
        throw new FsError("EBUSY", "mount", {
          path: name,
          detail: `all ${maxDirectorySlots} cache directories of this mount under cacheRoot are in use by other processes; give some of them their own cacheRoot or mount name`,
        });
      }
      continue;
    }
    heldNames.add(first);
    let released = false;
    return {
      directory,
      release: () => {
        if (released) return;
        released = true;
        heldNames.delete(first);
        release();
      },
    };
  }
}

export function mountDirectoryName(name: string): string {
  const readable = name.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "").slice(0, 80) || "mount";
  return `${readable}-${(Bun.hash.xxHash32(name) >>> 0).toString(16).padStart(8, "0")}`;
}

/** Removes the staging directory, but keeps the files of write handles still open (and it, if any). */
export function clearStaging(directory: string, keep: ReadonlySet<string>): void {
  if (keep.size === 0) {
    rmSync(directory, { recursive: true, force: true });
    return;
  }
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return; // already gone
  }
  for (const name of names) {
    const file = join(directory, name);
    if (!keep.has(file)) rmSync(file, { recursive: true, force: true });
  }
}

/**
 * One mount per cache directory, across processes. The lock is an exclusive SQLite transaction
 * held on `mount.lock.sqlite` for the mount's lifetime: taking it is one atomic step (two
 * processes can never both hold it), and the operating system lets go of it when the holder's
 * process ends, however it ends, so a dead holder never blocks the next mount. The file itself
 * stays (removing it could let a process that opened it just before lock a file nobody else
 * sees); `mount.holder` names the holder's pid, for the message of a mount that finds it busy.
 */
export function holdDirectory(directory: string, name: string): () => void {
  if (heldDirectories.has(directory)) {
    throw new FsError("EBUSY", "mount", { path: name, detail: `mount ${JSON.stringify(name)} is already open in this process under the same cacheRoot` });
  }
  const holderFile = join(directory, "mount.holder");
  const busy = (pid: number | undefined) =>
    new FsError("EBUSY", "mount", {
      path: name,
      // The mount's name and the option, never the host path (errors carry virtual names only).
      detail: `the mount's cache directory under cacheRoot is in use by ${pid === undefined ? "another process" : `process ${pid}`}; give each process its own cacheRoot or mount name`,
    });
  // An earlier version's lock: a file naming its holder's pid. Its holder, if alive, still counts.
  const legacyFile = join(directory, "mount.lock");
  const legacyPid = existsSync(legacyFile) ? Number(readFileSync(legacyFile, "utf8").trim()) : undefined;
  if (legacyPid !== undefined && Number.isInteger(legacyPid) && legacyPid !== process.pid && processAlive(legacyPid)) throw busy(legacyPid);
  let lock: Database | undefined;
  const lockFile = join(directory, "mount.lock.sqlite");
  const takeLock = (): Database => {
    const database = new Database(lockFile, { create: true });
    try {
      // Two processes trying at once both take SQLite's shared lock on the way to the exclusive one;
      // without a short wait each would see the other and both would give up.
      database.exec("PRAGMA busy_timeout = 100");
      database.exec("BEGIN EXCLUSIVE");
      return database;
    } catch (error) {
      database.close();
      throw error;
    }
  };
  try {
    try {
      lock = takeLock();
    } catch (error) {
      if (!(error instanceof SQLiteError && (error.code === "SQLITE_NOTADB" || String(error.code).startsWith("SQLITE_CORRUPT")))) throw error;
      // The lock file holds no data, and SQLite found it no database (damaged, or swapped with its
      // journal): nobody holds it (a holder would have made this BUSY). It is emptied in place, never
      // replaced, so whoever races for it still locks the same file.
      truncateSync(lockFile, 0);
      lock = takeLock();
    }
  } catch (error) {
    lock?.close();
    if (error instanceof SQLiteError && (error.code === "SQLITE_BUSY" || error.code === "SQLITE_LOCKED")) {
      let pid: number | undefined;
      try {
        pid = Number(readFileSync(holderFile, "utf8").trim());
      } catch {
        // the holder is still writing its name, or just let go
      }
      throw busy(pid !== undefined && Number.isInteger(pid) && pid > 0 ? pid : undefined);
    }
    if (isDiskFullError(error)) throw new LocalDiskFullError("mount", { cause: error });
    // The message of an error of the host names the host path: say what failed, and its code.
    throw new FsError("EIO", "mount", { path: name, detail: `cannot lock the mount's cache directory (${(error as { code?: string }).code ?? (error as Error).message})`, cause: error });
  }
  const held = lock;
  try {
    writeFileSync(holderFile, String(process.pid));
  } catch (error) {
    held.close(); // a mount that fails lets go of the lock it took
    if (isDiskFullError(error)) throw new LocalDiskFullError("mount", { cause: error });
    throw new FsError("EIO", "mount", { path: name, detail: `cannot name the holder of the mount's cache directory (${(error as { code?: string }).code ?? "unknown"})`, cause: error });
  }
  if (legacyPid !== undefined) rmSync(legacyFile, { force: true });
  heldDirectories.add(directory);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    heldDirectories.delete(directory);
    rmSync(holderFile, { force: true });
    held.close(); // ends the transaction, and with it the lock
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
