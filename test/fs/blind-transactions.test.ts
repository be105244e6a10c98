// Blind transactions (`fs.transaction(body, { isolation: "blind" })`, docs/guarantees.md "Several
// writers"): on a shared writer the body runs once and nothing it read is checked; another
// writer's commit that lands first only re-validates the body's writes on the new state: they are
// published if they all still apply, else the whole commit fails with the error the first one
// that no longer applies gets there. The default, "serializable", runs the body again instead.
import { afterAll, describe, expect, test } from "bun:test";
import type { S3CachedFs } from "../../src/core.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type Backend } from "../support/mounts.ts";

afterAll(removeTempDirectories);

/** `refreshIntervalMs: 0` where requests are counted: no catch-up while idle on a timer between the steps. */
async function twoSharedWriters(backend: Backend, label: string, config: { refreshIntervalMs?: number } = {}): Promise<{ a: S3CachedFs; b: S3CachedFs; close: () => Promise<void> }> {
  const workspace = await testWorkspace(backend, label);
  const a = await workspace.mount({ name: "a", exclusive: false, ...config }, { cacheRoot: workspace.freshCacheRoot() });
  const b = await workspace.mount({ name: "b", exclusive: false, ...config }, { cacheRoot: workspace.freshCacheRoot() });
  return {
    a,
    b,
    close: async () => {
      await a.close();
      await b.close();
    },
  };
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`blind transactions (${backend})`, () => {
    test("a blind read-modify-write runs once and publishes over another writer's commit (a lost update); a serializable one runs again and keeps both", async () => {
      const { a, b, close } = await twoSharedWriters(backend, "blind-counter");
      await a.writeFile("/blind", "0");
      await a.writeFile("/serializable", "0");
      for (const isolation of ["blind", "serializable"] as const) {
        const path = `/${isolation}`;
        let runs = 0;
        await a.transaction(
          async (tx) => {
            runs++;
            const value = Number(await tx.readText(path));
            if (runs === 1) await b.writeFile(path, String(value + 10)); // another writer commits while the body runs
            await tx.writeFile(path, String(value + 1));
          },
          { isolation },
        );
        await b.refresh();
        if (isolation === "blind") {
          expect({ runs, value: await b.readText(path) }).toEqual({ runs: 1, value: "1" }); // b's +10 is lost
        } else {
          expect({ runs, value: await b.readText(path) }).toEqual({ runs: 2, value: "11" });
        }
      }
      await close();
    });

    test("a blind transaction whose operation no longer applies after another writer's commit fails whole with that operation's error, and publishes nothing", async () => {
      const { a, b, close } = await twoSharedWriters(backend, "blind-fails");
      await a.writeFile("/pool/item", "the item");
      const seqBefore = (await b.refresh()).seq;
      let runs = 0;
      await expectCode(
        a.transaction(
          async (tx) => {
            runs++;
            await tx.writeFile("/elsewhere.txt", "written with the move");
            await tx.rename("/pool/item", "/a-took");
            if (runs === 1) await b.rename("/pool/item", "/b-took"); // slips in before the transaction's slot
          },
          { isolation: "blind" },
        ),
        "ENOENT",
        { path: "/pool/item" },
      );
      expect(runs).toBe(1);
      const after = await b.refresh();
      expect(after.seq).toBe(seqBefore + 1); // b's rename only
      expect([await b.exists("/elsewhere.txt"), await b.exists("/a-took"), await b.readText("/b-took")]).toEqual([false, false, "the item"]);
      // The writer goes on: its view holds b's commit, and its next transaction publishes.
      expect(await a.exists("/b-took")).toBe(true);
      await a.transaction(async (tx) => tx.writeFile("/elsewhere.txt", "later"), { isolation: "blind" });
      await b.refresh();
      expect(await b.readText("/elsewhere.txt")).toBe("later");
      await close();
    });

    test("a blind transaction whose writes still apply is published after another writer's commit, in one record, with both writers' files", async () => {
      const { a, b, close } = await twoSharedWriters(backend, "blind-lands");
      await a.writeFile("/log.txt", "start\n");
      let runs = 0;
      await a.transaction(
        async (tx) => {
          runs++;
          await tx.appendFile("/log.txt", "from a\n");
          await tx.writeFile("/a.txt", "a");
          if (runs === 1) {
            await b.appendFile("/log.txt", "from b\n");
            await b.writeFile("/b.txt", "b");
          }
        },
        { isolation: "blind" },
      );
      expect(runs).toBe(1);
      await b.refresh();
      expect(await b.readText("/log.txt")).toBe("start\nfrom b\nfrom a\n");
      expect([await b.readText("/a.txt"), await b.readText("/b.txt")]).toEqual(["a", "b"]);
      const [newest] = await b.history({ limit: 1 });
      expect(newest!.paths.slice().sort()).toEqual(["/a.txt", "/log.txt"]);
      await close();
    });

    test("catchUp: false starts a blind transaction from the mount's view, without the GET of the log's end; what another writer committed meanwhile is still met at publication", async () => {
      const { a, b, close } = await twoSharedWriters(backend, "blind-catch-up", { refreshIntervalMs: 0 });
      await a.writeFile("/log.txt", "start\n");
      await b.refresh();
      await b.appendFile("/log.txt", "from b\n"); // a has not seen it
      const getsBefore = a.stats().requests.get.requests;
      let seen = "";
      await a.transaction(
        async (tx) => {
          seen = await tx.readText("/log.txt");
          await tx.appendFile("/log.txt", "from a\n");
        },
        { isolation: "blind", catchUp: false },
      );
      expect(seen).toBe("start\n"); // the mount's view: b's append not read first
      // Only the slot b took, met when publishing, and (a meeting b by it) the two slots read beside the next PUT.
      expect(a.stats().requests.get.requests - getsBefore).toBe(1 + 2);
      expect(await a.readText("/log.txt")).toBe("start\nfrom b\nfrom a\n");
      const again = a.stats().requests.get.requests;
      await a.transaction(async (tx) => void (await tx.readText("/log.txt")), { isolation: "blind" });
      expect(a.stats().requests.get.requests - again).toBe(1); // by default it reads the log's end first
      await close();
    });
  });
}

