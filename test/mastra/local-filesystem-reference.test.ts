// Validates the reusable Mastra suites (workspace-filesystem-suite.ts, workspace-tools-suite.ts) against
// Mastra's own `LocalFilesystem` (@mastra/core 1.71) on temp directories, so we know their expectations
// are Mastra's. Everything passes here or is declared not applicable with a reason.
//
// `LocalFilesystem` has no `walk`/`grep`, and rejects workspace-rooted paths ("/src"). To validate the
// suites' walk/grep and rooted-path cases too, a small reference subclass adds walk/grep by the
// interface's documented contract, and a proxy strips the leading "/"; running the tools suite over them
// shows the tools' native walk/grep paths give byte-identical output to their host-side fallbacks.
//
// The last block pins LocalFilesystem behaviours that differ from what Mastra's own test suite expects, and how the tools call
// the filesystem (paths and options, verbatim), so a Mastra upgrade that changes them fails here.

import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import {
  FilesystemError,
  LocalFilesystem,
  PermissionError,
  Workspace,
  WorkspaceError,
  WorkspaceReadOnlyError,
  createWorkspaceTools,
  type FilesystemGrepMatch,
  type FilesystemGrepOptions,
  type FilesystemGrepResult,
  type WalkEntry,
  type WalkOptions,
  type WorkspaceFilesystem,
} from "@mastra/core/workspace";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { rejectsWith, workspaceFilesystemSuite, type WorkspaceFilesystemCapabilities } from "./workspace-filesystem-suite.ts";
import { workspaceToolsSuite } from "./workspace-tools-suite.ts";

afterAll(removeTempDirectories);

/** A reference `walk`/`grep` on top of LocalFilesystem, written from the interface's doc comments. */
class LocalFilesystemWithWalkAndGrep extends LocalFilesystem {
  walkCalls = 0;
  grepCalls = 0;

  async walk(path: string, options: WalkOptions = {}): Promise<WalkEntry[]> {
    this.walkCalls++;
    return this.collect(path, options);
  }

  async grep(options: FilesystemGrepOptions): Promise<FilesystemGrepResult[]> {
    this.grepCalls++;
    const regex = new RegExp(options.pattern, options.caseSensitive ? "" : "i");
    const context = Math.max(0, Math.floor(options.contextLines ?? 0));
    const results: FilesystemGrepResult[] = [];
    let total = 0;
    for (const entry of await this.collect(options.path, { includeHidden: options.includeHidden })) {
      if (entry.type !== "file") continue;
      if (options.maxTotalMatches !== undefined && total >= options.maxTotalMatches) break;
      const content = await this.readFile(join(options.path, entry.path), { encoding: "utf-8" });
      const lines = String(content).split("\n");
      const matches: FilesystemGrepMatch[] = [];
      for (let index = 0; index < lines.length; index++) {
        const line = lines[index] ?? "";
        const found = regex.exec(line);
        if (!found) continue;
        const match: FilesystemGrepMatch = { line: index + 1, column: found.index, text: line };
        if (context > 0) {
          match.before = lines.slice(Math.max(0, index - context), index);
          match.after = lines.slice(index + 1, index + 1 + context);
        }
        matches.push(match);
        total++;
        if (options.maxCountPerFile !== undefined && matches.length >= options.maxCountPerFile) break;
        if (options.maxTotalMatches !== undefined && total >= options.maxTotalMatches) break;
      }
      if (matches.length > 0) results.push({ path: entry.path, matches });
    }
    return results;
  }

  private async collect(root: string, options: WalkOptions): Promise<WalkEntry[]> {
    const maxDepth = options.maxDepth ?? Number.POSITIVE_INFINITY;
    const found: WalkEntry[] = [];
    const visit = async (directory: string, relative: string, depth: number): Promise<void> => {
      for (const entry of await this.readdir(directory)) {
        if (!options.includeHidden && entry.name.startsWith(".")) continue;
        const path = relative ? `${relative}/${entry.name}` : entry.name;
        found.push({ ...entry, path });
        if (entry.type === "directory" && !entry.isSymlink && depth < maxDepth) {
          await visit(join(directory, entry.name), path, depth + 1);
        }
      }
    };
    await visit(root, "", 1);
    return found;
  }
}

function join(base: string, name: string): string {
  return base === "" ? name : `${base.replace(/\/+$/, "")}/${name}`;
}

type LocalClass = typeof LocalFilesystem;

