// One process of several-writers-processes.test.ts: a shared writer (`exclusive: false`) running a
// seeded mix of operations, or a reader checking that every commit it sees is whole.
//
// A writer runs two lanes at once, so its own operations share commits too: lane A, one
// operation at a time, picks from blind writes to its own and to shared paths, pool items added
// and taken by rename, exclusive creates (`flag: "wx"`), counter increments in transactions and
// pair transactions (two files, one token); lane B appends unique lines to /appends.log. Lane A
// runs one operation at a time, so `stats().seq` right after an acknowledgement is the slot of
// the record that carried it: the test orders shared writes by it. The writer prints what was
// acknowledged (`{ done: ... }`), waits for a line on stdin, then catches up and prints its view
// (`{ view: ... }`) so the test can compare it with a fresh mount's.
//
// A reader refreshes in a loop until a line arrives on stdin, checking each state it sees: both
// files of every pair hold one token, a writer's pair token and every counter never go back, and
// /appends.log only grows at its end. It prints `{ checks, moves, violations }`.
//
// A "mastra" process runs Mastra's own test pattern: a new AcceleratedFS on the workspace's prefix
// (mount option `exclusive: false`) in every "beforeEach", never destroyed, each "test" writing,
// reading, overwriting with expectedMtime, moving, appending to a shared log and racing for an
// exclusive create (`overwrite: false`). It prints `{ mastra: MastraReport }` and waits for stdin.
//
// argv[2] is JSON: { role: "writer" | "reader" | "mastra", store, cacheRoot, name, index, ops, seed }
// (for "mastra", ops is the number of tests and store.local the directory storageOptions keeps the bucket in).

import { FileExistsError, callLifecycle } from "@mastra/core/workspace";
import { LocalObjectStore, S3CachedFsManagerImpl, S3ObjectStore, type ObjectStore, type S3CachedFs } from "../../src/core.ts";
import { AcceleratedFS } from "../../src/mastra/index.ts";
import { s3StoreOptions } from "../support/s3-server.ts";
import { seededRandom } from "../../src/stores/random.ts";
import { storageOptions } from "../mastra/accelerated-subjects.ts";

interface Job {
  role: "writer" | "reader" | "mastra";
  store: { local: string } | { s3: { bucket: string; prefix: string } };
  cacheRoot: string;
  name: string;
  index: number;
  ops: number;
  seed: number;
}

const sharedPaths = ["/shared/s0", "/shared/s1", "/shared/s2", "/shared/s3"];
export const counterPaths = ["/counters/c0", "/counters/c1", "/counters/c2"];
const ownFiles = 4;

/** What a writer acknowledged (and what it was refused), printed as `{ done: WriterReport }`. */
export interface WriterReport {
  name: string;
  /** Own blind writes: each own path's last acknowledged value. */
  own: Record<string, string>;
  /** Blind writes to shared paths (single writes and the shared pair), with the slot that carried each. */
  shared: { path: string; value: string; seq: number }[];
  appended: string[];
  /** Pool items this writer added (acknowledged). */
  pooled: string[];
  /** Renames out of the pool that succeeded: item name and destination. */
  taken: { item: string; to: string }[];
  /** Renames refused with ENOENT: another writer took the item first. */
  takeMisses: number;
  /** Exclusive creates won: path and the value written. */
  claimsWon: { path: string; value: string }[];
  /** Exclusive creates refused with EEXIST. */
  claimsLost: number;
  /** Acknowledged increments by counter path. */
  increments: Record<string, number>;
  /** How many times increment bodies ran (reruns on conflict included). */
  incrementRuns: number;
  /** Own pair transactions acknowledged; the last token. */
  pairs: number;
  lastPair: string | undefined;
  /** Operations refused with EAGAIN (not acknowledged, nothing published). */
  eagain: string[];
  /** Anything else: a failure of the test. */
  failures: string[];
  /** Its commits (one record each), requests, and the seq it stood at when done. */
  stats: { commits: number; puts: number; gets: number; seq: number };
}

