// Fixtures for the just-bash adapter tests: a mounted filesystem on LocalObjectStore or Ceph RGW
// (with a recording CountingStore underneath, so a test can see which keys were written), a shell
// over it, and remounting afresh from a deleted cache directory.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CountingStore, type MountConfig, type ObjectStore, type S3CachedFs } from "../../src/core.ts";
import { createAcceleratedJustBashShell, type AcceleratedJustBashShell, type AcceleratedJustBashShellOptions } from "../../src/just-bash/index.ts";
import { testWorkspace, wipeCache, type Backend, type TestWorkspace } from "../support/mounts.ts";

export const WORKSPACE = "/workspace";

export interface ShellFixture {
  workspace: TestWorkspace;
  /** The core filesystem under the shell. */
  filesystem: S3CachedFs;
  shell: AcceleratedJustBashShell;
  /** Every request the mount made, with its key (a CountingStore in recording mode under the mount's own). */
  recorder: CountingStore;
  /** Closes the shell's mount. */
  close(): Promise<void>;
}

type ShellSettings = Omit<AcceleratedJustBashShellOptions, "filesystem" | "mount" | "manager">;

/** A fresh workspace, mounted read-write, with a shell at /workspace. */
export async function shellFixture(
  label: string,
  settings: ShellSettings = {},
  config: Partial<MountConfig> = {},
  wrap?: (store: ObjectStore) => ObjectStore,
  backend: Backend = "local",
): Promise<ShellFixture> {
  const workspace = await testWorkspace(backend, label);
  let recorder: CountingStore | undefined;
  const filesystem = await workspace.mount(config, {
    wrap: (store) => {
      recorder = new CountingStore(wrap === undefined ? store : wrap(store), { record: true });
      return recorder;
    },
  });
  const shell = await createAcceleratedJustBashShell({ filesystem, cwd: WORKSPACE, ...settings });
  return { workspace, filesystem, shell, recorder: recorder!, close: () => filesystem.close() };
}

/** Mounts the workspace again from a brand-new (empty) cache directory: what survives is in the store. */
export async function remountCold(workspace: TestWorkspace, config: Partial<MountConfig> = {}): Promise<S3CachedFs> {
  const cacheRoot = workspace.freshCacheRoot();
  wipeCache(cacheRoot);
  return workspace.mount({ mode: "readonly", ...config }, { cacheRoot });
}

/** Every object file under a LocalObjectStore root, read whole (to check what reached the "bucket"). */
export function storedObjects(workspace: TestWorkspace): { key: string; bytes: Buffer }[] {
  const root = workspace.describe.replace(/^local:/, "");
  const out: { key: string; bytes: Buffer }[] = [];
  const walk = (directory: string) => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) out.push({ key: path.slice(root.length + 1), bytes: readFileSync(path) });
    }
  };
  walk(root);
  return out;
}

/** Commits and requests made while `work` runs. */
export async function measure<T>(filesystem: S3CachedFs, work: () => Promise<T>): Promise<{ result: T; commits: number; requests: number; puts: number; gets: number }> {
  const before = filesystem.stats();
  const result = await work();
  const after = filesystem.stats();
  return {
    result,
    commits: (after.commits?.commits ?? 0) - (before.commits?.commits ?? 0),
    requests: after.requests.total.requests - before.requests.total.requests,
    puts: after.requests.put.requests - before.requests.put.requests,
    gets: after.requests.get.requests - before.requests.get.requests,
  };
}
