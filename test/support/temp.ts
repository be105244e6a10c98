// Temporary directories that tests clean up after themselves.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];

export function tempDirectory(label: string): string {
  const directory = mkdtempSync(join(tmpdir(), `s3bcfs-${label}-`));
  made.push(directory);
  return directory;
}

export function removeTempDirectories(): void {
  for (const directory of made.splice(0)) rmSync(directory, { recursive: true, force: true });
}
