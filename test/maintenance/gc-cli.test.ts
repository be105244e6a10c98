// Garbage collection driven from the command line, as a user runs it (real subprocesses on a
// LocalObjectStore directory): after any sequence of commands it keeps working, a failed run
// publishes nothing, and fsck agrees with what the collector can do.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { cli } from "../cli/run-cli.ts";

afterAll(removeTempDirectories);

function records(bucket: string): string[] {
  return readdirSync(join(bucket, "ws", "main", "wal")).sort();
}

describe("gc from the command line", () => {
  test("import, put, gc --delete --retention 0 --grace 0, put: every later gc works and fsck is sound", async () => {
    const bucket = tempDirectory("gc-cli");
    const at = ["--local", bucket, "--prefix", "ws/main"];
    const source = tempDirectory("gc-cli-source");
    mkdirSync(join(source, "docs"));
    for (let index = 0; index < 6; index++) writeFileSync(join(source, "docs", `${index}.txt`), `small file ${index}\n`);
    const one = join(tempDirectory("gc-cli-one"), "one.txt");
    writeFileSync(one, "one\n");
    const ok = async (args: string[]) => {
      const result = await cli([...args, ...at]);
      if (result.status !== 0) throw new Error(`${args.join(" ")} exited ${result.status}: ${result.stderr}`);
      return result;
    };
    await ok(["import", source, "/imported", "--create"]);
    await ok(["put", one, "/one.txt"]);
    await ok(["gc", "--delete", "--retention", "0", "--grace", "0"]);
    await ok(["put", one, "/two.txt"]);
    // The collector can work from this state, with any window, dry or for real.
    await ok(["gc"]);
    await ok(["gc", "--delete"]);
    await ok(["gc", "--delete", "--retention", "0", "--grace", "0"]);
    await ok(["gc", "--delete"]);
    await ok(["gc"]);
    await ok(["fsck"]);
    expect((await ok(["cat", "/two.txt"])).stdout).toBe("one\n");
    expect((await ok(["ls", "-R", "/"])).stdout).toBe("imported/\nimported/docs/\n" + [0, 1, 2, 3, 4, 5].map((index) => `imported/docs/${index}.txt\n`).join("") + "one.txt\ntwo.txt\n");
    // Compaction converges: once it has run, another run rewrites nothing.
    await ok(["gc", "--delete", "--retention", "0", "--grace", "0"]);
    const again = JSON.parse((await ok(["gc", "--delete", "--retention", "0", "--grace", "0", "--json"])).stdout);
    expect(again.compaction.objects).toEqual([]);
    expect(again.compaction.commits).toEqual([]);
  }, 300_000);

  test("a gc that cannot run publishes only its collect record, and fsck reports the state as unsound", async () => {
    const bucket = tempDirectory("gc-cli-fail");
    const at = ["--local", bucket, "--prefix", "ws/main"];
    const one = join(tempDirectory("gc-cli-fail-one"), "one.txt");
    writeFileSync(one, "one\n");
    for (const name of ["a", "b", "c"]) expect((await cli(["put", one, `/${name}.txt`, "--create", ...at])).status).toBe(0);
    // Damage: a record in the middle of the log removed by hand (mounts start from the newest
    // snapshot and do not need it; the collector cannot tell when it was committed).
    rmSync(join(bucket, "ws", "main", "wal", "00000000000000000003"));
    const fsck = await cli(["fsck", ...at]);
    expect(fsck.status).toBe(3);
    expect(fsck.stdout).toContain("wal/00000000000000000003");
    const before = records(bucket);
    const gc = await cli(["gc", "--delete", ...at]);
    expect(gc.status).toBe(1);
    expect(gc.stderr).toContain("nothing was deleted");
    const after = records(bucket);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.length).toBe(before.length + 1); // the collect record, published before anything is listed or deleted
    expect(JSON.parse((await cli(["log", "--json", "--limit", "1", ...at])).stdout)[0].kinds).toEqual({ collect: 1 });
  }, 300_000);
});
