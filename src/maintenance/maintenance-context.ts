// What maintenance needs from a mount: its store and log, its index, its reader, and (on a
// read-write mount) its committer. The mount (src/mount.ts) implements it, and passes itself; the
// maintenance modules only read it. The facade's MountContext (src/fs.ts) extends it.

import type { Committer } from "../commit/committer.ts";
import type { DataLayout } from "../data/data-writer.ts";
import type { DataReader } from "../data/data-reader.ts";
import type { LogPosition } from "../log/record.ts";
import type { FormatDocument, RemoteLog } from "../log/remote-log.ts";
import type { Namespace } from "../namespace/namespace.ts";
import type { ObjectStore } from "../stores/object-store.ts";
import type { StoreLocator } from "../stores/located-store.ts";

export interface MaintenanceContext {
  readonly name: string;
  readonly mode: "readwrite" | "readonly";
  /** The mount's store: retrying, counting, and routing a fork's inherited objects. */
  readonly store: ObjectStore;
  readonly log: RemoteLog;
  readonly namespace: Namespace;
  readonly reader: DataReader;
  readonly layout: DataLayout;
  readonly committer: Committer | undefined;
  readonly format: FormatDocument;
  /** Where the store lives, when it can tell (forks need it). */
  readonly locator: StoreLocator | undefined;
  /** The seq a time-travel mount is pinned at. */
  readonly atSeq: number | undefined;
  /** The position of the committed view. */
  position(): LogPosition;
  /** Wall clock, ms (the mount's, injectable). */
  now(): number;
}

/** Runs `task` over `items` with at most `limit` at once; the first failure stops new tasks and is thrown. */
export async function boundedEach<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        await task(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}
