// Hard links in the core beyond what the filesystem suite checks against node:fs: the same state
// replayed from the log and loaded from a snapshot (format 2, and format 1 while there are none),
// garbage collection and compaction of bytes only a later name holds, forks, time travel,
// transactions, and the facade's errors for names ending in "/".
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { S3CachedFs } from "../../src/core.ts";
import { Namespace } from "../../src/namespace/namespace.ts";
import { OpApplier } from "../../src/namespace/apply-ops.ts";
import { decodeSnapshot, encodeSnapshot, loadSnapshot } from "../../src/namespace/snapshot.ts";
import { hashBytes, type Op } from "../../src/log/ops.ts";
import { snapshotKey, walKey } from "../../src/log/keys.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { bytes, keys, sleep, testBucket, type Backend } from "../maintenance/buckets.ts";

afterAll(removeTempDirectories);

const KiB = 1024;
const layout = { blockBytes: 16 * KiB, chunkBytes: 64 * KiB, largeFileBytes: 64 * KiB, inlineRecordBytes: 1 * KiB, packBytes: 32 * KiB };

/**
 * Everything a mount shows of its tree: each entry's kind, size, mode, times, link count and
 * content, and which entries share an inode (named by the first path of each inode, since inode
 * numbers are the index's own and differ between mounts).
 */
async function state(fs: S3CachedFs): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  const firstOfInode = new Map<number, string>();
  for (const entry of await fs.walk("/")) {
    const path = `/${entry.path}`;
    const { mode, size, mtimeMs, ctimeMs, atimeMs, birthtimeMs, nlink, ino } = entry.stats;
    if (!firstOfInode.has(ino)) firstOfInode.set(ino, path);
    result[path] = {
      mode,
      size,
      mtimeMs,
      ctimeMs,
      atimeMs,
      birthtimeMs,
      nlink,
      inode: firstOfInode.get(ino),
      content: entry.stats.isFile() ? await fs.readText(path) : entry.stats.isSymbolicLink() ? await fs.readlink(path) : null,
    };
  }
  return result;
}

/** A tree with every kind of hard link history: linked files, a linked symbolic link, names removed, renamed, and a directory removed with a name in it. */
async function linkedTree(fs: S3CachedFs): Promise<void> {
  await fs.writeFile("/a", "first");
  await fs.writeFile("/large.bin", bytes(100 * KiB, 1));
  await fs.mkdir("/d");
  await fs.link("/a", "/d/b");
  await fs.link("/a", "/c");
  await fs.link("/large.bin", "/d/large-again.bin");
  await fs.appendFile("/d/b", " and more");
  await fs.chmod("/c", 0o600);
  await fs.rm("/a"); // the first name goes: the others keep the inode and its bytes
  await fs.rename("/c", "/renamed");
  await fs.symlink("renamed", "/s");
  await fs.link("/s", "/s2");
  await fs.mkdir("/gone");
  await fs.link("/renamed", "/gone/name");
  await fs.rm("/gone", { recursive: true });
  await fs.writeFile("/after", "a new file after the first name went");
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`hard links (${backend})`, () => {
    test("replaying the log and loading a snapshot give the writer's state, names sharing an inode included", async () => {
      const bucket = await testBucket(backend, `links-replay-${backend}`);
      const fs = await bucket.mount("main", { layout, snapshotEveryCommits: 1_000 });
      await linkedTree(fs);
      const expected = await state(fs);
      expect(expected["/renamed"]).toMatchObject({ nlink: 2, inode: "/d/b", content: "first and more", mode: 0o100600 });
      expect(expected["/d/large-again.bin"]).toMatchObject({ nlink: 2, inode: "/d/large-again.bin" });
      expect(expected["/s2"]).toMatchObject({ nlink: 2, inode: "/s", content: "renamed" });

      // From a snapshot: format 2, since it holds hard links.
      const seq = await fs.snapshot();
      const document = decodeSnapshot(snapshotKey(seq), (await bucket.store("main").get(snapshotKey(seq))).body);
      expect(document.format).toBe(2);
      const fromSnapshot = await bucket.mount("main", { mode: "readonly", layout }, { cacheRoot: bucket.freshCacheRoot() });
      expect(await state(fromSnapshot)).toEqual(expected);
      await fromSnapshot.close();

      // From the log alone: no snapshot, no head.
      const raw = bucket.store("main");
      for (const key of await keys(raw, "snapshots/")) await raw.delete(key);
      await raw.delete("heads/main.json");
      const fromLog = await bucket.mount("main", { mode: "readonly", layout }, { cacheRoot: bucket.freshCacheRoot() });
      expect(await state(fromLog)).toEqual(expected);
      await fromLog.close();
      await fs.close();
    }, 120_000);

    test("garbage collection keeps the bytes only a later name holds; fsck finds the filesystem sound", async () => {
      const bucket = await testBucket(backend, `links-gc-${backend}`);
      const fs = await bucket.mount("main", { layout, snapshotEveryCommits: 1_000 });
      await fs.writeFile("/a.bin", bytes(100 * KiB, 3)); // chunks of its own
      await fs.writeFile("/small", "inline bytes");
      await fs.link("/a.bin", "/b.bin");
      await fs.link("/small", "/small-too");
      await fs.rm("/a.bin");
      await fs.rm("/small");
      await fs.snapshot();
      await sleep(20);
      await fs.collectGarbage({ retentionMs: 0, graceMs: 0 });
      const cold = await bucket.mount("main", { mode: "readonly", layout }, { cacheRoot: bucket.freshCacheRoot() });
      expect(await cold.readFile("/b.bin")).toEqual(Buffer.from(bytes(100 * KiB, 3)));
      expect(await cold.readText("/small-too")).toBe("inline bytes");
      expect((await cold.fsck()).sound).toBe(true);
      await cold.close();
      // The last name takes the bytes with it: the chunks go at the next collection (on the
      // local store, whose objects' times are exact; S3's are whole seconds).
      expect((await keys(bucket.store("main"), "chunks/")).length).toBeGreaterThan(0);
      await fs.rm("/b.bin");
      await fs.snapshot();
      await sleep(20);
      await fs.collectGarbage({ retentionMs: 0, graceMs: 0 });
      if (backend === "local") expect(await keys(bucket.store("main"), "chunks/")).toEqual([]);
      await fs.close();
    }, 120_000);

    test("a fork and a time-travel mount show the names as they were", async () => {
      const bucket = await testBucket(backend, `links-fork-${backend}`);
      const fs = await bucket.mount("ws/main", { layout });
      await fs.writeFile("/a", "shared");
      await fs.link("/a", "/b");
      const linkedSeq = fs.stats().seq;
      const linked = await state(fs);
      await fs.rm("/a");
      await fs.writeFile("/b", "changed after");
      const past = await bucket.mount("ws/main", { mode: "readonly", atSeq: linkedSeq, layout }, { cacheRoot: bucket.freshCacheRoot() });
      expect(await state(past)).toEqual(linked);
      await past.close();
      await fs.link("/b", "/b2");
      const fork = await fs.fork({ prefix: "ws/fork" });
      const forked = await bucket.mount("ws/fork", { layout }, { cacheRoot: bucket.freshCacheRoot() });
      expect(await state(forked)).toEqual(await state(fs));
      expect(await forked.readText("/b")).toBe("changed after");
      expect((await forked.stat("/b")).nlink).toBe(2);
      await forked.link("/b", "/c");
      expect((await forked.stat("/b2")).nlink).toBe(3);
      await forked.writeFile("/c", "in the fork");
      expect(await forked.readText("/b")).toBe("in the fork");
      expect(await fs.readText("/b")).toBe("changed after");
      expect((await fs.stat("/b")).nlink).toBe(2);
      expect(fork.seq).toBeGreaterThan(0);
      await forked.close();
      await fs.close();
    }, 120_000);
  });
}

