// The four demos (`bun run demo:core`, `demo:mastra`, `demo:just-bash`, `demo:flue`) and
// `demo:all` run as tests: each as its own process, exactly as the scripts run them, with no
// network and no credentials. Each must exit 0 with nothing on stderr, and print the lines that
// show what it demonstrates. (Explicit time limits: a demo process takes seconds, beyond Bun's
// default 5 s per test, which this Bun does not take from bunfig.toml.)

import { expect, test } from "bun:test";
import { join } from "node:path";

async function runDemo(name: string): Promise<{ code: number; output: string; errors: string }> {
  const demo = Bun.spawn([process.execPath, join(import.meta.dir, "../demos", `${name}.ts`)], { stdout: "pipe", stderr: "pipe" });
  const [output, errors, code] = await Promise.all([new Response(demo.stdout).text(), new Response(demo.stderr).text(), demo.exited]);
  return { code, output, errors };
}

/** The part of `output` from the first line containing `marker` on. */
function from(output: string, marker: string): string {
  const index = output.indexOf(marker);
  expect(index).toBeGreaterThanOrEqual(0);
  return output.slice(index);
}

test("demo:core writes, reads, commits 10,000 files at once and gets everything back after deleting the cache", async () => {
  const { code, output, errors } = await runDemo("core");
  expect({ code, errors }).toEqual({ code: 0, errors: "" });
  // One commit record; a second PUT only if the head's delayed update happened to fall in the step.
  expect(output).toMatch(/^transaction: 10,000 files\s+-> 1 commit, [12] PUT, 0 GET \(all in one record\)$/m);
  expect(output).toMatch(/^readText {2}\/config\.json = \{"ok":true\}\s+-> 0 commits, 0 PUT, 0 GET/m);
  expect(output).toContain("local cache deleted, mounted again: /results/out.txt = written through a real local BunFile");
  expect(output).toContain("done: nothing was lost with the cache");
}, 60_000);

test("demo:mastra runs Mastra's tools and an agent on its mock model, then remounts from a deleted cache", async () => {
  const { code, output, errors } = await runDemo("mastra");
  expect({ code, errors }).toEqual({ code: 0, errors: "" });
  expect(output).toContain("agent: Done: tests noted, summary written.");
  expect(from(output, "a new process")).toContain("2→- wrote tests");
  expect(output).toMatch(/grep \+ list_files \+ read_file again 0$/m);
}, 60_000);

test("demo:just-bash runs commands with one commit each, then reads them back on a cold read-only remount", async () => {
  const { code, output, errors } = await runDemo("just-bash");
  expect({ code, errors }).toEqual({ code: 0, errors: "" });
  expect(output).toContain("$ mkdir -p reports && echo hello > reports/out.txt && cat reports/out.txt\n  hello\n  [exit 0; 1 commit, 2 requests to the store]");
  expect(output).toContain("  reports/part-42.txt\n  [exit 0; 0 commits, 1 request to the store]");
  const remounted = from(output, "a read-only remount sees");
  expect(remounted).toContain("  hello\n  row 42\n  out.txt\n  102\n");
  expect(remounted).toContain("bash: reports/new.txt: Read-only file system\n  [exit 1; 0 commits, 0 requests to the store]");
}, 60_000);

test("demo:flue runs a Flue agent on the faux model in our sandbox, and after a runtime restart the instance's files are back", async () => {
  const { code, output, errors } = await runDemo("flue");
  expect({ code, errors }).toEqual({ code: 0, errors: "" });
  const first = output.slice(0, output.indexOf("the runtime is stopped"));
  expect(first).toContain('  grep({"pattern":"TODO"})\n      ./src/app.ts:2:  // TODO: handle errors\n');
  expect(first).toContain('  glob({"pattern":"*.{ts,md}"})\n      ./notes/plan.md\n      ./src/app.ts\n      [0 requests to the store]');
  expect(first).toContain("Command exited with code 124");
  expect(first).toContain("agent: Done: tests noted, one TODO left in src/app.ts.");
  const restarted = from(output, "the runtime is stopped");
  expect(restarted).toContain("      # Plan\n      - wrote tests\n      - ship it");
  // The second grep of the restarted runtime is served from the cache the first one filled.
  const greps = restarted.split('  grep({"pattern":"wrote|TODO"})').slice(1);
  expect(greps).toHaveLength(2);
  expect(greps[1]).toStartWith("\n      ./notes/plan.md:2:- wrote tests\n      ./src/app.ts:2:  // TODO: handle errors\n      [0 requests to the store]");
  expect(restarted).toContain("agent: Done: everything is where I left it.");
  expect(from(output, "another instance id")).toContain("      No files found matching pattern.");
}, 60_000);

test("demo:all runs the four demos in turn and passes only if all of them pass", async () => {
  const { code, output, errors } = await runDemo("all");
  expect({ code, errors }).toEqual({ code: 0, errors: "" });
  for (const name of ["core", "mastra", "just-bash", "flue"]) expect(output).toMatch(new RegExp(`^######## demo:${name} passed in [0-9.]+ s$`, "m"));
  expect(output).toContain("demo:all: all 4 demos passed");
}, 120_000);
