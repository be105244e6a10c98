// Local-state campaign, part 1: every local file the library keeps is damaged, by kind, and the
// mount is compared with a model of what was written.
//
// Kinds: the index (index.sqlite), its -wal, its digest and its reserve, cache segments, the
// staging files (a write handle's file, a materialized copy), the lock (mount.lock.sqlite and its
// journal) and mount.holder. The index has no -shm file (SQLite keeps its map of the -wal in the
// mount's memory): every trial on an open mount checks that none exists. Damage: one bit flipped,
// several bits flipped, truncation, zeroing, deletion, and swapping two files of the same kind
// (two cache segments, the index and its -wal, or this mount's file with another mount's on the
// same cache root: index, -wal, digest, reserve, lock, holder). Phases: at rest after a clean
// close (damage, mount, check, close, remount, check), at rest after a crash (the files as a
// writer left them while mounted, -wal and staging files included: damage, mount, check, ...),
// between operations (the mount open: damage, the next operations, check, close, remount,
// check), and between a reader's operations (a writer elsewhere publishes, the reader's files are
// damaged, then its refresh and reads, check, close, remount, check).
//
// Expected: zero wrong bytes, zero silently missing or extra entries; an error, if any, is an
// FsError saying which local state was damaged, without a host path, and never the index for
// damage elsewhere (a healthy index answering EIO is a failure too); every call settles; the
// remount afterwards is always wholly right. Trials are counted per file kind and outcome.
//
// LOCAL_STATE_TRIALS trials (default: every combination of phase, kind and damage once, 156) from
// LOCAL_STATE_SEED (default 15); LOCAL_STATE_ONLY ("open index,reader index-wal") keeps only those.
import { afterAll, expect, test } from "bun:test";
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { mountDirectoryName } from "../../src/mount.ts";
import { FsError } from "../../src/base/errors.ts";
import type { S3CachedFs, WriteHandle } from "../../src/core.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { testWorkspace } from "../support/mounts.ts";
import { check, layout, pick, populate, random, randomBytes, saysWhatWasDamaged, settles, type Model } from "./model.ts";

afterAll(removeTempDirectories);

const seed = Number(process.env.LOCAL_STATE_SEED ?? 15);

type Kind = "index" | "index-wal" | "digest" | "reserve" | "segment" | "staging" | "lock" | "holder";
type Damage = "flip" | "flips" | "truncate" | "zero" | "delete" | "swap";
type Phase = "rest" | "crashed" | "open" | "reader";

/** The kinds of file each phase finds (a clean close leaves no -wal, staging file or holder; an open mount's digest is used up). */
const kindsAt: Record<Phase, Kind[]> = {
  rest: ["index", "digest", "reserve", "segment", "lock"],
  crashed: ["index", "index-wal", "reserve", "segment", "staging", "lock", "holder"],
  open: ["index", "index-wal", "reserve", "segment", "staging", "lock", "holder"],
  reader: ["index", "index-wal", "reserve", "segment", "staging", "lock", "holder"],
};
/** The kinds whose damage can reach the index (the digest only decides whether it is checked whole at open). */
const reachesIndex = new Set<Kind>(["index", "index-wal"]);
const damages: Damage[] = ["flip", "flips", "truncate", "zero", "delete", "swap"];
const combinations: [Phase, Kind, Damage][] = [];
/** LOCAL_STATE_ONLY, say "open index,crashed index-wal", keeps those phases and kinds alone (a longer run on one). */
const only = process.env.LOCAL_STATE_ONLY?.split(",").map((entry) => entry.trim());
for (const phase of ["rest", "crashed", "open", "reader"] as Phase[])
  for (const kind of kindsAt[phase]) for (const damage of damages) if (only === undefined || only.includes(`${phase} ${kind}`)) combinations.push([phase, kind, damage]);
const trials = Number(process.env.LOCAL_STATE_TRIALS ?? combinations.length);

