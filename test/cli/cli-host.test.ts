// The command line where it meets the host: local files written whole or not at all, export and
// import that never follow a host link out of their root, and a killed command's writer lease.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { smallDisk } from "../support/small-disk.ts";
import { cli, repository } from "./run-cli.ts";
import { LocalObjectStore, S3CachedFsManagerImpl, type ObjectStore, type S3CachedFs } from "../../src/core.ts";
import type { LeaseDocument } from "../../src/commit/lease.ts";
import { leaseKey } from "../../src/log/keys.ts";

afterAll(removeTempDirectories);

const MiB = 1024 * 1024;

function workspace(label: string) {
  const bucket = tempDirectory(`cli-host-${label}`);
  return { bucket, at: ["--local", bucket, "--prefix", "ws/main"] };
}

describe("cli: a full local disk", () => {
  test("get and export that cannot write a file whole exit 1 with ENOSPC and leave no partial file", async () => {
    const { at } = workspace("full");
    const big = join(tempDirectory("cli-host-full-src"), "big.bin");
    writeFileSync(big, new Uint8Array(2 * MiB).map((_, index) => index & 0xff));
    expect((await cli(["put", big, "/tree/big.bin", "--create", ...at])).status).toBe(0);
    expect((await cli(["put", "-", "/tree/a-small.txt", ...at], { stdin: "small" })).status).toBe(0);
    const disk = smallDisk("cli-full", 1 * MiB);
    try {
      const run = (args: string[]) => cli([...args, ...at], { bunArgs: disk.childArgs, env: disk.childEnv });
      const got = await run(["get", "/tree/big.bin", join(disk.root, "copy.bin")]);
      expect(got.status).toBe(1);
      expect(got.stderr).toContain("ENOSPC");
      expect(readdirSync(disk.root)).toEqual([]);
      // An existing file is replaced only by a whole copy: a failed get leaves it as it was.
      writeFileSync(join(disk.root, "copy.bin"), "before");
      expect((await run(["get", "/tree/big.bin", join(disk.root, "copy.bin")])).status).toBe(1);
      expect(readFileSync(join(disk.root, "copy.bin"), "utf8")).toBe("before");
      expect(readdirSync(disk.root)).toEqual(["copy.bin"]);
      const exported = await run(["export", "/tree", join(disk.root, "out")]);
      expect(exported.status).toBe(1);
      expect(exported.stderr).toContain("ENOSPC");
      expect(exported.stderr).toContain("/tree/big.bin");
      expect(readdirSync(join(disk.root, "out"))).toEqual(["a-small.txt"]); // written before, whole
      expect(existsSync(join(disk.root, "out", "big.bin"))).toBe(false);
    } finally {
      disk.release();
    }
  }, 120_000);
});

