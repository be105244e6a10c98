// With `commit: "per-write"` the command does not wait for each write to be durable: a write
// that cannot fail is answered at once and given to the mount at the next turn of the event loop
// (with every write the command made meanwhile, in the order made), so the mount's records go
// out while earlier ones are still in flight (docs/s3-layout.md C8). What a command observes does
// not change (a call that could see a write in flight waits for it), exec() resolves only once
// every write is durable, and a write in flight that fails makes exec() reject with its error.
//
// Nothing here measures time: a custom command `tick` lets the event loop turn (so the writes
// made before it go out), and a store wrapper holds a chosen record's PUT until the test lets it go.

import { afterAll, describe, expect, test } from "bun:test";
import { defineCommand } from "just-bash";
import { FaultInjectingStore, FsError, type ObjectStore } from "../../src/core.ts";
import { chunkPrefix } from "../../src/log/keys.ts";
import { ForwardingStore, type StoreRequest } from "../../src/stores/forwarding-store.ts";
import type { Backend } from "../support/mounts.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { measure, remountCold, shellFixture, WORKSPACE } from "./shell-fixtures.ts";

afterAll(() => removeTempDirectories());

const quiet = { headDelayMs: 600_000 };

/**
 * A custom command that lets the event loop turn once (as a command awaiting a timer or a network
 * reply does). setImmediate, not a timer: its callbacks run in the order asked for, so the view's
 * own turn (asked for at the write before) comes first, never after the command's next write.
 */
const tick = defineCommand("tick", async () => {
  await new Promise((resolve) => setImmediate(resolve));
  return { stdout: "", stderr: "", exitCode: 0 };
});

/**
 * `append-to FILE TEXT`: appends through the command's fs directly, as a custom command may (a
 * redirection first checks its target, which waits for the writes in flight to it).
 */
const appendTo = defineCommand("append-to", async (args, context) => {
  await context.fs.appendFile(context.fs.resolvePath(context.cwd, args[0]!), args[1]!);
  return { stdout: "", stderr: "", exitCode: 0 };
});

/** Long enough for any step here on a loaded machine; only a command that waits for each write to land reaches it. */
const stuckMs = 30_000;