/** What a Mastra process's tests acknowledged. */
export interface MastraReport {
  /** Each test's file after it was moved, with its final content. */
  files: Record<string, string>;
  appended: string[];
  claimsWon: { path: string; value: string }[];
  claimsLost: number;
  eagain: string[];
  failures: string[];
}

export interface ReaderReport {
  checks: number;
  moves: number;
  violations: string[];
}

/** Every path with its kind and (for files) contents. */
export async function describeTree(fs: S3CachedFs): Promise<Record<string, string>> {
  const tree: Record<string, string> = {};
  for (const path of fs.allPaths()) {
    const stats = await fs.lstat(path);
    tree[path] = stats.isFile() ? `file:${await fs.readText(path)}` : stats.isDirectory() ? "dir" : `link:${await fs.readlink(path)}`;
  }
  return tree;
}

if (import.meta.main) {
  const job = JSON.parse(process.argv[2]!) as Job;
  const makeStore = (): ObjectStore =>
    "local" in job.store ? new LocalObjectStore({ root: job.store.local, fsync: false }) : new S3ObjectStore(s3StoreOptions(job.store.s3.bucket, { prefix: job.store.s3.prefix }));
  const manager = () => new S3CachedFsManagerImpl({ cacheRoot: job.cacheRoot, storeFactory: makeStore });
  const say = (message: Record<string, unknown>) => console.log(JSON.stringify(message));
  const stdin = Bun.stdin.stream().getReader();
  const nextLine = stdin.read();
  if (job.role === "writer") await runWriter(job, manager(), say, nextLine);
  else if (job.role === "reader") await runReader(job, manager(), say, nextLine);
  else await runMastra(job, say, nextLine);
  process.exit(0);
}

function codeOf(error: unknown): string {
  return String((error as { code?: unknown }).code ?? (error as Error).message);
}

