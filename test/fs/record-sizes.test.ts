// The sizes of the records above the newest snapshot, kept in the index's meta table (src/commit/
// record-sizes.ts): a writer committing record after record grows the row it wrote itself, and the
// row must read back exactly as one built from scratch would, through rollbacks and snapshots.

import { expect, test } from "bun:test";
import { recordSizes, recordSizesMeta, type LogRecordSize } from "../../src/commit/record-sizes.ts";
import type { NamespaceView } from "../../src/namespace/namespace.ts";

/** A view of an index whose meta table holds `row()` as its record sizes. */
function viewOf(row: () => string | undefined): NamespaceView {
  return { meta: (key: string) => (key === "recordSizes" ? row() : undefined) } as unknown as NamespaceView;
}

function views(): { growing: NamespaceView; set: (value: string | undefined) => void } {
  let row: string | undefined;
  return { growing: viewOf(() => row), set: (value) => (row = value) };
}

test("a row grown one commit at a time equals the row built from scratch, through a rollback, a snapshot and a batch of several records", () => {
  const { growing, set } = views();
  let seq = 0;
  let snapshot = 0;
  const expected: LogRecordSize[] = [];
  const commit = (...sizes: number[]) => {
    const added = sizes.map((bytes, index) => ({ seq: seq + 1 + index, bytes }));
    const meta = recordSizesMeta(growing, seq, added, snapshot);
    // The same row, built by a view that has never written one (it parses the row every time).
    const row = currentRow;
    expect(meta).toEqual(recordSizesMeta(viewOf(() => row), seq, added, snapshot));
    return meta.recordSizes;
  };
  let currentRow: string | undefined;
  for (let index = 0; index < 50; index++) {
    currentRow = commit(100 + index);
    set(currentRow);
    seq++;
    expected.push({ seq, bytes: 100 + index });
  }
  expect(recordSizes(growing, seq)).toEqual(expected);
  // A commit whose index transaction failed: the row stays as it was, and the next commit builds on that.
  commit(999);
  currentRow = commit(7);
  set(currentRow);
  seq++;
  expected.push({ seq, bytes: 7 });
  expect(recordSizes(growing, seq)).toEqual(expected);
  // A snapshot at seq 30: the sizes at or below it go.
  snapshot = 30;
  currentRow = commit(8, 9);
  set(currentRow);
  expected.push({ seq: seq + 1, bytes: 8 }, { seq: seq + 2, bytes: 9 });
  seq += 2;
  expect(recordSizes(growing, seq)).toEqual(expected.filter((record) => record.seq > 30));
  // A snapshot at the position itself: the row is empty, then grows again.
  snapshot = seq;
  currentRow = commit();
  set(currentRow);
  expect(recordSizes(growing, seq)).toEqual([]);
  currentRow = commit(5);
  set(currentRow);
  seq++;
  expect(recordSizes(growing, seq)).toEqual([{ seq, bytes: 5 }]);
  currentRow = commit(6);
  set(currentRow);
  seq++;
  expect(recordSizes(growing, seq)).toEqual([{ seq: seq - 1, bytes: 5 }, { seq, bytes: 6 }]);
});

test("a row changed behind the writer's back (another version's, or rebuilt from the log) is read again, not grown", () => {
  const { growing, set } = views();
  set(recordSizesMeta(growing, 0, [{ seq: 1, bytes: 10 }], 0).recordSizes);
  set("1:10,20"); // someone else's row at seq 2
  expect(recordSizesMeta(growing, 2, [{ seq: 3, bytes: 30 }], 0).recordSizes).toBe("1:10,20,30");
  set("junk");
  expect(recordSizesMeta(growing, 3, [{ seq: 4, bytes: 40 }], 0).recordSizes).toBe("4:40");
});
