// A small disk for full-disk tests: a tmpfs of the given size where the test may mount one (as
// root), else an ordinary directory whose writes through src/base/local-files.ts fail with ENOSPC once a
// file holds `bytes` (an injected write layer, so the test runs either way).

import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { localWrites } from "../../src/base/local-files.ts";
import { tempDirectory } from "./temp.ts";

export interface SmallDisk {
  root: string;
  /** Whether `root` is a real tmpfs (else the write layer is injected). */
  real: boolean;
  /** Environment for a child process (the CLI): the same limit, injected by a preload, when not real. */
  childArgs: string[];
  childEnv: Record<string, string>;
  release(): void;
}

export function smallDisk(label: string, bytes: number): SmallDisk {
  const root = join(tempDirectory(`disk-${label}`), "disk");
  mkdirSync(root);
  // S3BCFS_NO_TMPFS=1 tries the injected layer where a tmpfs could be mounted.
  const mounted = process.env.S3BCFS_NO_TMPFS === "1" ? undefined : Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", root], { stdout: "ignore", stderr: "ignore" });
  if (mounted?.exitCode === 0) {
    return {
      root,
      real: true,
      childArgs: [],
      childEnv: {},
      release: () => {
        Bun.spawnSync(["umount", "-l", root], { stdout: "ignore", stderr: "ignore" });
        rmSync(root, { recursive: true, force: true });
      },
    };
  }
  const restore = limitLocalWrites(root, bytes);
  return {
    root,
    real: false,
    childArgs: ["--preload", join(import.meta.dir, "small-disk-preload.ts")],
    childEnv: { S3BCFS_SMALL_DISK: JSON.stringify({ root, bytes }) },
    release: restore,
  };
}

/**
 * Makes writes through src/base/local-files.ts under `root` fail with ENOSPC once one file holds
 * `bytes` (a disk with that much room for each copy: removed copies give their room back).
 */
export function limitLocalWrites(root: string, bytes: number): () => void {
  const original = localWrites.write;
  const used = new Map<string, number>();
  localWrites.write = async (handle, data, path) => {
    if (!path.startsWith(`${root}/`)) return original(handle, data, path);
    const room = Math.max(0, bytes - (used.get(path) ?? 0));
    if (room === 0) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" });
    const written = await original(handle, data.subarray(0, Math.min(room, data.byteLength)), path);
    used.set(path, (used.get(path) ?? 0) + written);
    return written;
  };
  return () => {
    localWrites.write = original;
  };
}
