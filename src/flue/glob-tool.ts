// Flue's `glob` tool, served from the local index instead of `find` in a shell: listing files
// never reads a byte, so it costs no request to the store, warm or cold. It keeps Flue's name,
// description and parameters ({ pattern, path? }, the same schema object) and answers as Flue's
// (`find <path> -type f -name <pattern> | head -1000`): one path per line, as the caller wrote the
// root, "No files found matching pattern." when there are none (a missing root included).
//
// The pattern has `find -name` semantics (matched against the file's name, `*` matching a leading
// dot too) and, beyond `find`, `{a,b}` alternatives; a pattern with a "/" ("src/**/*.ts") is
// matched against the path below the root, where `find -name` would silently match nothing.

import { createGlobTool, type Sandbox } from "@flue/runtime";
import { globMatcher, searchTree, shownPath } from "./search-files.ts";

export type GlobTool = ReturnType<typeof createGlobTool>;

/** Flue's limit (its `head -1000`). */
const maxResults = 1000;

/** The `glob` tool over any Flue sandbox; for one made by acceleratedFsSandbox, straight from the index. */
export function createAcceleratedGlobTool(sandbox: Sandbox): GlobTool {
  const flue = createGlobTool(sandbox);
  return {
    ...flue,
    async execute(_toolCallId, params, signal) {
      if (signal?.aborted) throw new Error("Operation aborted");
      const given = params.path || ".";
      const tree = await searchTree(sandbox, given);
      const matches = globMatcher(params.pattern);
      const paths = (tree?.files ?? []).filter(matches).map((file) => shownPath(given, file));
      if (paths.length === 0) return { content: [{ type: "text", text: "No files found matching pattern." }], details: { matchCount: 0 } };
      const shown = paths.slice(0, maxResults);
      const more = paths.length > shown.length ? `\n\n[Showing the first ${maxResults} of ${paths.length} files. Narrow your pattern.]` : "";
      return { content: [{ type: "text", text: shown.join("\n") + more }], details: { matchCount: shown.length } };
    },
  };
}
