// Damage found by the local-state campaign (damage.test.ts), kept as regression cases: the open
// index's files damaged between two operations of a mount.
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mountDirectoryName } from "../../src/mount.ts";
import type { S3CachedFs } from "../../src/core.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { testWorkspace, type TestWorkspace } from "../support/mounts.ts";
import { expectCode } from "../support/errors.ts";

afterAll(removeTempDirectories);

test("the open index's -wal truncated under the mount: a read fails with EIO naming the local index (not a raw SQLite error), and the remount is right", async () => {
  const workspace = await testWorkspace("local", "open-wal-truncated");
  const fs = await workspace.mount();
  for (let index = 0; index < 20; index++) await fs.writeFile(`/file-${index}.txt`, `bytes of file ${index}`);
  const wal = join(workspace.cacheRoot, mountDirectoryName("test"), "index.sqlite-wal");
  expect(statSync(wal).size).toBeGreaterThan(4096);
  truncateSync(wal, 1000);
  const error = await expectCode(fs.readFile("/file-19.txt"), "EIO");
  expect(error.message).toContain("local index");
  expect(error.message).not.toContain(workspace.cacheRoot);
  await fs.close();
  const again = await workspace.mount();
  for (let index = 0; index < 20; index++) expect(await again.readText(`/file-${index}.txt`)).toBe(`bytes of file ${index}`);
  await again.close();
}, 120_000);

test("a mount's lock file that is no database (swapped with its journal, or overwritten) is emptied in place and the mount goes ahead; one held by another mount still refuses", async () => {
  const workspace = await testWorkspace("local", "lock-not-a-database");
  const fs = await workspace.mount();
  await fs.writeFile("/a.txt", "a");
  await fs.close();
  const lockFile = join(workspace.cacheRoot, mountDirectoryName("test"), "mount.lock.sqlite");
  writeFileSync(lockFile, new Uint8Array(512).fill(0xd9)); // a rollback journal's header bytes: no database
  const again = await workspace.mount();
  expect(await again.readText("/a.txt")).toBe("a");
  await expectCode(workspace.mount({ mode: "readonly" }), "EBUSY"); // the emptied file still locks
  await again.close();
  const third = await workspace.mount({ mode: "readonly" });
  expect(await third.readText("/a.txt")).toBe("a");
  await third.close();
}, 120_000);

/** Runs shm-worker.ts: a mount whose index's -shm file is damaged between two operations. */
async function damageShm(damage: "zero-hash" | "truncate" | "flips") {
  const workspace = await testWorkspace("local", `shm-${damage}`);
  const store = workspace.describe.slice("local:".length);
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "shm-worker.ts"), JSON.stringify({ store, cacheRoot: workspace.cacheRoot, damage })], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect({ exitCode, signal: child.signalCode, stderr: stderr.slice(0, 500) }).toEqual({ exitCode: 0, signal: null, stderr: "" });
  const outcome = JSON.parse(stdout.trim().split("\n").at(-1)!);
  expect(outcome).toMatchObject({ missing: [], wrong: [], errors: [], written: true });
  // The open index keeps SQLite's map of its -wal in the mount's memory: there is no -shm file to damage.
  expect(outcome.shmWhileMounted).toBe(false);
  // Whatever lies at that path is never read, and stays as it was left.
  const again = await workspace.manager().mount({ name: "worker", headDelayMs: 60_000, leaseTtlMs: 5_000 });
  for (let index = 0; index < 40; index++) expect(await again.readText(`/file-${index}.txt`)).toBe(`bytes of file ${index}`);
  expect(await again.readText("/after.txt")).toBe("written after the damage");
  await again.close();
}

test("the open index has no -shm file: a file at that path, its hash tables zeroed under the mount, hides no entry", async () => {
  await damageShm("zero-hash");
}, 120_000);

test("the open index has no -shm file: a file at that path, bits flipped under the mount, hides no entry", async () => {
  await damageShm("flips");
}, 120_000);

test("the open index has no -shm file: a file at that path truncated under the mount does not kill the process (SQLite maps a -shm: SIGBUS)", async () => {
  await damageShm("truncate");
}, 120_000);

// Found by the local-state campaign (LOCAL_STATE_TRIALS=312 LOCAL_STATE_SEED=16: 16 bits flipped in
// the open index's -wal, then `stat` of a file that exists said ENOENT). Row checksums find a
// damaged row only when it is read, and SQLite checks the -wal's frame checksums only when it
// recovers the -wal, never when it reads a page from it: a key of the (parent, name) index changed
// in a page makes a lookup find no row at all. Each directory's entries are therefore chained in
// name order (a row names the entry after it; a directory its first), under the row checksums, and
// a lookup that finds nothing checks the chain around the name it sought. Each case below damages
// the open index's -wal between two operations so that the lookup of a file that exists misses it.

