// Preloaded into a child process (the CLI) by small-disk.ts when no tmpfs can be mounted: the same
// injected ENOSPC past a number of bytes under a directory.
import { limitLocalWrites } from "./small-disk.ts";

const setting = process.env.S3BCFS_SMALL_DISK;
if (setting !== undefined) {
  const { root, bytes } = JSON.parse(setting) as { root: string; bytes: number };
  limitLocalWrites(root, bytes);
}