describe("hard links (LocalObjectStore)", () => {
  test("tx.link in a transaction: one commit; reads in the body see both names share the file", async () => {
    const bucket = await testBucket("local", "links-tx");
    const fs = await bucket.mount("main");
    await fs.writeFile("/a", "one");
    const before = fs.stats().seq;
    await fs.transaction(async (tx) => {
      await tx.link("/a", "/b");
      await tx.appendFile("/b", " two");
      expect(await tx.readText("/a")).toBe("one two");
      expect((await tx.stat("/a")).nlink).toBe(2);
      await expectCode(tx.link("/a", "/b"), "EEXIST");
    });
    expect(fs.stats().seq).toBe(before + 1);
    expect(fs.stats().files).toEqual({ files: 2, directories: 1, symlinks: 0, bytes: 7 }); // one file's bytes, two names (and the root)
    expect((await fs.stat("/b")).ino).toBe((await fs.stat("/a")).ino);
    expect(await fs.readText("/a")).toBe("one two");
    // A transaction that throws leaves no link behind.
    await expect(
      fs.transaction(async (tx) => {
        await tx.link("/a", "/c");
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await fs.exists("/c")).toBe(false);
    expect((await fs.stat("/a")).nlink).toBe(2);
    await fs.close();
  });

  test("names ending in '/': ENOTDIR for a file source, ENOENT for a new name, EPERM for a directory (as link(2) on Linux); EROFS on a read-only mount", async () => {
    const bucket = await testBucket("local", "links-slash");
    const fs = await bucket.mount("main");
    await fs.writeFile("/f", "x");
    await fs.mkdir("/d");
    await expectCode(fs.link("/f/", "/y"), "ENOTDIR");
    await expectCode(fs.link("/f", "/y/"), "ENOENT");
    await expectCode(fs.link("/d/", "/z"), "EPERM");
    await expectCode(fs.link("/", "/root"), "EPERM");
    const error = await expectCode(fs.link("/f", "/f"), "EEXIST");
    expect(error.message).toBe("EEXIST: file already exists, link '/f' -> '/f'");
    expect([...(await fs.readdir("/"))].sort()).toEqual(["d", "f"]);
    await fs.close();
    const reader = await bucket.mount("main", { mode: "readonly" });
    await expectCode(reader.link("/f", "/g"), "EROFS");
    await reader.close();
  });

  test("relocate repoints the inode's extents once, for every name", () => {
    const namespace = new Namespace(join(tempDirectory("links-relocate"), "index.sqlite"));
    const applier = new OpApplier(namespace);
    const piece = bytes(100, 1);
    const extent = { object: "packs/1-1-0", offset: 40, length: 100, hash: hashBytes(piece) };
    namespace.beginBatch();
    applier.apply({ op: "write", path: "/a", mode: 0o640, extents: [extent], time: 1_000 }, walKey(1));
    applier.apply({ op: "link", from: "/a", to: "/b", time: 2_000 }, walKey(1));
    applier.apply({ op: "rm", path: "/a", recursive: false, force: false, time: 2_500 }, walKey(1));
    applier.apply({ op: "link", from: "/b", to: "/c", time: 2_600 }, walKey(1));
    expect(namespace.pending.allExtents()).toHaveLength(1); // held once, by the inode
    const before = ["/b", "/c"].map((path) => namespace.pending.resolve(path, true, "stat").node);
    applier.apply({ op: "relocate", moves: [{ ...extent, toObject: "packs/new", toOffset: 0 }], time: 3_000 }, walKey(2));
    for (const [index, path] of ["/b", "/c"].entries()) {
      const { node } = namespace.pending.resolve(path, true, "stat");
      expect(node).toEqual(before[index]!);
      expect(namespace.pending.extents(node.ino, node)).toEqual([{ position: 0, object: "packs/new", offset: 0, length: 100, hash: extent.hash }]);
    }
    expect(namespace.pending.allExtents()).toEqual([{ object: "packs/new", offset: 0, length: 100, hash: extent.hash }]);
    expect(namespace.pending.filesUsing("packs/new")).toEqual(["/b"]);
    namespace.commitBatch({});
    namespace.close();
  });

  test("snapshots: format 1 without hard links (older versions read it), format 2 with; a newer format and a link to no earlier name are refused", () => {
    const namespace = new Namespace(join(tempDirectory("links-snapshot"), "index.sqlite"));
    const applier = new OpApplier(namespace);
    const extent = { object: "packs/p", offset: 0, length: 3, hash: hashBytes(new Uint8Array(3)) };
    const position = { fsId: "fs", seq: 3, hash: "h", epoch: 1 };
    namespace.beginBatch();
    const ops: Op[] = [
      { op: "mkdir", path: "/d", mode: 0o755, recursive: false, time: 1 },
      { op: "write", path: "/d/a", mode: 0o644, extents: [extent], time: 2 },
    ];
    for (const op of ops) applier.apply(op, walKey(1));
    const plain = decodeSnapshot(snapshotKey(3), encodeSnapshot(namespace.pending, position));
    expect(plain.format).toBe(1);
    expect(plain.nodes.every((node) => node.length === 10)).toBe(true);
    applier.apply({ op: "link", from: "/d/a", to: "/b", time: 3 }, walKey(2));
    const encoded = encodeSnapshot(namespace.pending, position);
    const linked = decodeSnapshot(snapshotKey(3), encoded);
    expect(linked.format).toBe(2);
    // Listed by path: /b first (it carries the extents), /d/a points at it.
    expect(linked.nodes.map((node) => [node[0], node[9].length, node[10]])).toEqual([
      ["b", 1, null],
      ["d", 0, null],
      ["d/a", 0, "b"],
    ]);
    namespace.rollbackBatch();
    // Loaded into an empty index, the names share one inode again.
    namespace.beginBatch();
    loadSnapshot(namespace, snapshotKey(3), encoded);
    const [a, b] = ["/d/a", "/b"].map((path) => namespace.pending.resolve(path, true, "stat").node);
    expect(a!.ino).toBe(b!.ino);
    expect([a!.nlink, b!.nlink]).toEqual([2, 2]);
    expect(namespace.pending.allExtents()).toHaveLength(1);
    namespace.commitBatch({});
    namespace.close();

    const gzip = (document: unknown) => Bun.gzipSync(new TextEncoder().encode(JSON.stringify(document)));
    expect(() => decodeSnapshot(snapshotKey(3), gzip({ ...linked, format: 3 }))).toThrow("unknown format 3");
    const dangling = { ...linked, nodes: [linked.nodes[1], [...linked.nodes[2]!.slice(0, 10), "nowhere"]] };
    expect(() => decodeSnapshot(snapshotKey(3), gzip(dangling))).toThrow('"d/a" is a hard link to "nowhere"');
    const differing = { ...linked, nodes: [linked.nodes[0], linked.nodes[1], [linked.nodes[2]![0], "file", 0o600, ...linked.nodes[2]!.slice(3)]] };
    expect(() => decodeSnapshot(snapshotKey(3), gzip(differing))).toThrow("differs from it");
    const eleven = { ...plain, nodes: plain.nodes.map((node) => [...node, null]) };
    expect(() => decodeSnapshot(snapshotKey(3), gzip(eleven))).toThrow("a node is malformed");
  });
});
