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