describe("cli: export and import never follow a host link out of their root", () => {
  test("export replaces a host link left by an earlier export; what the link pointed to stays unchanged", async () => {
    const { bucket, at } = workspace("export-links");
    const outside = tempDirectory("cli-host-victim");
    const victimFile = join(outside, "victim.txt");
    const victimDirectory = join(outside, "victim-dir");
    writeFileSync(victimFile, "the exporter's own file");
    mkdirSync(victimDirectory);
    writeFileSync(join(victimDirectory, "passwd"), "the exporter's own passwd");
    const out = join(tempDirectory("cli-host-export"), "out");
    const escaped = `escaped-${crypto.randomUUID()}.txt`; // where a link climbing out of the root would put it
    // Whoever writes the filesystem plants links to the exporter's files...
    await withFilesystem(bucket, async (fs) => {
      await fs.writeFile("/tree/readme.txt", "hello");
      await fs.symlink(victimFile, "/tree/file-link");
      await fs.symlink(victimDirectory, "/tree/dir-link");
      await fs.mkdir("/tree/deep");
      await fs.symlink("../../..", "/tree/deep/up");
    });
    expect((await cli(["export", "/tree", out, ...at])).status).toBe(0);
    expect(readlinkSync(join(out, "file-link"))).toBe(victimFile);
    expect(readlinkSync(join(out, "dir-link"))).toBe(victimDirectory);
    // ...then turns them into a file and directories, and waits for the next export.
    await withFilesystem(bucket, async (fs) => {
      await fs.rm("/tree/file-link");
      await fs.writeFile("/tree/file-link", "written through the link");
      await fs.rm("/tree/dir-link");
      await fs.writeFile("/tree/dir-link/passwd", "written through the link");
      await fs.writeFile("/tree/dir-link/new.txt", "planted through the link");
      await fs.rm("/tree/deep/up");
      await fs.writeFile(`/tree/deep/up/${escaped}`, "planted through the link");
    });
    const again = await cli(["export", "/tree", out, ...at]);
    expect(again.stderr).toStartWith("exported ");
    expect(again.status).toBe(0);
    expect(readFileSync(victimFile, "utf8")).toBe("the exporter's own file");
    expect(readFileSync(join(victimDirectory, "passwd"), "utf8")).toBe("the exporter's own passwd");
    expect(readdirSync(victimDirectory)).toEqual(["passwd"]);
    expect(existsSync(join(out, "..", "..", escaped))).toBe(false);
    expect(lstatSync(join(out, "file-link")).isFile()).toBe(true);
    expect(readFileSync(join(out, "file-link"), "utf8")).toBe("written through the link");
    expect(lstatSync(join(out, "dir-link")).isDirectory()).toBe(true);
    expect(readFileSync(join(out, "dir-link", "passwd"), "utf8")).toBe("written through the link");
    expect(readFileSync(join(out, "deep", "up", escaped), "utf8")).toBe("planted through the link");
  }, 120_000);

  test("import copies a host link that points outside its root as a link, never what it points to", async () => {
    const { at } = workspace("import-links");
    const outside = tempDirectory("cli-host-secret");
    writeFileSync(join(outside, "secret.txt"), "the importer's secret");
    const source = join(tempDirectory("cli-host-import"), "src");
    mkdirSync(source);
    writeFileSync(join(source, "plain.txt"), "plain");
    const large = new Uint8Array(5 * MiB).map((_, index) => (index * 13) & 0xff); // streamed, not read whole
    writeFileSync(join(source, "large.bin"), large);
    symlinkSync(join(outside, "secret.txt"), join(source, "secret-link"));
    symlinkSync(outside, join(source, "dir-link"));
    symlinkSync("../..", join(source, "up"));
    expect((await cli(["import", source, "/in", "--create", ...at])).status).toBe(0);
    const listed = (await cli(["ls", "-R", "/in", ...at])).stdout.split("\n").filter(Boolean).sort();
    expect(listed).toEqual(["dir-link", "large.bin", "plain.txt", "secret-link", "up"]);
    const copy = join(tempDirectory("cli-host-import-copy"), "large.bin");
    expect((await cli(["get", "/in/large.bin", copy, ...at])).status).toBe(0);
    expect(Buffer.compare(readFileSync(copy), large)).toBe(0);
    const link = JSON.parse((await cli(["stat", "/in/secret-link", "--json", ...at])).stdout);
    expect(link).toMatchObject({ type: "symlink", target: join(outside, "secret.txt") });
    // Read through the filesystem, the link resolves inside the filesystem: the host secret is not there.
    const read = await cli(["cat", "/in/secret-link", ...at]);
    expect(read.status).toBe(1);
    expect(read.stdout).not.toContain("secret");
  }, 120_000);
});