function kindOf(file: string): Kind | undefined {
  if (file.startsWith("cache/")) return "segment";
  if (file.startsWith("staging/")) return "staging";
  const table: Record<string, Kind> = {
    "index.sqlite": "index",
    "index.sqlite-wal": "index-wal",
    "index.sqlite.digest": "digest",
    "index.sqlite.reserve": "reserve",
    "mount.lock.sqlite": "lock",
    "mount.lock.sqlite-journal": "lock",
    "mount.holder": "holder",
  };
  return table[file];
}

function filesOf(directory: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) found.push(child);
    }
  };
  if (existsSync(directory)) walk(directory);
  return found.sort();
}

/** Applies `damage` to one file of `kind` in `directory` (a partner for a swap from `others`); returns what was done, or undefined when there is no such file. */
function inflict(next: () => number, directory: string, kind: Kind, damage: Damage, others: string[]): string | undefined {
  const files = filesOf(directory).filter((file) => kindOf(relative(directory, file)) === kind);
  if (files.length === 0) return undefined;
  const file = pick(next, files);
  const name = relative(directory, file);
  const size = statSync(file).size;
  switch (damage) {
    case "flip":
    case "flips": {
      if (size === 0) return `${name}: empty, nothing to flip`;
      const bytes = new Uint8Array(readFileSync(file));
      const count = damage === "flip" ? 1 : 2 + Math.floor(next() * 15);
      for (let flip = 0; flip < count; flip++) {
        const offset = Math.floor(next() * size);
        bytes[offset] = bytes[offset]! ^ (1 << Math.floor(next() * 8));
      }
      writeFileSync(file, bytes);
      return `${name}: ${count} bit${count === 1 ? "" : "s"} flipped`;
    }
    case "truncate": {
      const length = Math.floor(next() * size);
      truncateSync(file, length);
      return `${name}: truncated from ${size} to ${length}`;
    }
    case "zero":
      writeFileSync(file, new Uint8Array(size));
      return `${name}: ${size} bytes zeroed`;
    case "delete":
      rmSync(file);
      return `${name}: deleted`;
    case "swap": {
      const partners =
        kind === "index" && existsSync(join(directory, "index.sqlite-wal"))
          ? [join(directory, "index.sqlite-wal")]
          : [...files.filter((other) => other !== file), ...others.filter((other) => kindOf(otherName(other)) === kind)];
      if (partners.length === 0) return `${name}: no partner to swap with`;
      const partner = pick(next, partners);
      const swap = (a: string, b: string) => {
        const aside = `${a}.swapping`;
        renameSync(a, aside);
        renameSync(b, a);
        renameSync(aside, b);
      };
      swap(file, partner);
      // The index swapped with another mount's takes its digest along: it looks closed cleanly.
      if (kind === "index" && partner.endsWith("/index.sqlite") && existsSync(`${file}.digest`) && existsSync(`${partner}.digest`)) swap(`${file}.digest`, `${partner}.digest`);
      return `${name}: swapped with ${partner.includes(mountDirectoryName("other")) ? "the other mount's " : ""}${relative(directory, partner).replace(/^\.\.\/[^/]+\//, "")}`;
    }
  }
}

/** A file's name inside its mount directory. */
function otherName(file: string): string {
  const marker = `${mountDirectoryName("other")}/`;
  return file.slice(file.indexOf(marker) + marker.length);
}

