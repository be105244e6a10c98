// Import and export as an operator's copies, run as a real subprocess on a local store: metadata
// kept both ways as `cp -a` keeps it, what cannot be copied named, and a second copy of an
// unchanged tree moving nothing.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { cli } from "./run-cli.ts";
import { LocalObjectStore } from "../../src/core.ts";
import { freshBucket, s3Server, s3Store } from "../support/s3-server.ts";
import { listAll } from "../../src/stores/object-store.ts";

afterAll(removeTempDirectories);

const MiB = 1024 * 1024;

function workspace(label: string) {
  const bucket = tempDirectory(`cli-copies-${label}`);
  return { bucket, at: ["--local", bucket, "--prefix", "ws/main"] };
}

/** Sets a local entry's mode and modification time (the mode is set apart from creation: the umask would change it). */
function stamp(path: string, mode: number, mtime: Date): void {
  chmodSync(path, mode);
  utimesSync(path, mtime, mtime);
}

function mkfifo(path: string): void {
  const made = Bun.spawnSync(["mkfifo", path]);
  if (made.exitCode !== 0) throw new Error(`mkfifo ${path} failed: ${made.stderr.toString()}`);
}

describe("cli: import and export keep metadata, as cp -a does", () => {
  test("modes and modification times survive import and export (a link's own too); links stay links; a FIFO is skipped with a warning and counted", async () => {
    const { at } = workspace("metadata");
    const source = join(tempDirectory("cli-copies-src"), "src");
    mkdirSync(join(source, "d/inner"), { recursive: true });
    writeFileSync(join(source, "d/f.txt"), "private");
    writeFileSync(join(source, "run.sh"), "#!/bin/sh\n");
    symlinkSync("d/f.txt", join(source, "link"));
    symlinkSync("/etc/passwd", join(source, "outside"));
    mkfifo(join(source, "d/pipe"));
    stamp(join(source, "d/f.txt"), 0o640, new Date("2000-01-01T00:00:00.123Z"));
    stamp(join(source, "run.sh"), 0o755, new Date("2003-04-05T06:07:08.009Z"));
    stamp(join(source, "d/inner"), 0o700, new Date("2002-02-02T02:02:02.000Z"));
    lutimesSync(join(source, "link"), new Date("2006-06-06T06:06:06.606Z"), new Date("2006-06-06T06:06:06.606Z")); // the link's own
    stamp(join(source, "d"), 0o750, new Date("2001-02-03T04:05:06.789Z")); // after its entries: adding them changed it

    const imported = await cli(["import", source, "/in", "--create", ...at]);
    expect(imported.status).toBe(0);
    expect(imported.stderr).toContain(`skipped ${join(source, "d/pipe")}: a FIFO (named pipe); the filesystem holds only files, directories and symbolic links`);
    expect(imported.stderr).toContain("imported 2 files");
    expect(imported.stderr).toContain("1 skipped");
    const stat = async (path: string) => JSON.parse((await cli(["stat", path, "--json", ...at])).stdout);
    expect(await stat("/in/d/f.txt")).toMatchObject({ type: "file", mode: "0640", mtime: "2000-01-01T00:00:00.123Z" });
    expect(await stat("/in/run.sh")).toMatchObject({ type: "file", mode: "0755", mtime: "2003-04-05T06:07:08.009Z" });
    expect(await stat("/in/d/inner")).toMatchObject({ type: "directory", mode: "0700", mtime: "2002-02-02T02:02:02.000Z" });
    expect(await stat("/in/d")).toMatchObject({ type: "directory", mode: "0750", mtime: "2001-02-03T04:05:06.789Z" });
    expect(await stat("/in/link")).toMatchObject({ type: "symlink", target: "d/f.txt", mtime: "2006-06-06T06:06:06.606Z" });
    expect(await stat("/in/outside")).toMatchObject({ type: "symlink", target: "/etc/passwd" });
    expect((await cli(["ls", "/in/d", ...at])).stdout.split("\n").filter(Boolean).sort()).toEqual(["f.txt", "inner/"]);

    const out = join(tempDirectory("cli-copies-out"), "out");
    const exported = await cli(["export", "/in", out, ...at]);
    expect(exported.status).toBe(0);
    const local = (path: string) => lstatSync(join(out, path));
    expect(local("d/f.txt").mode & 0o7777).toBe(0o640);
    expect(local("d/f.txt").mtimeMs).toBe(Date.parse("2000-01-01T00:00:00.123Z"));
    expect(readFileSync(join(out, "d/f.txt"), "utf8")).toBe("private");
    expect(local("run.sh").mode & 0o7777).toBe(0o755);
    expect(local("run.sh").mtimeMs).toBe(Date.parse("2003-04-05T06:07:08.009Z"));
    expect(local("d/inner").mode & 0o7777).toBe(0o700);
    expect(local("d/inner").mtimeMs).toBe(Date.parse("2002-02-02T02:02:02.000Z"));
    expect(local("d").mode & 0o7777).toBe(0o750);
    expect(local("d").mtimeMs).toBe(Date.parse("2001-02-03T04:05:06.789Z"));
    expect(local("link").isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(out, "link"))).toBe("d/f.txt");
    expect(local("link").mtimeMs).toBe(Date.parse("2006-06-06T06:06:06.606Z"));
    expect(local("outside").isSymbolicLink()).toBe(true); // a link, never what it points to
    expect(readlinkSync(join(out, "outside"))).toBe("/etc/passwd");
    expect(readdirSync(join(out, "d")).sort()).toEqual(["f.txt", "inner"]);
  }, 120_000);
});

