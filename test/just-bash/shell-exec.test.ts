// createAcceleratedJustBashShell and exec(): commands run in just-bash over the core filesystem,
// one atomic commit per command; exec({ cwd, env, stdin, signal, timeoutMs }) resolves with
// { stdout, stderr, exitCode } (124 on timeout) and rejects only for an abort by the caller's
// signal or a failure to publish, in which case nothing the command wrote is published.

import { afterAll, expect, test } from "bun:test";
import { FaultInjectingStore, FsError, S3CachedFsManagerImpl, type ObjectStore } from "../../src/core.ts";
import { AcceleratedJustBashFs, createAcceleratedJustBashShell } from "../../src/just-bash/index.ts";
import { testWorkspace } from "../support/mounts.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { measure, remountCold, shellFixture, WORKSPACE } from "./shell-fixtures.ts";

afterAll(() => removeTempDirectories());

/** Registers `abort-now`, a command that aborts the returned controller (the caller's signal) mid-script. */
function abortNowCommand(shell: Awaited<ReturnType<typeof shellFixture>>["shell"]): AbortController {
  const controller = new AbortController();
  shell.registerCommand({
    name: "abort-now",
    execute: async () => {
      controller.abort();
      return { stdout: "", stderr: "", exitCode: 0 };
    },
  });
  return controller;
}

test("mkdir, echo into a file and cat it back; the file outlives the mount and its cache", async () => {
  const { workspace, shell, close } = await shellFixture("jb-exec-seed");
  const result = await shell.exec("mkdir -p reports && echo hello > reports/out.txt && cat reports/out.txt");
  expect(result).toEqual({ stdout: "hello\n", stderr: "", exitCode: 0 });
  await close();
  const remounted = await remountCold(workspace);
  try {
    const reader = await createAcceleratedJustBashShell({ filesystem: remounted, cwd: WORKSPACE });
    expect(await reader.exec("cat reports/out.txt")).toEqual({ stdout: "hello\n", stderr: "", exitCode: 0 });
  } finally {
    await remounted.close();
  }
});

test("exec honours cwd (absolute, or relative to the shell's), env and stdin, for that call only", async () => {
  const { shell, close } = await shellFixture("jb-exec-options");
  try {
    await shell.exec("mkdir -p sub/deeper");
    const result = await shell.exec('pwd; echo "$GREETING"; cat; echo made > here.txt', { cwd: "sub", env: { GREETING: "hi" }, stdin: "from stdin\n" });
    expect(result).toEqual({ stdout: `${WORKSPACE}/sub\nhi\nfrom stdin\n`, stderr: "", exitCode: 0 });
    expect(await shell.fs.readFile(`${WORKSPACE}/sub/here.txt`)).toBe("made\n");
    expect((await shell.exec("pwd", { cwd: `${WORKSPACE}/sub/deeper` })).stdout).toBe(`${WORKSPACE}/sub/deeper\n`);
    expect((await shell.exec('pwd; echo "[$GREETING]"')).stdout).toBe(`${WORKSPACE}\n[]\n`);
    expect(shell.getCwd()).toBe(WORKSPACE);
  } finally {
    await close();
  }
});

test("the working directory is created with the shell, once", async () => {
  const workspace = await testWorkspace("local", "jb-exec-cwd");
  const filesystem = await workspace.mount();
  try {
    const first = await measure(filesystem, () => createAcceleratedJustBashShell({ filesystem, cwd: "/projects/demo" }));
    expect(first.commits).toBe(1);
    expect((await filesystem.stat("/projects/demo")).isDirectory()).toBe(true);
    const second = await measure(filesystem, () => createAcceleratedJustBashShell({ filesystem, cwd: "/projects/demo/" }));
    expect(second.commits).toBe(0);
    expect(second.result.cwd).toBe("/projects/demo");
    expect((await second.result.exec("pwd")).stdout).toBe("/projects/demo\n");
  } finally {
    await filesystem.close();
  }
});

