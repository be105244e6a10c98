// The package as a user gets it: `npm pack`, the tarball installed into an empty app with none of the
// optional frameworks, then used the way the README says. Installing fetches only the package's own
// dependencies (from the npm cache when they are there).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import packageJson from "../package.json";

const repository = join(import.meta.dir, "..");
const bun = process.execPath;
const tsc = join(repository, "node_modules/.bin/tsc");
const node = Bun.which("node");
const needsBun = `needs Bun ${packageJson.engines.bun}`;
let workspace = "";
let app = "";
let tarball = "";

function run(command: string[], cwd: string, env: Record<string, string | undefined> = process.env) {
  const result = Bun.spawnSync(command, { cwd, env, stdout: "pipe", stderr: "pipe" });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** Links a package of this repository's node_modules into the app, as if the user had installed it. */
function link(name: string) {
  const target = join(app, "node_modules", name);
  mkdirSync(dirname(target), { recursive: true });
  if (!existsSync(target)) symlinkSync(realpathSync(join(repository, "node_modules", name)), target);
}

/** A plain strict tsconfig, as a user writes it: no allowImportingTsExtensions, unused names are errors. */
function typeCheck(files: string[], skipLibCheck = false) {
  const config = {
    compilerOptions: { target: "ESNext", module: "Preserve", moduleResolution: "bundler", lib: ["ESNext"], types: ["bun"], strict: true, noUnusedLocals: true, noUnusedParameters: true, noEmit: true, skipLibCheck },
    files,
  };
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify(config, null, 2));
  const result = run([tsc, "-p", "tsconfig.json", "--listFiles"], app);
  const lines = result.stdout.split("\n").filter((line) => line !== "");
  const fromPackage = lines.filter((line) => line.startsWith("/")).filter((file) => file.includes("node_modules/s3-bun-cached-fs/"));
  return { fromPackage, check: { exitCode: result.exitCode, errors: lines.filter((line) => !line.startsWith("/")).join("\n") } };
}

