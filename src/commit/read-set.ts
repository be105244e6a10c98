// What a shared writer's transaction saw: the paths its body read or listed through `tx`, and the
// paths of its own operations (whether one succeeds is a read too). When other writers' records
// slip in below the transaction's slot, it may still commit on top of them only if none of their
// operations touched any of those paths; otherwise its body runs again on the new state.
//
// Two paths are related when one is the other or lies below it: a write to /a/b changes what a
// listing of /a, a stat of /a (its mtime) or a read of /a/b/c (through a rename of /a/b) saw.
// Symbolic links let a path reach another that shares no prefix with it, and hard links give one
// file names that share none, so while the filesystem holds any, every foreign operation counts
// as touching the transaction.

import type { DecodedRecord } from "../log/record.ts";
import type { Op } from "../log/ops.ts";

/**
 * The paths an operation changes (none for an epoch or a relocation, which change no file). A
 * lane's opening or closing counts as touching its directory: closing one brings its records in.
 */
export function pathsOf(op: Op): string[] {
  switch (op.op) {
    case "rename":
    case "copy":
    case "link":
      return [op.from, op.to];
    case "epoch":
    case "relocate":
    case "collect":
    case "laneEnd":
      return [];
    default:
      return [op.path];
  }
}

/** Whether one of two normalised paths is the other or lies below it. */
export function related(a: string, b: string): boolean {
  if (a === b || a === "/" || b === "/") return true;
  return a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

export class ReadSet {
  private readonly paths = new Set<string>();

  /** The body looked `path` up (found or not), read it or listed it. */
  read(path: string): void {
    this.paths.add(path);
  }

  get size(): number {
    return this.paths.size;
  }

  /** The paths the body saw. */
  seen(): string[] {
    return [...this.paths];
  }

  /**
   * The first path the transaction saw (or wrote, in `ownOps`) that an operation of `records`
   * touched, or undefined if none did. `symlinks`: the filesystem holds symbolic or hard links,
   * so any foreign operation counts.
   */
  conflict(records: readonly DecodedRecord[], ownOps: readonly Op[], symlinks: boolean): string | undefined {
    const seen = [...this.paths, ...ownOps.flatMap(pathsOf)];
    for (const record of records) {
      for (const op of record.header.ops) {
        for (const path of pathsOf(op)) {
          if (symlinks || op.op === "symlink" || op.op === "link") return seen[0] ?? path;
          const hit = seen.find((candidate) => related(candidate, path));
          if (hit !== undefined) return hit;
        }
      }
    }
    return undefined;
  }
}
