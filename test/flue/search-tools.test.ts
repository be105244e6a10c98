// The grep and glob tools the factory ships instead of Flue's (which shell out to rg/grep -rnH and
// find, and whose grep never finds anything over just-bash): Flue's names and parameter schemas,
// `grep -rnH`/`find` output, served from the index and cache (no request when warm), and the same
// answers through the plain Sandbox verbs when Flue hands the tools a sandbox rebuilt around ours.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { createGlobTool, createGrepTool, type Sandbox } from "@flue/runtime";
import { sandboxWorkspace, createAcceleratedGlobTool, createAcceleratedGrepTool, type AcceleratedFsSandboxFactory, type AcceleratedSandbox } from "../../src/flue/index.ts";
import type { S3CachedFs } from "../../src/core.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { requestsOf, testBucket, type Bucket } from "./flue-fixtures.ts";

let bucket: Bucket;
let factory: AcceleratedFsSandboxFactory;
let sandbox: AcceleratedSandbox;
let filesystem: S3CachedFs;

/** The same sandbox rebuilt field by field, as Flue's useSandbox(factory, { cwd }) does: no link to the core. */
function rebuilt(original: Sandbox): Sandbox {
  const { exec, readFile, readFileBuffer, writeFile, stat, readdir, exists, mkdir, rm, cwd, resolvePath } = original;
  return { exec, readFile, readFileBuffer, writeFile, stat, readdir, exists, mkdir, rm, cwd, resolvePath };
}

const variants = [
  ["from the core", () => sandbox],
  ["through the Sandbox verbs", () => rebuilt(sandbox)],
] as const;

async function grep(target: Sandbox, params: { pattern: string; path?: string; include?: string; literal?: boolean }, options = {}) {
  const result = await createAcceleratedGrepTool(target, options).execute("grep-call", params);
  return (result.content[0] as { text: string }).text;
}

async function glob(target: Sandbox, params: { pattern: string; path?: string }) {
  const result = await createAcceleratedGlobTool(target).execute("glob-call", params);
  return (result.content[0] as { text: string }).text;
}

beforeAll(async () => {
  bucket = testBucket("search");
  factory = bucket.factory();
  sandbox = await factory.createSandbox({ id: "search" });
  filesystem = await factory.filesystemFor("search");
  const script = [
    "mkdir -p src/lib docs .config empty",
    "printf 'import x from \"./lib\";\\n// TODO: tidy\\nconst a = b.c(1);\\n' > src/app.ts",
    "printf 'export const lib = 1; // TODO later\\n' > src/lib/index.ts",
    "printf 'plain notes\\nTODO in docs\\n' > docs/notes.md",
    "printf 'secret TODO\\n' > .config/settings.json",
    "printf 'no newline at the end TODO' > docs/last-line.txt",
    "ln -s app.ts src/link-to-app.ts",
    "ln -s ../docs src/docs-link",
  ].join(" && ");
  expect((await sandbox.exec(script)).exitCode).toBe(0);
  await sandbox.writeFile("data/blob.bin", new Uint8Array([84, 79, 68, 79, 0, 1, 2])); // "TODO" then NUL: binary
});

afterAll(async () => {
  await factory.close();
  removeTempDirectories();
});

test("Flue's own grep tool finds nothing over a just-bash sandbox (it runs `grep -rnH`, which just-bash rejects); ours finds the lines", async () => {
  const flue = await createGrepTool(sandbox).execute("flue-grep", { pattern: "TODO" });
  expect(flue.content).toEqual([{ type: "text", text: "No matches found." }]);
  expect(await grep(sandbox, { pattern: "TODO", path: "src" })).toBe("src/app.ts:2:// TODO: tidy\nsrc/lib/index.ts:1:export const lib = 1; // TODO later");
});

test("the tools keep Flue's names, labels, descriptions and parameter schemas", () => {
  for (const [ours, flue] of [
    [createAcceleratedGrepTool(sandbox), createGrepTool(sandbox)],
    [createAcceleratedGlobTool(sandbox), createGlobTool(sandbox)],
  ] as const) {
    expect({ name: ours.name, label: ours.label, description: ours.description }).toEqual({ name: flue.name, label: flue.label, description: flue.description });
    expect(ours.parameters).toBe(flue.parameters);
  }
});

