// An app in a temporary directory that has this package installed, as a user's app has it:
// node_modules/s3-bun-cached-fs links to this repository, and every package of the repository's
// node_modules (the frameworks among them) is linked beside it. Scripts written into the app
// import the package by its public names and run under Bun as the user runs them.
import { mkdirSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDirectory } from "./temp.ts";

export const repository = realpathSync(join(import.meta.dir, "..", ".."));

export interface TempApp {
  directory: string;
  /** Writes `source` to `file` in the app and runs it with Bun; `env` replaces the environment. */
  run(file: string, source: string, env?: Record<string, string | undefined>, timeoutMs?: number): Promise<{ exitCode: number | null; stdout: string; stderr: string }>;
}

export function tempApp(label: string): TempApp {
  const directory = tempDirectory(label);
  const modules = join(directory, "node_modules");
  mkdirSync(modules);
  writeFileSync(join(directory, "package.json"), JSON.stringify({ name: `${label}-app`, private: true, type: "module" }));
  symlinkSync(repository, join(modules, "s3-bun-cached-fs"));
  const installed = realpathSync(join(repository, "node_modules"));
  for (const name of readdirSync(installed)) {
    if (name === "s3-bun-cached-fs" || name === ".bin") continue;
    symlinkSync(join(installed, name), join(modules, name));
  }
  return {
    directory,
    async run(file, source, env = process.env, timeoutMs = 240_000) {
      writeFileSync(join(directory, file), source);
      const child = Bun.spawn([process.execPath, file], { cwd: directory, env, stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
      const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      return { exitCode, stdout, stderr };
    },
  };
}
