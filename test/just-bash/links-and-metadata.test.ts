// Symbolic links, hard links, chmod, utimes and realpath through the adapter and through
// shell commands: POSIX semantics, published to the store (they survive a cold remount).

import { afterAll, expect, test } from "bun:test";
import { AcceleratedJustBashFs } from "../../src/just-bash/index.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { remountCold, shellFixture, WORKSPACE } from "./shell-fixtures.ts";

afterAll(() => removeTempDirectories());

test("symlinks: relative and absolute targets, chains, dangling links and loops", async () => {
  const { shell, close } = await shellFixture("jb-links-symlinks");
  const fs = shell.fs;
  try {
    await fs.writeFile("/data/real/file.txt", "payload");
    await fs.symlink("real", "/data/dir-link");
    await fs.symlink("dir-link/file.txt", "/data/chain");
    await fs.symlink("/data/real/file.txt", "/absolute");
    await fs.symlink("../nowhere", "/data/dangling");
    await fs.symlink("loop-b", "/data/loop-a");
    await fs.symlink("loop-a", "/data/loop-b");
    expect(await fs.readFile("/data/chain")).toBe("payload");
    expect(await fs.readFile("/data/dir-link/file.txt")).toBe("payload");
    expect(await fs.realpath("/data/chain")).toBe("/data/real/file.txt");
    expect(await fs.realpath("/absolute")).toBe("/data/real/file.txt");
    expect(await fs.readlink("/data/dangling")).toBe("../nowhere");
    expect((await fs.lstat("/data/dangling")).isSymbolicLink).toBe(true);
    expect(await fs.exists("/data/dangling")).toBe(false);
    expect(await fs.exists("/data/loop-a")).toBe(false);
    await expect(fs.stat("/data/loop-a")).rejects.toThrow("ELOOP");
    // Writing through a dangling link creates its target (POSIX open with O_CREAT).
    await fs.writeFile("/data/dangling", "made");
    expect(await fs.readFile("/nowhere")).toBe("made");
    // rm and mv act on the link, not its target; cp follows it.
    await fs.cp("/data/chain", "/data/copy");
    expect((await fs.lstat("/data/copy")).isSymbolicLink).toBe(false);
    expect(await fs.readFile("/data/copy")).toBe("payload");
    await fs.mv("/data/chain", "/data/chain-moved");
    expect(await fs.readlink("/data/chain-moved")).toBe("dir-link/file.txt");
    await fs.rm("/data/dir-link");
    expect(await fs.readFile("/data/real/file.txt")).toBe("payload");
  } finally {
    await close();
  }
});

test("ln -s, readlink, test -L and find through the shell, durable across a cold remount", async () => {
  const { workspace, shell, close } = await shellFixture("jb-links-shell");
  const result = await shell.exec("echo target > t.txt; ln -s t.txt l; readlink l; cat l; test -L l && echo is-link; ln -s t.txt l; echo rc=$?; ln -sf missing l; readlink l");
  expect(result).toEqual({
    stdout: "t.txt\ntarget\nis-link\nrc=1\nmissing\n",
    stderr: "ln: failed to create symbolic link 'l': File exists\n",
    exitCode: 0,
  });
  await close();
  const remounted = await remountCold(workspace);
  try {
    const fs = new AcceleratedJustBashFs(remounted);
    expect(await fs.readlink(`${WORKSPACE}/l`)).toBe("missing");
    expect((await fs.lstat(`${WORKSPACE}/l`)).isSymbolicLink).toBe(true);
  } finally {
    await remounted.close();
  }
});

