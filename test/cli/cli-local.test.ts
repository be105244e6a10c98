// The command line against a LocalObjectStore directory (--local), as a real subprocess: every
// command, its --help, its exit status and its errors.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { cli } from "./run-cli.ts";

afterAll(removeTempDirectories);

const commandNames = ["init", "ls", "cat", "put", "get", "stat", "du", "log", "snapshot", "gc", "fsck", "import", "export", "stats", "fork"];

function workspace(label: string) {
  const bucket = tempDirectory(`cli-${label}`);
  const at = ["--local", bucket, "--prefix", "ws/main"];
  return { bucket, at };
}

describe("cli: help and usage", () => {
  test("--help lists every command; each command has its own --help", async () => {
    const main = await cli(["--help"]);
    expect(main.status).toBe(0);
    for (const name of commandNames) expect(main.stdout).toContain(`  ${name} `);
    expect(main.stdout).toContain("AWS_ACCESS_KEY_ID");
    for (const name of commandNames) {
      const help = await cli([name, "--help"]);
      expect(help.status).toBe(0);
      expect(help.stdout).toStartWith(`s3-bun-cached-fs ${name}`);
      expect(help.stdout).toContain("--local <dir>");
    }
    expect((await cli(["help", "gc"])).stdout).toContain("--delete");
  }, 120_000);

  test("a wrong command line exits 2 and says why", async () => {
    const unknown = await cli(["frobnicate"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown command");
    const nowhere = await cli(["ls"], { env: { AWS_ENDPOINT_URL: undefined } });
    expect(nowhere.status).toBe(2);
    expect(nowhere.stderr).toContain("--bucket");
    const badFlag = await cli(["ls", "--local", "/tmp/x", "--no-such-flag"]);
    expect(badFlag.status).toBe(2);
    expect(badFlag.stderr).toContain("--no-such-flag");
    const badDuration = await cli(["gc", "--local", tempDirectory("cli-duration"), "--retention", "soon"]);
    expect(badDuration.status).toBe(2);
    expect(badDuration.stderr).toContain("--retention");
    expect((await cli([])).status).toBe(2);
  }, 120_000);

  test("a failing command exits 1 with the filesystem's error", async () => {
    const { at } = workspace("errors");
    const missing = await cli(["ls", ...at]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("ENOENT");
    expect(missing.stderr).toContain("no filesystem");
    expect((await cli(["put", "-", "/a.txt", "--create", ...at], { stdin: "a" })).status).toBe(0);
    const notThere = await cli(["cat", "/nope.txt", ...at]);
    expect(notThere.status).toBe(1);
    expect(notThere.stderr).toContain("ENOENT: no such file or directory");
  }, 120_000);
});

describe("cli: files", () => {
  test("put, cat, get, stat, ls, du, log, snapshot and stats", async () => {
    const { bucket, at } = workspace("files");
    const local = join(tempDirectory("cli-files-local"), "data.bin");
    const data = new Uint8Array(300_000).map((_, index) => (index * 7) & 0xff);
    writeFileSync(local, data);
    expect((await cli(["put", local, "/data/data.bin", "--mode", "600", "--create", ...at])).status).toBe(0);
    expect((await cli(["put", "-", "/notes/hello.txt", ...at], { stdin: "hello from stdin\n" })).status).toBe(0);
    expect((await cli(["cat", "/notes/hello.txt", ...at])).stdout).toBe("hello from stdin\n");
    const copy = join(tempDirectory("cli-files-copy"), "copy.bin");
    expect((await cli(["get", "/data/data.bin", copy, ...at])).status).toBe(0);
    expect(new Uint8Array(readFileSync(copy))).toEqual(data);
    const stat = JSON.parse((await cli(["stat", "/data/data.bin", "--json", ...at])).stdout);
    expect(stat).toMatchObject({ path: "/data/data.bin", type: "file", size: 300_000, mode: "0600" });
    expect((await cli(["ls", "/", ...at])).stdout).toBe("data/\nnotes/\n");
    expect((await cli(["ls", "-R", "/", ...at])).stdout).toBe("data/\ndata/data.bin\nnotes/\nnotes/hello.txt\n");
    expect((await cli(["ls", "-l", "/data", ...at])).stdout).toMatch(/^-rw------- +300000 \S+ data\.bin\n$/);
    const du = JSON.parse((await cli(["du", "/", "--json", ...at])).stdout);
    expect(du).toMatchObject({ path: "/", bytes: 300_017, files: 2, children: { data: { bytes: 300_000, files: 1 }, notes: { bytes: 17, files: 1 } } });
    const log = await cli(["log", "--limit", "2", ...at]);
    expect(log.stdout.trim().split("\n").length).toBe(2);
    expect(log.stdout).toContain("/notes/hello.txt");
    const snapshot = await cli(["snapshot", "--json", ...at]);
    expect(JSON.parse(snapshot.stdout).snapshot).toBeGreaterThan(0);
    expect(readdirSync(join(bucket, "ws/main", "snapshots")).length).toBeGreaterThan(0);
    const stats = JSON.parse((await cli(["stats", "--json", ...at])).stdout);
    expect(stats.files).toMatchObject({ files: 2, directories: 3 });
    expect(stats.requests.list).toBe(1); // the history's one listing page; the mount itself lists nothing
  }, 120_000);

  test("import and export round-trip a tree, with progress bars only when asked or on a terminal", async () => {
    const { at } = workspace("import");
    const source = tempDirectory("cli-import-source");
    mkdirSync(join(source, "deep/er"), { recursive: true });
    mkdirSync(join(source, "empty"));
    writeFileSync(join(source, "top.txt"), "top");
    writeFileSync(join(source, "deep/er/big.bin"), new Uint8Array(5_000_000).fill(3)); // large: uploaded in chunks
    symlinkSync("../top.txt", join(source, "deep/link"));
    const imported = await cli(["import", source, "/imported", "--progress", "--create", ...at]);
    expect(imported.status).toBe(0);
    expect(imported.stderr).toContain("100%");
    expect(imported.stderr).toContain("imported 2 files");
    const exportedTo = join(tempDirectory("cli-export"), "out");
    const exported = await cli(["export", "/imported", exportedTo, ...at]);
    expect(exported.status).toBe(0);
    expect(exported.stderr).not.toContain("%"); // not a terminal, not forced
    expect(readFileSync(join(exportedTo, "top.txt"), "utf8")).toBe("top");
    expect(readFileSync(join(exportedTo, "deep/er/big.bin")).equals(Buffer.alloc(5_000_000, 3))).toBe(true);
    expect(readlinkSync(join(exportedTo, "deep/link"))).toBe("../top.txt");
    expect(readdirSync(join(exportedTo, "empty"))).toEqual([]);
    // One import is one commit.
    expect((await cli(["log", "--json", "--limit", "1", ...at])).stdout).toContain('"write":2');
  }, 120_000);

  test("--at-seq reads the past; fork makes a new filesystem from it", async () => {
    const { bucket, at } = workspace("at-seq");
    await cli(["put", "-", "/v.txt", "--create", ...at], { stdin: "one" });
    const seq = JSON.parse((await cli(["stats", "--json", ...at])).stdout).seq;
    await cli(["put", "-", "/v.txt", ...at], { stdin: "two" });
    expect((await cli(["cat", "/v.txt", ...at])).stdout).toBe("two");
    expect((await cli(["cat", "/v.txt", "--at-seq", String(seq), ...at])).stdout).toBe("one");
    const refused = await cli(["put", "-", "/v.txt", "--at-seq", String(seq), ...at], { stdin: "x" });
    expect(refused.status).toBe(2);
    const forked = await cli(["fork", "ws/past", "--at-seq", String(seq), ...at]);
    expect(forked.status).toBe(0);
    expect(forked.stdout).toContain(`at seq ${seq} into ws/past`);
    expect((await cli(["cat", "/v.txt", "--local", bucket, "--prefix", "ws/past"])).stdout).toBe("one");
  }, 120_000);
});

describe("cli: maintenance", () => {
  test("gc is a dry run unless --delete; fsck exits 0 when sound and 3 when not", async () => {
    const { bucket, at } = workspace("gc");
    for (let version = 0; version < 3; version++) {
      const local = join(tempDirectory("cli-gc"), "big.bin");
      writeFileSync(local, new Uint8Array(5_000_000).fill(version));
      expect((await cli(["put", local, "/big.bin", "--create", ...at])).status).toBe(0);
    }
    const chunks = () => readdirSync(join(bucket, "ws/main", "chunks")).length;
    const before = chunks();
    const dry = await cli(["gc", "--retention", "0", "--grace", "0", ...at]);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain("dry run");
    expect(dry.stdout).toMatch(/would delete \d+ objects/);
    expect(chunks()).toBe(before);
    const sound = await cli(["fsck", ...at]);
    expect(sound.status).toBe(0);
    expect(sound.stdout).toContain("the filesystem is sound");
    const real = await cli(["gc", "--delete", "--retention", "0", "--grace", "0", "--json", ...at]);
    expect(real.status).toBe(0);
    const report = JSON.parse(real.stdout);
    expect(report.dryRun).toBe(false);
    expect(report.deletions.filter((deletion: { kind: string }) => deletion.kind === "chunk").length).toBe(before - chunks());
    expect(chunks()).toBeLessThan(before);
    // Damage: a chunk the current file needs disappears.
    rmSync(join(bucket, "ws/main", "chunks", readdirSync(join(bucket, "ws/main", "chunks"))[0]!));
    const damaged = await cli(["fsck", ...at]);
    expect(damaged.status).toBe(3);
    expect(damaged.stdout).toContain("PROBLEM missing-object");
    expect(damaged.stdout).toContain("/big.bin");
    expect(damaged.stdout).toContain("NOT sound");
  }, 120_000);
});
