// What shell commands cost in remote requests and commits, counted by the CountingStore that every
// mount has (fs.stats()): metadata commands are answered by the local index, warm reads by the
// cache, and a command's writes are one commit (one create-only PUT of a wal/ record). On a shared
// writer (the default) each command first reads the log's end, one GET, so it sees what other
// writers committed; an exclusive writer, which has no one to catch up with, skips it.

import { afterAll, expect, test } from "bun:test";
import { createAcceleratedJustBashShell } from "../../src/just-bash/index.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { measure, remountCold, shellFixture, WORKSPACE } from "./shell-fixtures.ts";

afterAll(() => removeTempDirectories());

/**
 * The head is brought up to date outside the measured commands: a command that runs long on a busy
 * machine never counts an earlier commit's head update.
 */
const quiet = { headDelayMs: 600_000 };

test("a command that writes 100 files makes exactly one commit: one PUT, of a wal/ record (after the GET of the log's end)", async () => {
  const { filesystem, shell, recorder, close } = await shellFixture("jb-requests-commit", {}, quiet);
  try {
    recorder.reset();
    const measured = await measure(filesystem, () => shell.exec('mkdir -p many && for i in $(seq 1 100); do echo "file $i" > "many/f$i.txt"; done; ls many | wc -l'));
    expect(measured.result).toEqual({ stdout: "100\n", stderr: "", exitCode: 0 });
    expect(measured.commits).toBe(1);
    expect(measured.puts).toBe(1);
    expect(measured.requests).toBe(2);
    expect(recorder.recorded({ operation: "get" }).map((request) => request.key?.replace(/\d+$/, "N"))).toEqual(["wal/N"]);
    const puts = recorder.recorded({ operation: "put" });
    expect(puts.map((request) => request.key?.replace(/\d+$/, "N"))).toEqual(["wal/N"]);
    expect(puts[0]?.conditional).toBe("create-only");
    expect(await shell.fs.readFile(`${WORKSPACE}/many/f42.txt`)).toBe("file 42\n");
  } finally {
    await close();
  }
});

test("ls -la of a 1,000-entry directory makes no request but the log's end", async () => {
  const { filesystem, shell, close } = await shellFixture("jb-requests-ls", {}, quiet);
  try {
    await shell.exec("mkdir big && for i in $(seq 1 1000); do : > big/entry-$i; done");
    const measured = await measure(filesystem, () => shell.exec("ls -la big | wc -l; ls big | head -2"));
    // "total", ".", ".." and the 1,000 entries.
    expect(measured.result).toEqual({ stdout: "1003\nentry-1\nentry-10\n", stderr: "", exitCode: 0 });
    expect({ gets: measured.gets, requests: measured.requests }).toEqual({ gets: 1, requests: 1 });
    expect(measured.commits).toBe(0);
  } finally {
    await close();
  }
});

test("grep -r over a warm tree makes no request (and over a cold one, only the reads it needs)", async () => {
  const { workspace, shell, close } = await shellFixture("jb-requests-grep");
  await shell.exec(
    'for d in $(seq 1 10); do mkdir -p "src/d$d"; for f in $(seq 1 20); do printf "line one\\nneedle $d $f\\nline three\\n" > "src/d$d/f$f.txt"; done; done',
  );
  await close();
  const reader = await remountCold(workspace);
  try {
    const readerShell = await createAcceleratedJustBashShell({ filesystem: reader, cwd: WORKSPACE });
    const cold = await measure(reader, () => readerShell.exec("grep -r 'needle 7 13' src; grep -rc needle src | wc -l"));
    expect(cold.result).toEqual({ stdout: "src/d7/f13.txt:needle 7 13\n200\n", stderr: "", exitCode: 0 });
    expect(cold.gets).toBeGreaterThan(0);
    const warm = await measure(reader, () => readerShell.exec("grep -r 'needle 7 13' src; grep -rc needle src | wc -l"));
    expect(warm.result).toEqual(cold.result);
    expect(warm.requests).toBe(0);
    expect(reader.stats().cache.hits).toBeGreaterThan(0);
  } finally {
    await reader.close();
  }
});

test("the PATH probes, cd, test and reading commands make no request but the log's end, and publish nothing", async () => {
  const { filesystem, shell, close } = await shellFixture("jb-requests-probes", {}, quiet);
  try {
    await shell.exec("mkdir -p sub && echo hello > sub/a.txt");
    const measured = await measure(filesystem, () =>
      shell.exec("cd sub && cat a.txt && test -f a.txt && [ -d . ] && which cat && find . -type f && stat -c '%s' a.txt && wc -c < a.txt; cat /proc/version > /dev/null"),
    );
    expect(measured.result).toEqual({ stdout: "hello\n/usr/bin/cat\n./a.txt\n6\n6\n", stderr: "", exitCode: 0 });
    expect({ gets: measured.gets, requests: measured.requests }).toEqual({ gets: 1, requests: 1 });
    expect(measured.commits).toBe(0);
  } finally {
    await close();
  }
});

