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
// argv[2] is JSON: { role: "writer" | "reader", store, cacheRoot, name, index, ops, seed }.

import { LocalObjectStore, S3CachedFsManagerImpl, S3ObjectStore, type ObjectStore, type S3CachedFs } from "../../src/core.ts";
import { s3StoreOptions } from "../support/s3-server.ts";

interface Job {
  role: "writer" | "reader";
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

export interface ReaderReport {
  checks: number;
  moves: number;
  violations: string[];
}

/** A small seeded generator (mulberry32), so a run can be repeated from its seed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
  const manager = new S3CachedFsManagerImpl({ cacheRoot: job.cacheRoot, storeFactory: makeStore });
  const say = (message: Record<string, unknown>) => console.log(JSON.stringify(message));
  const stdin = Bun.stdin.stream().getReader();
  const nextLine = stdin.read();
  if (job.role === "writer") await runWriter(job, manager, say, nextLine);
  else await runReader(job, manager, say, nextLine);
  process.exit(0);
}

function codeOf(error: unknown): string {
  return String((error as { code?: unknown }).code ?? (error as Error).message);
}

async function runWriter(job: Job, manager: S3CachedFsManagerImpl, say: (message: Record<string, unknown>) => void, nextLine: Promise<unknown>): Promise<void> {
  const fs = await manager.mount({ name: job.name, exclusive: false, headDelayMs: 60_000 });
  const random = seeded(job.seed);
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
