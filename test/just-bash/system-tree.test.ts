// The shell's system directories (/bin, /usr, /dev, /proc) are served from memory and never reach
// the store: /dev/null swallows writes (also through a link), PATH lookups find the shell's
// commands, and writes to /dev and /proc fail with EROFS instead of being kept and lost (the
// users' own files below /bin, /usr and /dev/fd are test/just-bash/inmemory-fidelity.test.ts's).

import { afterAll, expect, test } from "bun:test";
import { getCommandNames } from "just-bash";
import { FsError } from "../../src/core.ts";
import { systemRoots } from "../../src/just-bash/index.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { measure, shellFixture, storedObjects, WORKSPACE } from "./shell-fixtures.ts";

afterAll(() => removeTempDirectories());

test("/dev/null never reaches the store: no request, no commit, nothing in the bucket", async () => {
  const { workspace, filesystem, shell, close } = await shellFixture("jb-system-null");
  try {
    await shell.exec("echo seed > seed.txt");
    const measured = await measure(filesystem, () =>
      shell.exec("echo SECRET-1 > /dev/null; cat seed.txt >> /dev/null; ls nope 2>/dev/null; echo SECRET-2 &> /dev/null; echo SECRET-3 | tee /dev/null > /dev/null; cat /dev/null; wc -c < /dev/null"),
    );
    expect(measured.result).toEqual({ stdout: "0\n", stderr: "", exitCode: 0 });
    // The command's only request is the read of the log's end a shared writer's command starts with.
    expect({ gets: measured.gets, puts: measured.puts, requests: measured.requests, commits: measured.commits }).toEqual({ gets: 1, puts: 0, requests: 1, commits: 0 });
    // The index has no /dev, and no object in the bucket holds what was thrown away.
    expect(filesystem.allPaths().filter((path) => systemRoots.some((root) => path === root || path.startsWith(`${root}/`)))).toEqual([]);
    expect(storedObjects(workspace).filter(({ bytes }) => bytes.includes("SECRET"))).toEqual([]);
    expect(storedObjects(workspace).some(({ bytes }) => bytes.includes("seed\n"))).toBe(true); // the check can see data
  } finally {
    await close();
  }
});

test("a link to /dev/null writes to the device, not into the bucket", async () => {
  const { workspace, filesystem, shell, close } = await shellFixture("jb-system-link");
  try {
    const result = await shell.exec("ln -s /dev/null sink; echo HIDDEN-1 > sink; echo HIDDEN-2 >> sink; cat sink | wc -c; test -L sink && echo still-a-link; mkdir d; ln -s /dev d/devices; echo HIDDEN-3 > d/devices/null; cat d/devices/null");
    expect(result).toEqual({ stdout: "0\nstill-a-link\n", stderr: "", exitCode: 0 });
    expect(await shell.fs.realpath(`${WORKSPACE}/sink`)).toBe("/dev/null");
    expect(await shell.fs.readdir(`${WORKSPACE}/d/devices`)).toEqual(["fd", "null", "stderr", "stdin", "stdout", "zero"]);
    expect(filesystem.allPaths().some((path) => path.startsWith("/dev"))).toBe(false);
    expect(storedObjects(workspace).filter(({ bytes }) => bytes.includes("HIDDEN"))).toEqual([]);
  } finally {
    await close();
  }
});

test("/dev and /proc read as just-bash lays them out", async () => {
  const { shell, close } = await shellFixture("jb-system-layout", { processInfo: { pid: 42, ppid: 7, uid: 500, gid: 501 } });
  try {
    const result = await shell.exec("ls /dev; ls /proc/self; cat /proc/version; cat /proc/self/status | head -3; cat /proc/self/fd/1; echo; head -c 4 /dev/zero | wc -c");
    expect(result).toEqual({
      stdout:
        "fd\nnull\nstderr\nstdin\nstdout\nzero\n" +
        "cmdline\ncomm\nexe\nfd\nstatus\n" +
        "Linux version 5.15.0-generic (just-bash) #1 SMP PREEMPT\n" +
        "Name:\tbash\nState:\tR (running)\nPid:\t42\n" +
        "/dev/stdout\n0\n",
      stderr: "",
      exitCode: 0,
    });
  } finally {
    await close();
  }
});