describe("transaction options", () => {
  test("a bad isolation or an unknown option is EINVAL naming it, and nothing runs or changes", async () => {
    const workspace = await testWorkspace("local", "blind-options");
    const fs = await workspace.mount({ exclusive: false });
    await fs.writeFile("/x", "1");
    const seq = fs.stats().seq;
    let ran = false;
    const body = async () => {
      ran = true;
    };
    const bad = await expectCode(fs.transaction(body, { isolation: "snapshot" } as never), "EINVAL", { syscall: "transaction" });
    expect(bad.message).toContain("invalid transaction options: isolation");
    const unknown = await expectCode(fs.transaction(body, { isolaton: "blind" } as never), "EINVAL");
    expect(unknown.message).toContain("isolaton: unknown option");
    await expectCode(fs.transaction(body, "blind" as never), "EINVAL");
    const catchUp = await expectCode(fs.transaction(body, { isolation: "blind", catchUp: "no" } as never), "EINVAL");
    expect(catchUp.message).toContain("catchUp");
    expect(ran).toBe(false);
    expect(fs.stats().seq).toBe(seq);
    await fs.close();
  });

  test("an exclusive writer takes either isolation: its transactions are the same", async () => {
    const workspace = await testWorkspace("local", "blind-exclusive");
    const fs = await workspace.mount({ exclusive: true });
    await fs.transaction(async (tx) => tx.writeFile("/blind", "b"), { isolation: "blind" });
    await fs.transaction(async (tx) => tx.writeFile("/serializable", "s"), { isolation: "serializable" });
    expect([await fs.readText("/blind"), await fs.readText("/serializable")]).toEqual(["b", "s"]);
    await fs.close();
  });
});
