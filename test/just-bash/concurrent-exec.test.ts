// Concurrent exec() calls on one shell run concurrently, each command still one commit of its own
// writes. Nothing here measures time: the commands meet at rendezvous (custom commands `signal
// NAME` and `wait-for NAME`) that only work when both run at once. Run one after another, the
// first would wait for ever for the second; `settled` turns that wait into a failure that says so.
//
// What the commands see follows from a command's transaction opening at its first write: before
// it, the command reads the mount's committed state (another command's commit shows as soon as
// it lands, its writes in progress never); from it, the command holds the mount's commit until it
// ends, so a second command's first write waits for the first command to end.

import { afterAll, describe, expect, test } from "bun:test";
import { defineCommand, type CustomCommand } from "just-bash";
import { createAcceleratedJustBashShell, type AcceleratedJustBashShell } from "../../src/just-bash/index.ts";
import { expectCode } from "../support/errors.ts";
import type { Backend } from "../support/mounts.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { measure, shellFixture, WORKSPACE } from "./shell-fixtures.ts";

afterAll(() => removeTempDirectories());

/** Long enough for any command here on a loaded machine; only a deadlock (commands run one after another) reaches it. */
const deadlockMs = 30_000;

/** `work`, or a failure naming `what` if it has not settled after deadlockMs (the calls ran one after another). */
async function settled<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${deadlockMs} ms, so the exec() calls did not run concurrently`)), deadlockMs);
  });
  try {
    return await Promise.race([work, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

/** Named one-shot events, and the custom commands `signal NAME` and `wait-for NAME` over them. */
class Rendezvous {
  readonly #events = new Map<string, PromiseWithResolvers<void>>();

  event(name: string): PromiseWithResolvers<void> {
    let event = this.#events.get(name);
    if (event === undefined) {
      event = Promise.withResolvers<void>();
      this.#events.set(name, event);
    }
    return event;
  }

  signal(name: string): void {
    this.event(name).resolve();
  }

  reached(name: string): Promise<void> {
    return this.event(name).promise;
  }

  readonly commands: CustomCommand[] = [
    defineCommand("signal", async (args) => {
      for (const name of args) this.signal(name);
      return { stdout: "", stderr: "", exitCode: 0 };
    }),
    defineCommand("wait-for", async (args) => {
      await Promise.all(args.map((name) => this.reached(name)));
      return { stdout: "", stderr: "", exitCode: 0 };
    }),
  ];
}

/**
 * Closes the mount, unless commands still hold its commit (the test already failed with a
 * deadlock): then the close is left behind rather than hang the test file.
 */
function closing(close: () => Promise<void>): () => Promise<void> {
  return () => Promise.race([close(), new Promise<void>((resolve) => setTimeout(resolve, deadlockMs))]);
}

async function concurrentShell(label: string, backend: Backend, config: Parameters<typeof shellFixture>[2] = {}) {
  const meet = new Rendezvous();
  const fixture = await shellFixture(label, { customCommands: meet.commands }, { headDelayMs: 600_000, ...config }, undefined, backend);
  return { ...fixture, close: closing(fixture.close), meet };
}

const walPuts = (recorder: Awaited<ReturnType<typeof shellFixture>>["recorder"]) => recorder.recorded({ operation: "put" }).filter((request) => request.key?.startsWith("wal/")).length;

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`concurrent exec() calls on one shell (${backend})`, () => {
    test("two reading commands run at once, and publish nothing", async () => {
      const { filesystem, shell, meet, close } = await concurrentShell("jb-conc-readers", backend);
      try {
        await shell.exec("echo shared > data.txt");
        const measured = await measure(filesystem, () =>
          settled(
            "two readers that wait for each other",
            Promise.all([shell.exec("cat data.txt; signal a-read; wait-for b-read; echo a"), shell.exec("cat data.txt; signal b-read; wait-for a-read; echo b")]),
          ),
        );
        expect(measured.result).toEqual([
          { stdout: "shared\na\n", stderr: "", exitCode: 0 },
          { stdout: "shared\nb\n", stderr: "", exitCode: 0 },
        ]);
        expect({ commits: measured.commits, puts: measured.puts }).toEqual({ commits: 0, puts: 0 });
      } finally {
        await close();
      }
    });

    test("a reading command runs while a writing command holds its commit: it sees none of the writer's writes until they are published, then all of them", async () => {
      const { filesystem, shell, meet, close } = await concurrentShell("jb-conc-writer-reader", backend);
      try {
        await shell.exec("echo old > f.txt");
        const writer = shell.exec("echo new > f.txt; echo more > g.txt; signal written; wait-for looked; echo done >> g.txt");
        const reader = shell.exec("wait-for written; cat f.txt; test -e g.txt || echo no-g; signal looked; wait-for published; cat f.txt g.txt");
        const written = await settled("the writer, while the reader looks", writer);
        expect(written).toEqual({ stdout: "", stderr: "", exitCode: 0 });
        meet.signal("published");
        expect(await settled("the reader", reader)).toEqual({ stdout: "old\nno-g\nnew\nmore\ndone\n", stderr: "", exitCode: 0 });
        expect([...new Set((await filesystem.history({ limit: 1 }))[0]?.paths)].sort()).toEqual([`${WORKSPACE}/f.txt`, `${WORKSPACE}/g.txt`]);
      } finally {
        await close();
      }
    });

    test("two writing commands run at once until the second one's first write; each is one commit of its own writes", async () => {
      const { filesystem, shell, recorder, meet, close } = await concurrentShell("jb-conc-writers", backend);
      try {
        recorder.reset();
        const measured = await measure(filesystem, () =>
          settled(
            "two writers that meet before writing",
            Promise.all([
              shell.exec("signal a-started; wait-for b-started; echo a1 > a1.txt; echo a2 > a2.txt; cat a1.txt"),
              shell.exec("signal b-started; wait-for a-started; echo b1 > b1.txt; echo b2 > b2.txt; cat b1.txt"),
            ]),
          ),
        );
        expect(measured.result.map((result) => result.stdout)).toEqual(["a1\n", "b1\n"]);
        expect({ commits: measured.commits, walPuts: walPuts(recorder) }).toEqual({ commits: 2, walPuts: 2 });
        // Each record holds one command's files, all of them.
        const records = (await filesystem.history({ limit: 2 })).map((entry) => [...new Set(entry.paths.map((path) => path.slice(WORKSPACE.length + 1)))].sort().join(" "));
        expect(records.sort()).toEqual(["a1.txt a2.txt", "b1.txt b2.txt"]);
      } finally {
        await close();
      }
    });

    test("an aborted command publishes none of its writes while a concurrent command commits its own", async () => {
      const { filesystem, shell, meet, close } = await concurrentShell("jb-conc-abort", backend);
      try {
        const controller = new AbortController();
        const doomed = shell.exec("signal a-started; wait-for b-started; echo doomed > doomed.txt; signal a-wrote; wait-for never", { signal: controller.signal });
        const kept = shell.exec("signal b-started; wait-for a-started; cat doomed.txt 2>/dev/null || echo absent; echo kept > kept.txt");
        await settled("the doomed command's write", meet.reached("a-wrote"));
        controller.abort();
        await expect(settled("the aborted command", doomed)).rejects.toMatchObject({ name: "AbortError" });
        expect(await settled("the command that commits", kept)).toEqual({ stdout: "absent\n", stderr: "", exitCode: 0 });
        expect(await filesystem.exists(`${WORKSPACE}/doomed.txt`)).toBe(false);
        expect(await filesystem.readText(`${WORKSPACE}/kept.txt`)).toBe("kept\n");
        expect((await shell.exec("ls")).stdout).toBe("kept.txt\n");
      } finally {
        await close();
      }
    });
  });
}

describe("concurrent commands on one mount behave as several writers", () => {
  test("blind commands (the default) that read before they write can lose an update, as two shells can; serializable ones never do", async () => {
    const { shell, meet, close } = await concurrentShell("jb-conc-increment", "local");
    try {
      await shell.exec("echo 0 > c");
      const increment = (me: string, other: string) => `n=$(cat c); signal ${me}; wait-for ${other}; echo $((n+1)) > c`;
      await settled("two blind increments", Promise.all([shell.exec(increment("a", "b")), shell.exec(increment("b", "a"))]));
      expect((await shell.exec("cat c")).stdout).toBe("1\n"); // both read 0
      const plain = "n=$(cat c); echo $((n+1)) > c";
      await settled("ten serializable increments", Promise.all(Array.from({ length: 10 }, () => shell.exec(plain, { isolation: "serializable" }))));
      expect((await shell.exec("cat c")).stdout).toBe("11\n");
    } finally {
      await close();
    }
  });

  test("a reading command runs while a serializable command holds its commit from its start", async () => {
    const { shell, meet, close } = await concurrentShell("jb-conc-serializable", "local");
    try {
      await shell.exec("echo 1 > c");
      const serializable = shell.exec("signal s-started; wait-for r-done; n=$(cat c); echo $((n+1)) > c; cat c", { isolation: "serializable" });
      const reader = shell.exec("wait-for s-started; cat c; signal r-done");
      expect(await settled("a reader beside a serializable command", Promise.all([serializable, reader]))).toEqual([
        { stdout: "2\n", stderr: "", exitCode: 0 },
        { stdout: "1\n", stderr: "", exitCode: 0 },
      ]);
    } finally {
      await close();
    }
  });

  test("on an exclusive writer too, and a command's first write opens its commit with no request but its PUT", async () => {
    const { filesystem, shell, recorder, meet, close } = await concurrentShell("jb-conc-exclusive", "local", { exclusive: true });
    try {
      recorder.reset();
      const measured = await measure(filesystem, () =>
        settled(
          "two writers on an exclusive writer",
          Promise.all([shell.exec("signal a; wait-for b; echo a > a.txt"), shell.exec("signal b; wait-for a; echo b > b.txt")]),
        ),
      );
      expect({ commits: measured.commits, requests: measured.requests, puts: measured.puts }).toEqual({ commits: 2, requests: 2, puts: 2 });
    } finally {
      await close();
    }
  });
});

describe("code a command runs (custom commands) and the command's commit", () => {
  /** A shell with `call-out`, a custom command that runs `work(shell)` (the shell's own API, not the command's ctx). */
  async function callingShell(label: string, work: (shell: AcceleratedJustBashShell) => Promise<string>) {
    let shellRef: AcceleratedJustBashShell | undefined;
    const callOut = defineCommand("call-out", async () => {
      try {
        return { stdout: `${await work(shellRef!)}\n`, stderr: "", exitCode: 0 };
      } catch (error) {
        return { stdout: "", stderr: `${(error as { code?: string }).code ?? ""} ${(error as Error).message}\n`, exitCode: 1 };
      }
    });
    const fixture = await shellFixture(label, { customCommands: [callOut] });
    shellRef = fixture.shell;
    return { ...fixture, close: closing(fixture.close) };
  }

  test("before the command's first write, a nested shell.exec() and shell.fs writes are commits of their own", async () => {
    const { filesystem, shell, close } = await callingShell("jb-conc-nested-before", async (outer) => {
      await outer.fs.writeFile(`${WORKSPACE}/by-fs.txt`, "fs\n");
      return (await outer.exec("echo inner > inner.txt; cat inner.txt")).stdout.trim();
    });
    try {
      const measured = await measure(filesystem, () => settled("a nested exec", shell.exec("call-out; echo outer > outer.txt")));
      expect(measured.result).toEqual({ stdout: "inner\n", stderr: "", exitCode: 0 });
      expect(measured.commits).toBe(3);
      expect((await shell.exec("cat by-fs.txt inner.txt outer.txt")).stdout).toBe("fs\ninner\nouter\n");
    } finally {
      await close();
    }
  });

  test("after the command's first write, a shell.fs write and a writing nested shell.exec() fail with EDEADLK instead of waiting for ever; the command goes on", async () => {
    const { filesystem, shell, close } = await callingShell("jb-conc-nested-after", async (outer) => {
      const problems: string[] = [];
      await outer.fs.writeFile(`${WORKSPACE}/by-fs.txt`, "fs\n").catch((error: unknown) => problems.push((error as { code: string }).code));
      await outer.exec("echo inner > inner.txt").catch((error: unknown) => problems.push((error as { code: string }).code));
      problems.push((await outer.exec("cat first.txt")).stdout.trim() || "nothing"); // a reading nested command runs
      return problems.join(" ");
    });
    try {
      const result = await settled("a nested call after the first write", shell.exec("echo first > first.txt; call-out; echo last > last.txt"));
      expect(result).toEqual({ stdout: "EDEADLK EDEADLK nothing\n", stderr: "", exitCode: 0 });
      expect((await shell.exec("ls")).stdout).toBe("first.txt\nlast.txt\n");
      await expectCode(shell.fs.readFile(`${WORKSPACE}/inner.txt`), "ENOENT");
      expect(filesystem.closed).toBe(false);
    } finally {
      await close();
    }
  });
});

/** The three concurrent `sleep 0.3` of the measurement, as a behaviour: they overlap (no timing). */
test("commands that only sleep overlap: three of them meet while all three are running", async () => {
  const { shell, close } = await concurrentShell("jb-conc-sleep", "local");
  try {
    const results = await settled(
      "three sleeping commands",
      Promise.all(["a", "b", "c"].map((me) => shell.exec(`sleep 0.01; signal ${me}; wait-for a b c; sleep 0.01; echo ${me}`))),
    );
    expect(results.map((result) => result.stdout)).toEqual(["a\n", "b\n", "c\n"]);
  } finally {
    await close();
  }
});

for (const how of ["a redirection", "a custom command's ctx.fs"] as const) {
  test(`a command aborted while its first write (${how}) waits for another command's commit rejects at once, and publishes nothing`, async () => {
    const { filesystem, shell, meet, close } = await concurrentShell(`jb-conc-abort-waiting-${how === "a redirection" ? "redirection" : "ctx"}`, "local");
    try {
      const holder = shell.exec("echo held > held.txt; signal holding; wait-for release");
      await settled("the first command's write", meet.reached("holding"));
      // `write-then-signal` starts its write and only then signals; after `signal`, the redirection's
      // write follows within the same turn of the event loop (no request: the index is local), so
      // the abort, a turn later (setImmediate, not a timer), finds it waiting.
      shell.registerCommand(
        defineCommand("write-then-signal", async ([name, path], ctx) => {
          const writing = ctx.fs.writeFile(ctx.fs.resolvePath(ctx.cwd, path!), "waiting\n");
          meet.signal(name!);
          await writing;
          return { stdout: "", stderr: "", exitCode: 0 };
        }),
      );
      const controller = new AbortController();
      const command = how === "a redirection" ? "signal second-writing; echo waiting > waiting.txt" : "write-then-signal second-writing waiting.txt";
      const waiting = shell.exec(command, { signal: controller.signal });
      await settled("the second command's write", meet.reached("second-writing"));
      await new Promise((resolve) => setImmediate(resolve));
      controller.abort();
      await expect(settled("the aborted command, while the first still holds the commit", waiting)).rejects.toMatchObject({ name: "AbortError" });
      meet.signal("release");
      expect(await settled("the first command", holder)).toEqual({ stdout: "", stderr: "", exitCode: 0 });
      expect((await shell.exec("ls")).stdout).toBe("held.txt\n");
      expect(await filesystem.exists(`${WORKSPACE}/waiting.txt`)).toBe(false);
    } finally {
      await close();
    }
  });
}
