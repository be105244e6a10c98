// The writer lease where it meets the host's processes: a holder that died without releasing
// (process.exit without close(), SIGKILL) is taken over at once by a successor on the same host;
// a successor that must wait says for whom and until when; `await using` releases.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { expectCode } from "../support/errors.ts";
import { LocalObjectStore, S3CachedFsManagerImpl, type LeaseWaitInfo, type ObjectStore } from "../../src/core.ts";
import { WriterLease, processGone, thisProcess, type LeaseDocument } from "../../src/commit/lease.ts";
import { DamagedDocumentError } from "../../src/log/document.ts";
import { CorruptObjectError } from "../../src/stores/store-errors.ts";
import { leaseKey } from "../../src/log/keys.ts";

afterAll(removeTempDirectories);

const hour = 3_600_000;

function objects(label: string) {
  const root = tempDirectory(`lease-${label}`);
  const store = () => new LocalObjectStore({ root, fsync: false });
  const manager = () => new S3CachedFsManagerImpl({ cacheRoot: tempDirectory(`lease-cache-${label}`), storeFactory: store });
  return { root, store, manager };
}

async function readLease(store: ObjectStore): Promise<LeaseDocument> {
  return JSON.parse(new TextDecoder().decode((await store.get(leaseKey)).body)) as LeaseDocument;
}