for (const [how, target] of variants) {
  test(`grep ${how}: path:line:text for every file below the root, hidden ones included, links and binary files left out`, async () => {
    expect(await grep(target(), { pattern: "TODO" })).toBe(
      [
        "./.config/settings.json:1:secret TODO",
        "./docs/last-line.txt:1:no newline at the end TODO",
        "./docs/notes.md:2:TODO in docs",
        "./src/app.ts:2:// TODO: tidy",
        "./src/lib/index.ts:1:export const lib = 1; // TODO later",
      ].join("\n"),
    );
  });

  test(`grep ${how}: the root is printed as the caller wrote it, and a file root is searched alone`, async () => {
    const expected = "docs/notes.md:2:TODO in docs";
    expect(await grep(target(), { pattern: "in docs", path: "docs" })).toBe(expected);
    expect(await grep(target(), { pattern: "in docs", path: "docs/" })).toBe(expected);
    expect(await grep(target(), { pattern: "in docs", path: "/workspace/docs" })).toBe("/workspace/docs/notes.md:2:TODO in docs");
    expect(await grep(target(), { pattern: "TODO", path: "docs/notes.md" })).toBe(expected);
    expect(await grep(target(), { pattern: "tidy", path: "src/link-to-app.ts" })).toBe("src/link-to-app.ts:2:// TODO: tidy"); // a root that is a link is followed
    expect(await grep(target(), { pattern: "TODO", path: "empty" })).toBe("No matches found.");
  });

  test(`grep ${how}: include filters by name (or by path with a "/"), literal escapes the pattern`, async () => {
    expect(await grep(target(), { pattern: "TODO", include: "*.ts" })).toBe("./src/app.ts:2:// TODO: tidy\n./src/lib/index.ts:1:export const lib = 1; // TODO later");
    expect(await grep(target(), { pattern: "TODO", include: "*.{md,json}" })).toBe("./.config/settings.json:1:secret TODO\n./docs/notes.md:2:TODO in docs");
    expect(await grep(target(), { pattern: "TODO", include: "src/lib/*.ts" })).toBe("./src/lib/index.ts:1:export const lib = 1; // TODO later");
    expect(await grep(target(), { pattern: "b.c(1)", literal: true })).toBe("./src/app.ts:3:const a = b.c(1);");
    expect(await grep(target(), { pattern: "b\\.c\\(\\d\\)" })).toBe("./src/app.ts:3:const a = b.c(1);");
    expect(await grep(target(), { pattern: "b.c(", literal: true, path: "docs" })).toBe("No matches found.");
  });

  test(`grep ${how}: a bad pattern or a missing root is the tool's failure`, async () => {
    await expect(grep(target(), { pattern: "b.c(" })).rejects.toThrow('grep failed: invalid pattern "b.c("');
    await expect(grep(target(), { pattern: "x", path: "missing" })).rejects.toThrow("grep failed: missing: No such file or directory");
  });

  test(`glob ${how}: find -name semantics, paths as the caller wrote the root`, async () => {
    expect(await glob(target(), { pattern: "*.ts" })).toBe("./src/app.ts\n./src/lib/index.ts");
    expect(await glob(target(), { pattern: "*" , path: "docs" })).toBe("docs/last-line.txt\ndocs/notes.md");
    expect(await glob(target(), { pattern: "*.json" })).toBe("./.config/settings.json"); // `*` matches a leading dot, as find's does
    expect(await glob(target(), { pattern: "*.{md,txt}", path: "/workspace" })).toBe("/workspace/docs/last-line.txt\n/workspace/docs/notes.md");
    expect(await glob(target(), { pattern: "src/**/*.ts" })).toBe("./src/app.ts\n./src/lib/index.ts");
    expect(await glob(target(), { pattern: "notes.md", path: "docs/notes.md" })).toBe("docs/notes.md");
    expect(await glob(target(), { pattern: "*.py" })).toBe("No files found matching pattern.");
    expect(await glob(target(), { pattern: "*", path: "missing" })).toBe("No files found matching pattern.");
  });
}

test("grep from / leaves the shell's in-memory system directories out, unless asked to search them", async () => {
  expect(await grep(sandbox, { pattern: "just-bash", path: "/" })).toBe("No matches found.");
  expect(await grep(sandbox, { pattern: "just-bash", path: "/proc" })).toBe("/proc/version:1:Linux version 5.15.0-generic (just-bash) #1 SMP PREEMPT");
  expect(await glob(sandbox, { pattern: "*.md", path: "/" })).toBe("/workspace/docs/notes.md");
});

