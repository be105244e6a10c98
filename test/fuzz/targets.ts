// The surfaces a fuzz run covers, with their share of the steps.
import { CoreTarget } from "./core-target.ts";
import type { FuzzOptions, FuzzRun, Target } from "./fuzzer.ts";

export function targetsFor(options: FuzzOptions): (run: FuzzRun) => Target[] {
  const surfaces = options.surfaces ?? ["core", "mastra", "just-bash", "flue"];
  return (run) => {
    const targets: Target[] = [];
    if (surfaces.includes("core")) targets.push(new CoreTarget(run, 6));
    return targets;
  };
}
