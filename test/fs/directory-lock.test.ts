// The cache-directory lock, taken by real processes racing for it: in every round exactly one
// wins, and a lock whose holder is gone (released, or its process killed) can be taken at once.
// LOCK_ROUNDS sets the number of rounds (default 100).
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { eachLine } from "../support/lines.ts";

afterAll(removeTempDirectories);

const worker = join(import.meta.dir, "directory-lock-worker.ts");
const rounds = Number(process.env.LOCK_ROUNDS ?? 100);

interface Contender {
  send(line: string): void;
  /** The next answer line for `round`. */
  answer(round: number): Promise<string>;
  process: ReturnType<typeof Bun.spawn>;
}

function contender(directory: string): Contender {
  const child = Bun.spawn([process.execPath, worker, directory], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const lines: string[] = [];
  const waiting: (() => void)[] = [];
  void eachLine(child.stdout as ReadableStream<Uint8Array>, (line) => {
    lines.push(line);
    for (const wake of waiting.splice(0)) wake();
  });
  return {
    process: child,
    send: (line) => {
      (child.stdin as import("bun").FileSink).write(`${line}\n`);
      (child.stdin as import("bun").FileSink).flush();
    },
    answer: async (round) => {
      for (;;) {
        const index = lines.findIndex((line) => line.startsWith(`${round} `));
        if (index >= 0) return lines.splice(index, 1)[0]!.slice(String(round).length + 1);
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
    },
  };
}

test(`two processes racing for the cache-directory lock: exactly one wins each of ${rounds} rounds`, async () => {
  const directory = tempDirectory("lock");
  const contenders = [contender(directory), contender(directory)];
  const wins = [0, 0];
  try {
    for (let round = 0; round < rounds; round++) {
      const at = performance.timeOrigin + performance.now() + 20; // both try at this instant
      for (const each of contenders) each.send(`go ${round} ${at}`);
      const answers = await Promise.all(contenders.map((each) => each.answer(round)));
      expect(answers.filter((answer) => answer !== "won" && answer !== "lost")).toEqual([]);
      expect(answers.filter((answer) => answer === "won").length).toBe(1);
      answers.forEach((answer, index) => answer === "won" && wins[index]!++);
      for (const each of contenders) each.send(`release ${round}`);
      await Promise.all(contenders.map((each) => each.answer(round)));
    }
    // Both took it at some point: the lock is free again after each release.
    expect(wins[0]! + wins[1]!).toBe(rounds);
  } finally {
    for (const each of contenders) each.send("quit 0");
    await Promise.all(contenders.map((each) => each.process.exited));
  }
}, 240_000);

test("a lock held by a killed process is taken at once by the next one", async () => {
  const directory = tempDirectory("lock-killed");
  const first = contender(directory);
  first.send("go 0");
  expect(await first.answer(0)).toBe("won");
  const second = contender(directory);
  second.send("go 0");
  expect(await second.answer(0)).toBe("lost");
  first.process.kill("SIGKILL");
  await first.process.exited;
  second.send("go 1");
  expect(await second.answer(1)).toBe("won");
  second.send("quit 0");
  await second.process.exited;
}, 60_000);
