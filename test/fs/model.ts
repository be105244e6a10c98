// A tiny in-memory model of the filesystem's rules (POSIX, as the node:fs reference run confirms),
// for model-based tests: the same random operations go to the model and to our filesystem, and
// after each step both must agree on the outcome (the error code) and on the tree. A hard link
// is the same node object under two paths: changes to a file's content or mode are made in place.

export type ModelNode = { kind: "file"; content: string; mode: number } | { kind: "directory"; mode: number };

export class ModelError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

const parts = (path: string) => (path === "/" ? [] : path.slice(1).split("/"));
const parentOf = (path: string) => (path.lastIndexOf("/") <= 0 ? "/" : path.slice(0, path.lastIndexOf("/")));
const within = (path: string, ancestor: string) => path === ancestor || path.startsWith(`${ancestor}/`);

export class FilesystemModel {
  nodes = new Map<string, ModelNode>([["/", { kind: "directory", mode: 0o755 }]]);

  clone(): FilesystemModel {
    const copy = new FilesystemModel();
    const copies = new Map<ModelNode, ModelNode>(); // names of one file stay one file in the copy
    copy.nodes = new Map(
      [...this.nodes].map(([path, node]) => {
        if (!copies.has(node)) copies.set(node, { ...node });
        return [path, copies.get(node)!];
      }),
    );
    return copy;
  }

  /** How many paths name `node` (its hard links). */
  private linkCount(node: ModelNode): number {
    let count = 0;
    for (const other of this.nodes.values()) if (other === node) count++;
    return count;
  }

  /** The node at `path`: ENOENT if a component is missing, ENOTDIR if one is a file. */
  private resolve(path: string): ModelNode {
    let current = "/";
    for (const part of parts(path)) {
      if (this.nodes.get(current)?.kind !== "directory") throw new ModelError("ENOTDIR");
      current = current === "/" ? `/${part}` : `${current}/${part}`;
      if (!this.nodes.has(current)) throw new ModelError("ENOENT");
    }
    return this.nodes.get(current)!;
  }

  /** Where `path` would go: its parent must resolve to a directory. */
  private place(path: string): ModelNode | undefined {
    const parent = this.resolve(parentOf(path));
    if (parent.kind !== "directory") throw new ModelError("ENOTDIR");
    return this.nodes.get(path);
  }

  private children(path: string): string[] {
    return [...this.nodes.keys()].filter((candidate) => candidate !== path && parentOf(candidate) === path);
  }

  private removeTree(path: string): void {
    for (const candidate of [...this.nodes.keys()]) if (within(candidate, path)) this.nodes.delete(candidate);
  }

  private makeDirectories(path: string, lastCode: "EEXIST" | "ENOTDIR"): void {
    let current = "";
    const list = parts(path);
    list.forEach((part, index) => {
      current = `${current}/${part}`;
      const node = this.nodes.get(current);
      if (node === undefined) this.nodes.set(current, { kind: "directory", mode: 0o755 });
      else if (node.kind !== "directory") throw new ModelError(index === list.length - 1 ? lastCode : "ENOTDIR");
    });
  }

  write(path: string, content: string, append: boolean): void {
    if (path === "/") throw new ModelError("EISDIR");
    const parent = parentOf(path);
    let parentNode: ModelNode | undefined;
    try {
      parentNode = this.resolve(parent);
    } catch {
      parentNode = undefined;
    }
    if (parentNode === undefined) this.makeDirectories(parent, "ENOTDIR");
    else if (parentNode.kind !== "directory") throw new ModelError("ENOTDIR");
    const existing = this.nodes.get(path);
    if (existing?.kind === "directory") throw new ModelError("EISDIR");
    if (existing === undefined) this.nodes.set(path, { kind: "file", content, mode: 0o644 });
    else existing.content = append ? existing.content + content : content;
  }

  mkdir(path: string, recursive: boolean): void {
    if (path === "/") {
      if (recursive) return;
      throw new ModelError("EEXIST");
    }
    if (recursive) return this.makeDirectories(path, "EEXIST");
    if (this.place(path) !== undefined) throw new ModelError("EEXIST");
    this.nodes.set(path, { kind: "directory", mode: 0o755 });
  }

  rm(path: string, recursive: boolean, force: boolean): void {
    if (path === "/") throw new ModelError("EPERM");
    let node: ModelNode | undefined;
    try {
      node = this.place(path);
    } catch (error) {
      if (force) return;
      throw error;
    }
    if (node === undefined) {
      if (force) return;
      throw new ModelError("ENOENT");
    }
    if (node.kind === "directory" && !recursive && this.children(path).length > 0) throw new ModelError("ENOTEMPTY");
    this.removeTree(path);
  }

  rename(from: string, to: string): void {
    if (from === "/") throw new ModelError("EBUSY");
    if (to === "/") throw new ModelError("EEXIST");
    const moving = this.place(from);
    if (moving === undefined) throw new ModelError("ENOENT");
    const replaced = this.place(to);
    if (from === to || replaced === moving) return; // two names of one file: rename(2) does nothing
    if (moving.kind === "directory" && within(to, from)) throw new ModelError("EINVAL");
    if (replaced !== undefined) {
      if (moving.kind === "directory" && replaced.kind !== "directory") throw new ModelError("ENOTDIR");
      if (moving.kind !== "directory" && replaced.kind === "directory") throw new ModelError("EISDIR");
      if (replaced.kind === "directory" && this.children(to).length > 0) throw new ModelError("ENOTEMPTY");
      this.removeTree(to);
    }
    for (const [path, node] of [...this.nodes]) {
      if (!within(path, from)) continue;
      this.nodes.delete(path);
      this.nodes.set(to + path.slice(from.length), node);
    }
  }

  copyFile(from: string, to: string, overwrite: boolean): void {
    const source = this.resolve(from);
    if (source.kind === "directory") throw new ModelError("EISDIR");
    const existing = this.place(to);
    if (from === to || existing === source) throw new ModelError("EINVAL");
    if (existing !== undefined) {
      if (existing.kind === "directory") throw new ModelError("EISDIR");
      if (!overwrite) throw new ModelError("EEXIST");
      if (existing.kind === "file" && this.linkCount(existing) > 1) {
        existing.content = source.content; // a file with other names is written in place
        return;
      }
    }
    this.nodes.set(to, { ...source });
  }

  /** link(2): ENOENT for a missing source or directory, EEXIST for a taken name, then EPERM for a directory. */
  link(from: string, to: string): void {
    if (from === "/") throw new ModelError(to === "/" ? "EEXIST" : "EPERM");
    const source = this.place(from);
    if (source === undefined) throw new ModelError("ENOENT");
    if (to === "/" || this.place(to) !== undefined) throw new ModelError("EEXIST");
    if (source.kind === "directory") throw new ModelError("EPERM");
    this.nodes.set(to, source);
  }

  chmod(path: string, mode: number): void {
    this.resolve(path).mode = mode;
  }

  /** "path kind mode size links" lines, sorted: what a walk of our filesystem must match. */
  listing(): string[] {
    return [...this.nodes]
      .filter(([path]) => path !== "/")
      .map(([path, node]) => `${path} ${node.kind} ${node.mode.toString(8)} ${node.kind === "file" ? `${Buffer.byteLength(node.content)} ${this.linkCount(node)}` : "- -"}`)
      .sort();
  }

  files(): [string, string][] {
    return [...this.nodes].filter((entry): entry is [string, ModelNode & { kind: "file" }] => entry[1].kind === "file").map(([path, node]) => [path, node.content]);
  }
}