/** The files of one directory of the open mount, written in one transaction, and where the open index's -wal is. */
async function openIndexWith(label: string, directory: string, names: string[]) {
  const workspace = await testWorkspace("local", label);
  const fs = await workspace.mount();
  await fs.mkdir(directory, { recursive: true });
  await fs.transaction(async (tx) => {
    for (const name of names) await tx.writeFile(`${directory}/${name}`, `bytes of ${name}`);
  });
  const wal = join(workspace.cacheRoot, mountDirectoryName("test"), "index.sqlite-wal");
  return { workspace, fs, wal };
}

/** Every offset in `bytes` where `text` starts. */
function occurrences(bytes: Buffer, text: string): number[] {
  const found: number[] = [];
  for (let at = bytes.indexOf(text); at >= 0; at = bytes.indexOf(text, at + 1)) found.push(at);
  return found;
}

/**
 * What every lookup of `path` (which exists, holding `bytes of <name>`) answers: right, or EIO
 * naming the local index; never ENOENT. The writer must not take it for a free name either.
 */
async function expectFoundOrDamage(fs: S3CachedFs, path: string): Promise<string[]> {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const answers: string[] = [];
  const calls: [string, () => Promise<unknown>, (value: unknown) => boolean][] = [
    ["stat", () => fs.stat(path), (value) => (value as { size: number }).size === `bytes of ${name}`.length],
    ["lstat", () => fs.lstat(path), (value) => (value as { isFile(): boolean }).isFile()],
    ["exists", () => fs.exists(path), (value) => value === true],
    ["readFile", () => fs.readText(path), (value) => value === `bytes of ${name}`],
    ["mkdir", () => fs.mkdir(path), () => false],
    ["symlink", () => fs.symlink("/elsewhere", path), () => false],
  ];
  for (const [call, run, right] of calls) {
    try {
      const value = await run();
      answers.push(`${call}: ${right(value) ? "right" : `wrong (${JSON.stringify(value)})`}`);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "EIO" && /local index is damaged/.test(String(error)) && !String(error).includes("/tmp")) answers.push(`${call}: EIO`);
      else if (code === "EEXIST" && (call === "mkdir" || call === "symlink")) answers.push(`${call}: right`);
      else answers.push(`${call}: ${code} ${String(error)}`);
    }
  }
  for (const answer of answers) expect(answer).toMatch(/: (right|EIO)$/);
  return answers;
}

/**
 * After a remount (the index rebuilt from the log where it was found damaged), and on a fresh
 * cache root (the store alone: nothing the damaged index said was published), every file is
 * there with its bytes.
 */
async function expectRemountRight(workspace: TestWorkspace, directory: string, names: string[]) {
  for (const cacheRoot of [workspace.cacheRoot, workspace.freshCacheRoot()]) {
    const again = await workspace.mount({}, { cacheRoot });
    expect((await again.readdir(directory)).sort()).toEqual([...names].sort());
    for (const name of names) expect(await again.readText(`${directory}/${name}`)).toBe(`bytes of ${name}`);
    await again.close();
  }
}

const twenty = Array.from({ length: 20 }, (_, index) => `file-${index}.txt`);

test("a name flipped in the open index's -wal never hides the file: a lookup answers right or fails with EIO naming the local index", async () => {
  // One bit of the name flipped wherever the -wal holds it: in the index's key and in the row.
  const { workspace, fs, wal } = await openIndexWith("open-wal-key", "/d", twenty);
  const bytes = Buffer.from(readFileSync(wal));
  const found = occurrences(bytes, "file-7.txt");
  expect(found.length).toBeGreaterThan(0);
  for (const at of found) bytes[at + 8]! ^= 1; // file-7.txt -> file-7.tyt
  writeFileSync(wal, bytes);
  const answers = await expectFoundOrDamage(fs, "/d/file-7.txt");
  expect(answers).toContain("stat: EIO"); // found, not answered right by luck
  await fs.close();
  await expectRemountRight(workspace, "/d", twenty);
}, 120_000);

/**
 * Flips one bit of the (parent, name) index's key of /d/file-7.txt wherever the -wal holds it, and
 * nowhere else: its parent part (node 2, the byte before the name), its name, or its row id (node
 * 10, the byte after the name). A row holds the name too, but with other bytes around it.
 */
