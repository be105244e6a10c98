// Which workspace a Flue sandbox instance gets, and the open mounts behind them.
//
// Flue calls `createSandbox({ id })` once per submission (every message), with the instance id,
// and usually on a factory object made afresh by each render of the agent function. So mounts
// cannot belong to one factory object: they are kept here, for the whole process, keyed by what
// names a mount's local state (the manager's cache root and the mount name), and shared by every
// factory that asks for the same instance. Two handles on one mount would fight over its writer
// lease; one shared handle is the only correct way for two factories to reach the same files.
//
// The mapping from instance id to workspace (documented in README.md):
// - a `mount` object: one workspace per id, under `<prefix>/<id>` and named `<name>/<id>`;
// - a `mount` function: whatever workspace the caller's function returns for the id;
// - a `filesystem`: one workspace shared by every id (the caller asked for it explicitly).
// A storeFactory that ignores `config.prefix` would quietly put every instance in one store; the
// guard below refuses a store that has already been handed out for another prefix.

import { FsError, defaultMountName, type ManagerOptions, type MountConfig, type ResolvedMountConfig, type S3CachedFs, S3CachedFsManagerImpl } from "../core.ts";

/** How an instance id becomes a mount config: a base config (one prefix per id), or the caller's function. */
export type InstanceMount = MountConfig | ((id: string) => MountConfig);

interface OpenWorkspace {
  /** The mount, once open (shared by everyone who asks while it opens). */
  filesystem: Promise<S3CachedFs>;
  /** False when the mount was already open on the caller's manager: then it is never closed here. */
  owned: boolean;
  /** The factories holding it; the mount closes when the last one is closed. */
  holders: Set<object>;
  /** Where its files are (bucket, endpoint, prefix, mode), to refuse a different workspace under the same name. */
  identity: string;
}

/** Open workspaces of the whole process, by cache root and mount name. */
const openWorkspaces = new Map<string, OpenWorkspace>();
/** Which prefix each store (by its description) was created for, for the whole process. */
const storePrefixes = new Map<string, string>();

/** The mount config for instance `id`: its own prefix and name under the base config, or the caller's mapping. */
export function instanceMountConfig(mount: InstanceMount, id: string): MountConfig & { name: string } {
  if (typeof id !== "string" || id === "") throw new FsError("EINVAL", "mount", { detail: `invalid sandbox instance id ${JSON.stringify(id)}: expected a non-empty string` });
  if (typeof mount === "function") {
    const config = mount(id);
    const name = config.name ?? defaultMountName(config);
    if (name === undefined) throw new FsError("EINVAL", "mount", { detail: `invalid mount config for sandbox instance ${JSON.stringify(id)}: give a name or a bucket` });
    return { ...config, name };
  }
  const segment = idSegment(id);
  const base = mount.name ?? defaultMountName(mount) ?? "flue";
  const prefix = [trimSlashes(mount.prefix ?? ""), segment].filter((part) => part !== "").join("/");
  return { ...mount, prefix, name: `${base}/${segment}` };
}

/**
 * Opens (or joins) the mount for `config` on `manager`, held by `holder` until `releaseWorkspaces`.
 * A mount already open under the same cache root and name is shared, whichever factory opened it.
 */
