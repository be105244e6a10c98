// The suite's reference subject: a real directory through node:fs. It only adapts the API's shape
// (the virtual root is a temp directory; writes create missing parents, as ours do; rm of
// an empty directory without recursive is rmdir, as `rm -d`), never the errors: those are the
// kernel's, which is what keeps our filesystem's errno expectations honest.

import { constants } from "node:fs";
import * as fs from "node:fs/promises";
import { dirname, join } from "node:path";
import { normalizePath } from "../../src/base/paths.ts";
import type { SuiteFs } from "./fs-suite.ts";

export function nodeReference(root: string): SuiteFs {
  const real = (path: string) => join(root, normalizePath(path, "open"));
  const virtual = (path: string) => {
    const relative = path.slice(root.length);
    return relative === "" ? "/" : relative;
  };
  const bytes = async (data: string | Uint8Array | ArrayBuffer | Blob | Response | ReadableStream<Uint8Array>) =>
    typeof data === "string" || data instanceof Uint8Array
      ? data
      : new Uint8Array(await (data instanceof Response ? data : new Response(data as Blob)).arrayBuffer());
  const withParents = async <T>(path: string, write: () => Promise<T>): Promise<T> => {
    try {
      return await write();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      await fs.mkdir(dirname(real(path)), { recursive: true });
      return write();
    }
  };
  const reference: SuiteFs = {
    stat: (path) => fs.stat(real(path)),
    lstat: (path) => fs.lstat(real(path)),
    exists: (path) =>
      fs.stat(real(path)).then(
        () => true,
        () => false,
      ),
    readdir: ((path: string, options?: { withFileTypes: true }) => (options?.withFileTypes ? fs.readdir(real(path), { withFileTypes: true }) : fs.readdir(real(path)))) as SuiteFs["readdir"],
    readFile: (path) => fs.readFile(real(path)),
    readText: (path) => fs.readFile(real(path), "utf8"),
    readRange: async (path, offset, length) => {
      const handle = await fs.open(real(path), "r");
      try {
        const buffer = new Uint8Array(length);
        const { bytesRead } = await handle.read(buffer, 0, length, offset);
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
    writeFile: async (path, data, options = {}) => {
      const content = await bytes(data);
      await withParents(path, () => fs.writeFile(real(path), content, options.mode === undefined ? {} : { mode: options.mode }));
      if (options.mode !== undefined) await fs.chmod(real(path), options.mode); // not masked by the umask, as ours
    },
    appendFile: (path, data) => withParents(path, () => fs.appendFile(real(path), data)),
    mkdir: async (path, options = {}) => {
      await fs.mkdir(real(path), options);
      if (options.mode !== undefined) await fs.chmod(real(path), options.mode);
    },
    rm: async (path, options = {}) => {
      const info = await fs.lstat(real(path)).catch((error: NodeJS.ErrnoException) => {
        if (options.force && (error.code === "ENOENT" || error.code === "ENOTDIR")) return undefined;
        throw error;
      });
      if (info === undefined) return;
      if (info.isDirectory() && !options.recursive) await fs.rmdir(real(path));
      else await fs.rm(real(path), options);
    },
    rename: (from, to) => fs.rename(real(from), real(to)),
    copyFile: async (from, to, options = {}) => {
      // Bun's copyFile answers ENOTSUP for a directory source where Node and Linux say EISDIR.
      if ((await fs.stat(real(from)).catch(() => undefined))?.isDirectory()) {
        throw Object.assign(new Error(`EISDIR: illegal operation on a directory, copyfile '${from}' -> '${to}'`), { code: "EISDIR" });
      }
      await fs.copyFile(real(from), real(to), options.overwrite === false ? constants.COPYFILE_EXCL : 0);
    },
    symlink: (target, path) => fs.symlink(target.startsWith("/") ? join(root, target) : target, real(path)),
    readlink: async (path) => {
      const target = await fs.readlink(real(path));
      return target.startsWith(root) ? virtual(target) : target;
    },
    realpath: async (path) => virtual(await fs.realpath(real(path))),
    chmod: (path, mode) => fs.chmod(real(path), mode),
    utimes: (path, atime, mtime) => fs.utimes(real(path), atime, mtime),
    lutimes: (path, atime, mtime) => fs.lutimes(real(path), atime, mtime),
    link: (existingPath, newPath) => fs.link(real(existingPath), real(newPath)),
  };
  return reference;
}
