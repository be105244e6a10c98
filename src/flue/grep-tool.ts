// Flue's `grep` tool, served from the index and the cache instead of a shell. Flue's own grep tool
// probes `rg --version` and then runs `grep -rnH`, which just-bash rejects ("invalid option --
// 'H'"), so over a just-bash sandbox it always answers "No matches found." This one keeps Flue's
// name, description and parameters ({ pattern, path?, include?, literal? }, the same schema
// object) and prints what `grep -rnH` and `rg --line-number --with-filename` print:
// `path:line:text`, paths as the caller wrote the root, at most 100 lines of at most 500 chars.
//
// Differences, each on purpose: the pattern is a JavaScript regular expression (close to rg's
// syntax and to grep -E for everyday patterns); binary files (a NUL byte in the first 8 KiB) are
// skipped as rg skips them; files larger than `maxFileBytes` are not read but named in the answer,
// so a search never downloads a 50 GB data set; the search stops at the 101st match (enough to say
// there are more) rather than reading every remaining file to count them.

import { createGrepTool, type Sandbox } from "@flue/runtime";
import { globMatcher, searchTree, shownPath, type SearchFile } from "./search-files.ts";

export interface GrepToolOptions {
  /** Files larger than this are not searched (they are listed in the answer). Default 16 MiB. */
  maxFileBytes?: number;
  /** Files read ahead of the one being searched. Default 8. */
  readAhead?: number;
}

export type GrepTool = ReturnType<typeof createGrepTool>;

/** Flue's output limits, as its own grep tool applies them. */
const maxMatches = 100;
const maxLineLength = 500;
const binaryProbeBytes = 8192;
const defaultMaxFileBytes = 16 * 1024 * 1024;
const shownSkippedFiles = 5;

/** The `grep` tool over any Flue sandbox; for one made by acceleratedFsSandbox, straight from the core. */
export function createAcceleratedGrepTool(sandbox: Sandbox, options: GrepToolOptions = {}): GrepTool {
  const maxFileBytes = options.maxFileBytes ?? defaultMaxFileBytes;
  const readAhead = Math.max(1, options.readAhead ?? 8);
  const flue = createGrepTool(sandbox);
  return {
    ...flue,
    async execute(_toolCallId, params, signal) {
      throwIfAborted(signal);
      const given = params.path || ".";
      let regex: RegExp;
      try {
        regex = new RegExp(params.literal ? escapeRegExp(params.pattern) : params.pattern);
      } catch (error) {
        throw new Error(`grep failed: invalid pattern ${JSON.stringify(params.pattern)}: ${error instanceof Error ? error.message : String(error)}`);
      }
      const tree = await searchTree(sandbox, given);
      if (tree === undefined) throw new Error(`grep failed: ${given}: No such file or directory`);
      const included = params.include ? globMatcher(params.include) : () => true;
      const tooLarge: SearchFile[] = [];
      const candidates = tree.files.filter((file) => {
        if (!included(file)) return false;
        if ((file.size ?? 0) <= maxFileBytes) return true;
        tooLarge.push(file);
        return false;
      });
      await tree.warm(candidates);

      const lines: string[] = [];
      let more = false;
      // Files are read up to `readAhead` ahead of the one being searched; results stay in path order.
      const reads = new Map<number, Promise<Uint8Array | undefined>>();
      const startRead = (index: number) => {
        const file = candidates[index];
        if (file === undefined || reads.has(index)) return;
        const read = tree.read(file);
        read.catch(() => {}); // awaited in order below; this only keeps an early failure from going unhandled
        reads.set(index, read);
      };
      search: for (let index = 0; index < candidates.length; index++) {
        throwIfAborted(signal);
        for (let ahead = index; ahead < Math.min(candidates.length, index + readAhead); ahead++) startRead(ahead);
        const bytes = await reads.get(index);
        reads.delete(index);
        if (bytes === undefined || bytes.subarray(0, binaryProbeBytes).includes(0)) continue;
        const shown = shownPath(given, candidates[index]!);
        const text = decoder.decode(bytes);
        const fileLines = text.split("\n");
        if (text.endsWith("\n")) fileLines.pop(); // the newline ends the last line; it does not start another
        for (let number = 0; number < fileLines.length; number++) {
          const line = fileLines[number]!;
          if (!regex.test(line)) continue;
          if (lines.length === maxMatches) {
            more = true;
            break search;
          }
          const output = `${shown}:${number + 1}:${line}`;
          lines.push(output.length > maxLineLength ? `${output.slice(0, maxLineLength)}...` : output);
        }
      }

      let text = lines.length === 0 ? "No matches found." : lines.join("\n");
      if (more) text += `\n\n[Showing the first ${maxMatches} matches; there are more. Narrow your search.]`;
      if (tooLarge.length > 0) {
        const named = tooLarge.slice(0, shownSkippedFiles).map((file) => shownPath(given, file));
        const rest = tooLarge.length > named.length ? ` and ${tooLarge.length - named.length} more` : "";
        text += `\n\n[Not searched, larger than ${maxFileBytes} bytes: ${named.join(", ")}${rest}.]`;
      }
      return { content: [{ type: "text", text }], details: { matchCount: lines.length, ...(more ? { truncated: true } : {}), ...(tooLarge.length > 0 ? { skippedLargeFiles: tooLarge.length } : {}) } };
    },
  };
}

const decoder = new TextDecoder();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** What Flue's own tools throw when called after an abort. */
function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Error("Operation aborted");
}
