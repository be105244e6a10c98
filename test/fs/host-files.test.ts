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
    // 6 MiB: room for the index and its 4 MiB reserve, not for the 7 MiB copy.
    const disk = smallDisk("materialize", 6 * MiB);
    try {
      const workspace = await testWorkspace("local", "materialize-full");
      // Written by a mount whose cache is on an ordinary disk; read by one whose cache root is the small disk.
      const writer = await workspace.mount({ name: "writer" });
      const data = pattern(7 * MiB, 3);
      await writer.writeFile("/big.bin", data);
      await writer.writeFile("/small.txt", "fits");
      await writer.close();
      const manager = workspace.manager({ cacheRoot: disk.root });
      const fs = await manager.mount({ name: "reader", mode: "readonly", cacheBytes: 8 * MiB });
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

describe("materialize of long names", () => {
  test("a file named with 206 to 255 bytes is materialised under a short local name; failures give the reservation back", async () => {
    const workspace = await testWorkspace("local", "materialize-names");
    const fs = await workspace.mount({ cacheBytes: 4 * MiB });
    for (const length of [206, 230, 255]) {
      const name = `/${"n".repeat(length - 4)}.bin`;
      await fs.writeFile(name, pattern(MiB, length));
      const local = await fs.materialize(name);
      expect(Buffer.compare(readFileSync(local.path), pattern(MiB, length))).toBe(0);
      expect(Buffer.byteLength(local.path.split("/").pop()!)).toBeLessThanOrEqual(255);
      expect(local.path.endsWith(".bin")).toBe(true); // tools that look at the extension still see it
      await local.release();
      expect(existsSync(local.path)).toBe(false);
    }
    const multibyte = `/${"é".repeat(127)}`; // 254 bytes
    await fs.writeFile(multibyte, "accents");
    const accented = await fs.materialize(multibyte);
    expect(readFileSync(accented.path, "utf8")).toBe("accents");
    await accented.release();
    // Three copies of a 1 MiB file in a 4 MiB cache and still room: nothing leaked.
    expect(fs.stats().cache.pinnedBytes).toBe(0);
    const copies = await Promise.all([1, 2, 3].map(() => fs.materialize(`/${"n".repeat(251)}.bin`)));
    for (const copy of copies) await copy.release();
    await fs.close();
  });
});