test("/bin and /usr/bin hold one stub per shell command, custom ones included", async () => {
  const hello = { name: "hello", execute: async () => ({ stdout: "hello from a custom command\n", stderr: "", exitCode: 0 }) };
  const { shell, close } = await shellFixture("jb-system-commands", { customCommands: [hello] });
  try {
    shell.registerCommand({ name: "later", execute: async () => ({ stdout: "registered later\n", stderr: "", exitCode: 0 }) });
    const result = await shell.exec("which ls hello later; command -v cat; hello; later; ls /usr/bin | wc -l; cat /bin/ls");
    expect(result).toEqual({
      stdout: `/usr/bin/ls\n/usr/bin/hello\n/usr/bin/later\n/usr/bin/cat\nhello from a custom command\nregistered later\n${getCommandNames().length + 2}\n#!/bin/bash\n# Built-in command: ls\n`,
      stderr: "",
      exitCode: 0,
    });
  } finally {
    await close();
  }
});

test("a restricted command set is what /usr/bin lists, and what runs", async () => {
  const { shell, close } = await shellFixture("jb-system-restricted", { commands: ["echo", "ls", "cat"] });
  try {
    const result = await shell.exec("ls /usr/bin; grep x /dev/null; echo rc=$?");
    expect(result).toEqual({ stdout: "cat\necho\nls\nrc=127\n", stderr: "bash: grep: command not found\n", exitCode: 0 });
  } finally {
    await close();
  }
});

test("the root lists the system directories beside the bucket's own", async () => {
  const { shell, close } = await shellFixture("jb-system-root");
  try {
    expect(await shell.fs.readdir("/")).toEqual(["bin", "dev", "proc", "usr", "workspace"]);
    expect((await shell.exec("ls /")).stdout).toBe("bin\ndev\nproc\nusr\nworkspace\n");
    const paths = shell.fs.getAllPaths();
    expect(paths).toContain("/dev/null");
    expect(paths).toContain("/usr/bin/ls");
    expect(paths).toContain(WORKSPACE);
  } finally {
    await close();
  }
});

test("writes anywhere else in the system tree fail with EROFS and publish nothing", async () => {
  const { filesystem, shell, close } = await shellFixture("jb-system-readonly");
  const fs = shell.fs;
  try {
    const refusals: [string, () => Promise<unknown>][] = [
      ["EROFS: read-only file system, open '/proc/version'", () => fs.appendFile("/proc/version", "x")],
      ["EROFS: read-only file system, mkdir '/dev/shm'", () => fs.mkdir("/dev/shm")],
      ["EROFS: read-only file system, mv '/proc/version'", () => fs.mv("/proc/version", `${WORKSPACE}/v`)],
      ["EROFS: read-only file system, mv '/dev/x'", () => fs.mv(`${WORKSPACE}`, "/dev/x")],
      ["EROFS: read-only file system, symlink '/dev/tty'", () => fs.symlink("/dev/null", "/dev/tty")],
      ["EROFS: read-only file system, open '/proc/self/notes'", () => fs.writeFile("/proc/self/notes", "x")],
      ["EROFS: read-only file system, chmod '/proc/version'", () => fs.chmod("/proc/version", 0o755)],
      ["EROFS: read-only file system, rm '/dev/null'", () => fs.rm("/dev/null")],
      ["EROFS: read-only file system, utimes '/proc/version'", () => fs.utimes("/proc/version", new Date(), new Date())],
    ];
    const before = filesystem.stats().commits?.commits;
    for (const [message, call] of refusals) {
      const error = await call().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(FsError);
      expect((error as FsError).message).toBe(message);
    }
    // Existing system directories satisfy mkdir -p; the devices accept writes and touch.
    await fs.mkdir("/dev", { recursive: true });
    await fs.writeFile("/dev/stderr", "discarded");
    await fs.utimes("/dev/null", new Date(0), new Date(0));
    expect((await fs.stat("/dev/null")).mtime.getTime()).toBe(0);
    expect(filesystem.stats().commits?.commits).toBe(before);
    // In the shell, a refused redirection reads as bash's message: an exit status, never a rejection.
    expect(await shell.exec("echo x > /proc/version")).toEqual({ stdout: "", stderr: "bash: /proc/version: Read-only file system\n", exitCode: 1 });
    expect((await shell.exec("mkdir -p /dev/shm; echo rc=$?; cp /proc/version v.txt; cat v.txt")).stdout).toBe("rc=1\nLinux version 5.15.0-generic (just-bash) #1 SMP PREEMPT\n");
  } finally {
    await close();
  }
});
