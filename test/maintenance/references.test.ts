// Which operations bring extents into a namespace is known in one place (extentsBroughtIn): the
// applier inserts those, and garbage collection keeps what they name (docs/s3-layout.md GC3). An
// operation kind that brings extents some other way, unnamed there, would let a collection delete
// live data: every kind is applied here, and every extent it leaves in the index must be named.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Namespace } from "../../src/namespace/namespace.ts";
import { OpApplier } from "../../src/namespace/apply-ops.ts";
import { extentsBroughtIn, type Extent, type Op } from "../../src/log/ops.ts";
import { walKey } from "../../src/log/keys.ts";
import { References } from "../../src/maintenance/references.ts";
import type { RecordHeader } from "../../src/log/record.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(removeTempDirectories);

const pack: Extent = { object: "packs/p", offset: 0, length: 10, hash: "00000000000000a1" };
const chunk: Extent = { object: "chunks/c", offset: 0, length: 20, hash: "00000000000000b2" };
const inline: Extent = { object: "", offset: 0, length: 5, hash: "00000000000000c3" };
const file: Op = { op: "write", path: "/a", mode: 0o644, extents: [pack], time: 1 };

type OpOf<K extends Op["op"]> = Extract<Op, { op: K }>;

/**
 * One case per operation kind (a mapped type: adding a kind to Op without a case here fails to
 * compile): what it is applied after, the operation, and whether it brings extents of its own.
 */
const cases: { [K in Op["op"]]: { after: Op[]; op: OpOf<K>; brings: boolean } } = {
  mkdir: { after: [], op: { op: "mkdir", path: "/d", mode: 0o755, recursive: false, time: 2 }, brings: false },
  write: { after: [], op: { op: "write", path: "/w", mode: 0o644, extents: [chunk, inline], time: 2 }, brings: true },
  append: { after: [file], op: { op: "append", path: "/a", mode: 0o644, extents: [chunk, inline], time: 2 }, brings: true },
  rm: { after: [file], op: { op: "rm", path: "/a", recursive: false, force: false, time: 2 }, brings: false },
  rename: { after: [file], op: { op: "rename", from: "/a", to: "/b", time: 2 }, brings: false },
  copy: { after: [file], op: { op: "copy", from: "/a", to: "/b", recursive: false, overwrite: false, time: 2 }, brings: false },
  symlink: { after: [file], op: { op: "symlink", target: "/a", path: "/l", time: 2 }, brings: false },
  chmod: { after: [file], op: { op: "chmod", path: "/a", mode: 0o600, time: 2 }, brings: false },
  utimes: { after: [file], op: { op: "utimes", path: "/a", atime: 5, mtime: 6, time: 2 }, brings: false },
  lutimes: { after: [file], op: { op: "lutimes", path: "/a", atime: 5, mtime: 6, time: 2 }, brings: false },
  link: { after: [file], op: { op: "link", from: "/a", to: "/b", time: 2 }, brings: false },
  epoch: { after: [], op: { op: "epoch", epoch: 2, writer: "w", time: 2 }, brings: false },
  relocate: { after: [file], op: { op: "relocate", moves: [{ ...pack, toObject: "packs/q", toOffset: 7 }], time: 2 }, brings: true },
  collect: { after: [file], op: { op: "collect", before: 1, collector: "c", time: 2 }, brings: false },
  laneOpen: { after: [], op: { op: "laneOpen", path: "/d", owner: "w", time: 2 }, brings: false },
  laneClose: { after: [], op: { op: "laneClose", lane: 1, path: "/d", seq: 0, hash: "00000000000000d4", time: 2 }, brings: false },
  laneEnd: { after: [], op: { op: "laneEnd", writer: "w", time: 2 }, brings: false },
};

const id = (extent: Extent) => `${extent.object}@${extent.offset}+${extent.length}#${extent.hash}`;

describe("the extents an operation brings in", () => {
  for (const [kind, { after, op, brings }] of Object.entries(cases) as [Op["op"], (typeof cases)[Op["op"]]][]) {
    test(`${kind}: every extent it leaves in the index is named by extentsBroughtIn, and so kept by garbage collection`, () => {
      const namespace = new Namespace(join(tempDirectory(`brought-${kind}`), "index.sqlite"));
      const applier = new OpApplier(namespace);
      namespace.beginBatch();
      for (const earlier of after) applier.apply(earlier, walKey(1));
      const before = new Set(namespace.pending.allExtents().map(id));
      applier.apply(op, walKey(2));
      const added = namespace.pending.allExtents().filter((extent) => !before.has(id(extent)));
      const named = extentsBroughtIn(op, walKey(2));
      for (const extent of added) expect(named.map(id)).toContain(id(extent));
      expect(named.length > 0).toBe(brings);
      expect(added.length > 0).toBe(brings);
      // Inline data names the record itself; nothing is left naming "".
      expect(named.some((extent) => extent.object === "")).toBe(false);
      // Garbage collection's references of a record holding the operation name the same objects.
      const references = new References();
      references.addRecord({ seq: 2, ops: [op] } as unknown as RecordHeader);
      expect(references.objects().sort()).toEqual([...new Set(named.map((extent) => extent.object))].sort());
      namespace.rollbackBatch();
      namespace.close();
    });
  }

  test("an operation kind this version does not know stops the caller: nothing is taken to bring no extents", () => {
    const unknown = { op: "splice", path: "/a", extents: [pack], time: 1 } as unknown as Op;
    expect(() => extentsBroughtIn(unknown, walKey(3))).toThrow("operation kind 'splice'");
    expect(() => new References().addRecord({ seq: 3, ops: [unknown] } as unknown as RecordHeader)).toThrow("upgrade");
  });
});
