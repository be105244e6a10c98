// LocalObjectStore's preconditions hold between processes, not just between promises.
import { afterAll, expect, test } from "bun:test";
import { LocalObjectStore } from "../../src/stores/index.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(removeTempDirectories);

test("four processes racing on one directory: one creator wins each slot, and no increment is lost", async () => {
  const root = tempDirectory("local-processes");
  const store = new LocalObjectStore({ root });
  await store.put("counter", new TextEncoder().encode("0"));
  const rounds = 40;
  const increments = 25;
  const workers = [0, 1, 2, 3].map((writer) =>
    Bun.spawn([process.execPath, `${import.meta.dir}/local-store-worker.ts`, root, String(writer), String(rounds), String(increments)], {
      stdout: "pipe",
      stderr: "inherit",
    }),
  );
  await Bun.sleep(300);
  await Bun.write(`${root}/go`, "");
  const outputs = await Promise.all(workers.map(async (worker) => ({ code: await worker.exited, text: await new Response(worker.stdout).text() })));
  for (const output of outputs) expect(output.code).toBe(0);
  const wins = outputs.flatMap((output) => JSON.parse(output.text) as number[]).sort((a, b) => a - b);
  expect(wins).toEqual(Array.from({ length: rounds }, (_, round) => round));
  const counter = new TextDecoder().decode((await store.get("counter")).body);
  expect(Number(counter.split(" ")[0])).toBe(4 * increments);
});
