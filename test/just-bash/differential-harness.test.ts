// Validates the just-bash differential harness before our own IFileSystem exists: the whole corpus must agree
// between two fresh InMemoryFs instances (one test per case), and deliberately broken wrappers around InMemoryFs
// must be reported as different, so a green run against our fs later means something.
import { describe, expect, test } from "bun:test";
import { InMemoryFs, type IFileSystem } from "just-bash";
import { shellCorpus, type ShellCase } from "./corpus.ts";
import {
  compareCase,
  compareWithInMemory,
  formatComparisons,
  recordFsCalls,
  runShellCase,
  WORKSPACE,
} from "./differential.ts";

/** A fresh InMemoryFs with some methods replaced (built from the inner fs); everything else passes through. */
function brokenFs(makeOverrides: (inner: InMemoryFs) => Partial<IFileSystem>): IFileSystem {
  const inner = new InMemoryFs();
  const overrides = makeOverrides(inner);
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (typeof property === "string" && Object.hasOwn(overrides, property)) {
        return overrides[property as keyof IFileSystem];
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function corpusCase(name: string): ShellCase {
  const found = shellCorpus.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no corpus case named ${JSON.stringify(name)}`);
  return found;
}

describe("corpus", () => {
  test("has at least 55 uniquely named cases with relative seed paths", () => {
    expect(shellCorpus.length).toBeGreaterThanOrEqual(55);
    expect(new Set(shellCorpus.map((c) => c.name)).size).toBe(shellCorpus.length);
    for (const c of shellCorpus) {
      for (const path of Object.keys(c.files ?? {})) expect(path.startsWith("/") || path.includes("..")).toBe(false);
    }
  });
});

describe("InMemoryFs agrees with InMemoryFs", () => {
  for (const c of shellCorpus) {
    test(c.name, async () => {
      const result = await compareCase(() => new InMemoryFs(), c);
      expect(result.expected.error).toBeNull();
      expect(result.expected.tree.some((entry) => entry.type === "error")).toBe(false);
      expect(result.differences).toEqual([]);
    });
  }
});

describe("the snapshot", () => {
  test("records files, directories, symlinks, modes and binary content", async () => {
    const fs = new InMemoryFs();
    await fs.writeFile(`${WORKSPACE}/raw`, new Uint8Array([0xff, 0x00, 0x80]));
    const outcome = await runShellCase(fs, {
      name: "snapshot shapes",
      files: { "d/t.txt": "text ✓\n" },
      script: "printf '\\x00\\x01' > ctl; ln -s d/t.txt link; chmod 600 d/t.txt",
    });
    expect(outcome.tree).toEqual([
      { path: WORKSPACE, type: "dir", mode: "0755" },
      { path: `${WORKSPACE}/ctl`, type: "file", mode: "0644", encoding: "utf8", content: "\u0000\u0001" },
      { path: `${WORKSPACE}/d`, type: "dir", mode: "0755" },
      { path: `${WORKSPACE}/d/t.txt`, type: "file", mode: "0600", encoding: "utf8", content: "text ✓\n" },
      { path: `${WORKSPACE}/link`, type: "symlink", mode: "0777", target: "d/t.txt" },
      { path: `${WORKSPACE}/raw`, type: "file", mode: "0644", encoding: "base64", content: "/wCA" },
    ]);
  });
});

describe("the harness detects a broken filesystem", () => {
  test("rm that silently does nothing", async () => {
    const makeFs = () => brokenFs(() => ({ rm: async () => {} }));
    const result = await compareCase(makeFs, corpusCase("rm -rf a tree"));
    expect(result.differences.some((line) => line.startsWith("stdout:"))).toBe(true);
    expect(result.differences).toContain(`tree ${WORKSPACE}/src: unexpected (dir 0755)`);
    expect(result.differences).toContain(`tree ${WORKSPACE}/docs/guide.txt: unexpected (file 0644 utf8 "Step 1\\nfind the Needle\\nStep 2\\n")`);
  });

  test("readdir that drops an entry is caught by the tree snapshot alone", async () => {
    const makeFs = () =>
      brokenFs((inner) => ({
        readdir: async (path) => (await inner.readdir(path)).filter((name) => name !== "README.md"),
      }));
    const c = { name: "read a file", files: { "README.md": "# hi\n", "b.txt": "b\n" }, script: "cat README.md" };
    const result = await compareCase(makeFs, c);
    expect(result.differences).toEqual([`tree ${WORKSPACE}/README.md: missing (expected file 0644 utf8 "# hi\\n")`]);
  });

  test("chmod that does nothing, over the whole corpus: only the cases that look at modes differ", async () => {
    const results = await compareWithInMemory(() => brokenFs(() => ({ chmod: async () => {} })));
    const differing = results.filter((r) => r.differences.length > 0).map((r) => r.name);
    // no misses and no false positives: exactly the scripts that run chmod
    expect(differing).toEqual(shellCorpus.filter((c) => c.script.includes("chmod")).map((c) => c.name));
    expect(formatComparisons(results)).toContain("✗ chmod numeric and stat -c");
  });

  test("a throwing readFileBuffer becomes error entries, not a crash", async () => {
    const makeFs = () =>
      brokenFs(() => ({
        readFileBuffer: async () => {
          throw new Error("boom");
        },
      }));
    const result = await compareCase(makeFs, corpusCase("redirect > truncates"));
    expect(result.actual.error).toBeNull();
    expect(result.differences).toContain(`tree ${WORKSPACE}/f.txt: missing (expected file 0644 utf8 "two\\n")`);
    expect(result.differences).toContain(`tree ${WORKSPACE}/f.txt: unexpected (error "readFileBuffer: boom")`);
  });

  test("a hanging fs call times out instead of hanging the suite", async () => {
    const makeFs = () => brokenFs(() => ({ stat: () => new Promise(() => {}) }));
    const result = await compareCase(makeFs, corpusCase("ls of missing paths"), { timeoutMs: 300 });
    expect(result.actual.error).toContain("timed out after 300 ms");
    expect(result.differences.length).toBeGreaterThan(0);
  });
});

describe("recordFsCalls", () => {
  test("logs the IFileSystem calls a command makes", async () => {
    const { fs, calls } = recordFsCalls(new InMemoryFs());
    const outcome = await runShellCase(fs, { name: "trace", files: { "d/x": "x\n" }, script: "rm -rf d" });
    expect(outcome.exitCode).toBe(0);
    expect(calls.filter((call) => call.method === "rm")).toEqual([
      { method: "rm", args: [`"${WORKSPACE}/d"`, `{"recursive":true,"force":true}`] },
    ]);
  });
});
