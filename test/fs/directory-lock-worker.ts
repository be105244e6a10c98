// One contender for a mount's cache-directory lock (directory-lock.test.ts): for each "go" line on
// stdin it tries to take the lock and answers "won" or "lost"; on "release" it lets go of a lock it
// holds; on "quit" it exits. A "go" line names an instant (ms since the epoch) to spin until, so
// both contenders try at once rather than a pipe's latency apart.
import { holdDirectory } from "../../src/mount.ts";
import { FsError } from "../../src/base/errors.ts";
import { eachLine } from "../support/lines.ts";

const directory = process.argv[2]!;
let release: (() => void) | undefined;
await eachLine(Bun.stdin.stream(), (line) => {
  const [command, round, at] = line.split(" ");
  if (command === "go") {
    let answer: string;
    while (performance.timeOrigin + performance.now() < Number(at ?? 0)); // spin: no timer is this precise
    try {
      release = holdDirectory(directory, "contended");
      answer = "won";
    } catch (error) {
      answer = error instanceof FsError && error.code === "EBUSY" ? "lost" : `error ${String(error)}`;
    }
    process.stdout.write(`${round} ${answer}\n`);
  } else if (command === "release") {
    release?.();
    release = undefined;
    process.stdout.write(`${round} released\n`);
  } else if (command === "quit") {
    process.exit(0);
  }
});
