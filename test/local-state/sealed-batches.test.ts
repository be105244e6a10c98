// The batches of records in flight (docs/s3-layout.md C8) are sealed in the index's open SQLite
// transaction. Committing the oldest undoes the ones after it; they are done again from their
// journal, statement for statement (`reseal`), or committed that way once their records land
// (`commitChanges`), never validated again. Here random operations go through that path, with
// landings and new batches interleaved at random, beside the same batches committed one after
// another on a second index: both must hold the same rows, ids included, at every landing.
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { Namespace, type SealedChanges } from "../../src/namespace/namespace.ts";
import { OpApplier } from "../../src/namespace/apply-ops.ts";
import { FsError } from "../../src/base/errors.ts";
import { seededRandom } from "../../src/stores/random.ts";
import type { Op } from "../../src/log/ops.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(removeTempDirectories);

/** Every node and extent row of the committed index, in a fixed order. */
function rows(file: string): unknown {
  const database = new Database(file, { readonly: true });
  try {
    return {
      nodes: database.query("SELECT * FROM nodes ORDER BY id").all(),
      extents: database.query("SELECT * FROM extents ORDER BY node, position").all(),
    };
  } finally {
    database.close();
  }
}

test("batches sealed, undone by a commit below them and done again from their journal hold the rows of the same batches committed one after another; a step that failed is not done again", () => {
  const random = seededRandom(29);
  const next = () => random();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const names = ["a", "b", "c", "d"];
  const somePath = () => `/${Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(names)).join("/")}`;
  const op = (time: number): Op => {
    const kind = pick(["mkdir", "write", "write", "append", "rm", "rename", "copy", "symlink"] as const);
    const extents = [{ object: `packs/${time}`, offset: 0, length: 10, hash: "0".repeat(16) }];
    return kind === "mkdir" ? { op: "mkdir", path: somePath(), mode: 0o755, recursive: next() < 0.5, time }
      : kind === "write" || kind === "append" ? { op: kind, path: somePath(), mode: 0o644, extents, time }
      : kind === "symlink" ? { op: "symlink", target: "/nowhere", path: somePath(), time }
      : kind === "rm" ? { op: "rm", path: somePath(), recursive: next() < 0.7, force: false, time }
      : kind === "rename" ? { op: "rename", from: somePath(), to: somePath(), time }
      : { op: "copy", from: somePath(), to: somePath(), recursive: true, overwrite: next() < 0.5, time };
  };

  const pipelinedFile = join(tempDirectory("sealed-pipelined"), "index.sqlite");
  const sequentialFile = join(tempDirectory("sealed-sequential"), "index.sqlite");
  const pipelined = new Namespace(pipelinedFile);
  const sequential = new Namespace(sequentialFile);
  const applyPipelined = new OpApplier(pipelined);
  const applySequential = new OpApplier(sequential);

  /** The batches in flight, oldest first: the operations each kept, and its changes while undone. */
  const flights: { ops: Op[]; changes: SealedChanges | undefined }[] = [];
  let inIndex = 0;
  let landed = 0;
  let replayed = 0;
  let time = 0;

  const land = () => {
    const flight = flights.shift()!;
    landed++;
    const meta = { seq: String(landed) };
    if (inIndex > 0) {
      const undone = pipelined.commitOldestSealed(meta);
      inIndex = 0;
      undone.forEach((changes, index) => (flights[index]!.changes = changes));
    } else {
      pipelined.commitChanges([flight.changes!], meta);
      replayed++;
    }
    // The same batch, committed on its own on the other index.
    sequential.beginBatch();
    for (const done of flight.ops) sequential.step(() => applySequential.apply(done, "wal/1"));
    sequential.commitBatch(meta);
    expect(rows(pipelinedFile)).toEqual(rows(sequentialFile));
  };

  for (let round = 0; round < 300; round++) {
    if (flights.length > 0 && (flights.length >= 6 || next() < 0.45)) {
      land();
      continue;
    }
    // A new batch opens on the batches in flight, done again first.
    for (; inIndex < flights.length; inIndex++) {
      pipelined.reseal(flights[inIndex]!.changes!);
      flights[inIndex]!.changes = undefined;
      replayed++;
    }
    pipelined.beginBatch(true);
    const ops: Op[] = [];
    for (let count = 1 + Math.floor(next() * 3); count > 0; count--) {
      const candidate = op(++time);
      try {
        pipelined.step(() => applyPipelined.apply(candidate, "wal/1"));
        ops.push(candidate);
      } catch (error) {
        if (!(error instanceof FsError) || error.code === "EIO") throw error;
      }
      // A step that writes a row and then fails leaves nothing, in the index or in its journal.
      expect(() =>
        pipelined.step(() => {
          pipelined.insertNode({ parent: 1, name: `failed-${time}`, kind: "file", mode: 0o644, size: 0, mtime: time, ctime: time, atime: time, birthtime: time, target: null });
          throw new Error("the step fails after its write");
        }),
      ).toThrow("the step fails after its write");
    }
    pipelined.sealBatch();
    flights.push({ ops, changes: undefined });
    inIndex++;
  }
  while (flights.length > 0) land();
  expect(landed).toBeGreaterThan(100);
  expect(replayed).toBeGreaterThan(100);
  pipelined.verify();
  pipelined.close();
  sequential.close();
});