export async function acquireWorkspace(manager: S3CachedFsManagerImpl, config: MountConfig & { name: string }, holder: object): Promise<S3CachedFs> {
  const key = `${manager.cacheRoot}\u0000${config.name}`;
  for (;;) {
    let entry = openWorkspaces.get(key);
    if (entry === undefined) {
      const mounted = manager.get(config.name);
      const owned = mounted === undefined || mounted.closed;
      const filesystem = (owned ? manager.mount(config) : Promise.resolve(mounted)).then(async (opened) => {
        try {
          claimStore(opened.stats().store, config.prefix ?? "");
        } catch (error) {
          if (owned) await opened.close().catch(() => {});
          throw error;
        }
        return opened;
      });
      const opening: OpenWorkspace = { filesystem, owned, holders: new Set(), identity: identityOf(config) };
      openWorkspaces.set(key, opening);
      filesystem.catch(() => {
        if (openWorkspaces.get(key) === opening) openWorkspaces.delete(key);
      });
      entry = opening;
    }
    const filesystem = await entry.filesystem;
    if (filesystem.closed) {
      // Closed behind our back (the caller's manager.closeAll()): open it again.
      if (openWorkspaces.get(key) === entry) openWorkspaces.delete(key);
      continue;
    }
    // Sharing the open mount for another workspace, or another mode, would quietly hand out the wrong
    // files, or give a reader write access. (A mount the caller opened on its own manager is only
    // known by its mode.)
    const identity = identityOf(config);
    const mismatch = entry.owned ? entry.identity !== identity : filesystem.mode !== (config.mode ?? "readwrite");
    if (mismatch) {
      throw new FsError("EBUSY", "mount", {
        path: config.name,
        detail: `a mount named ${JSON.stringify(config.name)} is already open in this process for ${entry.owned ? entry.identity : `a ${filesystem.mode} mount`}; the mount for ${identity} needs a name of its own`,
      });
    }
    entry.holders.add(holder);
    return filesystem;
  }
}

/** Lets go of everything `holder` acquired; a mount nobody holds any more is closed (if it was opened here). */
export async function releaseWorkspaces(holder: object): Promise<void> {
  const closing: Promise<void>[] = [];
  for (const [key, entry] of openWorkspaces) {
    if (!entry.holders.delete(holder) || entry.holders.size > 0) continue;
    openWorkspaces.delete(key);
    if (entry.owned) closing.push(entry.filesystem.then((fs) => fs.close()));
  }
  const results = await Promise.allSettled(closing);
  const failed = results.find((result) => result.status === "rejected");
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
}

/**
 * A manager for `options` whose storeFactory refuses, before anything is mounted, to hand the same
 * store to two different prefixes (a factory that ignores `config.prefix`).
 */
export function guardedManager(options: ManagerOptions): S3CachedFsManagerImpl {
  const storeFactory = options.storeFactory;
  if (storeFactory === undefined) return new S3CachedFsManagerImpl(options); // S3ObjectStore applies the prefix itself
  return new S3CachedFsManagerImpl({
    ...options,
    storeFactory: async (config: ResolvedMountConfig) => {
      const store = await storeFactory(config);
      try {
        claimStore(store.description, config.prefix);
      } catch (error) {
        await store.close?.().catch(() => {});
        throw error;
      }
      return store;
    },
  });
}

function claimStore(description: string, prefix: string): void {
  const claimed = storePrefixes.get(description);
  if (claimed === undefined) storePrefixes.set(description, prefix);
  else if (claimed !== prefix) {
    throw new FsError("EINVAL", "mount", {
      detail: `the storeFactory returned the same store (${description}) for prefix ${JSON.stringify(prefix)} as for ${JSON.stringify(claimed)}: it must honour config.prefix, or separate sandbox instances would share one workspace`,
    });
  }
}

/** What decides which files a mount config reaches, and how. */
function identityOf(config: MountConfig): string {
  const { bucket, endpoint, region, prefix = "", mode = "readwrite" } = config;
  return JSON.stringify({ bucket, endpoint, region, prefix: trimSlashes(prefix), mode });
}

/** The manager's own default name (bucket/prefix), when there is a bucket. */

/** The id as one key segment: "/" and other separators escaped, and never "." or "..". */
function idSegment(id: string): string {
  const segment = encodeURIComponent(id);
  return segment === "." || segment === ".." ? segment.replaceAll(".", "%2E") : segment;
}

function trimSlashes(text: string): string {
  return text.replace(/^\/+|\/+$/g, "");
}
