// Where the filesystem meets the host's own files: materialize() on a full disk, long names, and
// the cache space a failed copy must give back.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace } from "../support/mounts.ts";
import { smallDisk } from "../support/small-disk.ts";
import { expectCode } from "../support/errors.ts";
import { mountDirectoryName } from "../../src/mount.ts";

afterAll(removeTempDirectories);

const MiB = 1024 * 1024;

function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let index = 0; index < size; index++) bytes[index] = (index * 31 + seed * 17 + (index >> 9)) & 0xff;
  return bytes;
}

describe("materialize on a full local disk", () => {
  test("a copy that cannot be written whole is ENOSPC: no partial file, the reservation returned, no unhandled rejection", async () => {
    let unhandled = 0;
    const onUnhandled = () => void unhandled++;
    process.on("unhandledRejection", onUnhandled);
    const disk = smallDisk("materialize", 1 * MiB);
    try {
      const workspace = await testWorkspace("local", "materialize-full");
      // Written by a mount whose cache is on an ordinary disk; read by one whose cache root is the small disk.
      const writer = await workspace.mount({ name: "writer" });
      const data = pattern(2 * MiB, 3);
      await writer.writeFile("/big.bin", data);
      await writer.writeFile("/small.txt", "fits");
      await writer.close();
      const manager = workspace.manager({ cacheRoot: disk.root });
      const fs = await manager.mount({ name: "reader", mode: "readonly", cacheBytes: 3 * MiB });
      const error = await expectCode(fs.materialize("/big.bin"), "ENOSPC", { path: "/big.bin" });
      expect(error.message).not.toContain(disk.root);
      expect(fs.stats().cache.pinnedBytes).toBe(0);
      const staging = join(disk.root, mountDirectoryName("reader"), "staging");
      expect(readdirSync(staging)).toEqual([]);
      // The mount goes on working: a copy that fits is made whole.
      const small = await fs.materialize("/small.txt");
      expect(readFileSync(small.path, "utf8")).toBe("fits");
      await small.release();
      expect(fs.stats().cache.pinnedBytes).toBe(0);
      await fs.close();
      await Bun.sleep(50); // a stray rejection would be reported by now
      expect(unhandled).toBe(0);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      disk.release();
    }
  });
});
