// Name (255 bytes) and path (4096 bytes) limits hold for the real path of every entry created,
// however it is reached: through a symbolic link to a directory, a dangling link a write follows,
// a rename or a copy into a deep place. An entry past them could be neither stat'd nor removed by
// its own path.
import { afterAll, describe, expect, test } from "bun:test";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace } from "../support/mounts.ts";
import { expectCode } from "../support/errors.ts";
import { tempDirectory } from "../support/temp.ts";
import { Namespace } from "../../src/namespace/namespace.ts";
import { OpApplier } from "../../src/namespace/apply-ops.ts";

afterAll(removeTempDirectories);

/** A directory path of `count` components of 250 bytes: /aaa.../aaa... */
function deepPath(count: number): string {
  return Array.from({ length: count }, (_, index) => `/${String(index).padStart(3, "0")}${"d".repeat(247)}`).join("");
}

describe("name and path limits through symbolic links", () => {
  test("a dangling link cannot create a name over 255 bytes", async () => {
    const workspace = await testWorkspace("local", "limits-name");
    const fs = await workspace.mount();
    const long = "n".repeat(300);
    await fs.symlink(long, "/dangling");
    await expectCode(fs.writeFile("/dangling", "data"), "ENAMETOOLONG", { path: "/dangling" });
    await fs.mkdir("/dir");
    await fs.symlink(`/dir/${long}`, "/dir-dangling");
    await expectCode(fs.appendFile("/dir-dangling", "data"), "ENAMETOOLONG");
    await expectCode(fs.transaction((tx) => tx.writeFile("/dangling", "in a transaction")), "ENAMETOOLONG");
    expect(await fs.readdir("/")).toEqual(["dangling", "dir", "dir-dangling"]);
    expect(await fs.readdir("/dir")).toEqual([]);
    // A name of 255 bytes is fine.
    await fs.symlink("m".repeat(255), "/fits");
    await fs.writeFile("/fits", "ok");
    expect(await fs.readText(`/${"m".repeat(255)}`)).toBe("ok");
    await fs.close();
  });

  test("no entry gets a real path over 4096 bytes through a linked directory, a rename or a copy", async () => {
    const workspace = await testWorkspace("local", "limits-path");
    const fs = await workspace.mount();
    const deep = deepPath(15); // 3,765 bytes
    await fs.mkdir(deep, { recursive: true });
    await fs.symlink(deep, "/s");
    const name = "f".repeat(250); // the real path would be 4,016 bytes: fine
    await fs.writeFile(`/s/${name}`, "fits");
    expect(await fs.readText(`${deep}/${name}`)).toBe("fits");
    await fs.mkdir(`/s/${"g".repeat(250)}`);
    const over = `/s/${"g".repeat(250)}/${"h".repeat(200)}`; // 4,218 bytes once the link is resolved
    await expectCode(fs.writeFile(over, "x"), "ENAMETOOLONG", { path: over });
    await expectCode(fs.mkdir(over), "ENAMETOOLONG");
    await expectCode(fs.mkdir(`${over}/more`, { recursive: true }), "ENAMETOOLONG");
    await expectCode(fs.symlink("/", over), "ENAMETOOLONG");
    await fs.writeFile("/short.txt", "short");
    await expectCode(fs.copyFile("/short.txt", over), "ENAMETOOLONG");
    await expectCode(fs.rename("/short.txt", over), "ENAMETOOLONG");
    // A tree moved or copied below the link: its own path fits, its deepest file's would not.
    await fs.writeFile(`/tree/${"t".repeat(200)}/leaf.txt`, "leaf");
    const into = `/s/${"g".repeat(250)}/tree`;
    await expectCode(fs.rename("/tree", into), "ENAMETOOLONG");
    await expectCode(fs.cp("/tree", into, { recursive: true }), "ENAMETOOLONG");
    expect(await fs.readText(`/tree/${"t".repeat(200)}/leaf.txt`)).toBe("leaf");
    expect(await fs.readdir(`${deep}/${"g".repeat(250)}`)).toEqual([]);
    // Everything there is can be stat'd and removed by its own path.
    for (const path of fs.allPaths()) {
      expect(Buffer.byteLength(path)).toBeLessThanOrEqual(4096);
      await fs.lstat(path);
    }
    await fs.rm(`${deep}/${name}`);
    await fs.close();
    // A fresh mount replays the same log to the same tree.
    const again = await workspace.mount({}, { cacheRoot: workspace.freshCacheRoot() });
    expect(await again.readdir(`${deep}/${"g".repeat(250)}`)).toEqual([]);
    await again.close();
  });

  test("a published record replays as it was written, even one that broke the limits before they were enforced", () => {
    const namespace = new Namespace(`${tempDirectory("limits-replay")}/index.sqlite`);
    const applier = new OpApplier(namespace);
    namespace.beginBatch();
    applier.apply({ op: "symlink", target: "n".repeat(300), path: "/dangling", time: 1 }, "wal/1");
    const write = { op: "write" as const, path: "/dangling", mode: 0o644, extents: [], time: 2 };
    expect(() => applier.apply(write, "wal/2")).toThrow("ENAMETOOLONG"); // a writer validating it refuses it
    applier.apply(write, "wal/2", { replay: true }); // a mount replaying it gets the tree the log describes
    expect(namespace.pending.allPaths()).toEqual(["/", "/dangling", `/${"n".repeat(300)}`]);
    namespace.commitBatch({});
    namespace.close();
  });
});
