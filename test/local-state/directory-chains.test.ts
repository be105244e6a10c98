// Each directory of the index chains its entries in the index's order (see namespace.ts): a lookup
// that misses is checked against the chain, a listing must be the whole chain. Every change to the
// tree keeps the chains whole, or a healthy index would answer EIO. Here random operations of every
// kind that adds, removes or moves entries run on a real index (names whose UTF-8 order differs
// from JavaScript's), and after each one the whole index passes its check, every directory lists
// what a model holds, and names that are not there miss without error; a snapshot of it loads
// with the same chains.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Namespace, compareNames, rootId, type NamespaceView } from "../../src/namespace/namespace.ts";
import { OpApplier } from "../../src/namespace/apply-ops.ts";
import { encodeSnapshot, loadSnapshot } from "../../src/namespace/snapshot.ts";
import { FsError } from "../../src/base/errors.ts";
import { seededRandom } from "../../src/stores/random.ts";
import type { Op } from "../../src/log/ops.ts";
import { snapshotKey } from "../../src/log/keys.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(removeTempDirectories);

// In UTF-16 "\u{1F600}" (a surrogate pair) sorts before "\uE000" and "\uFFFD"; in UTF-8, as SQLite
// orders names, after them. "a b" and "a-b" sort before "a/…" would; "" never occurs.
const names = ["a", "b", "a b", "a-b", "ä", "Z", "\uE000x", "\uFFFD", "\u{1F600}", "z\u{1F600}", "zz"];

test("compareNames orders names by their UTF-8 bytes, as SQLite does", () => {
  const sorted = [...names].sort(compareNames);
  expect(sorted).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  expect(sorted.indexOf("\u{1F600}")).toBeGreaterThan(sorted.indexOf("\uFFFD"));
  expect(compareNames("a\ud800", "a\uFFFD")).toBe(0); // a lone surrogate is stored as U+FFFD
});

/** Every directory in the view listed, with the whole index checked, compared with `model` (path -> kind). */
function expectMatches(namespace: Namespace, view: NamespaceView, model: Map<string, string>): void {
  namespace.verify();
  expect(new Set(view.allPaths())).toEqual(new Set(["/", ...model.keys()]));
  for (const path of ["/", ...[...model].filter(([, kind]) => kind === "directory").map(([path]) => path)]) {
    const directory = view.resolve(path, false, "scandir").node;
    const listed = view.children(directory.id).map((child) => child.name);
    const expected = [...model.keys()].filter((other) => other.slice(0, other.lastIndexOf("/") || 1) === path && other !== "/").map((other) => other.slice(other.lastIndexOf("/") + 1));
    expect(listed).toEqual(expected.sort(compareNames));
    expect(view.hasChildren(directory.id)).toBe(listed.length > 0);
    for (const name of names) {
      const found = view.child(directory.id, name);
      expect(found !== undefined).toBe(listed.includes(name));
    }
  }
}

test("every operation keeps each directory's chain whole: 400 random operations on a real index, checked after each", () => {
  const next = seededRandom(31);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const namespace = new Namespace(join(tempDirectory("chains"), "index.sqlite"));
  const applier = new OpApplier(namespace);
  const model = new Map<string, string>();
  const directories = () => ["/", ...[...model].filter(([, kind]) => kind === "directory").map(([path]) => path)];
  const somePath = () => {
    const directory = pick(directories());
    return `${directory === "/" ? "" : directory}/${pick(names)}`;
  };
  let applied = 0;
  for (let step = 0; step < 400; step++) {
    const time = step + 1;
    const kind = pick(["mkdir", "write", "symlink", "rm", "rename", "rename", "copy", "append"] as const);
    const op: Op =
      kind === "mkdir" ? { op: "mkdir", path: somePath(), mode: 0o755, recursive: next() < 0.3, time }
      : kind === "write" || kind === "append" ? { op: kind, path: somePath(), mode: 0o644, extents: [], time }
      : kind === "symlink" ? { op: "symlink", target: "/nowhere", path: somePath(), time }
      : kind === "rm" ? { op: "rm", path: somePath(), recursive: next() < 0.7, force: false, time }
      : kind === "rename" ? { op: "rename", from: somePath(), to: somePath(), time }
      : { op: "copy", from: somePath(), to: somePath(), recursive: true, overwrite: next() < 0.5, time };
    namespace.beginBatch();
    try {
      namespace.step(() => applier.apply(op, "wal/1"));
      applied++;
    } catch (error) {
      if (!(error instanceof FsError) || error.code === "EIO") throw error;
    }
    namespace.commitBatch({ seq: String(step) });
    // The model: what the index holds, read back through the paths alone (a wrong chain throws above or below).
    model.clear();
    for (const { node, relative } of namespace.committed.descendants(rootId)) model.set(`/${relative}`, node.kind);
    expectMatches(namespace, namespace.committed, model);
    expectMatches(namespace, namespace.pending, model);
  }
  expect(applied).toBeGreaterThan(200);
  expect(model.size).toBeGreaterThan(20);

  // A snapshot of it loads with the same chains: each row written once, with links computed whole.
  const bytes = encodeSnapshot(namespace.committed, { fsId: "fs", seq: 400, hash: "0".repeat(64), epoch: 1 });
  const loaded = new Namespace(join(tempDirectory("chains-loaded"), "index.sqlite"));
  loaded.beginBatch();
  loadSnapshot(loaded, snapshotKey(400), bytes);
  loaded.commitBatch({ seq: "400" });
  expectMatches(loaded, loaded.committed, model);
  namespace.close();
  loaded.close();
});

test("an entry moved to the next directory, past the entries it finds there first: the chains stay whole (a model run found EIO here)", () => {
  // The index's entry just before (/c, "a") is the moving entry itself, at its old key (/b, "c"):
  // the entry before that must be sought from the old key, not from (/c, "c"), which finds "b".
  const namespace = new Namespace(join(tempDirectory("chains-move"), "index.sqlite"));
  const applier = new OpApplier(namespace);
  const ops: Op[] = [
    { op: "mkdir", path: "/b", mode: 0o755, recursive: false, time: 1 },
    { op: "mkdir", path: "/c", mode: 0o755, recursive: false, time: 1 },
    { op: "write", path: "/c/b", mode: 0o644, extents: [], time: 1 },
    { op: "write", path: "/b/c", mode: 0o644, extents: [], time: 1 },
    { op: "rename", from: "/b/c", to: "/c/a", time: 2 },
  ];
  namespace.beginBatch();
  for (const op of ops) namespace.step(() => applier.apply(op, "wal/1"));
  namespace.commitBatch({ seq: "1" });
  expectMatches(namespace, namespace.committed, new Map([["/b", "directory"], ["/c", "directory"], ["/c/a", "file"], ["/c/b", "file"]]));
  namespace.close();
});