/** The data objects and commit records of the local store's filesystem: what a copy uploaded. */
async function uploaded(bucket: string): Promise<string[]> {
  const store = new LocalObjectStore({ root: join(bucket, "ws", "main") });
  const keys: string[] = [];
  for (const prefix of ["chunks/", "packs/", "wal/"]) for await (const object of listAll(store, { prefix })) keys.push(object.key);
  return keys.sort();
}

describe("cli: --delete and --dry-run mirror a tree; the top directory keeps its own metadata", () => {
  test("import --delete removes what the local tree lacks (a dry run lists it and changes nothing); export --delete removes local leftovers, links never followed", async () => {
    const { at } = workspace("delete");
    const source = join(tempDirectory("cli-copies-delete-src"), "src");
    mkdirSync(join(source, "d"), { recursive: true });
    writeFileSync(join(source, "a.txt"), "a");
    writeFileSync(join(source, "d/b.txt"), "b");
    stamp(join(source, "d"), 0o755, new Date("2004-04-04T04:04:04.000Z"));
    stamp(source, 0o750, new Date("2005-05-05T05:05:05.500Z"));
    expect((await cli(["import", source, "/in", "--create", ...at])).status).toBe(0);
    const stat = async (path: string) => JSON.parse((await cli(["stat", path, "--json", ...at])).stdout);
    expect(await stat("/in")).toMatchObject({ type: "directory", mode: "0750", mtime: "2005-05-05T05:05:05.500Z" }); // as rsync -a src/ /in

    // What the local tree lacks: a directory with a file, a link, and a file where the tree has a directory.
    expect((await cli(["mkdir", "-p", "/in/extra/deep", ...at])).status).toBe(0);
    expect((await cli(["ln", "-s", "a.txt", "/in/link", ...at])).status).toBe(0);
    expect((await cli(["rm", "-r", "/in/d", ...at])).status).toBe(0);
    expect((await cli(["put", "-", "/in/d", ...at], { stdin: "a file where a directory goes" })).status).toBe(0);
    const before = (await cli(["log", "--json", ...at])).stdout;

    const dry = await cli(["import", source, "/in", "--delete", "--dry-run", ...at]);
    expect(dry.status).toBe(0);
    expect(dry.stdout.split("\n").filter(Boolean).sort()).toEqual(["would copy /in/d/b.txt", "would remove /in/d", "would remove /in/extra", "would remove /in/link"]);
    expect((await cli(["log", "--json", ...at])).stdout).toBe(before); // nothing committed
    expect(await stat("/in/extra/deep")).toMatchObject({ type: "directory" });

    const real = await cli(["import", source, "/in", "--delete", ...at]);
    expect(real.status).toBe(0);
    expect(real.stderr).toContain("3 removed");
    expect((await cli(["find", "/in", ...at])).stdout.split("\n").filter(Boolean).sort()).toEqual(["/in", "/in/a.txt", "/in/d", "/in/d/b.txt"]);
    expect((await cli(["cat", "/in/d/b.txt", ...at])).stdout).toBe("b");
    expect(await stat("/in")).toMatchObject({ mode: "0750", mtime: "2005-05-05T05:05:05.500Z" }); // its entries changed, its time restored

    // Export over a local directory with leftovers: a stale file and directory, a link to a host
    // directory (removed as a link, never followed), and a directory where the tree has a file.
    const out = join(tempDirectory("cli-copies-delete-out"), "out");
    const host = tempDirectory("cli-copies-delete-host");
    writeFileSync(join(host, "precious.txt"), "must survive");
    mkdirSync(join(out, "stale-dir/inner"), { recursive: true });
    mkdirSync(join(out, "a.txt"));
    writeFileSync(join(out, "a.txt/x"), "x");
    writeFileSync(join(out, "stale.txt"), "stale");
    symlinkSync(host, join(out, "host-link"));
    const exportDry = await cli(["export", "/in", out, "--delete", "--dry-run", ...at]);
    expect(exportDry.status).toBe(0);
    expect(exportDry.stdout.split("\n").filter(Boolean).sort()).toEqual([
      "would remove " + join(out, "a.txt"),
      "would remove " + join(out, "host-link"),
      "would remove " + join(out, "stale-dir"),
      "would remove " + join(out, "stale.txt"),
      "would write /in/a.txt",
      "would write /in/d/b.txt",
    ]);
    expect(readdirSync(out).sort()).toEqual(["a.txt", "host-link", "stale-dir", "stale.txt"]); // untouched

    const exported = await cli(["export", "/in", out, "--delete", ...at]);
    expect(exported.status).toBe(0);
    expect(exported.stderr).toContain("4 removed");
    expect(readdirSync(out).sort()).toEqual(["a.txt", "d"]);
    expect(readFileSync(join(out, "a.txt"), "utf8")).toBe("a");
    expect(readFileSync(join(host, "precious.txt"), "utf8")).toBe("must survive");
    expect(lstatSync(out).mode & 0o7777).toBe(0o750); // the local directory takes /in's own, as cp -a /in/. out does
    expect(lstatSync(out).mtimeMs).toBe(Date.parse("2005-05-05T05:05:05.500Z"));
  }, 120_000);
});

