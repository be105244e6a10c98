// The differential corpus run on just-bash's InMemoryFs and on ours: same stdout, stderr, exit
// code and resulting /workspace tree, case by case. Ours runs twice: through the shell (one
// transaction per command, which must publish at most one commit) and then, after the mount is
// closed and its cache directory deleted, the tree read back from the store must be identical;
// and through a plain `Bash` over AcceleratedJustBashFs (each write its own commit). The shell runs
// on LocalObjectStore and on Ceph RGW over HTTP.
//
// Where InMemoryFs is looser than POSIX the outcomes differ on purpose; each such case is listed
// below with the reason and with what our filesystem does instead, and must keep differing (a
// stale entry fails the test). Nothing is skipped.

import { afterAll, describe, expect, test } from "bun:test";
import { Bash, getCommandNames, InMemoryFs } from "just-bash";
import { AcceleratedJustBashFs } from "../../src/just-bash/index.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace } from "../support/mounts.ts";
import { shellCorpus, type ShellCase } from "./corpus.ts";
import { diffOutcomes, runShellCase, snapshotTree, WORKSPACE, type ShellOutcome } from "./differential.ts";
import { remountCold, shellFixture } from "./shell-fixtures.ts";

interface KnownDifference {
  /** Why our outcome differs from InMemoryFs's, and why ours is the right one. */
  reason: string;
  /** What the shell (one transaction per command) gives instead. */
  shell: { stdout: string; stderr: string; exitCode: number };
}

const looseWriteUnderFile =
  "InMemoryFs accepts a path below a regular file; POSIX (and the core) answer ENOTDIR. just-bash does not catch an error while it opens a redirection target, so the script stops there: the shell reports bash's message and exit status 1 (a plain Bash rejects).";

const knownDifferences: Record<string, KnownDifference> = {
  "mkdir -p below a regular file": {
    reason: "InMemoryFs creates a directory below a regular file; mkdir -p fails with ENOTDIR (just-bash's mkdir prints the raw message for that code).",
    shell: { stdout: "rc=1\nf-is-file\nx\n", stderr: "mkdir: cannot create directory 'f/sub': ENOTDIR: not a directory, mkdir '/workspace/f/sub'\n", exitCode: 0 },
  },
  "mv a missing source and onto a file": {
    reason: "InMemoryFs moves a directory by mkdir at the destination, so a file there gives mkdir's EEXIST; rename(2) of a directory onto a file gives ENOTDIR.",
    shell: {
      stdout: "rc=1\nrc=1\n.\n./d\n./d/x\n./f.txt\n",
      stderr: "mv: cannot stat 'nope.txt': No such file or directory\nmv: cannot move 'd': ENOTDIR: not a directory, mv '/workspace/f.txt'\n",
      exitCode: 0,
    },
  },
  "ln -s to a directory": {
    reason: "InMemoryFs does not follow a directory symlink in the middle of a path when writing (its note in the corpus); we do, so real/added.txt exists.",
    shell: { stdout: "real\ninner\ninner.txt\nnew\n", stderr: "", exitCode: 0 },
  },
  "write through a symlink and readlink of a plain file": {
    reason: "InMemoryFs replaces a symlink with a regular file when appending through it (its note in the corpus); POSIX writes to the target.",
    shell: { stdout: "one\ntwo\nrc=1\none\ntwo\n", stderr: "", exitCode: 0 },
  },
  "write under a regular file": {
    reason: looseWriteUnderFile,
    shell: { stdout: "", stderr: "bash: file/child: Not a directory\n", exitCode: 1 },
  },
  "append, copy and mkdir under a regular file": {
    reason: looseWriteUnderFile,
    shell: { stdout: "", stderr: "bash: file/child: Not a directory\n", exitCode: 1 },
  },
  ">/dev/null and &>/dev/null": {
    reason: "InMemoryFs keeps what is written to /dev/null as an ordinary file, so `cat /dev/null` prints it back; our /dev/null discards writes and reads empty.",
    shell: { stdout: "rc=0\nrc=2\nrc=1\n0 empty.txt\n", stderr: "", exitCode: 0 },
  },
  "ln: a write through one name shows through the other": {
    reason: "InMemoryFs's link copies the bytes at link time, so later writes through one name miss the other; POSIX (and the core) give both names one file.",
    shell: { stdout: "A\nmore\nnew\n", stderr: "", exitCode: 0 },
  },
  "cp of a symlink without -r copies the target's bytes": {
    reason: "InMemoryFs copies the link itself; GNU cp follows a link unless -r (which implies -P) is given, so the copy is a regular file with the target's bytes.",
    shell: { stdout: "file\nx\n", stderr: "", exitCode: 0 },
  },
  "ln -s into a missing directory": {
    reason: "InMemoryFs creates a link's missing parent directories; symlink(2), Node's fs.symlink and ln fail with ENOENT and create nothing.",
    shell: { stdout: "rc=1\n.\n./t\n", stderr: "ln: ENOENT: no such file or directory, symlink '/workspace/a/b/l'\n", exitCode: 0 },
  },
  "rm -r and mv of the system directories": {
    reason: "/bin, /usr, /dev and /proc themselves are the in-memory tree's (the stubs, the devices), so removing or moving them is EROFS; the files in them can be removed, and users' files below /bin and /usr moved.",
    shell: {
      stdout: "rc=1\nbin-kept\nrc=1\nusr-kept\n",
      stderr: "rm: cannot remove '/bin': EROFS: read-only file system, rm '/bin'\nmv: cannot move '/usr': EROFS: read-only file system, mv '/usr'\n",
      exitCode: 0,
    },
  },
  "cp and mv into a missing directory": {
    reason: "InMemoryFs creates a copy's or a move's missing parent directories; cp and rename(2) fail with ENOENT and change nothing (just-bash's cp and mv word any ENOENT as 'cannot stat' the source).",
    shell: {
      stdout: "rc=1\nrc=1\n.\n./a\n",
      stderr: "cp: cannot stat 'a': No such file or directory\nmv: cannot stat 'a': No such file or directory\n",
      exitCode: 0,
    },
  },
  "mv a directory onto a non-empty directory": {
    reason: "InMemoryFs merges the two trees; rename(2) refuses with ENOTEMPTY and leaves both in place.",
    shell: {
      stdout: "rc=1\n.\n./a\n./a/x\n./b\n./b/a\n./b/a/y\n",
      stderr: "mv: cannot move 'a': ENOTEMPTY: directory not empty, mv '/workspace/b/a'\n",
      exitCode: 0,
    },
  },
};

