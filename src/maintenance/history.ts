// The commit history: the newest records of the kept log, newest first, each summarised (when,
// by which writer and epoch, how many operations of each kind, on which paths). Headers only: a
// large record's inline data is not downloaded (remote-log.ts readRecordHeader).

import { walKey, walPrefix } from "../log/keys.ts";
import type { RecordHeader } from "../log/record.ts";
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
  const entries: HistoryEntry[] = [];
  const seqs = [...sizes.keys()].filter((seq) => seq >= oldest && seq <= newest);
  await boundedEach(seqs, 16, async (seq) => {
    entries.push(summarise(await context.log.readRecordHeader(seq, sizes.get(seq)!), sizes.get(seq)!, seq >= oldestRetained));
  });
  return entries.sort((a, b) => b.seq - a.seq);
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
