// API-misuse fuzzing (issue 15, part 3), CI-sized: a seeded run of random, often hostile calls of
// every public method of the core and of the Mastra, just-bash and Flue adapters, each checked as
// test/fuzz/fuzzer.ts says. FUZZ_SEED picks (or replays) a run, FUZZ_CALLS sizes it; `npm run fuzz`
// runs more, from fresh seeds.

import { afterAll, expect, test } from "bun:test";
import { FsError } from "../../src/core.ts";
import { seedFrom } from "../../src/stores/random.ts";
import { FilesystemModel } from "../fs/model.ts";
import { errorShapeProblem, settleWithin } from "./checks.ts";
import { withPaths } from "./core-target.ts";
import { FuzzFailure, FuzzRun, replayCommand, runFuzz } from "./fuzzer.ts";
import { knownFindings } from "./known-findings.ts";
import { targetsFor } from "./targets.ts";

const calls = Number(process.env.FUZZ_CALLS ?? 1_500);
// Fixed seeds by default, so CI runs the same vetted calls every time: the first vetted seed, and
// seed 49, which found rename's answer for a missing source onto "dir/" once. FUZZ_SEED picks
// another, and `npm run fuzz` (a fresh seed each run) explores beyond them.
const defaultSeeds = [20_261_206, 49];
const seeds = process.env.FUZZ_SEED === undefined ? defaultSeeds : [seedFrom("FUZZ_SEED")];
const runs: FuzzRun[] = [];
afterAll(() => runs.splice(0).forEach((run) => run.cleanup()));

test.each(seeds)(`${calls} random and hostile API calls (seed %p) settle, fail only as FsError or the framework's errors, publish nothing when they fail, and leave the model's tree`, async (seed) => {
  console.log(`API-misuse fuzzer: FUZZ_SEED=${seed} (replay: ${replayCommand(seed, calls)})`);
  const options = { seed, calls };
  let report;
  try {
    report = await runFuzz(options, targetsFor(options));
  } catch (error) {
    if (error instanceof FuzzFailure) throw new Error(error.message);
    throw error;
  }
  console.log(`API-misuse fuzzer: ${report.calls} calls in ${report.seconds.toFixed(1)} s (${Object.entries(report.bySurface).map(([surface, count]) => `${surface} ${count}`).join(", ")}), ${report.errors} refused`);
  for (const [id, entry] of Object.entries(report.tolerated)) console.log(`  known finding ${id} (${entry.item === "new" ? "new" : `issue ${entry.item}`}): tolerated ${entry.count}x`);
  expect(report.calls).toBeGreaterThanOrEqual(calls);
  // Every surface was called, and hostile calls were refused: the run exercised what it claims.
  for (const surface of ["manager", "core", "tx", "reader", "handle", "mastra", "just-bash", "shell", "flue"]) expect(report.bySurface[surface] ?? 0).toBeGreaterThan(0);
  expect(report.errors).toBeGreaterThan(report.calls / 5);
}, 300_000);

