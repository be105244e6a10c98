// Baseline: the machine's own disk through node:fs, no network at all (and, as node:fs's
// writeFile does, no fsync: the file is in the page cache when the call resolves). It bounds
// from below what any remote filesystem can do on this machine.

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { mkdir, open, readdir, readFile, stat, writeFile, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export class LocalDiskFiles {
  readonly root: string;

  constructor(label: string) {
    this.root = mkdtempSync(join(tmpdir(), `s3bcfs-bench-${label}-`));
  }

  path(path: string): string {
    return join(this.root, path.replace(/^\/+/, ""));
  }

  async write(path: string, body: Uint8Array | string): Promise<void> {
    await writeFile(this.path(path), body);
  }

  /** Writes, creating the parent directory first. */
  async writeCreating(path: string, body: Uint8Array | string): Promise<void> {
    const full = this.path(path);
    mkdirSync(dirname(full), { recursive: true });
    await writeFile(full, body);
  }

  async read(path: string): Promise<Uint8Array> {
    return readFile(this.path(path));
  }

  /** Reads the first `size` bytes in `piece`-sized reads through one file handle, in order. */
  async readPieces(path: string, size: number, piece: number): Promise<number> {
    const handle = await open(this.path(path), "r");
    try {
      let total = 0;
      for (let offset = 0; offset < size; offset += piece) {
        const length = Math.min(piece, size - offset);
        total += (await handle.read(new Uint8Array(length), 0, length, offset)).bytesRead;
      }
      return total;
    } finally {
      await handle.close();
    }
  }

  async stat(path: string): Promise<number> {
    return (await stat(this.path(path))).size;
  }

  async exists(path: string): Promise<boolean> {
    return access(this.path(path)).then(
      () => true,
      () => false,
    );
  }

  async readdir(path: string): Promise<string[]> {
    return (await readdir(this.path(path), { withFileTypes: true })).map((entry) => entry.name);
  }

  /** The files below `path`, found by a recursive readdir. */
  async walk(path: string): Promise<number> {
    return (await readdir(this.path(path), { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).length;
  }

  async mkdir(path: string): Promise<void> {
    await mkdir(this.path(path), { recursive: true });
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
