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
  {
    id: "just-bash-content-raw-type-error",
    item: "new",
    summary:
      "AcceleratedJustBashFs.writeFile/appendFile (and so Flue's sandbox writeFile) of content that is neither a string nor bytes throws a raw TypeError, not FsError EINVAL",
    matches: (v) =>
      v.check === "errors" &&
      calls(v, ["just-bash", "flue"], ["writeFile", "appendFile"]) &&
      tagged(v, "bad-content") &&
      threw(v, "TypeError", "file content must be a string or a Uint8Array"),
  },
  {
    id: "flue-non-string-path-raw-type-error",
    item: "new",
    summary: "the Flue sandbox's verbs given a path that is not a string throw a raw TypeError ('p.startsWith is not a function') from Flue's path resolution, not FsError EINVAL",
    matches: (v) =>
      v.check === "errors" && calls(v, ["flue"], ["readFile", "readFileBuffer", "stat", "readdir", "mkdir", "rm", "writeFile", "resolvePath", "exec"]) && tagged(v, "not-a-string") && threw(v, "TypeError", "startsWith"),
  },
  {
    id: "shell-exec-nul-in-path-env-raw-error",
    item: "new",
    summary: "shell.exec with a NUL byte in env.PATH rejects with a plain Error 'ENOENT: path contains null byte, access ...' instead of resolving with a failed command",
    matches: (v) => v.check === "errors" && calls(v, ["shell"], ["exec"]) && tagged(v, "odd-env") && threw(v, "Error", "path contains null byte"),
  },
  {
    id: "flue-failed-write-publishes-parents",
    item: "new",
    summary:
      "a Flue sandbox writeFile that fails (bad content, a NUL in the name, ...) has published the parent directories first: Flue's wrapper retries every failed write after mkdir -p of the parent, which the adapter keeps although the core creates parents itself",
    matches: (v) => v.check === "publishes" && calls(v, ["flue"], ["writeFile"]),
  },
  {
    id: "just-bash-resolve-path-raw-type-error",
    item: "new",
    summary: "AcceleratedJustBashFs.resolvePath(base, path) with a path or base that is not a string throws a raw TypeError, not FsError EINVAL",
    matches: (v) => v.check === "errors" && calls(v, ["just-bash"], ["resolvePath"]) && threw(v, "TypeError", ""),
  },
];
