// KNOWN FINDINGS: defects the fuzzer found that are not fixed yet. The table is EMPTY: every
// finding so far is fixed at its source with a regression test (docs/fuzzing.md lists them), and
// the checker holds every call to its rules.
//
// The mechanism stays for the next finding that cannot be fixed in the same change: add an entry
// with a narrow predicate (the surface and method called, the flaw in its arguments, which check
// failed and how); the checker then tolerates only the violations it matches, counts them, and
// api-misuse.test.ts prints the count. Delete the entry with the fix.

import type { Violation } from "./fuzzer.ts";

export interface KnownFinding {
  id: string;
  /** The issue whose fix removes it, or "new" (found by the fuzzer, not yet in an issue). */
  item: number | "new";
  summary: string;
  matches(violation: Violation): boolean;
}

export const knownFindings: KnownFinding[] = [];