function factory(Class: LocalClass, label: string) {
  return async () => {
    const basePath = tempDirectory(label);
    return {
      fs: new Class({ basePath }),
      readOnlyFs: new Class({ basePath, readOnly: true }),
      reopen: async () => new Class({ basePath }),
      cleanup: async () => rmSync(basePath, { recursive: true, force: true }),
    };
  };
}

const ROOTED_PATHS = {
  notApplicable:
    "LocalFilesystem (contained: true, the default) resolves '/src' as a host-absolute path outside basePath and throws PermissionError",
};

const LOCAL: WorkspaceFilesystemCapabilities = {
  walk: { notApplicable: "LocalFilesystem 1.71 does not implement walk(); the tools fall back to readdir" },
  grep: { notApplicable: "LocalFilesystem 1.71 does not implement grep(); the grep tool falls back to readdir + readFile" },
  readOnlyError: "WorkspaceReadOnlyError",
  rootedPaths: ROOTED_PATHS,
  plainInitSetsReady: {
    notApplicable: "LocalFilesystem extends MastraFilesystem: a plain init() leaves status 'pending'; only _init() sets 'ready'",
  },
};

workspaceFilesystemSuite("LocalFilesystem", factory(LocalFilesystem, "mastra-local"), LOCAL);
workspaceFilesystemSuite(
  "LocalFilesystem with the reference walk/grep",
  factory(LocalFilesystemWithWalkAndGrep, "mastra-local-walk"),
  { ...LOCAL, walk: true, grep: true },
);
workspaceToolsSuite("LocalFilesystem", factory(LocalFilesystem, "mastra-tools"), { rootedPaths: ROOTED_PATHS });
workspaceToolsSuite(
  "LocalFilesystem with the reference walk/grep",
  factory(LocalFilesystemWithWalkAndGrep, "mastra-tools-walk"),
  { rootedPaths: ROOTED_PATHS },
);

/**
 * Makes a leading "/" name the workspace root by stripping it from path arguments before LocalFilesystem
 * sees them, so the suites' rooted-path cases (which LocalFilesystem itself cannot pass) are validated too.
 */
function workspaceRooted<T extends WorkspaceFilesystem>(fs: T): T {
  const relative = (path: unknown) => (typeof path === "string" ? path.replace(/^\/+/, "") : path);
  const twoPaths = new Set(["copyFile", "moveFile"]);
  const onePath = new Set(["readFile", "writeFile", "appendFile", "deleteFile", "mkdir", "rmdir", "readdir", "walk", "exists", "stat", "realpath", "resolveAbsolutePath"]);
  return new Proxy(fs, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof property !== "string" || typeof value !== "function") return value;
      const method = value as (...args: unknown[]) => unknown;
      if (property === "grep") {
        return (options: FilesystemGrepOptions) => method.call(target, { ...options, path: relative(options.path) });
      }
      if (!onePath.has(property) && !twoPaths.has(property)) return method.bind(target);
      return (...args: unknown[]) =>
        method.apply(target, args.map((arg, index) => (index === 0 || (index === 1 && twoPaths.has(property)) ? relative(arg) : arg)));
    },
  });
}

function rootedFactory(label: string) {
  return async () => {
    const basePath = tempDirectory(label);
    const open = (readOnly: boolean) => workspaceRooted(new LocalFilesystemWithWalkAndGrep({ basePath, readOnly }));
    return {
      fs: open(false),
      readOnlyFs: open(true),
      reopen: async () => open(false),
      cleanup: async () => rmSync(basePath, { recursive: true, force: true }),
    };
  };
}

workspaceFilesystemSuite("LocalFilesystem with the reference walk/grep and workspace-rooted paths", rootedFactory("mastra-rooted"), {
  ...LOCAL,
  walk: true,
  grep: true,
  rootedPaths: true,
});
workspaceToolsSuite("LocalFilesystem with the reference walk/grep and workspace-rooted paths", rootedFactory("mastra-tools-rooted"));