const references = new Map<string, Promise<ShellOutcome>>();
function reference(c: ShellCase): Promise<ShellOutcome> {
  let outcome = references.get(c.name);
  if (outcome === undefined) {
    outcome = runShellCase(new InMemoryFs(), c);
    references.set(c.name, outcome);
  }
  return outcome;
}

afterAll(() => removeTempDirectories());

test("the corpus has at least 50 scripts, and every known difference names a corpus case", () => {
  expect(shellCorpus.length).toBeGreaterThanOrEqual(50);
  const names = new Set(shellCorpus.map((c) => c.name));
  for (const name of Object.keys(knownDifferences)) expect(names.has(name)).toBe(true);
});

// On LocalObjectStore and on Ceph RGW over HTTP (one bucket, a workspace prefix per case).
for (const backend of ["local", "s3"] as const) {
  describe(`the shell (one transaction per command) agrees with InMemoryFs, and its tree survives a cold remount (${backend})`, () => {
    let counter = 0;
    for (const c of shellCorpus) {
      test(c.name, async () => {
        const fixture = backend === "local" ? await shellFixture(`jb-diff-${++counter}`) : await shellFixture("jb-diff-s3", {}, {}, undefined, "s3");
        try {
          await fixture.shell.fs.transaction(async (fs) => {
            await fs.mkdir(WORKSPACE, { recursive: true });
            for (const relative of Object.keys(c.files ?? {}).sort()) {
              await fs.writeFile(`${WORKSPACE}/${relative}`, c.files?.[relative] ?? ""); // writes create missing parents
            }
          });
          const commitsBefore = fixture.filesystem.stats().commits?.commits ?? 0;
          const result = await fixture.shell.exec(c.script);
          const commits = (fixture.filesystem.stats().commits?.commits ?? 0) - commitsBefore;
          const actual: ShellOutcome = { ...result, error: null, tree: await snapshotTree(fixture.shell.fs) };
          const expected = await reference(c);

          expect(commits).toBeLessThanOrEqual(1);
          expect(actual.tree.filter((entry) => entry.type === "error")).toEqual([]);
          const known = knownDifferences[c.name];
          if (known === undefined) {
            expect(diffOutcomes(expected, actual)).toEqual([]);
          } else {
            expect(diffOutcomes(expected, actual).length).toBeGreaterThan(0);
            expect({ stdout: actual.stdout, stderr: actual.stderr, exitCode: actual.exitCode }).toEqual(known.shell);
          }

          await fixture.close();
          const remounted = await remountCold(fixture.workspace);
          try {
            expect(await snapshotTree(new AcceleratedJustBashFs(remounted))).toEqual(actual.tree);
          } finally {
            await remounted.close();
          }
        } finally {
          await fixture.close();
        }
      });
    }
  });
}

