// The command line as an operator uses it every day, as a real subprocess on a local store: piped
// into other tools, mistyped, stopped, and changing the filesystem one commit per command.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { cli, repository } from "./run-cli.ts";

afterAll(removeTempDirectories);

const MiB = 1024 * 1024;

function workspace(label: string) {
  const bucket = tempDirectory(`cli-op-${label}`);
  return { bucket, at: ["--local", bucket, "--prefix", "ws/main"] };
}

/** Runs the CLI with stdout a pipe that is closed after `keep` bytes, as `| head -c <keep>` does. */
async function closedAfter(keep: number, args: string[]): Promise<{ status: number; stderr: string; read: number }> {
  const child = Bun.spawn([process.execPath, join(repository, "src", "cli.ts"), ...args], { cwd: repository, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  let read = 0;
  while (read < keep) {
    const { done, value } = await reader.read();
    if (done) break;
    read += value.length;
  }
  await reader.cancel();
  return { status: await child.exited, stderr: await stderr, read };
}

describe("cli: a closed pipe", () => {
  test("cat and ls into a pipe closed early end quietly with 141, as a tool killed by SIGPIPE", async () => {
    const { at } = workspace("pipe");
    const big = join(tempDirectory("cli-op-pipe-src"), "big.bin");
    writeFileSync(big, new Uint8Array(20 * MiB).map((_, index) => (index * 31) & 0xff));
    expect((await cli(["put", big, "/big.bin", ...at])).status).toBe(0);
    const cat = await closedAfter(10, ["cat", "/big.bin", ...at]);
    expect(cat.read).toBeGreaterThanOrEqual(10);
    expect(cat.stderr).toBe("");
    expect(cat.status).toBe(141);
    const many = tempDirectory("cli-op-pipe-many");
    for (let index = 0; index < 3000; index++) writeFileSync(join(many, `file-with-a-long-name-${String(index).padStart(5, "0")}.txt`), "");
    expect((await cli(["import", many, "/many", ...at])).status).toBe(0);
    const ls = await closedAfter(10, ["ls", "-l", "/many", ...at]);
    expect(ls.stderr).toBe("");
    expect(ls.status).toBe(141); // 3000 lines do not fit in the pipe
  }, 120_000);
});

describe("cli: usage errors", () => {
  test("an unknown flag is named, the nearest known one suggested, the command's usage line printed; exit 2", async () => {
    const at = ["--local", tempDirectory("cli-op-usage"), "--prefix", "ws/main"];
    const typo = await cli(["ls", "/", "--recursve", ...at]);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain("unknown option --recursve");
    expect(typo.stderr).toContain("did you mean --recursive?");
    expect(typo.stderr).toContain("Usage: s3-bun-cached-fs ls [path]");
    expect(typo.stderr).not.toContain("positional"); // not the runtime's own message
    const global = await cli(["cat", "/a", "--bukcet", "b"]);
    expect(global.status).toBe(2);
    expect(global.stderr).toContain("unknown option --bukcet (did you mean --bucket?)");
    expect(global.stderr).toContain("Usage: s3-bun-cached-fs cat <path>...");
    const gc = await cli(["gc", "--delte", ...at]);
    expect(gc.stderr).toContain("did you mean --delete?");
    const far = await cli(["ls", "--zzzzzzzzzz", ...at]);
    expect(far.status).toBe(2);
    expect(far.stderr).toContain("unknown option --zzzzzzzzzz");
    expect(far.stderr).not.toContain("did you mean");
    const short = await cli(["ls", "-q", ...at]);
    expect(short.status).toBe(2);
    expect(short.stderr).toContain("unknown option -q");
    const missing = await cli(["put", "-", "/a", "--mode", ...at.slice(0, 0)]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("--mode needs a value");
    expect(missing.stderr).toContain("Usage: s3-bun-cached-fs put ");
    const valued = await cli(["ls", "--json=yes", ...at]);
    expect(valued.status).toBe(2);
    expect(valued.stderr).toContain("--json takes no value");
    const noArgs = await cli(["cat", ...at]);
    expect(noArgs.status).toBe(2);
    expect(noArgs.stderr).toContain("Usage: s3-bun-cached-fs cat <path>...");
    for (const result of [typo, global, gc, far, short, missing, valued, noArgs]) expect(result.stdout).toBe("");
  }, 120_000);

  test("every command's --help lists every flag it accepts, one line each", async () => {
    const { commands, globalOptions } = await import("../../src/cli.ts");
    for (const [name, command] of Object.entries(commands)) {
      const help = await cli([name, "--help"]);
      expect(help.status).toBe(0);
      const lines = help.stdout.split("\n");
      for (const [flag, spec] of Object.entries({ ...globalOptions, ...command.options })) {
        const line = lines.find((text) => new RegExp(`^\\s+(?:-\\w, |--[\\w-]+, )*--${flag}(?![\\w-])`).test(text));
        expect(`${name} --${flag}: ${line === undefined ? "missing" : "listed"}`).toBe(`${name} --${flag}: listed`);
        if (spec.short !== undefined) expect(line).toContain(`-${spec.short}, --${flag}`);
      }
    }
  }, 120_000);
});
