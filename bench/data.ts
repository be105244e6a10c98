// Generated content for the workloads: incompressible bytes for data files, and a small source
// tree (text with TODO markers) for the agent workloads. Text is deterministic from its index so
// every subject searches the same tree and must print the same matches.

import { randomBytes } from "node:crypto";
import { seededRandom } from "../src/core.ts";

/** `count` random byte arrays of `size` bytes, carved from one allocation. */
export function randomFiles(count: number, size: number): Uint8Array[] {
  const pool = randomBytes(count * size);
  return Array.from({ length: count }, (_, index) => new Uint8Array(pool.buffer, pool.byteOffset + index * size, size));
}

/** Path of the index-th file in a tree of directories holding `perDirectory` files each. */
export function treePath(root: string, index: number, perDirectory: number): string {
  const directory = Math.floor(index / perDirectory);
  return `${root}/d${String(directory).padStart(4, "0")}/f${String(index % perDirectory).padStart(4, "0")}.txt`;
}

/** A source file of the agent tree: a few lines of code, one in thirty with a TODO. */
export function sourceText(index: number): string {
  const lines = [`// module ${index}`, `export const value${index} = ${index};`, `export function compute${index}(input: number): number {`];
  lines.push(`  return input * ${(index % 7) + 2} + value${index};`, "}");
  if (index % 30 === 3) lines.push(`// TODO(${index}): handle negative input`); // few enough that Mastra does not truncate the output
  lines.push(`export const label${index} = "item-${index}";`, "");
  return lines.join("\n");
}

/** The agent tree: `files` source files spread over `directories` directories, with a README. */
export function sourceTree(files: number, directories: number): { path: string; body: string }[] {
  const tree: { path: string; body: string }[] = [{ path: "README.md", body: "# project\n\nTODO: write the docs\n" }];
  for (let index = 0; index < files - 1; index++) {
    const directory = index % directories;
    tree.push({ path: `src/pkg${String(directory).padStart(3, "0")}/module${index}.ts`, body: sourceText(index) });
  }
  return tree;
}

/** A seeded shuffle (Fisher-Yates). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = seededRandom(seed);
  const out = [...items];
  for (let index = out.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [out[index], out[other]] = [out[other]!, out[index]!];
  }
  return out;
}

/** `count` indexes in [0, range), drawn with a seeded generator. */
export function randomIndexes(count: number, range: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => Math.floor(random() * range));
}