describe("a plain Bash over AcceleratedJustBashFs (one commit per write) agrees with InMemoryFs", () => {
  let counter = 0;
  for (const c of shellCorpus) {
    test(c.name, async () => {
      const workspace = await testWorkspace("local", `jb-plain-${++counter}`);
      const filesystem = await workspace.mount();
      try {
        // The shell passes its command names for /bin and /usr/bin; a plain Bash user does the same.
        const actual = await runShellCase(new AcceleratedJustBashFs(filesystem, { commands: getCommandNames() }), c);
        const differences = diffOutcomes(await reference(c), actual);
        if (knownDifferences[c.name] === undefined) expect(differences).toEqual([]);
        else expect(differences.length).toBeGreaterThan(0);
        if (c.name === "write under a regular file" || c.name === "append, copy and mkdir under a regular file") {
          // just-bash lets the redirection's error escape exec(): the harness records it.
          expect(actual.error).toBe("ENOTDIR: not a directory, open '/workspace/file/child'");
        }
      } finally {
        await filesystem.close();
      }
    });
  }
});

describe("a per-write view (redirections joined, writes left in flight) observes what the plain adapter observes", () => {
  let counter = 0;
  for (const c of shellCorpus) {
    test(c.name, async () => {
      const plainWorkspace = await testWorkspace("local", `jb-per-write-plain-${++counter}`);
      const plainFilesystem = await plainWorkspace.mount();
      const workspace = await testWorkspace("local", `jb-per-write-${counter}`);
      const filesystem = await workspace.mount();
      try {
        const expected = await runShellCase(new AcceleratedJustBashFs(plainFilesystem, { commands: getCommandNames() }), c);
        // As the shell's `commit: "per-write"` commands: each call that could see a write not yet landed waits for it.
        const view = new AcceleratedJustBashFs(filesystem, { commands: getCommandNames(), joinRedirections: true });
        const actual = await runShellCase(view, c);
        await view.flush();
        expect(diffOutcomes(expected, actual)).toEqual([]);
      } finally {
        await plainFilesystem.close();
        await filesystem.close();
      }
    });
  }
});

test("a plain Bash needs no command names: it stubs each command it registers, custom ones included, and a `commands` list takes none away", async () => {
  const workspace = await testWorkspace("local", "jb-plain-no-commands");
  const filesystem = await workspace.mount();
  try {
    const hello = { name: "hello", execute: async () => ({ stdout: "hi\n", stderr: "", exitCode: 0 }) };
    for (const options of [{}, { commands: getCommandNames() }, { commands: ["echo"] }]) {
      const fs = new AcceleratedJustBashFs(filesystem, options);
      await fs.mkdir(WORKSPACE, { recursive: true });
      const bash = new Bash({ fs, cwd: WORKSPACE, defenseInDepth: false, customCommands: [hello] });
      const result = await bash.exec("echo a > a.txt; cat a.txt; hello; which hello cat; ls /usr/bin | grep -c '^hello$'");
      expect(result.stdout).toBe("a\nhi\n/usr/bin/hello\n/usr/bin/cat\n1\n");
      expect(result.stderr).toBe("");
    }
    // The stubs stay in memory: nothing below /bin or /usr reached the bucket.
    expect(filesystem.allPaths().filter((path) => path.startsWith("/bin") || path.startsWith("/usr"))).toEqual([]);
  } finally {
    await filesystem.close();
  }
});
