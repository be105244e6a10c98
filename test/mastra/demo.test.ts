// `bun run demo:mastra` runs end to end with the real @mastra/core, no network and no credentials.
import { expect, test } from "bun:test";
import { join } from "node:path";

test("the Mastra demo runs: tools, an agent on the mock model, and a remount from a deleted cache", async () => {
  const demo = Bun.spawn([process.execPath, join(import.meta.dir, "../../demos/mastra.ts")], { stdout: "pipe", stderr: "pipe" });
  const [output, errors, code] = await Promise.all([new Response(demo.stdout).text(), new Response(demo.stderr).text(), demo.exited]);
  expect({ code, errors }).toEqual({ code: 0, errors: "" });
  expect(output).toContain("agent: Done: tests noted, summary written.");
  expect(output).toContain("Replaced 1 occurrence in notes/plan.md (lines 2)");
  // After the remount, the agent's edit is read back from the store.
  expect(output.slice(output.indexOf("a new process"))).toContain("2→- wrote tests");
  expect(output).toMatch(/grep \+ list_files \+ read_file again 0$/m);
});
