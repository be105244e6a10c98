// What the local-state campaigns compare a mount with: a model of every path written (its kind and
// exact bytes), a seeded generator, and a check of everything a reader can see (the list of all
// paths, lstat, readFile, readlink, readdir) that sorts each answer into right, wrong, or an error.

import { FsError } from "../../src/base/errors.ts";
import type { S3CachedFs } from "../../src/core.ts";

export type Entry = { kind: "file"; bytes: Uint8Array } | { kind: "directory" } | { kind: "symlink"; target: string };
export type Model = Map<string, Entry>;

/** A seeded generator: a seed replays the same campaign. */
export { seededRandom as random } from "../../src/stores/random.ts";

export function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

export function randomBytes(next: () => number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset++) bytes[offset] = Math.floor(next() * 256);
  return bytes;
}

/** Small blocks and records: files of several extents, data in records and in packs, a segment per chunk. */
export const layout = { blockBytes: 96, chunkBytes: 1024, largeFileBytes: 2048, inlineRecordBytes: 3000, packBytes: 4096 };

/** Writes a tree whose files look alike (same sizes, different bytes) with `fs`, and returns its model. */
export async function populate(fs: S3CachedFs, next: () => number, files = 30): Promise<Model> {
  const model: Model = new Map([["/", { kind: "directory" }]]);
  const directories = ["/", "/a", "/a/b", "/c", "/e"];
  for (const directory of directories.slice(1)) {
    await fs.mkdir(directory);
    model.set(directory, { kind: "directory" });
  }
  for (let index = 0; index < files; index++) {
    const directory = directories[index % directories.length]!;
    const path = `${directory === "/" ? "" : directory}/file-${String(index).padStart(3, "0")}.bin`;
    const bytes = randomBytes(next, [0, 40, 300, 300, 2500, 5000][index % 6]!);
    if (index % 7 === 3) {
      await fs.transaction(async (tx) => {
        await tx.writeFile(path, bytes.subarray(0, Math.floor(bytes.byteLength / 2)));
        await tx.appendFile(path, bytes.subarray(Math.floor(bytes.byteLength / 2)));
      });
    } else {
      await fs.writeFile(path, bytes);
    }
    model.set(path, { kind: "file", bytes });
  }
  for (let index = 0; index < 4; index++) {
    const path = `/e/link-${index}`;
    const target = index % 2 === 0 ? `/a/file-00${index + 1}.bin` : `../c/missing-${index}`;
    await fs.symlink(target, path);
    model.set(path, { kind: "symlink", target });
  }
  return model;
}

export interface Outcome {
  /** Answers that differ from the model: wrong bytes, a missing or extra entry, a wrong kind or size. */
  wrong: string[];
  /** Errors that are FsErrors saying what local state was damaged, without a host path. */
  reported: string[];
  /** Any other error: not an FsError, a host path in the message, or one that does not say what was damaged. */
  misreported: string[];
}

/** Whether `error` is an FsError that says which local state is damaged and names no host path. */
export function saysWhatWasDamaged(error: unknown, hostRoots: readonly string[]): boolean {
  if (!(error instanceof FsError)) return false;
  if (hostRoots.some((root) => error.message.includes(root)) || /\/tmp\//.test(error.message)) return false;
  return /local (index|cache|disk|copy|file)/.test(error.message);
}

/** Compares everything a reader can see with `model`; `unsettled` paths (a failed write: published or not) are left aside;
 * `reads` chooses the paths read one by one (the list of all paths is always compared whole); `reported` says which
 * errors are an acceptable report of the damage (default: saysWhatWasDamaged). */
export async function check(
  fs: S3CachedFs,
  model: Model,
  hostRoots: readonly string[],
  unsettled: ReadonlySet<string> = new Set(),
  reads?: (path: string) => boolean,
  reported: (error: unknown) => boolean = (error) => saysWhatWasDamaged(error, hostRoots),
): Promise<Outcome> {
  const outcome: Outcome = { wrong: [], reported: [], misreported: [] };
  const attempt = async (what: string, body: () => Promise<void>) => {
    try {
      await body();
    } catch (error) {
      if (reported(error)) outcome.reported.push(`${what}: ${String(error)}`);
      else outcome.misreported.push(`${what}: ${String(error)}`);
    }
  };
  await attempt("allPaths", async () => {
    const paths = [...fs.allPaths()].filter((path) => !unsettled.has(path)).sort();
    const wanted = [...model.keys()].sort();
    if (JSON.stringify(paths) !== JSON.stringify(wanted)) {
      const missing = wanted.filter((path) => !paths.includes(path));
      const extra = paths.filter((path) => !wanted.includes(path));
      outcome.wrong.push(`allPaths: missing [${missing.join(", ")}], extra [${extra.join(", ")}]`);
    }
  });
  for (const [path, entry] of model) {
    if (reads !== undefined && !reads(path)) continue;
    await attempt(`lstat ${path}`, async () => {
      const stats = await fs.lstat(path);
      const kind = stats.isDirectory() ? "directory" : stats.isSymbolicLink() ? "symlink" : "file";
      if (kind !== entry.kind) outcome.wrong.push(`lstat ${path}: ${kind}`);
      if (entry.kind === "file" && stats.size !== entry.bytes.byteLength) outcome.wrong.push(`lstat ${path}: size ${stats.size}`);
    });
    if (entry.kind === "file") {
      await attempt(`readFile ${path}`, async () => {
        const bytes = await fs.readFile(path);
        if (Buffer.compare(bytes, Buffer.from(entry.bytes)) !== 0) outcome.wrong.push(`readFile ${path}: wrong bytes`);
      });
    } else if (entry.kind === "symlink") {
      await attempt(`readlink ${path}`, async () => {
        const target = await fs.readlink(path);
        if (target !== entry.target) outcome.wrong.push(`readlink ${path}: ${target}`);
      });
    } else {
      await attempt(`readdir ${path}`, async () => {
        const names = [...(await fs.readdir(path))].filter((name) => !unsettled.has(`${path === "/" ? "" : path}/${name}`)).sort();
        const prefix = path === "/" ? "/" : `${path}/`;
        const wanted = [...model.keys()]
          .filter((candidate) => candidate.startsWith(prefix) && candidate !== "/" && !candidate.slice(prefix.length).includes("/"))
          .map((candidate) => candidate.slice(prefix.length))
          .sort();
        if (JSON.stringify(names) !== JSON.stringify(wanted)) outcome.wrong.push(`readdir ${path}: [${names.join(", ")}]`);
      });
    }
  }
  return outcome;
}

/** Resolves with the outcome within `ms`, or says the call never settled: no public call may stay pending. */
export async function settles<T>(promise: Promise<T>, what: string, ms = 15_000): Promise<PromiseSettledResult<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<PromiseSettledResult<T>>((resolve) => {
    timer = setTimeout(() => resolve({ status: "rejected", reason: new Error(`PENDING: ${what} never settled`) }), ms);
  });
  try {
    return await Promise.race([Promise.allSettled([promise]).then((results) => results[0]!), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