test("grep keeps Flue's limits: 100 matching lines of at most 500 characters, and says when there are more", async () => {
  await sandbox.writeFile("many/lines.txt", Array.from({ length: 150 }, (_, index) => `hit ${index + 1}`).join("\n"));
  await sandbox.writeFile("many/long.txt", `hit ${"x".repeat(1_000)}\n`);
  const text = await grep(sandbox, { pattern: "^hit", path: "many" });
  const lines = text.split("\n");
  expect(lines.slice(0, 2)).toEqual(["many/lines.txt:1:hit 1", "many/lines.txt:2:hit 2"]);
  expect(lines.slice(99)).toEqual(["many/lines.txt:100:hit 100", "", "[Showing the first 100 matches; there are more. Narrow your search.]"]);
  const long = await grep(sandbox, { pattern: "^hit x", path: "many" });
  expect(long).toBe(`${`many/long.txt:1:hit ${"x".repeat(1_000)}`.slice(0, 500)}...`);
  await sandbox.rm("many", { recursive: true });
});

test("files larger than maxFileBytes are not read, and the answer names them", async () => {
  await sandbox.writeFile("sizes/small.txt", "needle\n");
  await sandbox.writeFile("sizes/large.txt", `needle ${"y".repeat(200)}\n`);
  const measuredBefore = requestsOf(filesystem);
  expect(await grep(sandbox, { pattern: "needle", path: "sizes" }, { maxFileBytes: 100 })).toBe("sizes/small.txt:1:needle\n\n[Not searched, larger than 100 bytes: sizes/large.txt.]");
  expect(requestsOf(filesystem) - measuredBefore).toBe(0);
  await sandbox.rm("sizes", { recursive: true });
});

test("an aborted call throws as Flue's own tools do", async () => {
  await expect(createAcceleratedGrepTool(sandbox).execute("aborted", { pattern: "x" }, AbortSignal.abort())).rejects.toThrow("Operation aborted");
  await expect(createAcceleratedGlobTool(sandbox).execute("aborted", { pattern: "x" }, AbortSignal.abort())).rejects.toThrow("Operation aborted");
});

test("the sandbox carries its link to the core under a symbol, which survives Flue's object spread", () => {
  expect({ ...sandbox }[sandboxWorkspace]?.filesystem).toBe(filesystem);
  expect(rebuilt(sandbox)[sandboxWorkspace as never]).toBeUndefined();
});

test("request counts: grep and glob on a warm tree make none; on a cold mount glob makes none and grep one ranged GET per stored commit", async () => {
  const seeding = bucket.factory();
  const seeded = await seeding.createSandbox({ id: "counts" });
  // Two commands, so two commits: 220 files in two write-ahead-log records.
  expect((await seeded.exec('mkdir -p src && for i in $(seq 1 200); do echo "line $i TODO" > src/f$i.ts; done')).exitCode).toBe(0);
  expect((await seeded.exec('for i in $(seq 1 20); do echo "more $i" > src/g$i.md; done')).exitCode).toBe(0);
  await seeding.close();

  for (const [how, wrap] of [
    ["from the core", (target: Sandbox) => target],
    ["through the Sandbox verbs", rebuilt],
  ] as const) {
    const cold = bucket.factory(); // a new cache root: nothing of the tree is local but its index
    try {
      const target = wrap(await cold.createSandbox({ id: "counts" }));
      const mounted = await cold.filesystemFor("counts");
      let before = requestsOf(mounted);
      expect((await createAcceleratedGlobTool(target).execute("c", { pattern: "*.ts" })).details).toEqual({ matchCount: 200 });
      expect({ how, glob: requestsOf(mounted) - before }).toEqual({ how, glob: 0 });
      before = requestsOf(mounted);
      expect(await grep(target, { pattern: "^more 7$" })).toBe("./src/g7.md:1:more 7");
      expect({ how, coldGrep: requestsOf(mounted) - before }).toEqual({ how, coldGrep: 2 });
      before = requestsOf(mounted);
      expect(await grep(target, { pattern: "line 150 " })).toBe("./src/f150.ts:1:line 150 TODO");
      expect(await glob(target, { pattern: "g1*.md", path: "src" })).toBe("src/g1.md\nsrc/g10.md\nsrc/g11.md\nsrc/g12.md\nsrc/g13.md\nsrc/g14.md\nsrc/g15.md\nsrc/g16.md\nsrc/g17.md\nsrc/g18.md\nsrc/g19.md");
      expect({ how, warm: requestsOf(mounted) - before }).toEqual({ how, warm: 0 });
    } finally {
      await cold.close();
    }
  }
});
