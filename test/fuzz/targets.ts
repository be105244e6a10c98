// The surfaces a fuzz run covers, with their share of the steps.
import { FlueTarget, JustBashTarget, MastraTarget } from "./adapter-targets.ts";
import { CoreTarget } from "./core-target.ts";
import type { FuzzOptions, FuzzRun, Target } from "./fuzzer.ts";

export function targetsFor(options: FuzzOptions): (run: FuzzRun) => Target[] {
  const surfaces = options.surfaces ?? ["core", "mastra", "just-bash", "flue"];
  return (run) => {
    const targets: Target[] = [];
    if (surfaces.includes("core")) targets.push(new CoreTarget(run, 6));
    if (surfaces.includes("mastra")) targets.push(new MastraTarget(run, 2));
    if (surfaces.includes("just-bash")) targets.push(new JustBashTarget(run, 2));
    if (surfaces.includes("flue")) targets.push(new FlueTarget(run, 1));
    return targets;
  };
}
