// KNOWN FINDINGS: defects the fuzzer found that are being fixed under issue 14 (or are new and
// reported with it). The checker tolerates a violation only when one of these narrow predicates
// matches it (the surface and method called, the flaw in its arguments, which check failed and
// how), and counts each one it tolerated. Delete an entry once its fix is merged: the fuzzer then
// holds the fixed call to the rule like any other.

import type { Violation } from "./fuzzer.ts";

export interface KnownFinding {
  id: string;
  /** The issue-14 item whose fix removes it, or "new" (found by the fuzzer, not in issue 14). */
  item: number | "new";
  summary: string;
  matches(violation: Violation): boolean;
}

const coreSurfaces = ["core", "tx", "reader"] as const;
const calls = (violation: Violation, surfaces: readonly string[], methods: readonly string[]) =>
  violation.call !== undefined && surfaces.includes(violation.call.surface) && methods.includes(violation.call.method);
const tagged = (violation: Violation, tag: string) => violation.call?.tags.includes(tag) === true;
const succeeded = (violation: Violation) => violation.outcome?.status === "ok";
/** The call failed with a plain error (not FsError) of class `name` whose message contains `text`. */
const threw = (violation: Violation, name: string, text: string) =>
  violation.outcome?.status === "error" &&
  violation.outcome.error instanceof Error &&
  violation.outcome.error.constructor.name === name &&
  violation.outcome.error.message.includes(text);

export const knownFindings: KnownFinding[] = [
];
