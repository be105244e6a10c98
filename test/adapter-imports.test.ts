// Each adapter is a thin folder over the public core API (docs/design.md: adapters import only
// src/core.ts, never core internals), its framework's package and node: built-ins; this scan keeps
// every adapter so. An adapter may also build on another adapter's public entry (Flue on just-bash).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface Adapter {
  folder: string;
  /** Imports allowed besides ../core.ts, node: built-ins and the folder's own modules. */
  frameworks: string[];
  /** Imports every file of the folder together must make (so the scan cannot pass on an empty folder). */
  required: string[];
}

const adapters: Adapter[] = [
  { folder: "just-bash", frameworks: ["just-bash"], required: ["../core.ts", "just-bash"] },
  { folder: "mastra", frameworks: ["@mastra/core/workspace"], required: ["../core.ts", "@mastra/core/workspace"] },
  { folder: "flue", frameworks: ["@flue/runtime", "just-bash", "../just-bash/index.ts"], required: ["../core.ts", "../just-bash/index.ts", "@flue/runtime"] },
];

function importsOf(folder: string): Set<string> {
  const directory = join(import.meta.dir, "../src", folder);
  const imported = new Set<string>();
  for (const file of readdirSync(directory).filter((name) => name.endsWith(".ts"))) {
    const source = readFileSync(join(directory, file), "utf8");
    for (const match of source.matchAll(/\bfrom\s+"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/g)) imported.add(match[1] ?? match[2] ?? "");
  }
  return imported;
}

describe("adapters import only the public core API", () => {
  for (const adapter of adapters) {
    test(`src/${adapter.folder} imports only ../core.ts, ${adapter.frameworks.join(", ")}, node: built-ins and its own modules`, () => {
      const imported = importsOf(adapter.folder);
      const allowed = (specifier: string) =>
        specifier === "../core.ts" || adapter.frameworks.includes(specifier) || specifier.startsWith("node:") || /^\.\/[a-z-]+\.ts$/.test(specifier);
      expect([...imported].filter((specifier) => !allowed(specifier))).toEqual([]);
      for (const specifier of adapter.required) expect(imported.has(specifier)).toBe(true);
    });
  }
});