test(`local-state damage campaign: every local file, by kind, damaged at rest and between operations (${trials} trials, seed ${seed})`, async () => {
  const started = performance.now();
  const workspace = await testWorkspace("local", "local-state-damage");
  const otherWorkspace = await testWorkspace("local", "local-state-damage-other");
  const next = random(seed);
  const cacheRoot = workspace.cacheRoot;
  const directory = join(cacheRoot, mountDirectoryName("test"));
  const otherDirectory = join(cacheRoot, mountDirectoryName("other"));
  const hostRoots = [cacheRoot];
  const mount = (mode: "readonly" | "readwrite") => workspace.mount({ layout, mode, snapshotEveryCommits: 25 });

  // The filesystem under test, and another filesystem mounted on the same cache root (whose files a swap may bring in).
  const writer = await mount("readwrite");
  const model: Model = await populate(writer, next);
  await writer.mkdir("/new");
  model.set("/new", { kind: "directory" });
  for (const [path, entry] of model) if (entry.kind === "file") await writer.readFile(path); // the cache holds every chunk
  await writer.close();
  const other = await otherWorkspace.manager({ cacheRoot }).mount({ name: "other", layout, headDelayMs: 60_000, leaseTtlMs: 5_000 });
  await populate(other, random(seed + 1), 12);
  // The other mount's -wal and holder, as it left them while open, join its closed files: partners for a swap.
  const otherOpen = tempDirectory("local-state-other-open");
  for (const name of ["index.sqlite-wal", "mount.holder"]) cpSync(join(otherDirectory, name), join(otherOpen, name));
  await other.close();
  for (const name of ["index.sqlite-wal", "mount.holder"]) cpSync(join(otherOpen, name), join(otherDirectory, name));
  const pristine = tempDirectory("local-state-pristine");
  cpSync(cacheRoot, pristine, { recursive: true });

  // The files as a crash leaves them: copied while a writer is mounted, with writes in its -wal,
  // a write handle's file and a materialized copy in staging, and the lock and holder it holds.
  const crashing = await mount("readwrite");
  for (let index = 0; index < 3; index++) {
    const path = `/new/crash-${index}.bin`;
    const bytes = randomBytes(next, [10, 700, 3000][index]!);
    await crashing.writeFile(path, bytes);
    model.set(path, { kind: "file", bytes });
  }
  const crashHandle = await crashing.openWrite("/new/crash-handle.bin");
  writeFileSync(crashHandle.path, randomBytes(next, 1500));
  const crashCopy = await crashing.materialize("/a/file-001.bin");
  const crashed = tempDirectory("local-state-crashed");
  cpSync(cacheRoot, crashed, { recursive: true });
  await crashCopy.release();
  await crashHandle.abort();
  await crashing.close();
  for (const name of ["index.sqlite-wal", "staging", "mount.holder"]) expect(existsSync(join(crashed, mountDirectoryName("test"), name))).toBe(true);

  const restore = (image: string) => {
    rmSync(cacheRoot, { recursive: true, force: true });
    cpSync(image, cacheRoot, { recursive: true });
  };
  const othersFiles = () => filesOf(otherDirectory);
  const publisherRoot = workspace.freshCacheRoot();

  const unhandled: string[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(String(reason));
  process.on("unhandledRejection", onUnhandled);

  const counts = new Map<string, { trials: number; clean: number; rebuilt: number; reported: number; foundAfterRemount: number; nothingToDamage: number }>();
  const violations: string[] = [];
  /** The open index keeps SQLite's map of its -wal in memory: a -shm file beside it is a violation. */
  const noShm = (label: string) => {
    if (existsSync(join(directory, "index.sqlite-shm"))) violations.push(`${label}: a -shm file exists beside the open index`);
  };
  const reportedSamples = new Set<string>();
  let written = 0;

  try {
    for (let trial = 0; trial < trials; trial++) {
      const [phase, kind, damage] = combinations[trial % combinations.length]!;
      const key = `${phase} ${kind}`;
      const count = counts.get(key) ?? { trials: 0, clean: 0, rebuilt: 0, reported: 0, foundAfterRemount: 0, nothingToDamage: 0 };
      counts.set(key, count);
      count.trials++;
      const label = `trial ${trial} (seed ${seed}, ${phase}, ${kind}, ${damage})`;
      if (process.env.LOCAL_STATE_VERBOSE) console.log(label);
      restore(phase === "crashed" ? crashed : pristine);
      // Every path of the tree and this trial's are read one by one; of the files written by earlier trials, a sample.
      const reads = (path: string) => !path.startsWith("/new/") || path.includes(`-${trial}`) || next() < 0.1;
      /** Paths whose write failed after the damage: published or not, but if published, whole. */
      const uncertain = new Map<string, Uint8Array>();
      let reported = 0;
      // An error is an acceptable report only if it names local state, and the index only where the
      // damage could reach it: a healthy index answering EIO is a bug this campaign must catch too.
      const reportsThisDamage = (error: unknown) => saysWhatWasDamaged(error, hostRoots) && (reachesIndex.has(kind) || !/local index/.test(String(error)));
      const judge = (what: string, error: unknown) => {
        if (reportsThisDamage(error)) {
          reported++;
          reportedSamples.add(String(error).replace(/'[^']*'/g, "'…'").replace(/\d+/g, "N"));
        } else violations.push(`${label}: ${what}: ${error instanceof FsError ? "" : "not an FsError: "}${String(error)}`);
      };
      let what: string | undefined;
      let fs: S3CachedFs | undefined;
      /** Mounts the undamaged state and reads a few files; undefined (and a violation) if it cannot mount. */
      const warm = async (mode: "readonly" | "readwrite"): Promise<{ fs: S3CachedFs; files: string[] } | undefined> => {
        const mounted = await settles(mount(mode), `${label}: mount`);
        if (mounted.status === "rejected") {
          violations.push(`${label}: the undamaged mount failed: ${String(mounted.reason)}`);
          return undefined;
        }
        const files = [...model].filter(([, entry]) => entry.kind === "file").map(([path]) => path);
        for (let read = 0; read < 3; read++) await mounted.value.readFile(pick(next, files));
        return { fs: mounted.value, files };
      };
      const indexBefore = existsSync(join(directory, "index.sqlite")) ? readFileSync(join(directory, "index.sqlite")) : undefined;

      if (phase === "rest" || phase === "crashed") {
        what = inflict(next, directory, kind, damage, othersFiles());
        const mode = trial % 2 === 0 ? "readonly" : "readwrite";
        const mounted = await settles(mount(mode), `${label}: mount`);
        if (mounted.status === "rejected") judge("mount", mounted.reason);
        else fs = mounted.value;
        if (fs !== undefined && mode === "readwrite") {
          const path = `/new/rest-${trial}.bin`;
          const bytes = randomBytes(next, pick(next, [10, 700, 3000]));
          const outcome = await settles(fs.writeFile(path, bytes), `${label}: writeFile`);
          if (outcome.status === "fulfilled") model.set(path, { kind: "file", bytes }), written++;
          else judge("writeFile", outcome.reason), uncertain.set(path, bytes);
        }
      } else if (phase === "reader") {
        const warmed = await warm("readonly");
        if (warmed === undefined) continue;
        fs = warmed.fs;
        const files = warmed.files;
        const materialized = await fs.materialize(pick(next, files));
        // A writer elsewhere publishes; the damage comes before the reader's refresh takes it in.
        const publisher = await workspace.mount({ layout }, { cacheRoot: publisherRoot });
        for (let index = 0; index < 2; index++) {
          const path = `/new/reader-${trial}-${index}.bin`;
          const bytes = randomBytes(next, pick(next, [10, 700, 3000]));
          await publisher.writeFile(path, bytes);
          model.set(path, { kind: "file", bytes });
          written++;
        }
        await publisher.close();
        noShm(label);
        what = inflict(next, directory, kind, damage, othersFiles());
        const refreshed = await settles(fs.refresh(), `${label}: refresh`);
        if (refreshed.status === "rejected") judge("refresh", refreshed.reason);
        for (const path of [`/new/reader-${trial}-1.bin`, pick(next, files)]) {
          const outcome = await settles(fs.readFile(path), `${label}: readFile`);
          if (outcome.status === "rejected") judge(`readFile ${path}`, outcome.reason);
          else if (Buffer.compare(outcome.value, Buffer.from((model.get(path) as { bytes: Uint8Array }).bytes)) !== 0) violations.push(`${label}: readFile ${path}: wrong bytes`);
        }
        await settles(materialized.release(), `${label}: release`);
      } else {
        // Warm: read some files, open a write handle and materialize a file, so every kind of file exists.
        const warmed = await warm("readwrite");
        if (warmed === undefined) continue;
        fs = warmed.fs;
        const files = warmed.files;
        const handlePath = `/new/handle-${trial}.bin`;
        const handle: WriteHandle = await fs.openWrite(handlePath);
        writeFileSync(handle.path, randomBytes(next, 1500));
        const materialized = await fs.materialize(pick(next, files));
        await fs.writeFile(`/new/open-${trial}-a.bin`, "before the damage");
        model.set(`/new/open-${trial}-a.bin`, { kind: "file", bytes: new TextEncoder().encode("before the damage") });
        written++;

        noShm(label);
        what = inflict(next, directory, kind, damage, othersFiles());

        // The next operations: reads, a write, the handle's commit, a listing.
        for (let step = 0; step < 4; step++) {
          const op = pick(next, ["read", "write", "readdir", "stat"]);
          if (op === "read") {
            const path = pick(next, files);
            const outcome = await settles(fs.readFile(path), `${label}: readFile`);
            if (outcome.status === "rejected") judge(`readFile ${path}`, outcome.reason);
            else if (Buffer.compare(outcome.value, Buffer.from((model.get(path) as { bytes: Uint8Array }).bytes)) !== 0) violations.push(`${label}: readFile ${path}: wrong bytes`);
          } else if (op === "write") {
            const path = `/new/open-${trial}-${step}.bin`;
            const bytes = randomBytes(next, pick(next, [10, 700, 3000]));
            const outcome = await settles(fs.writeFile(path, bytes), `${label}: writeFile`);
            if (outcome.status === "fulfilled") model.set(path, { kind: "file", bytes }), written++;
            else judge(`writeFile ${path}`, outcome.reason), uncertain.set(path, bytes);
          } else if (op === "readdir") {
            const outcome = await settles(fs.readdir("/a"), `${label}: readdir`);
            if (outcome.status === "rejected") judge("readdir /a", outcome.reason);
            else if (JSON.stringify([...outcome.value].sort()) !== JSON.stringify([...model.keys()].filter((path) => /^\/a\/[^/]+$/.test(path)).map((path) => path.slice(3)).sort()))
              violations.push(`${label}: readdir /a: [${outcome.value.join(", ")}]`);
          } else {
            const path = pick(next, files);
            const outcome = await settles(fs.stat(path), `${label}: stat`);
            if (outcome.status === "rejected") judge(`stat ${path}`, outcome.reason);
            else if (outcome.value.size !== (model.get(path) as { bytes: Uint8Array }).bytes.byteLength) violations.push(`${label}: stat ${path}: size ${outcome.value.size}`);
          }
        }
        // The write handle's file is the caller's: what it holds at close is what close() publishes.
        const handleBytes = existsSync(handle.path) ? new Uint8Array(readFileSync(handle.path)) : undefined;
        const closed = await settles(handle.close(), `${label}: handle close`);
        if (closed.status === "fulfilled") {
          if (handleBytes === undefined) violations.push(`${label}: a write handle whose file was deleted closed without an error`);
          else model.set(handlePath, { kind: "file", bytes: handleBytes }), written++;
        } else {
          if (!(closed.reason instanceof FsError)) violations.push(`${label}: handle close: not an FsError: ${String(closed.reason)}`);
          if (handleBytes !== undefined) uncertain.set(handlePath, handleBytes);
          await settles(handle.abort(), `${label}: handle abort`);
        }
        await settles(materialized.release(), `${label}: release`);
      }

      if (process.env.LOCAL_STATE_VERBOSE) console.log(`  ${what ?? "no such file"}`);
      if (what === undefined || /no partner|nothing to flip/.test(what)) count.nothingToDamage++;
      if (fs !== undefined) {
        const outcome = await check(fs, model, hostRoots, new Set(uncertain.keys()), reads, reportsThisDamage);
        violations.push(...outcome.wrong.map((wrong) => `${label} [${what}]: ${wrong}`));
        violations.push(...outcome.misreported.map((message) => `${label} [${what}]: ${message}`));
        reported += outcome.reported.length;
        for (const message of outcome.reported) reportedSamples.add(message.replace(/^[^:]*: /, "").replace(/'[^']*'/g, "'…'").replace(/\d+/g, "N"));
        const closed = await settles(fs.close(), `${label}: close`);
        if (closed.status === "rejected") judge("close", closed.reason);
      }
      const indexAfter = existsSync(join(directory, "index.sqlite")) ? readFileSync(join(directory, "index.sqlite")) : undefined;
      if (phase === "rest" && indexBefore !== undefined && indexAfter !== undefined && what !== undefined && kind === "index" && Buffer.compare(indexAfter, indexBefore) !== 0) count.rebuilt++;

      // The remount is always wholly right (a path whose write failed is absent, or there whole).
      const again = await settles(mount("readwrite"), `${label}: remount`);
      if (again.status === "rejected") {
        violations.push(`${label} [${what}]: remount failed: ${String(again.reason)}`);
        continue;
      }
      for (const [path, bytes] of uncertain) {
        const outcome = await settles(again.value.readFile(path), `${label}: readFile ${path} after remount`);
        if (outcome.status === "rejected" && (outcome.reason as FsError).code === "ENOENT") continue;
        if (outcome.status === "fulfilled" && Buffer.compare(outcome.value, Buffer.from(bytes)) === 0) model.set(path, { kind: "file", bytes });
        else violations.push(`${label} [${what}]: ${path}, whose write failed, reads back as ${outcome.status === "fulfilled" ? `${outcome.value.byteLength} other bytes` : String(outcome.reason)}`);
      }
      const after = await check(again.value, model, hostRoots, new Set(), reads, reportsThisDamage);
      violations.push(...[...after.wrong, ...after.misreported].map((problem) => `${label} [${what}]: after remount: ${problem}`));
      await settles(again.value.close(), `${label}: remount close`);
      if (after.reported.length > 0 && after.wrong.length + after.misreported.length === 0) {
        // Damage written into the index by its own mount before a clean close (a flipped -wal frame
        // is checkpointed) is trusted by the digest, and found only when its row is read: EIO naming
        // the local index, and the next mount rebuilds it.
        count.foundAfterRemount++;
        const third = await settles(mount("readwrite"), `${label}: second remount`);
        if (third.status === "rejected") violations.push(`${label} [${what}]: second remount failed: ${String(third.reason)}`);
        else {
          const last = await check(third.value, model, hostRoots, new Set(), reads);
          violations.push(...[...last.wrong, ...last.reported, ...last.misreported].map((problem) => `${label} [${what}]: after a second remount: ${problem}`));
          await settles(third.value.close(), `${label}: second remount close`);
        }
      }
      if (reported > 0) count.reported++;
      else count.clean++;
      if (violations.length > 20) break;
    }
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  const seconds = (performance.now() - started) / 1000;
  const table = [...counts].map(([key, value]) => `  ${key}: ${value.trials} trials, ${value.clean} answered right without an error, ${value.reported} with an error naming the damage${value.rebuilt ? `, index rebuilt ${value.rebuilt}` : ""}${value.foundAfterRemount ? `, ${value.foundAfterRemount} found on reading after the remount (rebuilt by the next)` : ""}${value.nothingToDamage ? `, ${value.nothingToDamage} with no such file (or no partner, or empty)` : ""}`);
  console.log(`local-state damage: ${trials} trials (seed ${seed}), ${written} files written between damage, ${violations.length} violations, ${unhandled.length} unhandled rejections, ${seconds.toFixed(1)} s\n${table.join("\n")}`);
  if (reportedSamples.size > 0) console.log(`errors reported:\n  ${[...reportedSamples].slice(0, 12).join("\n  ")}`);
  expect(violations.slice(0, 20)).toEqual([]);
  expect(unhandled).toEqual([]);
}, 600_000);