/** Records the WorkspaceFilesystem data calls made through it, with their arguments, verbatim. */
function recording(fs: WorkspaceFilesystem) {
  const methods = new Set(["readFile", "writeFile", "appendFile", "deleteFile", "copyFile", "moveFile", "mkdir", "rmdir", "readdir", "walk", "grep", "exists", "stat", "realpath"]);
  const calls: string[] = [];
  const dates: Date[] = [];
  const show = (value: unknown): string => {
    if (value instanceof Date) {
      dates.push(value);
      return "<Date>";
    }
    if (typeof value === "string") return value.length > 30 ? "<content>" : JSON.stringify(value);
    if (value && typeof value === "object") {
      return `{${Object.entries(value).map(([key, inner]) => `${key}: ${show(inner)}`).join(", ")}}`;
    }
    return String(value);
  };
  const proxy = new Proxy(fs, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof property !== "string" || !methods.has(property) || typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(`${property}(${args.map(show).join(", ")})`);
        return (value as (...inner: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { fs: proxy, calls, dates };
}

async function toolsOver(fs: WorkspaceFilesystem) {
  const ws = new Workspace({ filesystem: fs });
  await ws.init();
  const tools = await createWorkspaceTools(ws);
  return (tool: string, input: Record<string, unknown>): Promise<unknown> =>
    tools[`mastra_workspace_${tool}`].execute(input, { workspace: ws });
}

describe("LocalFilesystem 1.71: pinned behaviours that differ from the interface's documentation", () => {
  test("a plain init() leaves status 'pending'; the first operation (ensureReady) or _init() makes it 'ready'", async () => {
    const fs = new LocalFilesystem({ basePath: tempDirectory("pin-init") });
    await fs.init();
    expect(fs.status).toBe("pending");
    await fs.exists("anything");
    expect(fs.status).toBe("ready");
  });

  test("a leading '/' is a host path: '/src' and '/' throw PermissionError, with a hint to drop the '/'", async () => {
    const fs = new LocalFilesystem({ basePath: tempDirectory("pin-rooted") });
    await fs.writeFile("src/a.txt", "A");
    const error = await rejectsWith(fs.stat("/src"), PermissionError);
    expect(error.message).toContain('use a relative path like "src"');
    await rejectsWith(fs.exists("/src"), PermissionError);
    await rejectsWith(fs.readdir("/"), PermissionError);
    await rejectsWith(fs.readFile("/src/a.txt"), PermissionError);
  });

  test("a read-only LocalFilesystem throws WorkspaceReadOnlyError (code READ_ONLY), which is not a FilesystemError", async () => {
    const basePath = tempDirectory("pin-readonly");
    const readOnly = new LocalFilesystem({ basePath, readOnly: true });
    const error = await rejectsWith(readOnly.writeFile("x.txt", "x"), WorkspaceReadOnlyError);
    expect(error).toBeInstanceOf(WorkspaceError);
    expect(error).not.toBeInstanceOf(FilesystemError);
    expect(error).not.toBeInstanceOf(PermissionError);
    expect(error.code).toBe("READ_ONLY");
    expect(error.message).toBe("Workspace is in read-only mode. Cannot perform: writeFile");
  });

  test("stat().path is relative to basePath without a leading '/', and '' for the root", async () => {
    const fs = new LocalFilesystem({ basePath: tempDirectory("pin-stat") });
    await fs.writeFile("dir/file.txt", "x");
    expect((await fs.stat("dir/file.txt")).path).toBe("dir/file.txt");
    expect((await fs.stat("./dir/")).path).toBe("dir");
    expect((await fs.stat(".")).path).toBe("");
  });
});

describe("how Mastra 1.71's tools call a WorkspaceFilesystem (recorded over LocalFilesystem)", () => {
  test("read_file calls stat, readFile with utf-8, then stat again (the read tracker records modifiedAt)", async () => {
    const { fs, calls } = recording(new LocalFilesystem({ basePath: tempDirectory("trace-read") }));
    const run = await toolsOver(fs);
    await fs.writeFile("src/a.ts", "a");
    calls.length = 0;
    await run("read_file", { path: "src/a.ts" });
    expect(calls).toEqual(['stat("src/a.ts")', 'readFile("src/a.ts", {encoding: "utf-8"})', 'stat("src/a.ts")']);
  });

  test("write_file stats first, then writes with overwrite and an expectedMtime key that is undefined unless the file was read", async () => {
    const { fs, calls } = recording(new LocalFilesystem({ basePath: tempDirectory("trace-write") }));
    const run = await toolsOver(fs);
    calls.length = 0;
    await run("write_file", { path: "notes/a.md", content: "hello" });
    expect(calls).toEqual(['stat("notes/a.md")', 'writeFile("notes/a.md", "hello", {overwrite: true, expectedMtime: undefined})']);
  });

  test("edit_file after read_file passes the modifiedAt that read_file's stat returned as expectedMtime", async () => {
    const { fs, calls, dates } = recording(new LocalFilesystem({ basePath: tempDirectory("trace-edit") }));
    const run = await toolsOver(fs);
    await fs.writeFile("a.txt", "one two");
    await run("read_file", { path: "a.txt" });
    const { modifiedAt } = await fs.stat("a.txt");
    calls.length = 0;
    await run("edit_file", { path: "a.txt", old_string: "two", new_string: "2" });
    expect(calls).toEqual(['stat("a.txt")', 'readFile("a.txt", {encoding: "utf-8"})', 'writeFile("a.txt", "one 2", {overwrite: true, expectedMtime: <Date>})']);
    expect(dates.at(-1)?.getTime()).toBe(modifiedAt.getTime());
  });

  test("list_files reads .gitignore, then readdirs each directory with paths joined from the given path", async () => {
    const { fs, calls } = recording(new LocalFilesystem({ basePath: tempDirectory("trace-list") }));
    const run = await toolsOver(fs);
    await fs.writeFile("src/lib/a.ts", "a");
    calls.length = 0;
    await run("list_files", { path: "." });
    expect(calls).toEqual(['readFile(".gitignore", {encoding: "utf-8"})', 'readdir(".")', 'readdir("src")']);
    calls.length = 0;
    await run("list_files", { path: "./src", maxDepth: 5 });
    expect(calls).toEqual(['readFile(".gitignore", {encoding: "utf-8"})', 'readdir("./src")', 'readdir("./src/lib")']);
  });

  test("grep reads .gitignore, stats the root, walks with './'-prefixed paths and reads each text file", async () => {
    const { fs, calls } = recording(new LocalFilesystem({ basePath: tempDirectory("trace-grep") }));
    const run = await toolsOver(fs);
    await fs.writeFile("src/a.ts", "TODO");
    calls.length = 0;
    await run("grep", { pattern: "TODO" });
    expect(calls).toEqual([
      'readFile(".gitignore", {encoding: "utf-8"})',
      'stat(".")',
      'readdir(".")',
      'readdir("./src")',
      'readFile("./src/a.ts", {encoding: "utf-8"})',
    ]);
  });

  test("delete stats, then calls rmdir with force equal to recursive (not force: true), or deleteFile", async () => {
    const { fs, calls } = recording(new LocalFilesystem({ basePath: tempDirectory("trace-delete") }));
    const run = await toolsOver(fs);
    await fs.writeFile("d/x.txt", "x");
    await fs.writeFile("e/y.txt", "y");
    calls.length = 0;
    await run("delete", { path: "d/x.txt" });
    await run("delete", { path: "d" });
    await run("delete", { path: "e", recursive: true });
    expect(calls).toEqual([
      'stat("d/x.txt")',
      'deleteFile("d/x.txt")',
      'stat("d")',
      'rmdir("d", {recursive: false, force: false})',
      'stat("e")',
      'rmdir("e", {recursive: true, force: true})',
    ]);
  });

  test("mkdir passes recursive true by default; file_stat only stats", async () => {
    const { fs, calls } = recording(new LocalFilesystem({ basePath: tempDirectory("trace-mkdir") }));
    const run = await toolsOver(fs);
    calls.length = 0;
    await run("mkdir", { path: "m/n" });
    await run("file_stat", { path: "m" });
    expect(calls).toEqual(['mkdir("m/n", {recursive: true})', 'stat("m")']);
  });

  test("with native walk and grep, list_files calls walk(path, {maxDepth, includeHidden}) and grep calls fs.grep once", async () => {
    const inner = new LocalFilesystemWithWalkAndGrep({ basePath: tempDirectory("trace-native") });
    const { fs, calls } = recording(inner);
    const run = await toolsOver(fs);
    await fs.writeFile("src/a.ts", "TODO");
    calls.length = 0;
    await run("list_files", { path: "." });
    await run("grep", { pattern: "TODO", maxCount: 3 });
    expect(calls).toEqual([
      'readFile(".gitignore", {encoding: "utf-8"})',
      'walk(".", {maxDepth: 2, includeHidden: false})',
      'readFile(".gitignore", {encoding: "utf-8"})',
      'stat(".")',
      'grep({pattern: "TODO", path: ".", caseSensitive: true, includeHidden: false, maxCountPerFile: 3, maxTotalMatches: 1000, contextLines: 0})',
    ]);
    expect(inner.walkCalls).toBe(1);
    expect(inner.grepCalls).toBe(1);
  });
});
