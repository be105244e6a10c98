// Test processes that talk in JSON lines: the child prints one JSON object a line on stdout, the
// test answers with lines on its stdin. `next(key)` waits for the first message carrying `key`;
// a child that ends without it fails the wait with the end of its stderr.

import { eachLine } from "./lines.ts";

export interface Child {
  name: string;
  process: Bun.Subprocess<"pipe", "pipe", "pipe">;
  messages: Record<string, unknown>[];
  next(key: string): Promise<unknown>;
  say(line: string): void;
}

export function spawnChild(worker: string, job: Record<string, unknown> & { name: string }): Child {
  const child = Bun.spawn([process.execPath, worker, JSON.stringify(job)], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: process.env });
  const messages: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  const stdout = eachLine(child.stdout, (line) => {
    try {
      messages.push(JSON.parse(line));
    } catch {
      // not one of ours
    }
    for (const listener of listeners) listener();
  });
  const stderr = new Response(child.stderr).text();
  return {
    name: job.name,
    process: child,
    messages,
    next: (key) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find((message) => key in message);
          if (found !== undefined) {
            listeners.delete(check);
            resolve(found[key]);
          }
        };
        listeners.add(check);
        check();
        void Promise.all([child.exited, stdout]).then(async ([code]) => {
          if (!messages.some((message) => key in message)) reject(new Error(`${job.name} exited (${code}) without ${key}: ${(await stderr).slice(-3000)}`));
        });
      }),
    say: (line) => {
      child.stdin.write(`${line}\n`);
      child.stdin.flush();
    },
  };
}

/** Kills whichever of `children` still run (after a failed test). */
export function killAll(children: Child[]): void {
  for (const child of children) if (child.process.exitCode === null) child.process.kill("SIGKILL");
}