function flipKey(wal: string, part: "parent" | "name" | "rowid"): void {
  const bytes = Buffer.from(readFileSync(wal));
  const name = "file-7.txt";
  let flipped = 0;
  for (const at of occurrences(bytes, name)) {
    if (bytes[at - 1] !== 2 || bytes[at + name.length] !== 10) continue;
    bytes[part === "parent" ? at - 1 : part === "name" ? at + 8 : at + name.length]! ^= 1;
    flipped++;
  }
  expect(flipped).toBeGreaterThan(0);
  writeFileSync(wal, bytes);
}

for (const part of ["name", "parent", "rowid"] as const) {
  test(`the ${part} part of the key alone flipped in the open index's -wal never hides the file nor answers for another`, async () => {
    const { workspace, fs, wal } = await openIndexWith(`open-wal-key-${part}`, "/d", twenty);
    flipKey(wal, part);
    const answers = await expectFoundOrDamage(fs, "/d/file-7.txt");
    expect(answers).toContain("stat: EIO");
    await fs.close();
    await expectRemountRight(workspace, "/d", twenty);
  }, 120_000);
}

test("a snapshot is never written from an index entry that names another row: a row id flipped in the open index's -wal, then a clean close", async () => {
  // The close writes a snapshot of the index; /d/file-7.txt's key points at file-8.txt's row. A
  // snapshot listing file-8.txt's bytes as file-7.txt's would put the damage into the store.
  const { workspace, fs, wal } = await openIndexWith("open-wal-snapshot", "/d", twenty);
  flipKey(wal, "rowid");
  await fs.close();
  await expectRemountRight(workspace, "/d", twenty);
}, 120_000);

test("a key of an interior page of the (parent, name) index flipped in the open index's -wal never hides a file of the leaf it routes to", async () => {
  // 400 entries: the index has leaves under an interior page whose keys route each lookup. One
  // bit of a key there ("entry-250" becomes "entry-050") sends the names just below it to the
  // wrong leaf: each of them misses.
  const names = Array.from({ length: 400 }, (_, index) => `entry-${String(index).padStart(3, "0")}`);
  const { workspace, fs, wal } = await openIndexWith("open-wal-interior", "/d", names);
  const directory = join(workspace.cacheRoot, mountDirectoryName("test"));
  // Which page is the index's interior page (read from a copy: the mount's files stay as they are).
  const copy = tempDirectory("open-wal-interior-copy");
  copyFileSync(join(directory, "index.sqlite"), join(copy, "index.sqlite"));
  copyFileSync(wal, join(copy, "index.sqlite-wal"));
  const database = new Database(join(copy, "index.sqlite"));
  const interior = database.query<{ pageno: number }, []>("SELECT pageno FROM dbstat WHERE name = 'nodes_by_parent' AND pagetype = 'internal'").all().map((row) => row.pageno);
  database.close();
  expect(interior.length).toBeGreaterThan(0);
  // Its latest frame in the -wal (frames of the -wal's current salt only).
  const bytes = Buffer.from(readFileSync(wal));
  const pageSize = bytes.readUInt32BE(8);
  let frame = -1;
  for (let at = 32; at + 24 + pageSize <= bytes.length; at += 24 + pageSize) {
    if (bytes.readUInt32BE(at + 8) !== bytes.readUInt32BE(16) || bytes.readUInt32BE(at + 12) !== bytes.readUInt32BE(20)) break;
    if (interior.includes(bytes.readUInt32BE(at))) frame = at;
  }
  expect(frame).toBeGreaterThan(0);
  const page = bytes.subarray(frame + 24, frame + 24 + pageSize);
  expect(page[0]).toBe(2); // an interior page of an index
  // Its keys (the page's free space may still hold bytes of keys it held before): one naming an
  // entry of 100 or more, its first digit made smaller.
  const cells = Array.from({ length: page.readUInt16BE(3) }, (_, index) => page.readUInt16BE(12 + 2 * index));
  const keys = cells.map((cell) => page.indexOf("entry-", cell)).filter((at) => at >= 0 && page[at + 6]! > 0x30);
  expect(keys.length).toBeGreaterThan(0);
  const at = keys[0]!;
  const key = page.subarray(at, at + 9).toString();
  const digit = page[at + 6]!;
  page[at + 6] = digit & (digit - 1) | 0x30; // its lowest set bit cleared: one bit, a smaller digit
  expect(page[at + 6]).toBeLessThan(digit);
  writeFileSync(wal, bytes);
  const below = names[names.indexOf(key) - 1]!; // in the leaf left of the key, now routed right of it
  const answers = await expectFoundOrDamage(fs, `/d/${below}`);
  expect(answers).toContain("stat: EIO");
  await fs.close();
  await expectRemountRight(workspace, "/d", names);
}, 120_000);