test("the checker stops at a violation no known finding describes, naming the seed, the last calls and the replay command", () => {
  const run = new FuzzRun({ seed: 1234, calls: 10 });
  runs.push(run);
  const record = { index: 0, surface: "core" as const, method: "writeFile", args: '"/a"', tags: [], outcome: "ok" };
  run.history.push(record);
  let thrown: unknown;
  try {
    run.violate({ check: "publishes", message: "writeFile failed (EINVAL) but published 1 record(s)", call: record });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(FuzzFailure);
  const text = (thrown as Error).message;
  expect(text).toContain("seed 1234");
  expect(text).toContain('#0 core.writeFile("/a")');
  expect(text).toContain(replayCommand(1234, 10));
});

test("a known finding is tolerated only by its own narrow predicate", () => {
  // A finding of this test's own, so the check holds whichever real entries are still in the table.
  const own = { id: "self-test", item: "new" as const, summary: "self-test", matches: (v: Parameters<(typeof knownFindings)[number]["matches"]>[0]) => v.check === "model" && v.call?.method === "selfTest" && v.call.tags.includes("flaw-x") };
  knownFindings.push(own);
  try {
    const run = new FuzzRun({ seed: 1, calls: 1 });
    runs.push(run);
    const call = { index: 0, surface: "core" as const, method: "selfTest", args: "", tags: ["flaw-x"], outcome: "ok" };
    expect(run.violate({ check: "model", message: "succeeded; the model answers EINVAL", call, outcome: { status: "ok", value: undefined } })).toBe(true);
    expect(run.report(0).tolerated["self-test"]?.count).toBe(1);
    // The same outcome on another method, without the flaw, or for another check is not tolerated.
    expect(() => run.violate({ check: "model", message: "m", call: { ...call, method: "other" } })).toThrow(FuzzFailure);
    expect(() => run.violate({ check: "model", message: "m", call: { ...call, tags: [] } })).toThrow(FuzzFailure);
    expect(() => run.violate({ check: "settles", message: "m", call })).toThrow(FuzzFailure);
  } finally {
    knownFindings.splice(knownFindings.indexOf(own), 1);
  }
});

test("error shapes: a raw Error, an FsError without a path, or a host path in a message is a violation", async () => {
  const host = "/tmp/some-cache-root";
  const isFs = (error: unknown) => error instanceof FsError;
  expect(errorShapeProblem(new FsError("ENOENT", "open", { path: "/a" }), isFs, [host])).toBeUndefined();
  expect(errorShapeProblem(new Error("ENOENT: no such file"), isFs, [host])).toContain("not an error of this surface");
  expect(errorShapeProblem(new FsError("ENOENT", "open", {}), isFs, [host])).toContain("names no path");
  expect(errorShapeProblem(new FsError("EIO", "open", { path: "/a", detail: `cannot read ${host}/index.sqlite` }), isFs, [host])).toContain("a host path");
  expect(await settleWithin(new Promise(() => {}), 10)).toEqual({ settled: false });
});

test("the model: a lone surrogate may be refused (EINVAL) even beside another refused argument (seed 3: copyFile of one onto a name over 255 bytes)", () => {
  const model = new FilesystemModel();
  const surrogate = { value: "/\uDFFF", shown: "", normalized: "/\uFFFD", flaw: "lone-surrogate" as const };
  const long = { value: `/${"é".repeat(128)}`, shown: "", flaw: "long-name" as const, refusedWith: "ENAMETOOLONG" };
  const expectation = withPaths(model, [{ arg: surrogate, role: "any" }, { arg: long, role: "create-file" }], () => ({ codes: [] }));
  expect(expectation.codes.sort()).toEqual(["EINVAL", "ENAMETOOLONG"]);
  // Without a lone surrogate, the refusal stays exact.
  expect(withPaths(model, [{ arg: { value: "/a", shown: "", normalized: "/a" }, role: "any" }, { arg: long, role: "create-file" }], () => ({ codes: [] })).codes).toEqual(["ENAMETOOLONG"]);
});

test("the model: a file renamed or copied to \"dir/\" fails whatever is at dir (seed 54: it answered rename's EISDIR for an existing directory, node:fs says ENOTDIR)", () => {
  const model = new FilesystemModel();
  model.write("/file.txt", "x", false);
  model.mkdir("/dir", false);
  const file = { value: "/file.txt", shown: "", normalized: "/file.txt" };
  const slashed = { value: "/dir/", shown: "", normalized: "/dir", flaw: "trailing-slash" as const };
  const expectation = withPaths(model, [{ arg: file, role: "any" }, { arg: slashed, role: "create-file" }], () => ({ codes: ["EISDIR"] }));
  expect(expectation.ok).toBeUndefined();
  expect(expectation.codes).toContain("ENOTDIR");
  expect(expectation.codes).toContain("EISDIR");
});
