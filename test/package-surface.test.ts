// The package surface is a promise: explicit subpath exports that resolve, with types and import.
import { expect, test } from "bun:test";
import packageJson from "../package.json";

const subpaths = [".", "./core", "./mastra", "./just-bash", "./flue"];

test("package.json exports exactly the documented subpaths, each with types and import, no wildcard", () => {
  const exports = packageJson.exports as Record<string, unknown>;
  expect(Object.keys(exports).filter((key) => key !== "./package.json")).toEqual(subpaths);
  for (const subpath of subpaths) {
    const entry = exports[subpath] as { types?: string; import?: string };
    expect(typeof entry.types).toBe("string");
    expect(typeof entry.import).toBe("string");
  }
  expect(JSON.stringify(exports)).not.toContain("*");
});

test("every subpath resolves by the package's own name", async () => {
  for (const subpath of subpaths) {
    const specifier = subpath === "." ? "s3-bun-cached-fs" : `s3-bun-cached-fs/${subpath.slice(2)}`;
    const module = await import(specifier);
    expect(module).toBeDefined();
  }
  const core = await import("s3-bun-cached-fs/core");
  expect(typeof core.S3ObjectStore).toBe("function");
  expect(typeof core.LocalObjectStore).toBe("function");
});

test("the core exports no internal helper (the store errors' message formatter), and exports the documented GarbageCollectionError", async () => {
  for (const specifier of ["s3-bun-cached-fs", "s3-bun-cached-fs/core"]) {
    const module = (await import(specifier)) as Record<string, unknown>;
    expect(Object.keys(module)).not.toContain("describe");
    expect(typeof module.GarbageCollectionError).toBe("function");
    expect(Object.getPrototypeOf(module.GarbageCollectionError)).toBe(module.FsError);
  }
});

test("framework packages are optional peers, and bun is a dev dependency", () => {
  for (const name of ["@mastra/core", "just-bash", "@flue/runtime"]) {
    expect(packageJson.peerDependencies[name as keyof typeof packageJson.peerDependencies]).toBeDefined();
    expect(packageJson.peerDependenciesMeta[name as keyof typeof packageJson.peerDependenciesMeta].optional).toBe(true);
    expect(Object.keys(packageJson.dependencies)).not.toContain(name);
  }
  expect(packageJson.devDependencies.bun).toBeDefined();
});

test("the published package holds the sources, docs, README, LICENSE and the launchers, and no tests, benchmarks or local state", async () => {
  const packed = Bun.spawnSync(["npm", "pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: `${import.meta.dir}/..`, stderr: "pipe" });
  expect(packed.exitCode).toBe(0);
  const [report] = JSON.parse(packed.stdout.toString()) as { files: { path: string }[] }[];
  const paths = report!.files.map((file) => file.path);
  for (const required of ["package.json", "README.md", "LICENSE", "bin/s3-bun-cached-fs", "bin/needs-bun.cjs", "docs/performance/overview.svg", "src/core.ts", "src/index.ts", "src/stores/object-store.ts", "src/mastra/index.ts", "src/just-bash/index.ts", "src/flue/index.ts", "docs/s3-layout.md"]) {
    expect(paths).toContain(required);
  }
  for (const path of paths) expect(path).not.toMatch(/^(test|bench|scripts|node_modules|\.ci)\//);
});
