// Time travel: which snapshot a mount at a past seq starts from, and whether that seq is still
// retained (docs/s3-layout.md T1-T3). The head lists the snapshots garbage collection kept and the
// oldest seq it keeps whole; a seq below that is refused with a clear error, never half-served.

import { FsError } from "../base/errors.ts";
import type { FormatDocument, HeadDocument } from "../log/remote-log.ts";

/** The oldest seq whose state is kept whole: what GC announced, or a fork's starting point. */
export function retainedFrom(head: HeadDocument | undefined, format: FormatDocument): number {
  return Math.max(head?.retainedFrom ?? 0, format.forkedFrom?.seq ?? 0);
}

/** The snapshot a mount at `atSeq` loads (0: none, replay from the log's start). Throws ENOENT if `atSeq` is not retained. */
export function timeTravelBase(head: HeadDocument | undefined, format: FormatDocument, atSeq: number): number {
  const oldest = retainedFrom(head, format);
  if (atSeq < oldest) {
    throw new FsError("ENOENT", "mount", {
      detail: `seq ${atSeq} is no longer retained: the oldest seq this filesystem keeps is ${oldest} (older history was collected)`,
    });
  }
  const listed = head?.snapshots ?? (head !== undefined && head.snapshot > 0 ? [head.snapshot] : []);
  let base = oldest;
  for (const seq of [...listed, head?.snapshot ?? 0]) if (seq <= atSeq && seq >= oldest && seq > base) base = seq;
  return base;
}
