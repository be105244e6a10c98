// The adapters against the oldest framework versions the package's peerDependencies accept, as well
// as the newest: an app on @mastra/core, just-bash or @flue/runtime at the floor of the declared
// range gets a working filesystem, workspace tools, shell and sandbox. The oldest versions are
// devDependencies under aliases (`@mastra/core-oldest` is `npm:@mastra/core@<floor>`), so this
// needs no network. Each run copies the sources into an app directory of its own whose
// node_modules hold the framework versions under their real names (Bun resolves a module from the
// real path of the file that imports it, so the sources must live beside that node_modules).

import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import packageJson from "../../package.json";

const repository = join(import.meta.dir, "../..");
const modules = join(repository, "node_modules");
const frameworks = ["@mastra/core", "just-bash", "@flue/runtime"] as const;
type Framework = (typeof frameworks)[number];
const peers: Record<string, string> = packageJson.peerDependencies;
const devDependencies: Record<string, string> = packageJson.devDependencies;
const work = mkdtempSync(join(tmpdir(), "frameworks-oldest-"));

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The floor of a peer range written ">=floor <next-major". */
function floorOf(framework: Framework): string {
  const match = /^>=(\d+\.\d+\.\d+) <(\d+)$/.exec(peers[framework] ?? "");
  if (match === null) throw new Error(`peerDependencies["${framework}"] is ${JSON.stringify(peers[framework])}, not ">=x.y.z <major"`);
  return match[1]!;
}

function versionAt(directory: string): string {
  return (JSON.parse(readFileSync(join(directory, "package.json"), "utf8")) as { version: string }).version;
}

/**
 * An app directory: the sources and the scenario, and a node_modules linking every package of the
 * repository's, except the frameworks, which come from `chosen` (framework -> package directory).
 */
function appWith(label: string, chosen: Record<Framework, string>): string {
  const app = join(work, label);
  mkdirSync(join(app, "node_modules"), { recursive: true });
  cpSync(join(repository, "src"), join(app, "src"), { recursive: true });
  cpSync(join(import.meta.dir, "scenario.ts"), join(app, "test/frameworks-oldest/scenario.ts"));
  const link = (name: string, target: string) => symlinkSync(realpathSync(target), join(app, "node_modules", name));
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith(".")) continue;
    if (!entry.startsWith("@")) {
      if (!(frameworks as readonly string[]).includes(entry)) link(entry, join(modules, entry));
      continue;
    }
    mkdirSync(join(app, "node_modules", entry));
    for (const scoped of readdirSync(join(modules, entry))) {
      const name = `${entry}/${scoped}`;
      if (!(frameworks as readonly string[]).includes(name)) link(name, join(modules, name));
    }
  }
  for (const framework of frameworks) link(framework, chosen[framework]);
  return app;
}

function runScenario(app: string) {
  const result = Bun.spawnSync([process.execPath, "test/frameworks-oldest/scenario.ts", join(app, "run")], { cwd: app, stdout: "pipe", stderr: "pipe" });
  const stderr = result.stderr.toString();
  if (result.exitCode !== 0) throw new Error(`the scenario failed (${result.exitCode}):\n${stderr}`);
  return { stderr, output: JSON.parse(result.stdout.toString()) as Scenario };
}

interface Scenario {
  core: { read: string; list: string[] };
  mastra: { write: string; read: string; list: string; grep: string; written: string; nativeGrep: string };
  justBash: { stdout: string; stderr: string; exitCode: number };
  shellWrote: string;
  flue: { exec: { stdout: string; stderr: string; exitCode: number }; read: string };
  loadedFrom: Record<string, string>;
}

/** What every supported version must do, whatever its output's wording. */
function expectWorking(output: Scenario) {
  expect(output.core).toEqual({ read: "core bytes", list: ["a.txt"] });
  expect(output.mastra.read).toContain("hello mastra");
  expect(output.mastra.list).toContain("a.md");
  expect(output.mastra.list).toContain("b.md");
  expect(output.mastra.grep).toContain("notes/a.md");
  expect(output.mastra.grep).toContain("TODO: first");
  expect(output.mastra.written).toBe("written by a tool\n");
  expect(JSON.parse(output.mastra.nativeGrep)).toEqual([{ path: "notes/a.md", matches: [{ line: 2, column: 0, text: "TODO: first" }] }]);
  expect(output.justBash).toEqual({ stdout: "hello\na.txt\n6\nsame\n", stderr: "", exitCode: 0 });
  expect(output.shellWrote).toBe("hello\n");
  expect(output.flue).toEqual({ exec: { stdout: "flue\n/workspace\n", stderr: "", exitCode: 0 }, read: "flue\n" });
}

describe("the adapters with each framework's oldest supported version and its newest", () => {
  test("peerDependencies declare '>=oldest <next-major', and the oldest is installed for this test under an alias", () => {
    for (const framework of frameworks) {
      const floor = floorOf(framework);
      expect(devDependencies[`${framework}-oldest`]).toBe(`npm:${framework}@${floor}`);
      expect(versionAt(join(modules, `${framework}-oldest`))).toBe(floor);
      const newest = versionAt(join(modules, framework));
      expect(Bun.semver.satisfies(newest, peers[framework]!)).toBe(true);
      expect(Bun.semver.order(newest, floor)).toBeGreaterThanOrEqual(0);
    }
  });

  test("with the oldest versions: core mount, write, read, list; Mastra workspace tools; a just-bash command; a Flue sandbox command", () => {
    const oldest = Object.fromEntries(frameworks.map((framework) => [framework, join(modules, `${framework}-oldest`)])) as Record<Framework, string>;
    const app = appWith("oldest", oldest);
    const { output } = runScenario(app);
    // The scenario ran the oldest versions, not the repository's own.
    for (const framework of frameworks) {
      const loaded = output.loadedFrom[framework === "@mastra/core" ? "@mastra/core/workspace" : framework]!;
      expect(loaded.startsWith(realpathSync(oldest[framework]) + "/")).toBe(true);
    }
    expectWorking(output);
  }, 120_000);

  test("with the newest versions (the devDependencies), the same", () => {
    const newest = Object.fromEntries(frameworks.map((framework) => [framework, join(modules, framework)])) as Record<Framework, string>;
    const { output } = runScenario(appWith("newest", newest));
    for (const framework of frameworks) {
      const loaded = output.loadedFrom[framework === "@mastra/core" ? "@mastra/core/workspace" : framework]!;
      expect(loaded.startsWith(realpathSync(newest[framework]) + "/")).toBe(true);
    }
    expectWorking(output);
  }, 120_000);
});