/** `work`, or a failure naming `what` once stuckMs has passed. */
async function within<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${stuckMs} ms`)), stuckMs);
  });
  try {
    return await Promise.race([work, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Holds the next commit record's PUT once armed, until released; counts the record PUTs sent, the
 * ones answered, and those sent while the held one waited.
 */
class RecordGate extends ForwardingStore {
  #armed = false;
  #held: (() => void) | undefined;
  #waiters: { puts: number; answered: number; resolve: () => void }[] = [];
  puts = 0;
  answered = 0;
  /** Record PUTs sent while the held one waited. */
  sentWhileHeld = 0;

  /** The next record PUT is held until release(). */
  holdNext(): void {
    this.#armed = true;
  }

  release(): void {
    this.#held?.();
    this.#held = undefined;
  }

  /** Resolves once this many record PUTs have been sent and this many answered. */
  reached(puts: number, answered: number): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push({ puts, answered, resolve });
      this.#wake();
    });
  }

  #wake(): void {
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.puts < waiter.puts || this.answered < waiter.answered) return true;
      waiter.resolve();
      return false;
    });
  }

  protected override forward<T>(request: StoreRequest, send: () => Promise<T>): Promise<T> {
    if (request.operation !== "put" || !(request.key ?? "").startsWith("wal/")) return send();
    this.puts++;
    if (this.#held !== undefined) this.sentWhileHeld++;
    const gate = this.#armed ? new Promise<void>((go) => (this.#held = go)) : undefined;
    this.#armed = false;
    this.#wake();
    return (async () => {
      try {
        if (gate !== undefined) await gate;
        return await send();
      } finally {
        this.answered++;
        this.#wake();
      }
    })();
  }
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`per-write commands leave their writes in flight (${backend})`, () => {
    test("a script's writes overlap: its next records go out while the first is held, yet exec() resolves only once every write is durable", async () => {
      let gate: RecordGate | undefined;
      const wrap = (store: ObjectStore) => (gate = new RecordGate(store));
      const { workspace, filesystem, shell, close } = await shellFixture(`jb-pw-overlap-${backend}`, { commit: "per-write", customCommands: [tick] }, quiet, wrap, backend);
      try {
        const files = 6;
        gate!.holdNext();
        const before = gate!.puts;
        let resolved = false;
        const measured = measure(filesystem, () => shell.exec(`for i in $(seq 1 ${files}); do echo "line $i" > f$i.txt; tick; done`)).finally(() => (resolved = true));
        // Each `tick` gives the write before it to the mount: the first record is held, and the
        // other five go out behind it, each its own record. Awaited one by one, the second write
        // would wait for the first for ever.
        await within("the records after a held one", gate!.reached(before + files, before + files - 1));
        // All six records are in flight at once: the first PUT unanswered, the five after it sent
        // (and answered) behind it, none of them landed, since each lands only after the one before.
        expect(gate!.sentWhileHeld).toBe(files - 1);
        expect(resolved).toBe(false);
        // The script has ended (its last record was sent after its last write); exec() still waits for the held record.
        for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
        expect(resolved).toBe(false);
        gate!.release();
        const { result, commits, puts } = await measured;
        expect(result).toEqual({ stdout: "", stderr: "", exitCode: 0 });
        expect({ commits, puts }).toEqual({ commits: files, puts: files });
        const reader = await remountCold(workspace);
        try {
          for (let index = 1; index <= files; index++) expect(await reader.readText(`${WORKSPACE}/f${index}.txt`)).toBe(`line ${index}\n`);
        } finally {
          await reader.close();
        }
      } finally {
        gate?.release();
        await close();
      }
    });

    test("writes made without a turn of the event loop between them go out together, in the order made: one record", async () => {
      const { workspace, filesystem, shell, close } = await shellFixture(`jb-pw-together-${backend}`, { commit: "per-write" }, quiet, undefined, backend);
      try {
        const measured = await measure(filesystem, () => shell.exec('for i in $(seq 1 50); do echo "v$i" > f$i.txt; echo "w$i" > g$i.txt; done'));
        expect(measured.result.exitCode).toBe(0);
        expect({ commits: measured.commits, puts: measured.puts }).toEqual({ commits: 1, puts: 1 });
        // just-bash checks that a redirection's target is not a directory (exists, then stat)
        // before it opens it: each `>` or `>>` to a file with a write in flight waits for it, so
        // each lands alone.
        const appends = await measure(filesystem, () => shell.exec("for i in 1 2 3 4; do echo $i >> log.txt; done"));
        expect({ commits: appends.commits, puts: appends.puts }).toEqual({ commits: 4, puts: 4 });
        const reader = await remountCold(workspace);
        try {
          expect(await reader.readText(`${WORKSPACE}/f50.txt`)).toBe("v50\n");
          expect(await reader.readText(`${WORKSPACE}/g1.txt`)).toBe("w1\n");
          expect(await reader.readText(`${WORKSPACE}/log.txt`)).toBe("1\n2\n3\n4\n");
        } finally {
          await reader.close();
        }
      } finally {
        await close();
      }
    });

    test("a command reads what it has just written: a call that could see a write in flight waits for it", async () => {
      const { filesystem, shell, close } = await shellFixture(`jb-pw-read-own-${backend}`, { commit: "per-write" }, quiet, undefined, backend);
      try {
        const measured = await measure(filesystem, () =>
          shell.exec("echo one > a; cat a; echo two >> a; wc -l < a; mkdir d; echo three > d/b; ln -s d/b l; cat l; ls d; echo four > d/c; ls -1 d | wc -l; test -s d/c && echo full"),
        );
        expect(measured.result).toEqual({ stdout: "one\n2\nthree\nb\n2\nfull\n", stderr: "", exitCode: 0 });
        // a (its redirection and bytes), the append, mkdir, d/b, the link, d/c: each waited for by the next call that could see it.
        expect(measured.commits).toBe(6);
      } finally {
        await close();
      }
    });

    test("a write in flight that fails makes exec() reject with its error; the command's later writes fail with it and are not published", async () => {
      let faults: FaultInjectingStore | undefined;
      const wrap = (store: ObjectStore) => (faults = new FaultInjectingStore(store));
      const { shell, close } = await shellFixture(`jb-pw-failure-${backend}`, { commit: "per-write", customCommands: [tick] }, quiet, wrap, backend);
      try {
        faults!.add({ operation: "put", keyPrefix: "wal/", fault: { kind: "error", error: "unauthorized" }, times: 1 });
        // `tick` gives a.txt to the mount, whose PUT is refused; the command has been answered
        // already and goes on, until `cat a.txt` waits for the write and meets its error; the
        // write after it fails with the same error (just-bash lets a redirection's error escape).
        const error = await shell.exec("echo a > a.txt; tick; echo after; cat a.txt; echo b > b.txt; echo never").catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(FsError);
        expect((error as FsError).code).toBe("EACCES");
        expect(await shell.fs.exists(`${WORKSPACE}/a.txt`)).toBe(false);
        expect(await shell.fs.exists(`${WORKSPACE}/b.txt`)).toBe(false);
        // Found only at the command's end (nothing waited for it before): exec() rejects all the same.
        faults!.add({ operation: "put", keyPrefix: "wal/", fault: { kind: "error", error: "unauthorized" }, times: 1 });
        const atEnd = await shell.exec("echo c > c.txt; echo done").catch((caught: unknown) => caught);
        expect((atEnd as FsError).code).toBe("EACCES");
        expect(await shell.fs.exists(`${WORKSPACE}/c.txt`)).toBe(false);
        // The next command works.
        expect(await shell.exec("echo d > d.txt; cat d.txt")).toEqual({ stdout: "d\n", stderr: "", exitCode: 0 });
      } finally {
        await close();
      }
    });

    test("a write larger than the mount's largeFileBytes is awaited: a later small write cannot overtake it", async () => {
      const layout = { blockBytes: 16, chunkBytes: 64, largeFileBytes: 48, inlineRecordBytes: 64, packBytes: 128, uploadConcurrency: 2 };
      let faults: FaultInjectingStore | undefined;
      const wrap = (store: ObjectStore) => (faults = new FaultInjectingStore(store));
      const { workspace, shell, close } = await shellFixture(`jb-pw-large-${backend}`, { commit: "per-write", customCommands: [appendTo] }, { ...quiet, layout }, wrap, backend);
      try {
        // Left in flight, the 200 bytes would upload their chunks before joining the commit queue
        // (slowed down here, so that a local store is no quicker than the next call), the append
        // would be queued first, and the write would then replace what it appended.
        faults!.add({ operation: "put", keyPrefix: chunkPrefix, fault: { kind: "delay", ms: 50 }, times: Number.POSITIVE_INFINITY });
        const result = await shell.exec("printf '%0200d' 0 > f; append-to f tail; printf '%0100d' 0 > g; echo small > g");
        expect(result).toEqual({ stdout: "", stderr: "", exitCode: 0 });
        const reader = await remountCold(workspace);
        try {
          expect(await reader.readText(`${WORKSPACE}/f`)).toBe(`${"0".repeat(200)}tail`);
          expect(await reader.readText(`${WORKSPACE}/g`)).toBe("small\n");
        } finally {
          await reader.close();
        }
      } finally {
        await close();
      }
    });
  });
}
