// The sandbox's exec as Flue's contract states it (@flue/runtime 2.1 `Sandbox.exec`): a non-zero
// exit resolves; `timeoutMs` resolves with exit code 124; rejection is for aborts (an AbortError)
// and transport failures only. Commands run in just-bash over the workspace's files, one commit
// each, with a per-call cwd resolved against the sandbox's cwd (Flue's own bash() sandbox passes it
// unresolved).

import { afterAll, expect, test } from "bun:test";
import { createBashTool } from "@flue/runtime";
import { defineCommand } from "just-bash";
import { removeTempDirectories } from "../support/temp.ts";
import { requestsOf, testBucket } from "./flue-fixtures.ts";

afterAll(() => removeTempDirectories());

async function sandboxFor(label: string, options: Parameters<ReturnType<typeof testBucket>["factory"]>[0] = {}) {
  const factory = testBucket(label).factory(options);
  const sandbox = await factory.createSandbox({ id: "exec" });
  return { factory, sandbox, filesystem: await factory.filesystemFor("exec") };
}

test("exec runs in just-bash over the workspace; a non-zero exit resolves with its output", async () => {
  const { factory, sandbox, filesystem } = await sandboxFor("exec-basic");
  try {
    expect(await sandbox.exec("echo hello > greeting.txt && cat greeting.txt && pwd")).toEqual({ stdout: "hello\n/workspace\n", stderr: "", exitCode: 0 });
    expect(await filesystem.readText("/workspace/greeting.txt")).toBe("hello\n");
    expect(await sandbox.exec("cat nope.txt; exit 7")).toEqual({ stdout: "", stderr: "cat: nope.txt: No such file or directory\n", exitCode: 7 });
    expect(await sandbox.exec("echo $GREETING-$PWD", { env: { GREETING: "hi" } })).toMatchObject({ stdout: "hi-/workspace\n", exitCode: 0 });
    // The shell sees the workspace's tree and its in-memory system directories, never the host's.
    expect((await sandbox.exec("ls /")).stdout).toBe("bin\ndev\nproc\nusr\nworkspace\n");
  } finally {
    await factory.close();
  }
});

test("a per-call cwd is resolved against the sandbox's cwd; an absolute one is used as given", async () => {
  const { factory, sandbox } = await sandboxFor("exec-cwd");
  try {
    await sandbox.mkdir("sub/deeper", { recursive: true });
    expect((await sandbox.exec("pwd", { cwd: "sub" })).stdout).toBe("/workspace/sub\n");
    expect((await sandbox.exec("pwd", { cwd: "./sub/deeper/.." })).stdout).toBe("/workspace/sub\n");
    expect((await sandbox.exec("pwd", { cwd: "/tmp" })).stdout).toBe("/tmp\n");
    expect((await sandbox.exec("echo x > made-here.txt", { cwd: "sub" })).exitCode).toBe(0);
    expect(await sandbox.readFile("sub/made-here.txt")).toBe("x\n");
  } finally {
    await factory.close();
  }
});

test("each exec is one commit: a command writing 50 files makes one PUT; a read-only command none; each reads the log's end first (one GET: other writers' commits)", async () => {
  const { factory, sandbox, filesystem } = await sandboxFor("exec-commit");
  try {
    let before = requestsOf(filesystem);
    expect((await sandbox.exec("mkdir many && for i in $(seq 1 50); do echo $i > many/$i.txt; done")).exitCode).toBe(0);
    expect(requestsOf(filesystem) - before).toBe(2);
    before = requestsOf(filesystem);
    expect((await sandbox.exec("cat many/*.txt | wc -l; ls many | head -1; grep -rl '^42$' many")).stdout).toBe("50\n1.txt\nmany/42.txt\n");
    expect(requestsOf(filesystem) - before).toBe(1);
  } finally {
    await factory.close();
  }
});

test("timeoutMs: the command stops and exec resolves with exit code 124; what it wrote before is published", async () => {
  const { factory, sandbox, filesystem } = await sandboxFor("exec-timeout");
  try {
    const started = Date.now();
    const result = await sandbox.exec("echo early > early.txt; sleep 10; echo late > late.txt", { timeoutMs: 150 });
    expect(result.exitCode).toBe(124);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await filesystem.exists("/workspace/early.txt")).toBe(true);
    expect(await filesystem.exists("/workspace/late.txt")).toBe(false);
    // A busy loop that never yields stops too (just-bash's own clock checks).
    expect((await sandbox.exec("while true; do :; done", { timeoutMs: 200 })).exitCode).toBe(124);
    // Flue allows rounding a deadline up, never down: 0 is the shortest one, not none.
    expect((await sandbox.exec("sleep 5", { timeoutMs: 0 })).exitCode).toBe(124);
    // And the next command runs normally.
    expect(await sandbox.exec("cat early.txt")).toEqual({ stdout: "early\n", stderr: "", exitCode: 0 });
  } finally {
    await factory.close();
  }
});

