// Running the command line as users do: `bun src/cli.ts ...` in a real subprocess, with its exit
// status, stdout and stderr.
import { join } from "node:path";

export const repository = join(import.meta.dir, "..", "..");

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export async function cli(args: string[], options: { env?: Record<string, string | undefined>; stdin?: Uint8Array | string; bunArgs?: string[] } = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...options.env })) if (value !== undefined) env[key] = value;
  const child = Bun.spawn([process.execPath, ...(options.bunArgs ?? []), join(repository, "src", "cli.ts"), ...args], {
    cwd: repository,
    env,
    stdin: options.stdin === undefined ? "ignore" : typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, status] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { status, stdout, stderr };
}