async function runWriter(job: Job, manager: S3CachedFsManagerImpl, say: (message: Record<string, unknown>) => void, nextLine: Promise<unknown>): Promise<void> {
  // No lanes (docs/s3-layout.md LN1-LN9): the test orders shared writes by the main-log slot that
  // carried each, which a write in a lane has not; lanes are proven by test/fs/lanes.test.ts and
  // the simulation's lane runs.
  const fs = await manager.mount({ name: job.name, exclusive: false, headDelayMs: 60_000, lanes: false });
  const random = seededRandom(job.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const report: WriterReport = {
    name: job.name,
    own: {},
    shared: [],
    appended: [],
    pooled: [],
    taken: [],
    takeMisses: 0,
    claimsWon: [],
    claimsLost: 0,
    increments: {},
    incrementRuns: 0,
    pairs: 0,
    lastPair: undefined,
    eagain: [],
    failures: [],
    stats: { commits: 0, puts: 0, gets: 0, seq: 0 },
  };
  /** Runs one operation; EAGAIN (and the refusals `expected` names) mean "not acknowledged", anything else is a failure. */
  const attempt = async (label: string, operation: () => Promise<void>, expected: Record<string, () => void> = {}): Promise<void> => {
    try {
      await operation();
    } catch (error) {
      const code = codeOf(error);
      if (code === "EAGAIN") report.eagain.push(label);
      else if (expected[code] !== undefined) expected[code]();
      else report.failures.push(`${label}: ${code}: ${(error as Error).message}`);
    }
  };
  const claimNames = Math.max(4, Math.ceil(job.ops / 6));
  const laneA = async () => {
    for (let op = 0; op < job.ops; op++) {
      const token = `${job.name}:${op}`;
      const roll = random();
      if (roll < 0.18) {
        const path = `/own/${job.name}/f${Math.floor(random() * ownFiles)}`;
        await attempt(`write ${path}`, async () => {
          await fs.writeFile(path, token);
          report.own[path] = token;
        });
      } else if (roll < 0.32) {
        const path = pick(sharedPaths);
        await attempt(`write ${path}`, async () => {
          await fs.writeFile(path, token);
          report.shared.push({ path, value: token, seq: fs.stats().seq });
        });
      } else if (roll < 0.42) {
        const item = `${job.name}-${op}`;
        await attempt(`pool ${item}`, async () => {
          await fs.writeFile(`/pool/${item}`, `item ${item}`);
          report.pooled.push(item);
        });
      } else if (roll < 0.54) {
        const items = (await fs.readdir("/pool")).sort();
        if (items.length === 0) continue;
        const item = pick(items);
        const to = `/taken/${item}@${job.name}`;
        await attempt(`take ${item}`, async () => {
          await fs.rename(`/pool/${item}`, to);
          report.taken.push({ item, to });
        }, { ENOENT: () => report.takeMisses++ });
      } else if (roll < 0.66) {
        const path = `/claims/c${Math.floor(random() * claimNames)}`;
        await attempt(`claim ${path}`, async () => {
          await fs.writeFile(path, token, { flag: "wx" });
          report.claimsWon.push({ path, value: token });
        }, { EEXIST: () => report.claimsLost++ });
      } else if (roll < 0.86) {
        const path = pick(counterPaths);
        await attempt(`increment ${path}`, async () => {
          await fs.transaction(async (tx) => {
            report.incrementRuns++;
            const value = Number(await tx.readText(path));
            await tx.writeFile(path, String(value + 1));
          });
          report.increments[path] = (report.increments[path] ?? 0) + 1;
        });
      } else if (roll < 0.94) {
        await attempt(`pair ${token}`, async () => {
          await fs.transaction(async (tx) => {
            await tx.writeFile(`/pairs/${job.name}/a`, token);
            await tx.writeFile(`/pairs/${job.name}/b`, token);
          });
          report.pairs++;
          report.lastPair = token;
        });
      } else {
        await attempt(`shared pair ${token}`, async () => {
          await fs.transaction(async (tx) => {
            await tx.writeFile("/pairs/shared/a", token);
            await tx.writeFile("/pairs/shared/b", token);
          });
          const seq = fs.stats().seq;
          report.shared.push({ path: "/pairs/shared/a", value: token, seq }, { path: "/pairs/shared/b", value: token, seq });
        });
      }
    }
  };
  const laneB = async () => {
    for (let line = 0; line < Math.ceil(job.ops / 3); line++) {
      const payload = `${job.name}-${String(line).padStart(3, "0")}`;
      await attempt(`append ${payload}`, async () => {
        await fs.appendFile("/appends.log", `${payload}\n`);
        report.appended.push(payload);
      });
    }
  };
  await Promise.all([laneA(), laneB()]);
  const stats = fs.stats();
  report.stats = { commits: stats.commits?.commits ?? 0, puts: stats.requests.put.requests, gets: stats.requests.get.requests, seq: stats.seq };
  say({ done: report });
  await nextLine;
  await fs.refresh();
  say({ view: await describeTree(fs) });
  await fs.close();
}

async function runReader(job: Job, manager: S3CachedFsManagerImpl, say: (message: Record<string, unknown>) => void, nextLine: Promise<unknown>): Promise<void> {
  const fs = await manager.mount({ name: job.name, mode: "readonly" });
  let stop = false;
  void nextLine.then(() => (stop = true));
  const result: ReaderReport = { checks: 0, moves: 0, violations: [] };
  const pairOrder = new Map<string, number>();
  const counters = new Map<string, number>();
  let appends = "";
  while (!stop) {
    const { seq, changed } = await fs.refresh();
    if (changed) result.moves++;
    const violation = (what: string) => result.violations.push(`at seq ${seq}: ${what}`);
    for (const owner of await fs.readdir("/pairs")) {
      if (!(await fs.exists(`/pairs/${owner}/a`))) continue;
      const [a, b] = [await fs.readText(`/pairs/${owner}/a`), await fs.readText(`/pairs/${owner}/b`).catch((error) => codeOf(error))];
      if (a !== b) violation(`/pairs/${owner} holds half a commit: a=${a} b=${b}`);
      if (owner !== "shared") {
        const op = Number(a.split(":")[1]);
        if (op < (pairOrder.get(owner) ?? -1)) violation(`/pairs/${owner} went back to ${a}`);
        pairOrder.set(owner, op);
      }
    }
    for (const path of counterPaths) {
      const value = Number(await fs.readText(path));
      if (value < (counters.get(path) ?? 0)) violation(`${path} went back from ${counters.get(path)} to ${value}`);
      counters.set(path, value);
    }
    if (await fs.exists("/appends.log")) {
      const now = await fs.readText("/appends.log");
      if (!now.startsWith(appends)) violation(`/appends.log changed before its end (${appends.length} bytes seen, now ${now.length})`);
      appends = now;
    }
    result.checks++;
    await Bun.sleep(10);
  }
  await fs.close();
  say({ reader: result });
}

/** Mastra's pattern: a new AcceleratedFS in every beforeEach, never destroyed; the process exits with all of them open. */
async function runMastra(job: Job, say: (message: Record<string, unknown>) => void, nextLine: Promise<unknown>): Promise<void> {
  const storage =
    "local" in job.store
      ? storageOptions((job.store as { local: string }).local, undefined, "workspace")
      : storageOptions("", (job.store as { s3: { bucket: string } }).s3.bucket, (job.store as { s3: { prefix: string } }).s3.prefix);
  const report: MastraReport = { files: {}, appended: [], claimsWon: [], claimsLost: 0, eagain: [], failures: [] };
  const instances: AcceleratedFS[] = [];
  const check = (what: string, actual: unknown, expected: unknown) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  };
  for (let test = 0; test < job.ops; test++) {
    // beforeEach: a new filesystem object on the same prefix; the previous ones are never destroyed.
    const fs = new AcceleratedFS({ id: `${job.name}-test-${test}`, cacheRoot: job.cacheRoot, exclusive: false, headDelayMs: 60_000, ...storage });
    instances.push(fs);
    const dir = `${job.name}/t${test}`;
    try {
      await callLifecycle(fs, "init");
      await fs.writeFile(`${dir}/a.txt`, `first ${dir}`);
      check("read back", await fs.readFile(`${dir}/a.txt`, { encoding: "utf-8" }), `first ${dir}`);
      const { modifiedAt } = await fs.stat(`${dir}/a.txt`);
      await fs.writeFile(`${dir}/a.txt`, `second ${dir}`, { expectedMtime: modifiedAt });
      await fs.moveFile(`${dir}/a.txt`, `${dir}/moved.txt`);
      check("moved away", await fs.exists(`${dir}/a.txt`), false);
      check("listing", (await fs.readdir(dir)).map((entry) => entry.name), ["moved.txt"]);
      // The first instance, never destroyed, shares the mount and sees this test's writes.
      check("seen by the first instance", await instances[0]!.readFile(`${dir}/moved.txt`, { encoding: "utf-8" }), `second ${dir}`);
      report.files[`/${dir}/moved.txt`] = `second ${dir}`;
      const line = `${job.name}-${test}`;
      try {
        await fs.appendFile("shared/log.txt", `${line}\n`);
        report.appended.push(line);
      } catch (error) {
        if (codeOf(error) !== "EAGAIN") throw error;
        report.eagain.push(`append ${line}`);
      }
      const claim = `claims/c${test}`;
      try {
        await fs.writeFile(claim, job.name, { overwrite: false });
        report.claimsWon.push({ path: `/${claim}`, value: job.name });
      } catch (error) {
        if (error instanceof FileExistsError) report.claimsLost++;
        else if (codeOf(error) === "EAGAIN") report.eagain.push(`claim ${claim}`);
        else throw error;
      }
    } catch (error) {
      report.failures.push(`test ${test}: ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`);
    }
  }
  say({ mastra: report });
  await nextLine;
}