test("a command is one atomic commit: its writes are invisible to others until it ends", async () => {
  const { workspace, filesystem, shell, close } = await shellFixture("jb-exec-atomic");
  const seen: boolean[] = [];
  shell.registerCommand({
    name: "peek",
    // Outside the command, shell.fs reads the committed view.
    execute: async () => {
      seen.push(await shell.fs.exists(`${WORKSPACE}/one.txt`));
      return { stdout: "", stderr: "", exitCode: 0 };
    },
  });
  try {
    const measured = await measure(filesystem, () => shell.exec("echo 1 > one.txt; peek; cat one.txt; echo 2 > two.txt"));
    expect(measured.result).toEqual({ stdout: "1\n", stderr: "", exitCode: 0 });
    expect(seen).toEqual([false]);
    expect(measured.commits).toBe(1);
    expect(await shell.fs.exists(`${WORKSPACE}/one.txt`)).toBe(true);
    const reader = await remountCold(workspace, { name: "reader" });
    try {
      expect(await reader.readdir(WORKSPACE)).toEqual(["one.txt", "two.txt"]);
    } finally {
      await reader.close();
    }
  } finally {
    await close();
  }
});

test("a command that fails still publishes what it wrote before failing", async () => {
  const { shell, close } = await shellFixture("jb-exec-failing");
  try {
    const result = await shell.exec("echo kept > kept.txt; cat missing.txt");
    expect(result).toEqual({ stdout: "", stderr: "cat: missing.txt: No such file or directory\n", exitCode: 1 });
    expect(await shell.fs.readFile(`${WORKSPACE}/kept.txt`)).toBe("kept\n");
  } finally {
    await close();
  }
});

test("timeoutMs stops a command with exit code 124, and what it wrote before is published", async () => {
  const { shell, close } = await shellFixture("jb-exec-timeout", { timeoutMs: 60_000 });
  try {
    const result = await shell.exec("echo before > before.txt; sleep 1000; echo after > after.txt", { timeoutMs: 50 });
    expect(result.exitCode).toBe(124);
    expect(result.stderr).toMatch(/^bash: .*(aborted|deadline)/);
    expect(await shell.fs.readFile(`${WORKSPACE}/before.txt`)).toBe("before\n");
    expect(await shell.fs.exists(`${WORKSPACE}/after.txt`)).toBe(false);
  } finally {
    await close();
  }
});

test("timeoutMs also stops a busy loop that never yields to a timer", async () => {
  const { shell, close } = await shellFixture("jb-exec-busy", { timeoutMs: 100, executionLimits: { maxCommandCount: 1e12, maxLoopIterations: 1e12 } });
  try {
    const result = await shell.exec("while true; do :; done");
    expect(result.exitCode).toBe(124);
    expect(result.stderr).toContain("deadline");
  } finally {
    await close();
  }
});

test("an abort by the caller's signal rejects with an AbortError, and nothing is published", async () => {
  const { filesystem, shell, close } = await shellFixture("jb-exec-abort");
  try {
    const controller = abortNowCommand(shell);
    const measured = await measure(filesystem, async () => {
      const error = await shell.exec("echo lost > lost.txt; abort-now; sleep 1000", { signal: controller.signal }).catch((caught: unknown) => caught);
      return error;
    });
    expect(measured.result).toBeInstanceOf(DOMException);
    expect((measured.result as DOMException).name).toBe("AbortError");
    expect(measured.commits).toBe(0);
    expect(await shell.fs.exists(`${WORKSPACE}/lost.txt`)).toBe(false);
    // An already-aborted signal does not run the command at all.
    await expect(shell.exec("echo no > no.txt", { signal: controller.signal })).rejects.toThrow();
    expect(await shell.fs.exists(`${WORKSPACE}/no.txt`)).toBe(false);
  } finally {
    await close();
  }
});

test("a failure to publish rejects exec, publishes nothing, and the next command works", async () => {
  let faults: FaultInjectingStore | undefined;
  const wrap = (store: ObjectStore) => (faults = new FaultInjectingStore(store));
  const { shell, close } = await shellFixture("jb-exec-transport", {}, {}, wrap);
  try {
    faults!.add({ operation: "put", keyPrefix: "wal/", fault: { kind: "error", error: "unauthorized" }, times: 1 });
    const error = await shell.exec("echo a > a.txt; echo b > b.txt").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FsError);
    expect((error as FsError).code).toBe("EACCES");
    expect(await shell.fs.exists(`${WORKSPACE}/a.txt`)).toBe(false);
    expect(await shell.exec("echo c > c.txt; ls")).toEqual({ stdout: "c.txt\n", stderr: "", exitCode: 0 });
  } finally {
    await close();
  }
});

