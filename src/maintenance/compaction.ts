// Compaction: packs (and old commit records holding inline data) whose live fraction has fallen
// low are rewritten. The live extents are read (verified against their hashes), placed in a new
// batch (inline, then fresh packs) and published by a `relocate` operation that repoints every
// file sharing them; times, modes and sizes do not change because no byte does (L3a). The old
// objects stay referenced by the history in the retention window and are collected once that
// history has gone (GC3), so compaction never makes an older state unreadable.

import { FsError } from "../base/errors.ts";
import type { Extent, Relocation } from "../log/ops.ts";
import { parseOriginKey, seqOfWalKey } from "../log/keys.ts";
import type { Inventory } from "./inventory.ts";
import { boundedEach, type MaintenanceContext } from "./maintenance-context.ts";

export interface CompactionOptions {
  dryRun: boolean;
  /** Rewrite objects whose live fraction is below this (0..1). */
  below: number;
  /** Live bytes rewritten in one run, at most. */
  maxBytes: number;
  /** Commit records at or below this seq count as data holders (no longer needed as log). */
  recordsUpTo: number;
}

export interface CompactionCandidate {
  key: string;
  /** Bytes of data the object holds: a pack's size, a record's inline data. */
  size: number;
  liveBytes: number;
  liveFraction: number;
}

export interface CompactionReport {
  /** Objects rewritten (or, in a dry run, that would be). */
  objects: CompactionCandidate[];
  /** Live bytes moved into new objects. */
  movedBytes: number;
  /** Seqs of the records that published the moves. */
  commits: number[];
}

/** Bytes per compaction record: bounds memory, and a failure loses little work. */
const bytesPerCommit = 32 * 1024 * 1024;

export function emptyCompaction(): CompactionReport {
  return { objects: [], movedBytes: 0, commits: [] };
}

/**
 * Objects worth rewriting, least live first, within `maxBytes` of live data. A record's live
 * fraction is of its inline data, not of the whole object: its header and trailer are no garbage
 * a rewrite could reclaim, and a record holding only live data (a `relocate` record compaction
 * wrote) must never be rewritten again, or every run would move the same bytes.
 */
export async function compactionCandidates(context: MaintenanceContext, inventory: Inventory, options: CompactionOptions): Promise<CompactionCandidate[]> {
  const candidates: CompactionCandidate[] = [];
  const records: { key: string; seq: number; size: number; live: number }[] = [];
  for (const row of context.namespace.committed.objectUsage()) {
    if (parseOriginKey(row.object) !== undefined) continue; // another filesystem's object: never ours to rewrite
    if (row.longestExtent > context.layout.blockBytes) continue; // cannot be placed as one extent again
    const entry = inventory.objects.get(row.object);
    if (entry === undefined || entry.size === 0) continue; // missing: fsck's business, not compaction's
    if (entry.kind === "pack") {
      const liveFraction = row.liveBytes / entry.size;
      if (liveFraction < options.below) candidates.push({ key: row.object, size: entry.size, liveBytes: row.liveBytes, liveFraction });
      continue;
    }
    const recordSeq = seqOfWalKey(row.object);
    if (entry.kind !== "record" || recordSeq === undefined || recordSeq > options.recordsUpTo) continue;
    // Only a record below the threshold by its whole size can be below it by its data alone.
    if (row.liveBytes / entry.size < options.below) records.push({ key: row.object, seq: recordSeq, size: entry.size, live: row.liveBytes });
  }
  await boundedEach(records, 16, async (record) => {
    const dataBytes = await context.log.readRecordDataBytes(record.seq, record.size);
    const liveFraction = dataBytes === 0 ? 1 : record.live / dataBytes;
    if (liveFraction < options.below) candidates.push({ key: record.key, size: dataBytes, liveBytes: record.live, liveFraction });
  });
  candidates.sort((a, b) => a.liveFraction - b.liveFraction || a.key.localeCompare(b.key));
  const chosen: CompactionCandidate[] = [];
  let total = 0;
  for (const candidate of candidates) {
    if (total + candidate.liveBytes > options.maxBytes && chosen.length > 0) break;
    chosen.push(candidate);
    total += candidate.liveBytes;
  }
  return chosen;
}

/** Rewrites the candidates' live extents and publishes `relocate` records (the writer only). */
export async function compact(context: MaintenanceContext, inventory: Inventory, options: CompactionOptions): Promise<CompactionReport> {
  const objects = await compactionCandidates(context, inventory, options);
  const report: CompactionReport = { objects, movedBytes: 0, commits: [] };
  if (options.dryRun || objects.length === 0) return report;
  const committer = context.committer;
  if (committer === undefined) throw new FsError("EROFS", "gc", { detail: "only the writer compacts" });
  let group: Extent[] = [];
  let groupBytes = 0;
  const flush = async () => {
    if (group.length === 0) return;
    const extents = group;
    group = [];
    groupBytes = 0;
    const pieces = await context.reader.read(extents, undefined, { cache: false }); // a store error is mapped where garbage collection stops
    await committer.submit((batch) => {
      const moves: Relocation[] = extents.map((extent, index) => {
        const placed = batch.addData(pieces[index]!);
        if (placed.length !== 1) throw new FsError("EINVAL", "gc", { detail: `cannot relocate ${extent.object}@${extent.offset} as one extent` });
        return { ...extent, toObject: placed[0]!.object, toOffset: placed[0]!.offset };
      });
      return { op: "relocate", moves, time: batch.time };
    });
    // The seq it landed at: with several writers, not always the one it was built for (a lost
    // slot rebases the batch). The committer resolves a batch's callers before it starts another.
    report.commits.push(committer.current.seq);
    report.movedBytes += extents.reduce((sum, extent) => sum + extent.length, 0);
  };
  for (const candidate of objects) {
    for (const extent of context.namespace.committed.extentsIn(candidate.key)) {
      group.push(extent);
      groupBytes += extent.length;
      if (groupBytes >= bytesPerCommit) await flush();
    }
  }
  await flush();
  return report;
}
