// The command line where it meets the host: local files written whole or not at all, export and
// import that never follow a host link out of their root, and a killed command's writer lease.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { smallDisk } from "../support/small-disk.ts";
import { cli } from "./run-cli.ts";

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
    expect((await cli(["put", big, "/tree/big.bin", ...at])).status).toBe(0);
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