test("a redirection the filesystem refuses ends the script with bash's message and exit status 1", async () => {
  const { shell, close } = await shellFixture("jb-exec-redirection");
  try {
    await shell.exec("echo plain > file");
    expect(await shell.exec("echo x > file/child; echo never")).toEqual({ stdout: "", stderr: "bash: file/child: Not a directory\n", exitCode: 1 });
    expect(await shell.exec(`echo x >> ${WORKSPACE}/file/child`)).toEqual({ stdout: "", stderr: `bash: file/child: Not a directory\n`, exitCode: 1 });
    expect(await shell.exec("cat file")).toEqual({ stdout: "plain\n", stderr: "", exitCode: 0 });
  } finally {
    await close();
  }
});

test("on a read-only mount, reads work and writes fail as a read-only file system", async () => {
  const { workspace, shell, close } = await shellFixture("jb-exec-readonly");
  await shell.exec("echo data > data.txt");
  await close();
  const reader = await remountCold(workspace);
  try {
    const readOnly = await createAcceleratedJustBashShell({ filesystem: reader, cwd: WORKSPACE });
    expect(await readOnly.exec("cat data.txt; ls")).toEqual({ stdout: "data\ndata.txt\n", stderr: "", exitCode: 0 });
    expect(await readOnly.exec("mkdir d; echo rc=$?")).toEqual({ stdout: "rc=1\n", stderr: "mkdir: cannot create directory 'd': EROFS: read-only file system, mkdir '/workspace/d'\n", exitCode: 0 });
    expect(await readOnly.exec("echo x > new.txt")).toEqual({ stdout: "", stderr: "bash: new.txt: Read-only file system\n", exitCode: 1 });
    await expect(createAcceleratedJustBashShell({ filesystem: reader, cwd: "/missing" })).rejects.toThrow("ENOENT");
  } finally {
    await reader.close();
  }
});

test("with commit: per-write, writes are published as they happen, even if the command is then aborted", async () => {
  const { shell, close } = await shellFixture("jb-exec-per-write", { commit: "per-write" });
  try {
    const controller = abortNowCommand(shell);
    await expect(shell.exec("echo early > early.txt; abort-now; sleep 1000", { signal: controller.signal })).rejects.toThrow();
    expect(await shell.fs.readFile(`${WORKSPACE}/early.txt`)).toBe("early\n");
  } finally {
    await close();
  }
});

test("concurrent exec calls that write are one commit each: a command's writes never interleave with another's", async () => {
  const { filesystem, shell, close } = await shellFixture("jb-exec-concurrent");
  try {
    const measured = await measure(filesystem, () =>
      Promise.all([1, 2, 3].map((n) => shell.exec(`for i in 1 2 3; do echo "${n}.$i" >> log.txt; done; wc -l < log.txt`))),
    );
    expect(measured.commits).toBe(3);
    expect(measured.result.map((result) => result.stdout).sort()).toEqual(["3\n", "6\n", "9\n"]);
    const lines = (await shell.fs.readFile(`${WORKSPACE}/log.txt`)).trim().split("\n");
    // Each command's three lines are together: no interleaving inside a command.
    for (let index = 0; index < 9; index += 3) expect(new Set(lines.slice(index, index + 3).map((line) => line.split(".")[0])).size).toBe(1);
  } finally {
    await close();
  }
});

test("a call that outlives its command fails instead of landing in a later commit", async () => {
  const { shell, close } = await shellFixture("jb-exec-straggler");
  let straggler: Promise<void> | undefined;
  shell.registerCommand({
    name: "leave-behind",
    execute: async (_args, context) => {
      const late = context.fs;
      straggler = new Promise<void>((resolve) => setTimeout(resolve, 10)).then(() => late.writeFile(`${WORKSPACE}/late.txt`, "late"));
      straggler.catch(() => {});
      return { stdout: "", stderr: "", exitCode: 0 };
    },
  });
  try {
    expect((await shell.exec("leave-behind")).exitCode).toBe(0);
    // just-bash's own context refuses it first ("execution aborted"); the adapter would too (below).
    await expect(straggler!).rejects.toThrow();
    await shell.exec("echo next > next.txt");
    expect(await shell.fs.exists(`${WORKSPACE}/late.txt`)).toBe(false);
  } finally {
    await close();
  }
});

