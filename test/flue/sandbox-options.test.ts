// The Flue sandbox factory's options from the user's side: a misspelt key (at the top or inside
// `shell` / `grep`) is refused when the factory is made, naming it, as the core and the Mastra
// adapter do.

import { describe, expect, test } from "bun:test";
import { FsError } from "../../src/core.ts";
import { acceleratedFsSandbox, type AcceleratedFsSandboxOptions } from "../../src/flue/index.ts";
import { tempDirectory } from "../support/temp.ts";

function attempt(options: Record<string, unknown>): unknown {
  try {
    acceleratedFsSandbox({ mount: { prefix: "agents" }, managerConfig: { cacheRoot: tempDirectory("flue-options") }, ...options } as AcceleratedFsSandboxOptions);
    return undefined;
  } catch (error) {
    return error;
  }
}

describe("acceleratedFsSandbox options", () => {
  test("an unknown top-level option (cwdd) is refused with EINVAL naming the key", () => {
    const error = attempt({ cwdd: "/work" });
    expect(error).toBeInstanceOf(FsError);
    expect((error as FsError).code).toBe("EINVAL");
    expect((error as FsError).message).toContain("cwdd: unknown option");
  });

  test("an unknown key inside shell or grep is refused, named with its path", () => {
    expect((attempt({ shell: { timeoutMss: 10 } }) as FsError).message).toContain("shell.timeoutMss: unknown option");
    expect((attempt({ grep: { maxFileByte: 10 } }) as FsError).message).toContain("grep.maxFileByte: unknown option");
  });

  test("the options the factory documents are accepted", () => {
    expect(attempt({ cwd: "/w", shell: { env: { A: "1" }, timeoutMs: 1000, commit: "per-write" }, grep: { maxFileBytes: 10, readAhead: 2 } })).toBeUndefined();
  });
});
