// With `commit: "per-write"`, a redirection's empty write (just-bash opens `> f` with
// writeFile(f, "") before the command runs) is held back and joins the bytes the command writes
// through it: one write instead of two. What any command observes must not change: every call
// that could see the file (the file itself, a path through a link to it or below it, its
// directory, another name of it) publishes the held write first and waits for it, and what is
// still held when the command ends is published before exec() resolves. (Writes are also left in
// flight and given to the mount together: per-write-in-flight.test.ts.)

import { afterAll, expect, test } from "bun:test";
import { Bash, InMemoryFs } from "just-bash";
import { removeTempDirectories } from "../support/temp.ts";
import { measure, remountCold, shellFixture, WORKSPACE } from "./shell-fixtures.ts";

afterAll(() => removeTempDirectories());

/** Scripts where a command reads what its own redirection opened, beside what InMemoryFs prints for each. */
const scripts = [
  "echo old > f; cat f > f; wc -c < f",
  "echo one > f; ls > listing; cat listing",
  "echo hi > t; ln -s t l; cat l > t; wc -c < t",
  "mkdir d; echo hi > d/t; ln -s d dl; ls dl > d/u; cat d/u",
  "echo a > f; { echo b; cat f; } > f; cat f",
  ": > z; [ -f z ] && echo exists; test -s z || echo empty",
  "echo x > nodir/f; echo status $?",
  "mkdir dd; echo x > dd; echo status $?",
  "echo a > f; cat f/x > g; echo status $?; cat g",
  "printf 'x\\n' >> log; cat log >> log; cat log",
];

test("commands observe what they observe over InMemoryFs, with fewer commits than writes", async () => {
  const { filesystem, shell, close } = await shellFixture("jb-per-write-observe", { commit: "per-write" }, { headDelayMs: 600_000 });
  try {
    for (const [index, script] of scripts.entries()) {
      const directory = `case-${index}`;
      const memory = new InMemoryFs();
      await memory.mkdir(`${WORKSPACE}/${directory}`, { recursive: true });
      const expected = await new Bash({ fs: memory, cwd: `${WORKSPACE}/${directory}`, defenseInDepth: false }).exec(script);
      await shell.fs.mkdir(`${WORKSPACE}/${directory}`);
      const ours = await shell.exec(script, { cwd: directory });
      expect({ script, stdout: ours.stdout, stderr: ours.stderr, exitCode: ours.exitCode }).toEqual({ script, stdout: expected.stdout, stderr: expected.stderr, exitCode: expected.exitCode });
    }
    // The first script's bytes as a writer that never heard of the held write: `cat f > f` emptied f.
    expect(await shell.fs.readFile(`${WORKSPACE}/case-0/f`)).toBe("");
    // Another name of the file (a hard link) sees the truncation too. InMemoryFs copies on `ln`,
    // so here POSIX is the reference: the two names are one file, emptied before cat reads it.
    await shell.fs.mkdir(`${WORKSPACE}/hard`);
    expect(await shell.exec("echo hi > h; ln h h2; cat h2 > h; wc -c < h2", { cwd: "hard" })).toEqual({ stdout: "0\n", stderr: "", exitCode: 0 });
    // Two redirections, four writes: two once joined, and those two in one record, given to the
    // mount together when the command ends (nothing waited for them before).
    const measured = await measure(filesystem, () => shell.exec("echo a > a.txt; echo b > b.txt"));
    expect(measured.commits).toBe(1);
  } finally {
    await close();
  }
});

test("a held write is published before exec() resolves, and before any later write (each durable, in order)", async () => {
  const { workspace, filesystem, shell, close } = await shellFixture("jb-per-write-durable", { commit: "per-write" }, { headDelayMs: 600_000 });
  try {
    // `: > last` writes nothing through its redirection: nothing joins it, the command's end
    // publishes it. mkdir publishes "first" and the held "second" (one record) and waits for them.
    const measured = await measure(filesystem, () => shell.exec("echo data > first; : > second; mkdir third; : > last"));
    expect(measured.commits).toBe(3);
    const reader = await remountCold(workspace);
    try {
      expect(new TextDecoder().decode(await reader.readFile(`${WORKSPACE}/first`))).toBe("data\n");
      expect((await reader.stat(`${WORKSPACE}/second`)).size).toBe(0);
      expect((await reader.stat(`${WORKSPACE}/third`)).isDirectory()).toBe(true);
      expect((await reader.stat(`${WORKSPACE}/last`)).size).toBe(0);
      // Log order: "second" (held, then published by mkdir) has an older mtime than "third".
      expect((await reader.stat(`${WORKSPACE}/second`)).mtimeMs).toBeLessThan((await reader.stat(`${WORKSPACE}/third`)).mtimeMs);
    } finally {
      await reader.close();
    }
  } finally {
    await close();
  }
});

test("shell.fs and per-command shells hold nothing: their empty writes are commits at once", async () => {
  const { workspace, filesystem, shell, close } = await shellFixture("jb-per-write-scope", {}, { headDelayMs: 600_000 });
  try {
    const direct = await measure(filesystem, () => shell.fs.writeFile(`${WORKSPACE}/direct`, ""));
    expect(direct.commits).toBe(1);
    const reader = await remountCold(workspace);
    try {
      expect((await reader.stat(`${WORKSPACE}/direct`)).size).toBe(0);
    } finally {
      await reader.close();
    }
    const command = await measure(filesystem, () => shell.exec(": > a; echo b > b"));
    expect(command.commits).toBe(1);
  } finally {
    await close();
  }
});
