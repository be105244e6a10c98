// A write the writer gave up on may still land: the request was on its way when the caller timed
// out (docs/s3-layout.md C6). Whatever lands, and whenever, every mount must then agree with the
// store: each object a record names holds the bytes it held when the record was built.
import { afterAll, describe, expect, test } from "bun:test";
import { FaultInjectingStore, type ObjectStore, type S3CachedFs } from "../../src/core.ts";
import { walKey } from "../../src/log/keys.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type Backend, type TestWorkspace } from "../support/mounts.ts";

afterAll(removeTempDirectories);

/** Small files spill out of the record into packs at once: every batch here writes a pack. */
const layout = { inlineRecordBytes: 1024 };

function bytes(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed * 2654435761;
  for (let index = 0; index < length; index++) {
    state = (state * 1103515245 + 12345) >>> 0;
    out[index] = state >>> 24;
  }
  return out;
}

async function writerWithFaults(workspace: TestWorkspace): Promise<{ fs: S3CachedFs; faults: FaultInjectingStore }> {
  let faults: FaultInjectingStore | undefined;
  const wrap = (store: ObjectStore) => (faults = new FaultInjectingStore(store));
  const fs = await workspace.mount({ name: "writer", layout }, { wrap });
  return { fs, faults: faults! };
}

/** Every file of `expected` reads back with its bytes, through the writer and through a fresh mount; fsck finds the store sound. */
async function expectConverged(workspace: TestWorkspace, writer: S3CachedFs, expected: Record<string, Uint8Array>): Promise<void> {
  const fresh = await workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
  try {
    const names = Object.keys(expected).sort();
    expect((await fresh.readdir("/")).sort()).toEqual(names.map((path) => path.slice(1)));
    expect((await writer.readdir("/")).sort()).toEqual(names.map((path) => path.slice(1)));
    for (const path of names) {
      expect(Buffer.from(await fresh.readFile(path)).equals(Buffer.from(expected[path]!))).toBe(true);
      expect(Buffer.from(await writer.readFile(path)).equals(Buffer.from(expected[path]!))).toBe(true);
    }
    const report = await fresh.fsck();
    expect(report.problems).toEqual([]);
    expect(report.sound).toBe(true);
  } finally {
    await fresh.close();
  }
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`a commit record that lands after its writer reported EIO (${backend})`, () => {
    test("it lands after the retried batch uploaded its packs: every mount reads the bytes each record wrote, fsck finds it sound", async () => {
      const workspace = await testWorkspace(backend, "late-record");
      const { fs, faults } = await writerWithFaults(workspace);
      await fs.writeFile("/base.txt", "base");
      const seq = fs.stats().seq + 1;
      // Every attempt at this slot times out at once, and stays on its way.
      faults.add({ operation: "put", keyPrefix: walKey(seq), conditional: true, times: Infinity, fault: { kind: "late" } });
      const a = bytes(1, 3000);
      const b = bytes(2, 2000);
      await expectCode(
        fs.transaction(async (tx) => {
          await tx.writeFile("/a.bin", a);
          await tx.writeFile("/b.bin", b);
        }),
        "EIO",
      );
      expect(faults.lateRequests).toBeGreaterThan(0);
      // The next write retries at the same seq; the first attempt's record lands just before its own.
      faults.clear();
      faults.add({ operation: "put", keyPrefix: "wal/", conditional: true, fault: { kind: "release-late" } });
      const c = bytes(3, 2500);
      await fs.writeFile("/c.bin", c);
      expect(faults.lateLandings[0]).toMatchObject({ key: walKey(seq), landed: true });
      expect(fs.stats().seq).toBe(seq + 1); // the late record at `seq`, the retried batch after it
      await expectConverged(workspace, fs, { "/base.txt": new TextEncoder().encode("base"), "/a.bin": a, "/b.bin": b, "/c.bin": c });
      await fs.close();
    });

    test("a pack upload of a failed batch that lands after the retried batch committed changes nothing any record names", async () => {
      const workspace = await testWorkspace(backend, "late-pack");
      const { fs, faults } = await writerWithFaults(workspace);
      // Every attempt at the batch's pack times out at once, and stays on its way: the batch fails before its record.
      faults.add({ operation: "put", keyPrefix: "packs/", times: Infinity, fault: { kind: "late" } });
      await expectCode(fs.writeFile("/a.bin", bytes(6, 3000)), "EIO");
      faults.clear();
      const b = bytes(7, 3000);
      await fs.writeFile("/b.bin", b); // the same seq, retried
      expect((await faults.releaseLate()).every((landing) => landing.landed)).toBe(true); // the failed batch's pack lands now
      await expectConverged(workspace, fs, { "/b.bin": b });
      await fs.close();
    });

    test("it lands while the writer is idle: the next write re-reads the log first, and the writer agrees with a fresh mount", async () => {
      const workspace = await testWorkspace(backend, "late-idle");
      const { fs, faults } = await writerWithFaults(workspace);
      const seq = fs.stats().seq + 1;
      faults.add({ operation: "put", keyPrefix: walKey(seq), conditional: true, times: Infinity, fault: { kind: "late" } });
      const a = bytes(4, 3000);
      await expectCode(fs.writeFile("/a.bin", a), "EIO");
      faults.clear();
      expect((await faults.releaseLate())[0]).toMatchObject({ key: walKey(seq), landed: true });
      const b = bytes(5, 2000);
      await fs.writeFile("/b.bin", b);
      expect(fs.stats().seq).toBe(seq + 1);
      await expectConverged(workspace, fs, { "/a.bin": a, "/b.bin": b });
      await fs.close();
    });
  });
}