function worker(root: string, action: "exit-without-close" | "end-without-close" | "hold") {
  return Bun.spawn([process.execPath, join(import.meta.dir, "lease-worker.ts"), JSON.stringify({ store: root, cacheRoot: tempDirectory("lease-worker-cache"), action })], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
}

describe("a writer that left without releasing its lease", () => {
  test("a child that mounts read-write and exits without close(): the next mount takes over at once", async () => {
    const { root, store, manager } = objects("exit");
    const child = worker(root, "exit-without-close");
    expect(await child.exited).toBe(0);
    const left = await readLease(store());
    expect(left.released).toBe(false);
    expect(left.ttlMs).toBe(hour);
    expect(left.process?.pid).toBe(child.pid);
    // A lease of an hour, and "fail": only seeing the holder gone lets this mount in.
    const waits: LeaseWaitInfo[] = [];
    const fs = await manager().mount({ exclusive: true, name: "next", onWriterBusy: "fail", onWriterWait: (wait) => waits.push(wait) });
    expect(await fs.readText(`/from-${child.pid}.txt`)).toBe("written before leaving");
    await fs.writeFile("/after.txt", "the successor writes");
    expect(waits).toEqual([]);
    const taken = await readLease(store());
    expect(taken.epoch).toBeGreaterThan(left.epoch);
    expect(taken.process?.pid).toBe(process.pid);
    await fs.close();
  }, 60_000);

  test("a script that simply ends without close() gives its lease back before it exits", async () => {
    const { root, store, manager } = objects("end");
    const child = worker(root, "end-without-close");
    expect(await child.exited).toBe(0);
    const left = await readLease(store());
    expect(left.released).toBe(true); // any writer, on any host, may take it now
    expect(left.process?.pid).toBe(child.pid);
    const fs = await manager().mount({ exclusive: true, name: "next", onWriterBusy: "fail" });
    expect(await fs.readText(`/from-${child.pid}.txt`)).toBe("written before leaving");
    await fs.close();
  }, 60_000);

  test("a live holder in another process is waited for, and the wait says for whom and until when", async () => {
    const { root, manager } = objects("live");
    const child = worker(root, "hold");
    const reader = child.stdout.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(JSON.parse(first)).toEqual({ mounted: child.pid });
    const refused = await expectCode(manager().mount({ name: "busy", onWriterBusy: "fail" }), "EBUSY");
    expect(refused.message).toContain(`pid ${child.pid} on ${thisProcess().host}`);
    const waits: LeaseWaitInfo[] = [];
    const before = Date.now();
    await expectCode(manager().mount({ name: "waiting", leaseWaitTimeoutMs: 1_000, onWriterWait: (wait) => waits.push(wait) }), "EBUSY");
    expect(waits).toHaveLength(1);
    expect(waits[0]).toMatchObject({ pid: child.pid, host: thisProcess().host });
    expect(waits[0]!.writer).toContain(`@${child.pid}:`);
    expect(waits[0]!.expiresBy.getTime()).toBeGreaterThanOrEqual(before + hour - 60_000);
    expect(waits[0]!.giveUpAt.getTime()).toBeLessThan(waits[0]!.expiresBy.getTime());
    expect(waits[0]!.message).toContain(`pid ${child.pid}`);
    expect(waits[0]!.message).toContain(waits[0]!.giveUpAt.toISOString());
    child.stdin.end();
    expect(await child.exited).toBe(0);
    // Closed: released, so the next writer needs no takeover.
    const fs = await manager().mount({ exclusive: true, name: "after", onWriterBusy: "fail" });
    await fs.close();
  }, 60_000);

  test("a holder is judged gone only on this host, this boot and this pid namespace, and not while its pid runs the same process", () => {
    const self = thisProcess();
    const dead = { ...self, pid: 2 ** 22 + 12_345 }; // above pid_max: no such process
    expect(processGone(dead)).toBe(true);
    expect(processGone(self)).toBe(false);
    expect(processGone({ ...dead, host: `${self.host}-elsewhere` })).toBe(false);
    expect(processGone({ ...dead, pidNamespace: "pid:[1]" })).toBe(false); // another container with the same host name
    expect(processGone({ ...dead, bootId: "00000000-0000-0000-0000-000000000000" })).toBe(false);
    expect(processGone({ host: self.host, pid: dead.pid })).toBe(false); // nothing to compare: wait for the TTL
    expect(processGone(undefined)).toBe(false);
    expect(processGone(null as never)).toBe(false);
    expect(processGone({ ...dead, pid: "12" } as never)).toBe(false);
    // Our own pid, but started at another time: the holder was an earlier process with this pid.
    expect(processGone({ ...self, startTime: "1" })).toBe(self.startTime !== undefined);
  });

  test("a holder that exited but was not yet reaped by its parent (a zombie) is gone", async () => {
    // `sleep 0` exits at once; its parent, now `sleep 30`, never reaps it. The shell may still reap
    // it before its exec, on a busy machine: then there is no zombie to judge, and it tries again.
    for (let tries = 0; tries < 20; tries++) {
      const parent = Bun.spawn(["sh", "-c", "sleep 0 & echo $!; exec sleep 30"], { stdout: "pipe" });
      try {
        const reader = parent.stdout.getReader();
        let said = "";
        while (!said.includes("\n")) {
          const { done, value } = await reader.read();
          if (done) break;
          said += new TextDecoder().decode(value);
        }
        const pid = Number(said.trim());
        let state = "";
        let startTime = "";
        for (let attempt = 0; attempt < 400 && state !== "Z"; attempt++) {
          let stat: string;
          try {
            stat = readFileSync(`/proc/${pid}/stat`, "utf8");
          } catch {
            break; // reaped by the shell before its exec
          }
          const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
          [state, startTime] = [fields[0]!, fields[19]!];
          if (state !== "Z") await Bun.sleep(25);
        }
        if (state !== "Z") continue;
        expect(processGone({ ...thisProcess(), pid, startTime })).toBe(true);
        return;
      } finally {
        parent.kill();
      }
    }
    throw new Error("no zombie could be made in 20 tries");
  });
});

describe("await using", () => {
  test("leaving the block closes the filesystem (releasing the lease), the manager's mounts, and discards an unclosed write handle", async () => {
    const { store, manager } = objects("using");
    {
      await using fs = await manager().mount({ name: "scoped", leaseTtlMs: hour });
      await fs.writeFile("/a.txt", "a");
      {
        await using handle = await fs.openWrite("/unclosed.txt");
        await Bun.write(handle.file, "never committed");
      }
      {
        await using handle = await fs.openWrite("/closed.txt");
        await Bun.write(handle.file, "committed");
        await handle.close();
      }
    }
    expect((await readLease(store())).released).toBe(true);
    {
      await using scoped = manager();
      const fs = await scoped.mount({ name: "managed", onWriterBusy: "fail", leaseTtlMs: hour });
      expect(await fs.readText("/closed.txt")).toBe("committed");
      expect(await fs.exists("/unclosed.txt")).toBe(false);
    }
    expect((await readLease(store())).released).toBe(true);
    const fs = await manager().mount({ exclusive: true, name: "last", onWriterBusy: "fail" });
    await fs.close();
  }, 60_000);
});

describe("a damaged lease", () => {
  test("a lease that is not JSON, or lacks a field the protocol needs, is a typed error naming writer/lease.json: no writer takes over, nothing is written", async () => {
    const { store, manager } = objects("damaged");
    const first = await manager().mount({ exclusive: true, name: "first" });
    await first.writeFile("/a.txt", "a");
    await first.close();
    const { epoch, ...withoutEpoch } = await readLease(store());
    expect(epoch).toBeGreaterThan(0);
    for (const [damage, problem] of [
      ["{ not json", "not valid JSON"],
      [JSON.stringify({ ...withoutEpoch, epoch: "seven" }), "epoch"],
      [JSON.stringify(withoutEpoch), "epoch"],
      ["[]", "expected object"],
    ] as const) {
      await store().put(leaseKey, new TextEncoder().encode(damage));
      const before = await store().head(leaseKey);
      // Directly: the lease itself says what is damaged, as a store error of kind "corrupt".
      const lease = new WriterLease(store(), { writerId: "w", ttlMs: hour, onBusy: "takeover", waitTimeoutMs: 1_000, onLost: () => {} });
      const direct = await lease.acquire(0).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(direct).toBeInstanceOf(DamagedDocumentError);
      expect(direct).toBeInstanceOf(CorruptObjectError);
      expect((direct as DamagedDocumentError).key).toBe(leaseKey);
      expect((direct as Error).message).toStartWith("writer/lease.json is damaged: ");
      expect((direct as Error).message).toContain(problem);
      // Through a mount: EIO naming the lease, never a SyntaxError.
      const error = await expectCode(manager().mount({ name: "next", onWriterBusy: "takeover" }), "EIO");
      expect(error.message).toContain("writer/lease.json is damaged");
      expect(error.cause).toBeInstanceOf(DamagedDocumentError);
      expect((await store().head(leaseKey)).etag).toBe(before.etag);
    }
    // A read-only mount needs no lease.
    const reader = await manager().mount({ name: "reader", mode: "readonly" });
    expect(await reader.readText("/a.txt")).toBe("a");
    await reader.close();
  }, 60_000);
});