test("aborting the signal rejects with an AbortError at once, and nothing the command wrote is published", async () => {
  const { factory, sandbox, filesystem } = await sandboxFor("exec-abort");
  try {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await sandbox.exec("echo partial > partial.txt; sleep 10", { signal: controller.signal }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe("AbortError");
    expect(Date.now() - started).toBeLessThan(5_000);
    await Bun.sleep(100); // the command ends behind the rejection
    expect(await filesystem.exists("/workspace/partial.txt")).toBe(false);
    // An already-aborted signal never starts the command.
    await expect(sandbox.exec("echo never > never.txt", { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
    expect(await filesystem.exists("/workspace/never.txt")).toBe(false);
  } finally {
    await factory.close();
  }
});

test("Flue's bash tool with a timeout reports exit 124, and the command ends as a timeout (its earlier writes published)", async () => {
  const { factory, sandbox, filesystem } = await sandboxFor("exec-bash-tool");
  try {
    // The tool passes its deadline as timeoutMs and, folded in, as its signal: that abort is the deadline.
    const result = await createBashTool(sandbox).execute("call-1", { command: "echo before > before.txt; sleep 10", timeout: 0.2 });
    expect(result.content).toEqual([{ type: "text", text: "[flue] Command timed out after 0.2 seconds." + "\n\nCommand exited with code 124" }]);
    // The command is stopped behind the tool's answer; what it wrote before is then published.
    for (let attempt = 0; attempt < 200 && !(await filesystem.exists("/workspace/before.txt")); attempt++) await Bun.sleep(25);
    expect(await filesystem.readText("/workspace/before.txt")).toBe("before\n");
    const done = await createBashTool(sandbox).execute("call-2", { command: "cat before.txt" });
    expect(done.content).toEqual([{ type: "text", text: "before" }]);
  } finally {
    await factory.close();
  }
});

test("shell options reach the shell: a default timeout and a custom command", async () => {
  const { factory, sandbox } = await sandboxFor("exec-shell-options", {
    shell: {
      timeoutMs: 150,
      customCommands: [defineCommand("hello", async (args) => ({ stdout: `hello ${args.join(" ")}\n`, stderr: "", exitCode: 0 }))],
    },
  });
  try {
    expect((await sandbox.exec("sleep 5")).exitCode).toBe(124);
    expect(await sandbox.exec("hello flue")).toEqual({ stdout: "hello flue\n", stderr: "", exitCode: 0 });
  } finally {
    await factory.close();
  }
});

test("concurrent exec calls run concurrently (agents issue tool calls in parallel), each command one commit of its own writes", async () => {
  // The two commands meet before they write: run one after another, the first would wait for ever.
  const events = new Map<string, PromiseWithResolvers<void>>();
  const event = (name: string) => events.get(name) ?? events.set(name, Promise.withResolvers<void>()).get(name)!;
  const { factory, sandbox, filesystem } = await sandboxFor("exec-concurrent", {
    shell: {
      customCommands: [
        defineCommand("signal", async ([name]) => (event(name!).resolve(), { stdout: "", stderr: "", exitCode: 0 })),
        defineCommand("wait-for", async ([name]) => (await event(name!).promise, { stdout: "", stderr: "", exitCode: 0 })),
      ],
    },
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("the two exec calls still wait for each other after 30 s: they did not run concurrently")), 30_000);
  });
  try {
    const commitsBefore = filesystem.stats().commits?.commits ?? 0;
    const results = await Promise.race([
      Promise.all([sandbox.exec("signal a; wait-for b; echo a > a.txt; echo a2 >> a.txt; cat a.txt"), sandbox.exec("signal b; wait-for a; echo b > b.txt; cat b.txt")]),
      stuck,
    ]);
    expect(results).toEqual([
      { stdout: "a\na2\n", stderr: "", exitCode: 0 },
      { stdout: "b\n", stderr: "", exitCode: 0 },
    ]);
    expect((filesystem.stats().commits?.commits ?? 0) - commitsBefore).toBe(2);
  } finally {
    clearTimeout(timer);
    await Promise.race([factory.close(), new Promise((resolve) => setTimeout(resolve, 30_000))]);
  }
});
