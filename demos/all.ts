// bun run demo:all — runs the four demos in turn (core, Mastra, just-bash, Flue), each as its own
// process (`bun demos/<name>.ts`, as `bun run demo:<name>` does), and fails if any of them fails.

import { join } from "node:path";

const demos = ["core", "mastra", "just-bash", "flue"] as const;
const failed: string[] = [];

for (const name of demos) {
  console.log(`\n######## demo:${name}\n`);
  const started = performance.now();
  const child = Bun.spawn([process.execPath, join(import.meta.dir, `${name}.ts`)], { stdout: "inherit", stderr: "inherit" });
  const code = await child.exited;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`\n######## demo:${name} ${code === 0 ? "passed" : `FAILED (exit code ${code})`} in ${seconds} s`);
  if (code !== 0) failed.push(name);
}

if (failed.length > 0) {
  console.error(`\ndemo:all: ${failed.length} of ${demos.length} demos failed: ${failed.join(", ")}`);
  process.exit(1);
}
console.log(`\ndemo:all: all ${demos.length} demos passed`);