describe("cli: a stopped command leaves no lease behind", () => {
  for (const signal of ["SIGTERM", "SIGINT", "SIGKILL"] as const) {
    test(`a put stopped by ${signal} mid-command: the next put takes the lease at once`, async () => {
      const { bucket, at } = workspace(`signal-${signal}`);
      expect((await cli(["put", "-", "/first.txt", "--create", ...at], { stdin: "first" })).status).toBe(0);
      const temporary = tempDirectory(`cli-host-tmp-${signal}`);
      const store = new LocalObjectStore({ root: join(bucket, "ws", "main") });
      // A put reading a stdin that never ends holds the lease (of an hour) until it is stopped.
      const child = Bun.spawn([process.execPath, join(repository, "src", "cli.ts"), "put", "-", "/never.txt", "--lease-ttl", "1h", ...at], {
        cwd: repository,
        env: { ...process.env, TMPDIR: temporary },
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
      });
      child.stdin.write("some bytes, and more to come");
      await child.stdin.flush();
      let holder: LeaseDocument | undefined;
      for (let attempt = 0; attempt < 600 && holder?.process?.pid !== child.pid; attempt++) {
        await Bun.sleep(50);
        holder = await readLease(store);
      }
      expect(holder?.process?.pid).toBe(child.pid);
      expect(holder?.released).toBe(false);
      expect(holder?.ttlMs).toBe(3_600_000);
      child.kill(signal);
      const status = await child.exited;
      const stderr = await new Response(child.stderr).text();
      if (signal !== "SIGKILL") {
        expect(status).toBe(signal === "SIGINT" ? 130 : 143);
        expect(stderr).toContain(`${signal}: releasing the writer lease`);
        expect((await readLease(store))?.released).toBe(true);
        expect(readdirSync(temporary)).toEqual([]); // its temporary cache is gone
      }
      // --writer fail: the lease must be free (released, or its holder seen gone) for this to run at all.
      const next = await cli(["put", "-", "/next.txt", "--writer", "fail", ...at], { stdin: "next" });
      expect(next.stderr).toBe("");
      expect(next.status).toBe(0);
      expect((await cli(["cat", "/first.txt", "/next.txt", ...at])).stdout).toBe("firstnext");
      expect((await cli(["cat", "/never.txt", ...at])).status).toBe(1); // nothing of the stopped put was published
    }, 120_000);
  }

  test("a get stopped by SIGTERM in the middle of a file leaves no partial file", async () => {
    const { at } = workspace("signal-get");
    const big = join(tempDirectory("cli-host-get-src"), "big.bin");
    writeFileSync(big, new Uint8Array(3 * MiB).map((_, index) => index & 0xff));
    expect((await cli(["put", big, "/big.bin", "--create", ...at])).status).toBe(0);
    const target = tempDirectory("cli-host-get-target");
    const child = Bun.spawn([process.execPath, "--preload", join(import.meta.dir, "..", "support", "stall-writes-preload.ts"), join(repository, "src", "cli.ts"), "get", "/big.bin", join(target, "copy.bin"), ...at], {
      cwd: repository,
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    const reader = child.stderr.getReader();
    let said = "";
    while (!said.includes("stalled")) {
      const { done, value } = await reader.read();
      if (done) break;
      said += new TextDecoder().decode(value);
    }
    expect(said).toContain("stalled");
    expect(readdirSync(target)).toHaveLength(1); // the partial copy, under its temporary name
    child.kill("SIGTERM");
    expect(await child.exited).toBe(143);
    expect(readdirSync(target)).toEqual([]);
  }, 120_000);

  test("a put that must wait for a live writer says for whom and until when, on stderr", async () => {
    const { bucket, at } = workspace("wait-message");
    expect((await cli(["put", "-", "/first.txt", "--create", ...at], { stdin: "first" })).status).toBe(0);
    const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("cli-host-holder"), storeFactory: () => new LocalObjectStore({ root: join(bucket, "ws", "main") }) });
    const holder = await manager.mount({ name: "holder", leaseTtlMs: 3_600_000 });
    const child = Bun.spawn([process.execPath, join(repository, "src", "cli.ts"), "put", "-", "/second.txt", ...at], {
      cwd: repository,
      stdin: new TextEncoder().encode("second"),
      stdout: "ignore",
      stderr: "pipe",
    });
    // The holder closes (releasing the lease) once the waiting command has said what it waits for.
    let said = "";
    const decoder = new TextDecoder();
    const reader = child.stderr.getReader();
    while (!said.includes("giving up at")) {
      const { done, value } = await reader.read();
      if (done) break;
      said += decoder.decode(value, { stream: true });
    }
    await holder.close();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      said += decoder.decode(value, { stream: true });
    }
    expect(await child.exited).toBe(0);
    expect(said).toContain("waiting for the writer lease held by holder@");
    expect(said).toContain(`pid ${process.pid} on `);
    expect(said).toContain("giving up at");
    expect((await cli(["cat", "/second.txt", ...at])).stdout).toBe("second");
  }, 120_000);
});

async function readLease(store: ObjectStore): Promise<LeaseDocument | undefined> {
  try {
    return JSON.parse(new TextDecoder().decode((await store.get(leaseKey)).body)) as LeaseDocument;
  } catch {
    return undefined;
  }
}

/** The CLI's filesystem (--local bucket --prefix ws/main), mounted read-write in this process. */
async function withFilesystem(bucket: string, body: (fs: S3CachedFs) => Promise<void>): Promise<void> {
  const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("cli-host-lib"), storeFactory: () => new LocalObjectStore({ root: join(bucket, "ws", "main") }) });
  const fs = await manager.mount({ name: "lib" });
  try {
    await body(fs);
  } finally {
    await fs.close();
  }
}
