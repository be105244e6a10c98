// Time travel (docs/s3-layout.md T1-T3): a read-only mount at a past seq shows exactly that state,
// starts from the nearest kept snapshot, never moves, and refuses seqs that are not (or no longer) there.
import { afterAll, describe, expect, test } from "bun:test";
import { removeTempDirectories } from "../support/temp.ts";
import { expectCode } from "../support/errors.ts";
import { contents, testBucket } from "./buckets.ts";

afterAll(removeTempDirectories);

describe("time travel", () => {
  test("a mount at each past seq shows that state, cold or reusing its index", async () => {
    const bucket = await testBucket("local", "travel");
    const fs = await bucket.mount("main", { snapshotEveryCommits: 2 });
    const states = new Map<number, Record<string, string>>();
    for (let version = 1; version <= 7; version++) {
      await fs.writeFile("/version.txt", `version ${version}`);
      if (version % 3 === 0) await fs.rm(`/extra-${version - 1}.txt`, { force: true });
      await fs.writeFile(`/extra-${version}.txt`, `extra ${version}`);
      states.set(fs.stats().seq, await contents(fs));
    }
    const cacheRoot = bucket.freshCacheRoot();
    // Newest first, then oldest first, through one cache directory: the index is rebuilt or reused as needed.
    const seqs = [...states.keys()];
    for (const seq of [...seqs.slice().reverse(), ...seqs]) {
      const past = await bucket.mount("main", { name: "travel", mode: "readonly", atSeq: seq }, { cacheRoot });
      expect(past.stats().seq).toBe(seq);
      expect(await contents(past)).toEqual(states.get(seq)!);
      await past.close();
    }
    await fs.close();
  }, 120_000);

  test("it starts from the nearest snapshot at or below the seq: a handful of GETs", async () => {
    const bucket = await testBucket("local", "travel-cost");
    const fs = await bucket.mount("main", { snapshotEveryCommits: 10 });
    for (let index = 0; index < 35; index++) await fs.writeFile(`/f${index}`, `${index}`);
    await fs.close();
    const reader = await bucket.mount("main", { mode: "readonly" });
    const head = JSON.parse(new TextDecoder().decode((await bucket.store("main").get("heads/main.json")).body));
    expect(head.snapshots.length).toBeGreaterThanOrEqual(3);
    const snapshot = head.snapshots[1] as number;
    const atSeq = snapshot + 2;
    const past = await bucket.mount("main", { mode: "readonly", atSeq });
    // format, head, the snapshot, and the two records after it.
    expect(past.stats().requests.get.requests).toBe(5);
    expect(await past.exists(`/f${atSeq - 3}`)).toBe(true);
    expect(await past.exists(`/f${atSeq - 1}`)).toBe(false);
    await Promise.all([past.close(), reader.close()]);
  }, 120_000);

  test("it never moves, never writes, and refuses a seq the log does not have", async () => {
    const bucket = await testBucket("local", "travel-fixed");
    const fs = await bucket.mount("main");
    await fs.writeFile("/a", "one");
    const seq = fs.stats().seq;
    const past = await bucket.mount("main", { mode: "readonly", atSeq: seq });
    await fs.writeFile("/a", "two");
    expect(await past.refresh()).toEqual({ seq, changed: false });
    expect(await past.readText("/a")).toBe("one");
    await expectCode(past.writeFile("/b", "b"), "EROFS");
    const missing = await expectCode(bucket.mount("main", { mode: "readonly", atSeq: seq + 50 }), "ENOENT");
    expect(missing.message).toContain(`seq ${seq + 50}`);
    const readwrite = await expectCode(bucket.mount("main", { atSeq: seq }), "EINVAL");
    expect(readwrite.message).toContain("atSeq");
    await Promise.all([past.close(), fs.close()]);
  }, 120_000);

  test("history lists the newest commits first, with what each did", async () => {
    const bucket = await testBucket("local", "history");
    const fs = await bucket.mount("main");
    await fs.writeFile("/a.txt", "a");
    await fs.transaction(async (tx) => {
      await tx.mkdir("/d");
      await tx.writeFile("/d/b.txt", "b");
      await tx.rename("/a.txt", "/d/a.txt");
    });
    await fs.rm("/d/b.txt");
    const entries = await fs.history({ limit: 3 });
    expect(entries.map((entry) => entry.seq)).toEqual([fs.stats().seq, fs.stats().seq - 1, fs.stats().seq - 2]);
    expect(entries[0]!.kinds).toEqual({ rm: 1 });
    expect(entries[1]!.kinds).toEqual({ mkdir: 1, write: 1, rename: 1 });
    expect(entries[1]!.paths).toContain("/a.txt -> /d/a.txt");
    expect(entries[2]!.paths).toEqual(["/a.txt"]);
    const all = await fs.history({ limit: 100 });
    expect(all.at(-1)!.kinds).toEqual({ epoch: 1 });
    await fs.close();
  }, 120_000);
});