test("hard links: ln, test -ef, equal ino, writes seen through both names, rm of one name keeps the other; durable across a cold remount", async () => {
  const { workspace, filesystem, shell, close } = await shellFixture("jb-links-hard");
  try {
    await shell.fs.writeFile(`${WORKSPACE}/a`, "A\n");
    const before = filesystem.stats().commits?.commits ?? 0;
    const result = await shell.exec("ln a b; echo rc=$?; test a -ef b && echo same; echo more >> b; cat a; mkdir d; ln a d/c; rm a; cat d/c; test b -ef d/c && echo still-same; ln d d2; echo rc=$?; ls");
    expect(result).toEqual({
      stdout: "rc=0\nsame\nA\nmore\nA\nmore\nstill-same\nrc=1\nb\nd\n",
      stderr: "ln: 'd': hard link not allowed for directory\n",
      exitCode: 0,
    });
    expect((filesystem.stats().commits?.commits ?? 0) - before).toBeGreaterThan(0);
    const b = await shell.fs.stat(`${WORKSPACE}/b`);
    expect(b.ino).toBe((await shell.fs.stat(`${WORKSPACE}/d/c`)).ino);
    expect((await filesystem.stat(`${WORKSPACE}/b`)).nlink).toBe(2);
    // The adapter's own errors, as InMemoryFs words them.
    await expect(shell.fs.link(`${WORKSPACE}/b`, `${WORKSPACE}/d/c`)).rejects.toThrow(`EEXIST: file already exists, link '${WORKSPACE}/d/c'`);
    await expect(shell.fs.link(`${WORKSPACE}/d`, `${WORKSPACE}/e`)).rejects.toThrow(`EPERM: operation not permitted, link '${WORKSPACE}/d'`);
    await expect(shell.fs.link("/dev/null", `${WORKSPACE}/null`)).rejects.toThrow("EROFS");
    await expect(shell.fs.link(`${WORKSPACE}/b`, "/dev/b")).rejects.toThrow("EROFS");
  } finally {
    await close();
  }
  const remounted = await remountCold(workspace);
  try {
    expect(new TextDecoder().decode(await remounted.readFile(`${WORKSPACE}/b`))).toBe("A\nmore\n");
    expect((await remounted.stat(`${WORKSPACE}/d/c`)).nlink).toBe(2);
    expect((await remounted.stat(`${WORKSPACE}/d/c`)).ino).toBe((await remounted.stat(`${WORKSPACE}/b`)).ino);
  } finally {
    await remounted.close();
  }
});

test("chmod and utimes change the index, follow links, and survive a cold remount", async () => {
  const { workspace, shell, close } = await shellFixture("jb-links-metadata");
  const fs = shell.fs;
  const when = new Date("2020-02-29T12:34:56.789Z");
  await fs.writeFile(`${WORKSPACE}/run.sh`, "#!/bin/sh\n");
  await fs.symlink("run.sh", `${WORKSPACE}/run-link`);
  await fs.chmod(`${WORKSPACE}/run-link`, 0o750); // follows the link, as chmod(2) does
  await fs.utimes(`${WORKSPACE}/run-link`, when, when);
  expect((await fs.lstat(`${WORKSPACE}/run-link`)).mode).toBe(0o777);
  const result = await shell.exec("stat -c '%a %A' run.sh; test -x run.sh && echo executable; chmod 600 run.sh; stat -c '%a' run.sh; touch fresh; ls");
  expect(result).toEqual({ stdout: "750 -rwxr-x---\nexecutable\n600\nfresh\nrun-link\nrun.sh\n", stderr: "", exitCode: 0 });
  await close();
  const remounted = await remountCold(workspace);
  try {
    const again = new AcceleratedJustBashFs(remounted);
    const stats = await again.stat(`${WORKSPACE}/run.sh`);
    expect(stats.mode).toBe(0o600);
    expect(stats.mtime.getTime()).toBe(when.getTime());
    expect((await again.stat(`${WORKSPACE}/fresh`)).size).toBe(0);
  } finally {
    await remounted.close();
  }
});

test("stat identifies files by dev and ino, so `test -ef` tells a link from a copy", async () => {
  const { shell, close } = await shellFixture("jb-links-identity");
  try {
    const result = await shell.exec("echo x > a; ln -s a l; cp a c; [ a -ef l ] && echo same-file; [ a -ef c ] || echo different-file");
    expect(result.stdout).toBe("same-file\ndifferent-file\n");
    const [file, link] = await Promise.all([shell.fs.stat(`${WORKSPACE}/a`), shell.fs.stat(`${WORKSPACE}/l`)]);
    expect(link.ino).toBe(file.ino);
    expect(link.dev).toBe(file.dev);
  } finally {
    await close();
  }
});