describe("cli: a second import or export of an unchanged tree is incremental", () => {
  test("only what differs moves: no upload, no commit and no local write for unchanged files; the summary and the bar count them", async () => {
    const { bucket, at } = workspace("incremental");
    const source = join(tempDirectory("cli-copies-inc"), "src");
    mkdirSync(join(source, "sub"), { recursive: true });
    const big = new Uint8Array(5 * MiB).map((_, index) => (index * 7) & 0xff);
    writeFileSync(join(source, "big.bin"), big);
    writeFileSync(join(source, "sub/a.txt"), "alpha");
    writeFileSync(join(source, "sub/b.txt"), "beta");
    symlinkSync("sub/a.txt", join(source, "link"));

    const first = await cli(["import", source, "/tree", "--create", "--json", ...at]);
    expect(first.status).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ files: 3, unchanged: 0, bytes: 5 * MiB + 9 });
    const afterFirst = await uploaded(bucket);
    expect(afterFirst.some((key) => key.startsWith("chunks/") || key.startsWith("packs/"))).toBe(true); // the big file's data

    const newest = async () => JSON.parse((await cli(["log", "--json", "--limit", "1", ...at])).stdout)[0];
    const before = await newest();
    const second = await cli(["import", source, "/tree", "--json", ...at]);
    expect(second.status).toBe(0);
    const again = JSON.parse(second.stdout);
    expect(again).toMatchObject({ files: 0, unchanged: 3, bytes: 0, skipped: 0 });
    expect(again.requests.bytesOut).toBeLessThan(64 * 1024); // small documents at most, not the 5 MiB file
    const afterSecond = await uploaded(bucket);
    expect(afterSecond.filter((key) => !afterFirst.includes(key))).toEqual([]); // no chunk, no pack, no record
    expect((await newest()).seq).toBe(before.seq); // the import committed nothing (a shared writer writes no epoch record either)
    const progress = await cli(["import", source, "/tree", "--progress", ...at]);
    expect(progress.stderr).toContain("3/3 files (3 unchanged)");
    expect(progress.stderr).toContain("imported 0 files (0 B) into /tree at seq");
    expect(progress.stderr).toContain("3 unchanged");

    const out = join(tempDirectory("cli-copies-inc-out"), "out");
    const exported = await cli(["export", "/tree", out, "--json", ...at]);
    expect(JSON.parse(exported.stdout)).toEqual({ files: 3, bytes: 5 * MiB + 9, unchanged: 0, removed: 0 });
    const inode = (path: string) => lstatSync(join(out, path)).ino;
    const inodes = { big: inode("big.bin"), a: inode("sub/a.txt"), b: inode("sub/b.txt"), link: inode("link") };
    const reexported = await cli(["export", "/tree", out, "--json", ...at]);
    expect(JSON.parse(reexported.stdout)).toEqual({ files: 0, bytes: 0, unchanged: 3, removed: 0 });
    expect({ big: inode("big.bin"), a: inode("sub/a.txt"), b: inode("sub/b.txt"), link: inode("link") }).toEqual(inodes); // not one file rewritten
    expect(Buffer.compare(readFileSync(join(out, "big.bin")), big)).toBe(0);

    // One file changes (same size, a new time): only it is uploaded, in one commit, and only it is exported again.
    writeFileSync(join(source, "sub/b.txt"), "BETA");
    utimesSync(join(source, "sub/b.txt"), new Date("2010-10-10T10:10:10.010Z"), new Date("2010-10-10T10:10:10.010Z"));
    const third = await cli(["import", source, "/tree", "--json", ...at]);
    expect(JSON.parse(third.stdout)).toMatchObject({ files: 1, unchanged: 2, bytes: 4 });
    expect((await uploaded(bucket)).filter((key) => !afterSecond.includes(key) && !key.startsWith("wal/"))).toEqual([]); // four bytes travel inline in the commit record
    expect(await newest()).toMatchObject({ kinds: { write: 1, utimes: 1 }, paths: ["/tree/sub/b.txt", "/tree/sub/b.txt"] }); // one commit, one file
    const changed = await cli(["export", "/tree", out, "--json", ...at]);
    expect(JSON.parse(changed.stdout)).toEqual({ files: 1, bytes: 4, unchanged: 2, removed: 0 });
    expect(readFileSync(join(out, "sub/b.txt"), "utf8")).toBe("BETA");
    expect(lstatSync(join(out, "sub/b.txt")).mtimeMs).toBe(Date.parse("2010-10-10T10:10:10.010Z"));
    expect(inode("big.bin")).toBe(inodes.big);
    expect(inode("sub/a.txt")).toBe(inodes.a);
  }, 120_000);
});