test("an adapter whose signal has aborted refuses every call with ECANCELED", async () => {
  const { filesystem, close } = await shellFixture("jb-exec-revoked");
  try {
    const ended = new AbortController();
    const fs = new AcceleratedJustBashFs(filesystem, { signal: ended.signal });
    await fs.writeFile(`${WORKSPACE}/before.txt`, "ok");
    ended.abort();
    await expect(fs.writeFile(`${WORKSPACE}/after.txt`, "late")).rejects.toThrow(`ECANCELED: the command that made this call has already ended, open '${WORKSPACE}/after.txt'`);
    await expect(fs.stat(`${WORKSPACE}/before.txt`)).rejects.toThrow("ECANCELED");
    expect(await fs.exists(`${WORKSPACE}/before.txt`)).toBe(false);
    expect(await filesystem.exists(`${WORKSPACE}/after.txt`)).toBe(false);
  } finally {
    await close();
  }
});

test("the shell can mount through a manager, and then unmounts on close", async () => {
  const workspace = await testWorkspace("local", "jb-exec-manager");
  const manager = new S3CachedFsManagerImpl({ cacheRoot: workspace.cacheRoot, storeFactory: () => workspace.makeStore() });
  const shell = await createAcceleratedJustBashShell({ mount: { name: "agent" }, manager, cwd: WORKSPACE });
  expect(manager.names).toEqual(["agent"]);
  expect((await shell.exec("echo kept > kept.txt; cat kept.txt")).stdout).toBe("kept\n");
  await shell.close();
  expect(manager.names).toEqual([]);
  const again = await manager.mount({ name: "agent", mode: "readonly" });
  try {
    expect(await new AcceleratedJustBashFs(again).readFile(`${WORKSPACE}/kept.txt`)).toBe("kept\n");
  } finally {
    await again.close();
  }
});

test("a shell given a filesystem leaves it open on close", async () => {
  const { filesystem, shell, close } = await shellFixture("jb-exec-borrowed");
  try {
    await shell.close();
    expect(filesystem.closed).toBe(false);
    expect((await shell.exec("echo still")).stdout).toBe("still\n");
  } finally {
    await close();
  }
});

test("bad options fail at once, naming the option", async () => {
  const { filesystem, close } = await shellFixture("jb-exec-options-check");
  try {
    await expect(createAcceleratedJustBashShell({ filesystem, commit: "sometimes" as "per-write" })).rejects.toThrow('commit: expected "per-command" or "per-write"');
    await expect(createAcceleratedJustBashShell({ filesystem, timeoutMs: -1 })).rejects.toThrow("timeoutMs");
    await expect(createAcceleratedJustBashShell({} as never)).rejects.toThrow("give a mounted filesystem");
    const shell = await createAcceleratedJustBashShell({ filesystem });
    await expect(shell.exec("true", { timeoutMs: 0 })).rejects.toThrow("timeoutMs");
  } finally {
    await close();
  }
});

test("a NUL byte in env.PATH makes a command not found (exit 127, bash's message), never a rejected exec (found by the API-misuse fuzzer)", async () => {
  const { filesystem, shell, close } = await shellFixture("jb-exec-nul-path");
  try {
    const seq = filesystem.stats().seq;
    const result = await shell.exec("cat <(ls)", { env: { PATH: "\0" } });
    // What just-bash answers over InMemoryFs, word for word.
    expect(result).toEqual({ stdout: "", stderr: "bash: ls: command not found\nbash: cat: command not found\n", exitCode: 127 });
    expect(filesystem.stats().seq).toBe(seq);
    expect((await shell.exec("echo still works")).stdout).toBe("still works\n");
  } finally {
    await close();
  }
});
