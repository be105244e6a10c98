// One directory of many small files written in one transaction (so in one object, in name order):
// what the read-ahead tests read cold, in whatever pattern they test.
import { testWorkspace, type Backend, type TestWorkspace } from "./mounts.ts";

export const KiB = 1024;
/** The first read-ahead window's floor: the reader's coalescing gap (its default). */
export const initialWindow = 64 * KiB;
export const fileBytes = 10 * KiB;
export const files = 400;

export const name = (index: number) => `/dir/file${String(index).padStart(4, "0")}.bin`;

/** `files` files of `fileBytes` in one directory, written in one transaction (in name order, as a tree usually is). */
export async function seeded(backend: Backend, label: string): Promise<TestWorkspace> {
  const workspace = await testWorkspace(backend, label);
  const writer = await workspace.mount();
  await writer.transaction(async (tx) => {
    for (let index = 0; index < files; index++) await tx.writeFile(name(index), new Uint8Array(fileBytes).fill(index % 251));
  });
  await writer.close();
  return workspace;
}
