// The commit history: the newest records of the kept log, newest first, each summarised (when,
// by which writer and epoch, how many operations of each kind, on which paths). Headers only: a
// large record's inline data is not downloaded (remote-log.ts readRecordHeaderAndHash). Void
// records (docs/s3-layout.md I7) are no commits and are left out.

import { walKey, walPrefix } from "../log/keys.ts";
import { pipelinedRecordFormat, type RecordHeader } from "../log/record.ts";
import { NotFoundError } from "../stores/store-errors.ts";
import type { Op } from "../log/ops.ts";
import { listAll } from "../stores/object-store.ts";
import { historyOptionsSchema, parseOptions } from "../base/options.ts";
import { boundedEach, type MaintenanceContext } from "./maintenance-context.ts";
import { committedPosition } from "../namespace/position.ts";
import { DamagedHeadError } from "../log/remote-log.ts";
import { retainedFrom } from "./time-travel.ts";

export interface HistoryOptions {
  /** At most this many records (default 20). */
  limit?: number;
  /** The newest seq to show (default: the mount's position). */
  before?: number;
}

export interface HistoryEntry {
  seq: number;
  /** The commit's time, ms (the writer's clock). */
  time: number;
  writer: string;
  epoch: number;
  /** Record size in bytes (inline data included). */
  bytes: number;
  operations: number;
  /** Operations by kind ("write": 3, "rm": 1). */
  kinds: Partial<Record<Op["op"], number>>;
  /** The first few paths the record touches. */
  paths: string[];
  /**
   * Whether the state at this seq is still retained, so a time-travel mount (`atSeq`) can open it.
   * Garbage collection stops retaining old states before their records go (those wait out the
   * grace period), so an entry can be listed and yet no longer be mountable.
   */
  retained: boolean;
}

export async function readHistory(context: MaintenanceContext, options: HistoryOptions = {}): Promise<HistoryEntry[]> {
  parseOptions(historyOptionsSchema, options, "history options", "log");
  const limit = Math.max(1, Math.floor(options.limit ?? 20));
  const newest = Math.min(options.before ?? Number.POSITIVE_INFINITY, context.atSeq ?? Number.POSITIVE_INFINITY, committedPosition(context.namespace)?.seq ?? 0);
  const oldest = Math.max(1, newest - limit + 1);
  if (newest < 1) return [];
  // One listing page gives the records' sizes (so large ones are read by their tails).
  const sizes = new Map<number, number>();
  for await (const object of listAll(context.store, { prefix: walPrefix, startAfter: walKey(oldest - 1), maxKeys: Math.min(1000, limit) })) {
    const seq = Number(object.key.slice(4));
    if (seq > newest) break;
    sizes.set(seq, object.size);
  }
  // The oldest retained seq as a time-travel mount judges it: from the head as it is now (T3).
  const fetched = await context.log.readHeadOrDamage();
  const head = fetched instanceof DamagedHeadError || fetched?.head.fsId !== context.format.fsId ? undefined : fetched.head;
  const oldestRetained = Math.max(retainedFrom(head, context.format), context.committer?.retention.retainedFrom ?? 0);
  const seqs = [...sizes.keys()].filter((seq) => seq >= oldest && seq <= newest);
  const read = new Map<number, { header: RecordHeader; hash: string }>();
  await boundedEach(seqs, 16, async (seq) => {
    read.set(seq, await context.log.readRecordHeaderAndHash(seq, sizes.get(seq)!));
  });
  const voided = await voidSeqs(context, read);
  return seqs
    .filter((seq) => !voided.has(seq))
    .map((seq) => summarise(read.get(seq)!.header, sizes.get(seq)!, seq >= oldestRetained))
    .sort((a, b) => b.seq - a.seq);
}

/**
 * The void records among `read` (docs/s3-layout.md I7): a pipelined record whose parent is not
 * the record before it, or is void. A void record is no commit, so history leaves it out. For
 * the oldest pipelined records of the window, the records before it are read too, back to one
 * built on a record its writer read (format 1) or the log's start.
 */
async function voidSeqs(context: MaintenanceContext, read: Map<number, { header: RecordHeader; hash: string }>): Promise<Set<number>> {
  const voided = new Set<number>();
  const seqs = [...read.keys()].sort((a, b) => a - b);
  if (seqs.length === 0 || seqs.every((seq) => read.get(seq)!.header.format !== pipelinedRecordFormat)) return voided;
  // Reach back from the window's oldest record while records are pipelined.
  let from = seqs[0]!;
  while (from > 1 && read.get(from)?.header.format === pipelinedRecordFormat) {
    const seq = from - 1;
    try {
      const size = (await context.store.head(walKey(seq))).size;
      read.set(seq, await context.log.readRecordHeaderAndHash(seq, size));
    } catch (error) {
      if (error instanceof NotFoundError) break; // collected: what follows it was judged long ago, and kept whole
      throw error;
    }
    from = seq;
  }
  for (const seq of [...read.keys()].sort((a, b) => a - b)) {
    const { header } = read.get(seq)!;
    const before = read.get(seq - 1);
    if (header.format === pipelinedRecordFormat && before !== undefined && (voided.has(seq - 1) || header.parentHash !== before.hash)) voided.add(seq);
  }
  return voided;
}

function summarise(header: RecordHeader, bytes: number, retained: boolean): HistoryEntry {
  const kinds: Partial<Record<Op["op"], number>> = {};
  const paths: string[] = [];
  for (const op of header.ops) {
    kinds[op.op] = (kinds[op.op] ?? 0) + 1;
    if (paths.length < 5) {
      if ("path" in op) paths.push(op.path);
      else if ("from" in op) paths.push(`${op.from} -> ${op.to}`);
    }
  }
  return { seq: header.seq, time: header.time, writer: header.writer, epoch: header.epoch, bytes, operations: header.ops.length, kinds, paths, retained };
}
