// The Flue adapter is a thin folder over the public core API and the just-bash adapter's public
// entry (SPEC: adapters import only the public core API, never core internals): this scan keeps it so.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const folder = join(import.meta.dir, "../../src/flue");

test("src/flue imports only ../core.ts, ../just-bash/index.ts, @flue/runtime, node: built-ins and its own modules", () => {
  const imported = new Set<string>();
  for (const file of readdirSync(folder).filter((name) => name.endsWith(".ts"))) {
    const source = readFileSync(join(folder, file), "utf8");
    for (const match of source.matchAll(/\bfrom\s+"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/g)) imported.add(match[1] ?? match[2] ?? "");
  }
  const allowed = (specifier: string) =>
    specifier === "../core.ts" || specifier === "../just-bash/index.ts" || specifier === "@flue/runtime" || specifier === "just-bash" || specifier.startsWith("node:") || /^\.\/[a-z-]+\.ts$/.test(specifier);
  expect([...imported].filter((specifier) => !allowed(specifier))).toEqual([]);
  expect(imported.has("../core.ts")).toBe(true);
  expect(imported.has("../just-bash/index.ts")).toBe(true);
  expect(imported.has("@flue/runtime")).toBe(true);
});