describe("cli: an import again over a changed tree", () => {
  test("a link that became a file replaces the link, never writing through it; a file that became a link is replaced by it", async () => {
    const { at } = workspace("kinds");
    const source = join(tempDirectory("cli-copies-kinds"), "src");
    mkdirSync(source);
    writeFileSync(join(source, "target.txt"), "kept");
    symlinkSync("target.txt", join(source, "was-link"));
    writeFileSync(join(source, "was-file"), "plain");
    expect((await cli(["import", source, "/t", "--create", ...at])).status).toBe(0);
    rmSync(join(source, "was-link"));
    writeFileSync(join(source, "was-link"), "now a file");
    rmSync(join(source, "was-file"));
    symlinkSync("target.txt", join(source, "was-file"));
    const again = await cli(["import", source, "/t", ...at]);
    expect(again.stderr).toContain("imported 1 files");
    expect(again.status).toBe(0);
    expect((await cli(["cat", "/t/target.txt", ...at])).stdout).toBe("kept");
    expect((await cli(["cat", "/t/was-link", ...at])).stdout).toBe("now a file");
    expect(JSON.parse((await cli(["stat", "/t/was-link", "--json", ...at])).stdout).type).toBe("file");
    expect(JSON.parse((await cli(["stat", "/t/was-file", "--json", ...at])).stdout)).toMatchObject({ type: "symlink", target: "target.txt" });
    // A directory in the way is refused, naming the path; nothing changes.
    rmSync(join(source, "target.txt"));
    mkdirSync(join(source, "target.txt"));
    const refused = await cli(["import", source, "/t", ...at]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("EEXIST");
    expect(refused.stderr).toContain("/t/target.txt");
    expect(refused.stderr).toContain("the filesystem has a file where the local source has a directory");
    expect((await cli(["cat", "/t/target.txt", ...at])).stdout).toBe("kept");
  }, 120_000);
});

describe("cli: log shows what can be mounted", () => {
  test("after gc, commits still listed but no longer retained are marked, and --at-seq refuses exactly those", async () => {
    const { at } = workspace("log");
    for (const text of ["one", "two", "three"]) expect((await cli(["put", "-", "/v.txt", "--create", ...at], { stdin: text })).status).toBe(0);
    // Nothing older than now stays retained, but nothing is younger than the grace period either: the records stay.
    expect((await cli(["gc", "--delete", "--retention", "0", "--grace", "1h", ...at])).status).toBe(0);
    const entries: { seq: number; retained: boolean }[] = JSON.parse((await cli(["log", "--json", ...at])).stdout);
    expect(entries.length).toBeGreaterThan(1);
    const kept = entries.filter((entry) => entry.retained).map((entry) => entry.seq);
    const gone = entries.filter((entry) => !entry.retained).map((entry) => entry.seq);
    expect(kept.length).toBeGreaterThan(0);
    expect(gone.length).toBeGreaterThan(0);
    expect(Math.min(...kept)).toBeGreaterThan(Math.max(...gone));
    for (const seq of gone) {
      const refused = await cli(["cat", "/v.txt", "--at-seq", String(seq), ...at]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain("no longer retained");
    }
    const oldest = await cli(["cat", "/v.txt", "--at-seq", String(Math.min(...kept)), ...at]);
    expect(oldest.status).toBe(0);
    expect(oldest.stdout).toBe("three");
    // The text form says it too, on each line that cannot be mounted.
    const lines = (await cli(["log", ...at])).stdout.split("\n").filter(Boolean);
    for (const line of lines) {
      const seq = Number(line.trim().split(/\s+/)[0]);
      expect(line.includes("not retained")).toBe(gone.includes(seq));
    }
  }, 120_000);
});

describe("cli: import and export again on the S3 server", () => {
  test("a second import of an unchanged tree uploads no data; a second export rewrites no file; metadata kept", async () => {
    const server = s3Server();
    const bucket = await freshBucket("cli-copies-s3");
    const env = { AWS_ACCESS_KEY_ID: server.accessKeyId, AWS_SECRET_ACCESS_KEY: server.secretAccessKey, AWS_REGION: server.region, AWS_ENDPOINT_URL: server.endpoint, AWS_ENDPOINT_URL_S3: undefined, AWS_PROFILE: undefined };
    const at = ["--bucket", bucket, "--prefix", "team/copies"];
    const source = join(tempDirectory("cli-copies-s3"), "src");
    mkdirSync(source);
    writeFileSync(join(source, "big.bin"), new Uint8Array(6 * MiB).fill(5)); // chunks
    writeFileSync(join(source, "note.txt"), "small");
    stamp(join(source, "note.txt"), 0o600, new Date("2005-05-05T05:05:05.005Z"));
    const data = async () => (await s3Store(bucket).list({ prefix: "team/copies/chunks/" })).objects.map((object) => object.key).sort();
    expect(JSON.parse((await cli(["import", source, "/", "--create", "--json", ...at], { env })).stdout)).toMatchObject({ files: 2, unchanged: 0 });
    const chunks = await data();
    expect(chunks.length).toBeGreaterThan(0);
    const again = JSON.parse((await cli(["import", source, "/", "--json", ...at], { env })).stdout);
    expect(again).toMatchObject({ files: 0, unchanged: 2, bytes: 0 });
    expect(again.requests.bytesOut).toBeLessThan(64 * 1024);
    expect(await data()).toEqual(chunks);
    const out = join(tempDirectory("cli-copies-s3-out"), "out");
    expect(JSON.parse((await cli(["export", "/", out, "--json", ...at], { env })).stdout)).toEqual({ files: 2, bytes: 6 * MiB + 5, unchanged: 0, removed: 0 });
    expect(lstatSync(join(out, "note.txt")).mode & 0o7777).toBe(0o600);
    expect(lstatSync(join(out, "note.txt")).mtimeMs).toBe(Date.parse("2005-05-05T05:05:05.005Z"));
    const inode = lstatSync(join(out, "big.bin")).ino;
    expect(JSON.parse((await cli(["export", "/", out, "--json", ...at], { env })).stdout)).toEqual({ files: 0, bytes: 0, unchanged: 2, removed: 0 });
    expect(lstatSync(join(out, "big.bin")).ino).toBe(inode);
  }, 120_000);
});