test("an append (`>>`) publishes only its bytes: the empty pre-append just-bash makes is free", async () => {
  const { filesystem, shell, recorder, close } = await shellFixture("jb-requests-append", {}, quiet);
  try {
    await shell.exec("echo first > log.txt");
    recorder.reset();
    const measured = await measure(filesystem, () => shell.exec("echo second >> log.txt"));
    expect(measured.commits).toBe(1);
    expect({ gets: measured.gets, puts: measured.puts }).toEqual({ gets: 1, puts: 1 });
    expect(recorder.recorded({ operation: "put" })[0]?.bytes).toBeLessThan(1024); // a small record: the file is not rewritten
    expect(await shell.fs.readFile(`${WORKSPACE}/log.txt`)).toBe("first\nsecond\n");
  } finally {
    await close();
  }
});

test("seeding files through shell.fs: in shell.fs.transaction one commit, one PUT; awaited one by one, a commit each", async () => {
  const { filesystem, shell, close } = await shellFixture("jb-requests-seed", {}, quiet);
  try {
    const files = 40;
    const together = await measure(filesystem, () =>
      shell.fs.transaction(async (fs) => {
        for (let index = 0; index < files; index++) await fs.writeFile(`${WORKSPACE}/seed/together-${index}.ts`, `export const v = ${index};\n`);
      }),
    );
    expect(together.commits).toBe(1);
    expect(together.requests).toBe(1);
    const apart = await measure(filesystem, async () => {
      for (let index = 0; index < files; index++) await shell.fs.writeFile(`${WORKSPACE}/seed/apart-${index}.ts`, `export const v = ${index};\n`);
    });
    expect(apart.commits).toBe(files); // each durable when its call resolves
    expect(apart.requests).toBe(files);
    expect(await shell.fs.readFile(`${WORKSPACE}/seed/together-39.ts`)).toBe("export const v = 39;\n");
    expect((await shell.exec("ls seed | wc -l")).stdout).toBe(`${2 * files}\n`);
  } finally {
    await close();
  }
});

test("with commit: per-write, no transaction: a redirection is one write (its empty write joins the bytes written through it), and writes nothing waited for go out together", async () => {
  const { filesystem, shell, close } = await shellFixture("jb-requests-per-write", { commit: "per-write" }, quiet);
  try {
    // just-bash opens `> f` with writeFile(f, "") and then writes the output: held back, the empty
    // write joins the output's, so each redirection is one write. The two are left in flight and
    // given to the mount together when mkdir (which may fail, so waits for them) comes: one
    // record; `mkdir` another. Each write was its own commit before: 3 (5 before redirections joined).
    const measured = await measure(filesystem, () => shell.exec("echo a > a.txt; echo b > b.txt; mkdir d"));
    expect(measured.commits).toBe(2);
    expect(measured.puts).toBe(2);
    // A redirection whose command writes nothing (`: > f`) is its empty write alone; `>>` onto a
    // new file likewise joins its bytes. The second `>>` checks that new.txt is not a directory
    // first (exists, stat), which waits for the writes in flight: two records.
    const more = await measure(filesystem, () => shell.exec(": > empty.txt; echo x >> new.txt; echo y >> new.txt"));
    expect(more.commits).toBe(2);
    expect(await shell.fs.readFile(`${WORKSPACE}/empty.txt`)).toBe("");
    expect(await shell.fs.readFile(`${WORKSPACE}/new.txt`)).toBe("x\ny\n");
  } finally {
    await close();
  }
});

test("an exclusive writer's commands skip the read of the log's end: a reading command makes no request, a writing one only its PUT", async () => {
  const { filesystem, shell, close } = await shellFixture("jb-requests-exclusive", {}, { ...quiet, exclusive: true });
  try {
    await shell.exec("mkdir -p sub && echo hello > sub/a.txt");
    const reading = await measure(filesystem, () => shell.exec("cd sub && cat a.txt && ls -la | wc -l && which cat"));
    expect(reading.result.exitCode).toBe(0);
    expect({ requests: reading.requests, commits: reading.commits }).toEqual({ requests: 0, commits: 0 });
    const writing = await measure(filesystem, () => shell.exec("echo more >> sub/a.txt; echo b > sub/b.txt"));
    expect({ requests: writing.requests, puts: writing.puts, commits: writing.commits }).toEqual({ requests: 1, puts: 1, commits: 1 });
  } finally {
    await close();
  }
});
