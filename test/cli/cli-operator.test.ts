// The command line as an operator uses it every day, as a real subprocess on a local store: piped
// into other tools, mistyped, stopped, and changing the filesystem one commit per command.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { cli, repository } from "./run-cli.ts";
import { LocalObjectStore, S3CachedFsManagerImpl, type ObjectStore } from "../../src/core.ts";
import type { LeaseDocument } from "../../src/commit/lease.ts";
import { leaseKey } from "../../src/log/keys.ts";
import { listAll } from "../../src/stores/object-store.ts";

afterAll(removeTempDirectories);

const MiB = 1024 * 1024;

function workspace(label: string) {
  const bucket = tempDirectory(`cli-op-${label}`);
  return { bucket, at: ["--local", bucket, "--prefix", "ws/main"] };
}

/** Runs the CLI with stdout a pipe that is closed after `keep` bytes, as `| head -c <keep>` does. */
async function closedAfter(keep: number, args: string[]): Promise<{ status: number; stderr: string; read: number }> {
  const child = Bun.spawn([process.execPath, join(repository, "src", "cli.ts"), ...args], { cwd: repository, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  let read = 0;
  while (read < keep) {
    const { done, value } = await reader.read();
    if (done) break;
    read += value.length;
  }
  await reader.cancel();
  return { status: await child.exited, stderr: await stderr, read };
}

describe("cli: a closed pipe", () => {
  test("cat and ls into a pipe closed early end quietly with 141, as a tool killed by SIGPIPE", async () => {
    const { at } = workspace("pipe");
    const big = join(tempDirectory("cli-op-pipe-src"), "big.bin");
    writeFileSync(big, new Uint8Array(20 * MiB).map((_, index) => (index * 31) & 0xff));
    expect((await cli(["put", big, "/big.bin", "--create", ...at])).status).toBe(0);
    const cat = await closedAfter(10, ["cat", "/big.bin", ...at]);
    expect(cat.read).toBeGreaterThanOrEqual(10);
    expect(cat.stderr).toBe("");
    expect(cat.status).toBe(141);
    const many = tempDirectory("cli-op-pipe-many");
    for (let index = 0; index < 3000; index++) writeFileSync(join(many, `file-with-a-long-name-${String(index).padStart(5, "0")}.txt`), "");
    expect((await cli(["import", many, "/many", ...at])).status).toBe(0);
    const ls = await closedAfter(10, ["ls", "-l", "/many", ...at]);
    expect(ls.stderr).toBe("");
    expect(ls.status).toBe(141); // 3000 lines do not fit in the pipe
  }, 120_000);
});

describe("cli: usage errors", () => {
  test("an unknown flag is named, the nearest known one suggested, the command's usage line printed; exit 2", async () => {
    const at = ["--local", tempDirectory("cli-op-usage"), "--prefix", "ws/main"];
    const typo = await cli(["ls", "/", "--recursve", ...at]);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain("unknown option --recursve");
    expect(typo.stderr).toContain("did you mean --recursive?");
    expect(typo.stderr).toContain("Usage: s3-bun-cached-fs ls [path]");
    expect(typo.stderr).not.toContain("positional"); // not the runtime's own message
    const global = await cli(["cat", "/a", "--bukcet", "b"]);
    expect(global.status).toBe(2);
    expect(global.stderr).toContain("unknown option --bukcet (did you mean --bucket?)");
    expect(global.stderr).toContain("Usage: s3-bun-cached-fs cat <path>...");
    const gc = await cli(["gc", "--delte", ...at]);
    expect(gc.stderr).toContain("did you mean --delete?");
    const far = await cli(["ls", "--zzzzzzzzzz", ...at]);
    expect(far.status).toBe(2);
    expect(far.stderr).toContain("unknown option --zzzzzzzzzz");
    expect(far.stderr).not.toContain("did you mean");
    const short = await cli(["ls", "-q", ...at]);
    expect(short.status).toBe(2);
    expect(short.stderr).toContain("unknown option -q");
    const missing = await cli(["put", "-", "/a", "--mode", ...at.slice(0, 0)]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("--mode needs a value");
    expect(missing.stderr).toContain("Usage: s3-bun-cached-fs put ");
    const valued = await cli(["ls", "--json=yes", ...at]);
    expect(valued.status).toBe(2);
    expect(valued.stderr).toContain("--json takes no value");
    const noArgs = await cli(["cat", ...at]);
    expect(noArgs.status).toBe(2);
    expect(noArgs.stderr).toContain("Usage: s3-bun-cached-fs cat <path>...");
    for (const result of [typo, global, gc, far, short, missing, valued, noArgs]) expect(result.stdout).toBe("");
  }, 120_000);

  test("every command's --help lists every flag it accepts, one line each", async () => {
    const { commands, globalOptions } = await import("../../src/cli.ts");
    for (const [name, command] of Object.entries(commands)) {
      const help = await cli([name, "--help"]);
      expect(help.status).toBe(0);
      const lines = help.stdout.split("\n");
      for (const [flag, spec] of Object.entries({ ...globalOptions, ...command.options })) {
        const line = lines.find((text) => new RegExp(`^\\s+(?:-\\w, |--[\\w-]+, )*--${flag}(?![\\w-])`).test(text));
        expect(`${name} --${flag}: ${line === undefined ? "missing" : "listed"}`).toBe(`${name} --${flag}: listed`);
        if (spec.short !== undefined) expect(line).toContain(`-${spec.short}, --${flag}`);
      }
    }
  }, 120_000);
});

describe("cli: typos create nothing", () => {
  test("read-only commands on a mistyped folder or prefix create no folder and no filesystem", async () => {
    const parent = tempDirectory("cli-op-typo");
    const missing = join(parent, "mistyped-bucket");
    const out = join(parent, "out");
    const readOnly = [["ls", "/"], ["ls", "-R", "/"], ["cat", "/a"], ["get", "/a", join(parent, "a.copy")], ["stat", "/a"], ["du", "/"], ["log"], ["fsck"], ["gc"], ["stats"], ["export", "/", out], ["fork", "ws/copy"]];
    for (const args of readOnly) {
      const result = await cli([...args, "--local", missing, "--prefix", "ws/main"]);
      expect(`${args.join(" ")}: ${result.status}`).toBe(`${args.join(" ")}: 1`);
      expect(result.stderr).toContain(`no filesystem at local:${join(missing, "ws/main")}`);
    }
    expect(readdirSync(parent)).toEqual([]); // no bucket folder, no export target, no copy
    // An existing folder with a mistyped prefix: nothing appears in it either.
    const bucket = tempDirectory("cli-op-typo-bucket");
    for (const args of [["ls", "/"], ["log"], ["fsck"], ["export", "/", join(bucket, "out")]]) expect((await cli([...args, "--local", bucket, "--prefix", "ws/mian"])).status).toBe(1);
    expect(readdirSync(bucket)).toEqual([]);
  }, 120_000);

  test("put and import to a prefix with no filesystem refuse unless --create, naming where they looked; init creates one", async () => {
    const bucket = tempDirectory("cli-op-create");
    const at = ["--local", bucket, "--prefix", "ws/main"];
    const source = tempDirectory("cli-op-create-src");
    writeFileSync(join(source, "a.txt"), "a");
    const refusals = [await cli(["put", "-", "/a.txt", ...at], { stdin: "a" }), await cli(["import", source, "/", ...at]), await cli(["snapshot", ...at]), await cli(["gc", "--delete", ...at])];
    for (const refused of refusals) {
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(`no filesystem at local:${join(bucket, "ws/main")}`);
      expect(refused.stderr).toContain("nothing was created");
    }
    expect(refusals[0]!.stderr).toContain("--create");
    expect(readdirSync(bucket)).toEqual([]);
    expect((await cli(["put", "-", "/a.txt", "--create", ...at], { stdin: "a" })).status).toBe(0);
    expect((await cli(["put", "-", "/b.txt", ...at], { stdin: "b" })).status).toBe(0); // it exists now
    expect((await cli(["cat", "/a.txt", "/b.txt", ...at])).stdout).toBe("ab");
    const other = ["--local", bucket, "--prefix", "ws/other"];
    const init = await cli(["init", ...other]);
    expect(init.status).toBe(0);
    expect(init.stdout).toContain(`created an empty filesystem at local:${join(bucket, "ws/other")}`);
    expect(await cli(["ls", "/", ...other])).toMatchObject({ status: 0, stdout: "" });
    const again = await cli(["init", ...other]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("EEXIST");
    expect((await cli(["import", source, "/", "--create", "--local", bucket, "--prefix", "ws/third"])).status).toBe(0);
  }, 120_000);
});

describe("cli: the writer lease", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`an import stopped by ${signal} mid-upload releases the lease and removes its temporary cache; nothing is published`, async () => {
      const { bucket, at } = workspace(`import-${signal}`);
      expect((await cli(["init", ...at])).status).toBe(0);
      const source = tempDirectory(`cli-op-import-${signal}`);
      writeFileSync(join(source, "big.bin"), new Uint8Array(5 * MiB).fill(7));
      writeFileSync(join(source, "small.txt"), "small");
      const temporary = tempDirectory(`cli-op-tmp-${signal}`);
      const child = Bun.spawn([process.execPath, "--preload", join(import.meta.dir, "stall-uploads-preload.ts"), join(repository, "src", "cli.ts"), "import", source, "/in", "--lease-ttl", "1h", ...at], {
        cwd: repository,
        env: { ...process.env, TMPDIR: temporary },
        stdin: "ignore",
        stdout: "ignore",
        stderr: "pipe",
      });
      const said = await readUntil(child.stderr, "stalled");
      expect(said).toContain("stalled");
      expect(readdirSync(temporary)).toHaveLength(1); // its cache, while it runs
      const store = new LocalObjectStore({ root: join(bucket, "ws", "main") });
      expect(await readLease(store)).toMatchObject({ released: false, process: { pid: child.pid } });
      child.kill(signal);
      expect(await child.exited).toBe(signal === "SIGINT" ? 130 : 143);
      expect(await readLease(store)).toMatchObject({ released: true });
      expect(readdirSync(temporary)).toEqual([]);
      const next = await cli(["put", "-", "/next.txt", "--no-wait", ...at], { stdin: "next" });
      expect(next).toMatchObject({ status: 0, stderr: "" });
      expect((await cli(["ls", "/", ...at])).stdout).toBe("next.txt\n");
    }, 120_000);
  }

  test("an import stopped after some of its data landed removes what it uploaded: no commit names it, so nothing is left for gc", async () => {
    const { bucket, at } = workspace("import-orphans");
    expect((await cli(["init", ...at])).status).toBe(0);
    const source = tempDirectory("cli-op-import-orphans");
    writeFileSync(join(source, "a.bin"), new Uint8Array(5 * MiB).fill(1)); // a chunk each (over largeFileBytes)
    writeFileSync(join(source, "b.bin"), new Uint8Array(5 * MiB).fill(2));
    const child = Bun.spawn([process.execPath, "--preload", join(import.meta.dir, "stall-later-uploads-preload.ts"), join(repository, "src", "cli.ts"), "import", source, "/in", ...at], {
      cwd: repository,
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    expect(await readUntil(child.stderr, "stalled")).toContain("stalled");
    const store = new LocalObjectStore({ root: join(bucket, "ws", "main") });
    const data = async () => (await Array.fromAsync(listAll(store, {}))).map((object) => object.key).filter((key) => key.startsWith("chunks/") || key.startsWith("packs/"));
    expect(await data()).toHaveLength(1); // a.bin's chunk landed; b.bin's is on its way
    child.kill("SIGTERM");
    const said = await readUntil(child.stderr, "\u0000"); // to its end
    expect(await child.exited).toBe(143);
    expect(said).toContain("removed 1 uploaded object no commit names");
    expect(await data()).toEqual([]);
    expect((await cli(["ls", "/", ...at])).stdout).toBe(""); // nothing was published
    expect((await cli(["fsck", ...at])).status).toBe(0);
  }, 120_000);

  test("--no-wait fails at once with EBUSY naming the holder (exit 75); a waiting command says how long it may wait", async () => {
    const { bucket, at } = workspace("no-wait");
    expect((await cli(["init", ...at])).status).toBe(0);
    const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("cli-op-holder"), storeFactory: () => new LocalObjectStore({ root: join(bucket, "ws", "main") }) });
    const holder = await manager.mount({ name: "holder", leaseTtlMs: 3_600_000 });
    try {
      const busy = await cli(["put", "-", "/a.txt", "--no-wait", ...at], { stdin: "a" });
      expect(busy.status).toBe(75);
      expect(busy.stderr).toContain("EBUSY");
      expect(busy.stderr).toContain("holder@");
      expect(busy.stderr).toContain("without --no-wait to wait for it");
      const conflicting = await cli(["put", "-", "/a.txt", "--no-wait", "--wait", ...at], { stdin: "a" });
      expect(conflicting.status).toBe(2);
      expect(conflicting.stderr).toContain("give one of --writer, --wait or --no-wait, not both (--wait and --no-wait)");
      const child = Bun.spawn([process.execPath, join(repository, "src", "cli.ts"), "put", "-", "/b.txt", "--wait", ...at], { cwd: repository, stdin: new TextEncoder().encode("b"), stdout: "ignore", stderr: "pipe" });
      const said = await readUntil(child.stderr, "\n");
      expect(said).toMatch(/waiting for the writer lease held by holder@.*; at most \d+(h|m|s)[\dms ]* left before it gives up \(--no-wait fails at once instead\)/);
      await holder.close();
      expect(await child.exited).toBe(0);
      expect((await cli(["cat", "/b.txt", ...at])).stdout).toBe("b");
    } finally {
      await holder.close();
    }
  }, 120_000);
});

/** What `stream` says, up to the first occurrence of `text` (or its end). */
async function readUntil(stream: ReadableStream<Uint8Array>, text: string): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let said = "";
  while (!said.includes(text)) {
    const { done, value } = await reader.read();
    if (done) break;
    said += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return said;
}

async function readLease(store: ObjectStore): Promise<LeaseDocument | undefined> {
  try {
    return JSON.parse(new TextDecoder().decode((await store.get(leaseKey)).body)) as LeaseDocument;
  } catch {
    return undefined;
  }
}

describe("cli: changing the filesystem", () => {
  test("mkdir -p, cp -r, mv, ln -s and chmod -R: each command one commit", async () => {
    const { at } = workspace("change");
    expect((await cli(["init", ...at])).status).toBe(0);
    let steps = 0;
    const step = async (args: string[], stdin?: string) => {
      const result = await cli([...args, ...at], stdin === undefined ? {} : { stdin });
      expect(`${args.join(" ")}: ${result.status} ${result.stderr}`).toBe(`${args.join(" ")}: 0 `);
      steps++;
      return result;
    };
    await step(["mkdir", "-p", "/a/b/c", "/d"]);
    expect((await cli(["mkdir", "/x/y", ...at])).stderr).toContain("ENOENT"); // no -p: the parent must exist
    await step(["put", "-", "/a/b/c/file.txt"], "data");
    await step(["cp", "-r", "/a", "/copy"]);
    expect((await cli(["cat", "/copy/b/c/file.txt", ...at])).stdout).toBe("data");
    const notRecursive = await cli(["cp", "/a", "/copy2", ...at]);
    expect(notRecursive.status).toBe(1);
    expect(notRecursive.stderr).toContain("EISDIR");
    await step(["mv", "/copy/b/c/file.txt", "/d"]); // into the directory
    await step(["put", "-", "/kept.txt"], "kept");
    for (const verb of ["mv", "cp"]) expect((await cli([verb, "-n", "/d/file.txt", "/kept.txt", ...at])).status).toBe(0); // -n: an existing target stays
    expect((await cli(["cat", "/kept.txt", "/d/file.txt", ...at])).stdout).toBe("keptdata");
    await step(["ln", "-s", "/d/file.txt", "/link"]);
    expect((await cli(["cat", "/link", ...at])).stdout).toBe("data");
    await step(["ln", "/d/file.txt", "/hard"]); // without -s: a hard link, one file with two names
    await step(["put", "-", "/hard"], "DATA");
    expect((await cli(["cat", "/d/file.txt", ...at])).stdout).toBe("DATA");
    expect((await cli(["ln", "/d", "/hard-dir", ...at])).stderr).toContain("EPERM");
    await step(["chmod", "-R", "700", "/a"]);
    expect(JSON.parse((await cli(["stat", "/a/b/c/file.txt", "--json", ...at])).stdout).mode).toBe("0700");
    expect(JSON.parse((await cli(["stat", "/a/b", "--json", ...at])).stdout).mode).toBe("0700");
    // One commit per command that succeeded, none for those refused (an exclusive writer's epoch
    // record would not be counted; the commands here are shared writers, which write none).
    const log = JSON.parse((await cli(["log", "--json", "--limit", "100", ...at])).stdout) as { kinds: Record<string, number>; operations: number }[];
    const commits = log.filter((entry) => entry.kinds.epoch === undefined);
    expect(commits.length).toBe(steps);
    expect(commits.map((entry) => entry.operations)).toEqual([4, 1, 1, 1, 1, 1, 1, 1, 2]); // newest first: chmod of /a, /a/b, /a/b/c, the file; ...; mkdir of two paths
  }, 120_000);

  test("find by name and type; rm -r, -f and --dry-run, as one commit", async () => {
    const { at } = workspace("find-rm");
    const source = tempDirectory("cli-op-find-src");
    mkdirSync(join(source, "a/b/c"), { recursive: true });
    mkdirSync(join(source, "copy/b/c"), { recursive: true });
    mkdirSync(join(source, "d"));
    writeFileSync(join(source, "a/b/c/file.txt"), "data");
    writeFileSync(join(source, "d/file.txt"), "data");
    writeFileSync(join(source, "d/other.bin"), "data");
    symlinkSync("/d/file.txt", join(source, "link"));
    expect((await cli(["import", source, "/", "--create", ...at])).status).toBe(0);
    const commits = async () => (JSON.parse((await cli(["log", "--json", "--limit", "100", ...at])).stdout) as { kinds: Record<string, number> }[]).filter((entry) => entry.kinds.epoch === undefined).length;
    const before = await commits();
    const found = await cli(["find", "/", "--name", "*.txt", ...at]);
    expect(found.stdout).toBe("/a/b/c/file.txt\n/d/file.txt\n");
    expect((await cli(["find", "/", "--type", "l", ...at])).stdout).toBe("/link\n");
    expect((await cli(["find", "/copy", "--type", "d", ...at])).stdout).toBe("/copy\n/copy/b\n/copy/b/c\n");
    const dry = await cli(["rm", "-r", "--dry-run", "/a", ...at]);
    expect(dry.stdout).toBe("would remove /a\nwould remove /a/b\nwould remove /a/b/c\nwould remove /a/b/c/file.txt\n");
    const root = await cli(["rm", "-r", "--dry-run", "/", ...at]); // refused as the real rm is
    expect(root).toMatchObject({ status: 1, stdout: "" });
    expect(root.stderr).toContain("EPERM");
    expect(await commits()).toBe(before);
    const directory = await cli(["rm", "/a", ...at]);
    expect(directory.status).toBe(1);
    expect(directory.stderr).toContain("EISDIR");
    expect((await cli(["rm", "/missing", ...at])).stderr).toContain("ENOENT");
    expect(await commits()).toBe(before);
    expect((await cli(["rm", "-r", "-f", "/a", "/copy", "/missing", ...at])).status).toBe(0);
    expect(await commits()).toBe(before + 1);
    expect((await cli(["ls", "/", ...at])).stdout).toBe("d/\nlink\n");
  }, 120_000);
});