function must(result: ReturnType<typeof run>, what: string) {
  if (result.exitCode !== 0) throw new Error(`${what} failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
  return result;
}

beforeAll(() => {
  workspace = mkdtempSync(join(tmpdir(), "package-install-"));
  const packed = must(run(["npm", "pack", "--json", "--pack-destination", workspace], repository), "npm pack");
  const [report] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as { filename: string }[];
  tarball = join(workspace, report!.filename);
  app = join(workspace, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer-app", private: true, type: "module" }));
  must(run(["npm", "install", "--no-audit", "--no-fund", "--prefer-offline", tarball], app), "npm install of the tarball");
}, 300_000);

afterAll(() => {
  if (workspace !== "") rmSync(workspace, { recursive: true, force: true });
});

describe("the packed package installed into an empty app", () => {
  test("installs with none of the optional frameworks", () => {
    expect(existsSync(join(app, "node_modules/s3-bun-cached-fs/package.json"))).toBe(true);
    for (const framework of ["@mastra/core", "just-bash", "@flue/runtime"]) expect(existsSync(join(app, "node_modules", framework))).toBe(false);
  });

  test("under Bun, the root entry and /core load without any framework and export the core", () => {
    writeFileSync(
      join(app, "entries.ts"),
      [
        `import * as root from "s3-bun-cached-fs";`,
        `import * as core from "s3-bun-cached-fs/core";`,
        `console.log(JSON.stringify({ root: typeof root.S3CachedFsManagerImpl, core: typeof core.LocalObjectStore, same: root.FsError === core.FsError }));`,
      ].join("\n"),
    );
    const result = run([bun, "entries.ts"], app);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({ root: "function", core: "function", same: true });
  });

  test("under Node.js, importing or requiring any entry says in one sentence that the package needs Bun and which version", () => {
    expect(node).not.toBeNull();
    for (const specifier of ["s3-bun-cached-fs", "s3-bun-cached-fs/core", "s3-bun-cached-fs/mastra"]) {
      for (const load of [`import(${JSON.stringify(specifier)})`, `Promise.resolve().then(() => require(${JSON.stringify(specifier)}))`]) {
        const script = `const { createRequire } = require("node:module"); const require2 = createRequire(process.cwd() + "/"); ${load.replace("require(", "require2(")}.then(() => console.log("loaded"), (error) => console.log(String(error.message)))`;
        const result = run([node!, "-e", script], app);
        expect(result.stdout).not.toContain("loaded");
        expect(result.stdout).not.toContain("ERR_UNKNOWN_FILE_EXTENSION");
        expect(result.stdout).toContain(needsBun);
        expect(result.stdout.trim().split("\n")).toHaveLength(1);
      }
    }
  });

  test("the command line without Bun says in one sentence that it needs Bun and which version; with Bun on PATH it runs", () => {
    const command = join(app, "node_modules/.bin/s3-bun-cached-fs");
    expect(existsSync(command)).toBe(true);
    expect(existsSync(join(app, "node_modules/.bin/bun"))).toBe(false);
    const withoutBun = run([command, "--help"], app, { PATH: `${dirname(node!)}:/usr/bin:/bin` });
    expect(withoutBun.exitCode).not.toBe(0);
    expect(withoutBun.stderr).not.toContain("No such file");
    expect(withoutBun.stderr).toContain(needsBun);
    expect(withoutBun.stderr.trim().split("\n")).toHaveLength(1);
    const withBun = run([command, "--help"], app, { PATH: `${join(repository, "node_modules/.bin")}:/usr/bin:/bin` });
    expect(withBun.stderr).toBe("");
    expect(withBun.exitCode).toBe(0);
    expect(withBun.stdout).toContain("Usage: s3-bun-cached-fs <command>");
  });

  test("the tarball ships an MIT LICENSE, and every relative link in its markdown files leads to a file it ships", () => {
    const installed = join(app, "node_modules/s3-bun-cached-fs");
    const license = readFileSync(join(installed, "LICENSE"), "utf8");
    expect(license.startsWith("MIT License")).toBe(true);
    expect(license).toContain("s3-bun-cached-fs contributors");
    expect(JSON.parse(readFileSync(join(installed, "package.json"), "utf8")).license).toBe("MIT");
    const markdown = readdirSync(installed, { recursive: true, encoding: "utf8" }).filter((path) => path.endsWith(".md") && !path.startsWith("node_modules"));
    expect(markdown).toContain("README.md");
    expect(markdown).toContain("docs/performance.md");
    const broken: string[] = [];
    let links = 0;
    for (const file of markdown) {
      const text = readFileSync(join(installed, file), "utf8");
      for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1]!;
        if (/^[a-z]+:/i.test(target) || target.startsWith("#")) continue;
        links++;
        const resolved = join(installed, dirname(file), target.split("#")[0]!);
        if (relative(installed, resolved).startsWith("..") || !existsSync(resolved) || !(statSync(resolved).isFile() || statSync(resolved).isDirectory())) broken.push(`${file}: ${target}`);
      }
    }
    expect(links).toBeGreaterThan(30);
    expect(broken).toEqual([]);
  });

  test("a consumer with a plain strict tsconfig type-checks against the root and /core, reading only the declaration files", () => {
    link("@types/bun");
    link("bun-types");
    writeFileSync(
      join(app, "consumer.ts"),
      [
        `import { S3CachedFsManagerImpl, FsError, type MountConfig } from "s3-bun-cached-fs";`,
        `import { LocalObjectStore, type ObjectStore } from "s3-bun-cached-fs/core";`,
        `import { defaultCacheRoot, mountS3CachedFs } from "s3-bun-cached-fs";`,
        `export async function firstLine(path: string): Promise<string> {`,
        `  const store: ObjectStore = new LocalObjectStore({ root: "/tmp/consumer-store" });`,
        `  const config: MountConfig = { name: "consumer", mode: "readonly" };`,
        `  const fs = await new S3CachedFsManagerImpl({ cacheRoot: "/tmp/consumer-cache", storeFactory: () => store }).mount(config);`,
        `  const text: string = await fs.readText(path);`,
        `  // @ts-expect-error readText gives a string, so the declarations are real types, not any`,
        `  const wrong: number = await fs.readText(path);`,
        `  if (wrong === 0 || text === "") throw new FsError("ENOENT", "open", { path });`,
        `  return text.split("\\n")[0] ?? "";`,
        `}`,
        `export async function oneLine(bucket: string): Promise<string> {`,
        `  await using fs = await mountS3CachedFs({ bucket, region: "us-east-1", prefix: "notes" });`,
        `  return (await fs.readText("/a.txt")) + defaultCacheRoot();`,
        `}`,
      ].join("\n"),
    );
    const { fromPackage, check } = typeCheck(["consumer.ts"]);
    expect(check.errors).toBe("");
    expect(check.exitCode).toBe(0);
    expect(fromPackage.length).toBeGreaterThan(0);
    expect(fromPackage.filter((file) => !file.endsWith(".d.ts"))).toEqual([]);
    expect(fromPackage.filter((file) => /\/types\/(mastra|just-bash|flue)\//.test(file))).toEqual([]);
  }, 300_000);

  test("with the frameworks installed, each adapter subpath type-checks from its declarations and loads under Bun", () => {
    for (const framework of ["@mastra/core", "just-bash", "@flue/runtime"]) link(framework);
    writeFileSync(
      join(app, "adapters.ts"),
      [
        `import { AcceleratedFS, type AcceleratedFSOptions } from "s3-bun-cached-fs/mastra";`,
        `import { createAcceleratedJustBashShell, type ShellResult } from "s3-bun-cached-fs/just-bash";`,
        `import { acceleratedFsSandbox, type AcceleratedFsSandboxOptions } from "s3-bun-cached-fs/flue";`,
        `export type Options = [AcceleratedFSOptions, AcceleratedFsSandboxOptions];`,
        `export async function exitCode(shell: Awaited<ReturnType<typeof createAcceleratedJustBashShell>>): Promise<number> {`,
        `  const result: ShellResult = await shell.exec("true");`,
        `  // @ts-expect-error exitCode is a number, so the declarations are real types, not any`,
        `  const wrong: string = result.exitCode;`,
        `  return wrong === "" ? -1 : result.exitCode;`,
        `}`,
        `console.log(JSON.stringify([typeof AcceleratedFS, typeof createAcceleratedJustBashShell, typeof acceleratedFsSandbox]));`,
      ].join("\n"),
    );
    // The frameworks' own declaration files do not check without skipLibCheck (their optional
    // types are missing), so a user of them sets it, as this consumer does; checking all of them
    // would also take minutes. The root and /core are checked without it above.
    const { fromPackage, check } = typeCheck(["adapters.ts"], true);
    expect(check.errors).toBe("");
    expect(check.exitCode).toBe(0);
    expect(fromPackage.filter((file) => !file.endsWith(".d.ts"))).toEqual([]);
    const loaded = run([bun, "adapters.ts"], app);
    expect(loaded.stderr).toBe("");
    expect(JSON.parse(loaded.stdout)).toEqual(["function", "function", "function"]);
  }, 300_000);

  test("an app pinned to the oldest framework versions the peer ranges accept installs the tarball without ERESOLVE", () => {
    // Only the dependency tree is resolved (--package-lock-only): npm checks the peer ranges
    // there, and the versions' metadata is in the npm cache from this repository's own install.
    const peers: Record<string, string> = packageJson.peerDependencies;
    const pinned = Object.fromEntries(Object.entries(peers).map(([name, range]) => [name, /^>=(\d+\.\d+\.\d+) </.exec(range)![1]!]));
    expect(pinned).toEqual({ "@flue/runtime": "2.0.3", "@mastra/core": "1.68.0", "just-bash": "3.3.0" });
    const oldApp = join(workspace, "pinned-app");
    mkdirSync(oldApp);
    writeFileSync(join(oldApp, "package.json"), JSON.stringify({ name: "pinned-app", private: true, type: "module", dependencies: pinned }));
    const result = run(["npm", "install", "--package-lock-only", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts", tarball], oldApp);
    expect(result.stderr).not.toContain("ERESOLVE");
    expect(result.exitCode).toBe(0);
    const lock = JSON.parse(readFileSync(join(oldApp, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
    for (const [name, version] of Object.entries(pinned)) expect(lock.packages[`node_modules/${name}`]?.version).toBe(version);
    expect(lock.packages["node_modules/s3-bun-cached-fs"]?.version).toBe(packageJson.version);
  }, 300_000);
});
