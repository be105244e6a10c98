// A mount whose index's shared-memory file (-shm) is damaged between two operations, for
// open-index-damage.test.ts: run in a process of its own, since SQLite maps a -shm file into
// memory and one truncated under it kills the process (SIGBUS). argv[2] is JSON:
// { store: <LocalObjectStore root>, cacheRoot, damage: "zero-hash" | "truncate" | "flips" }.
// It writes files, damages what lies at index.sqlite-shm (or, if there is no such file, plants
// garbage there and damages that), reads every file back and writes one more, and prints
// { shmWhileMounted, missing, wrong, errors, written }.
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LocalObjectStore, S3CachedFsManagerImpl } from "../../src/core.ts";
import { mountDirectoryName } from "../../src/mount.ts";
import { seededRandom } from "../../src/stores/random.ts";

const job = JSON.parse(process.argv[2]!) as { store: string; cacheRoot: string; damage: "zero-hash" | "truncate" | "flips" };
const manager = new S3CachedFsManagerImpl({ cacheRoot: job.cacheRoot, storeFactory: () => new LocalObjectStore({ root: job.store, fsync: false }) });
const fs = await manager.mount({ name: "worker", leaseTtlMs: 3_600_000, headDelayMs: 60_000 });
const expected = new Map<string, string>();
for (let index = 0; index < 40; index++) {
  const path = `/file-${index}.txt`;
  await fs.writeFile(path, `bytes of file ${index}`);
  expected.set(path, `bytes of file ${index}`);
}
const shm = join(job.cacheRoot, mountDirectoryName("worker"), "index.sqlite-shm");
const shmWhileMounted = existsSync(shm);
if (!shmWhileMounted) writeFileSync(shm, new Uint8Array(32768).fill(0x5a));
const bytes = new Uint8Array(readFileSync(shm));
if (job.damage === "truncate") truncateSync(shm, 100);
else if (job.damage === "zero-hash") {
  // The wal-index header (136 bytes, with its own checksum) stays; the hash tables that map a
  // page to its newest frame in the -wal are zeroed: a lookup then finds no frame for any page.
  bytes.fill(0, 136);
  writeFileSync(shm, bytes);
} else {
  const next = seededRandom(15);
  for (let flip = 0; flip < 64; flip++) {
    const offset = 136 + Math.floor(next() * (bytes.byteLength - 136));
    bytes[offset] = bytes[offset]! ^ (1 << Math.floor(next() * 8));
  }
  writeFileSync(shm, bytes);
}
const missing: string[] = [];
const wrong: string[] = [];
const errors: string[] = [];
const listed = new Set(fs.allPaths());
for (const [path, text] of expected) {
  if (!listed.has(path)) missing.push(`allPaths: ${path}`);
  try {
    const read = await fs.readText(path);
    if (read !== text) wrong.push(path);
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") missing.push(`readFile: ${path}`);
    else errors.push(`${path}: ${String(error)}`);
  }
}
let written = false;
try {
  await fs.writeFile("/after.txt", "written after the damage");
  written = (await fs.readText("/after.txt")) === "written after the damage";
} catch (error) {
  errors.push(`writeFile /after.txt: ${String(error)}`);
}
await fs.close();
console.log(JSON.stringify({ shmWhileMounted, shmSize: statSync(shm, { throwIfNoEntry: false })?.size, missing, wrong, errors, written }));
