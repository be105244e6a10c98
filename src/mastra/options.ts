// The options of `new AcceleratedFS(...)`, checked when it is constructed so a mistake fails there,
// naming the field, rather than at the first tool call. Mount fields (bucket, prefix, region,
// cacheBytes, ...) are the core's MountConfig and are validated by the core (with zod) when it
// mounts; the adapter's own few are checked here by hand, so the adapter needs nothing beyond the
// core and @mastra/core/workspace.

import type { FilesystemIcon, InstructionsOption, MastraFilesystemOptions } from "@mastra/core/workspace";
import { S3CachedFs, mountConfigKeys, type ManagerOptions, type MountConfig } from "../core.ts";

/** Options of AcceleratedFS's own mount: the core's MountConfig, less what the adapter decides. */
export type AcceleratedMountOptions = Omit<MountConfig, "name" | "mode">;

export interface AcceleratedFSAdapterOptions extends MastraFilesystemOptions {
  /** Unique id of this filesystem instance (default: generated). */
  id?: string;
  /**
   * An S3CachedFs mounted by the caller, to use instead of mounting one. AcceleratedFS then leaves
   * it open on destroy unless `closeOnDestroy` is true, and no mount option may be given.
   */
  filesystem?: S3CachedFs;
  /** Where the mount keeps its index, cache and staging files (default: `defaultCacheRoot()`, the platform's cache directory). */
  cacheRoot?: string;
  /** Supplies the object store (tests and demos pass a LocalObjectStore); default: S3 from the mount options. */
  storeFactory?: ManagerOptions["storeFactory"];
  /**
   * Names the mount, and so its directory under cacheRoot (default: bucket/prefix, or prefix;
   * a read-only instance adds "~reader", so a writer and a reader can share one cacheRoot).
   */
  mountName?: string;
  /** Refuse every write (WorkspaceReadOnlyError); the mount is a core reader. Default: false. */
  readOnly?: boolean;
  /**
   * A read-only instance catches up with the writer before a read when its view is older than
   * this (ms; default 1000). 0: before every read. Each catch-up costs about two small requests.
   */
  maxStalenessMs?: number;
  /** Close the S3CachedFs on destroy (default: true for AcceleratedFS's own mount, false for `filesystem`). */
  closeOnDestroy?: boolean;
  /** Files without a text extension larger than this are not searched by grep (default 1 MiB). */
  grepUnknownTypeMaxBytes?: number;
  displayName?: string;
  description?: string;
  icon?: FilesystemIcon;
  /** Replaces (string) or extends (function) the instructions getInstructions() gives the model. */
  instructions?: InstructionsOption;
}

export type AcceleratedFSOptions = AcceleratedFSAdapterOptions & AcceleratedMountOptions;

/** The core's mount options, less what the adapter decides: every one the core accepts, as it grows. */
const mountKeys = mountConfigKeys.filter((key): key is keyof AcceleratedMountOptions => key !== "name" && key !== "mode");

type Check = (value: unknown) => string | undefined;

const string: Check = (value) => (typeof value === "string" && value.length > 0 ? undefined : "expected a non-empty string");
const boolean: Check = (value) => (typeof value === "boolean" ? undefined : "expected a boolean");
const callable: Check = (value) => (typeof value === "function" ? undefined : "expected a function");
const count: Check = (value) => (typeof value === "number" && Number.isInteger(value) && value >= 0 ? undefined : "expected an integer >= 0");
const duration: Check = (value) => (typeof value === "number" && value >= 0 ? undefined : "expected a number >= 0 (ms)");

/** The adapter's own options and how each is checked; mount fields are the core's to check. */
const adapterChecks: Record<keyof AcceleratedFSAdapterOptions, Check> = {
  id: string,
  filesystem: (value) => (value instanceof S3CachedFs ? undefined : "expected an S3CachedFs (from S3CachedFsManagerImpl.mount)"),
  cacheRoot: string,
  storeFactory: callable,
  mountName: (value) => string(value) ?? ((value as string).length > 200 ? "expected at most 200 characters" : undefined),
  readOnly: boolean,
  maxStalenessMs: duration,
  closeOnDestroy: boolean,
  grepUnknownTypeMaxBytes: count,
  displayName: (value) => (typeof value === "string" ? undefined : "expected a string"),
  description: (value) => (typeof value === "string" ? undefined : "expected a string"),
  icon: string,
  instructions: (value) => (typeof value === "string" || typeof value === "function" ? undefined : "expected a string or a function"),
  onInit: callable,
  onDestroy: callable,
  textExtensions: (value) => (Array.isArray(value) && value.every((item) => typeof item === "string") ? undefined : "expected an array of strings"),
};

/** Checks the options' shape; throws a TypeError naming each bad or unknown field. */
export function checkOptions(options: AcceleratedFSOptions): void {
  if (typeof options !== "object" || options === null) throw new TypeError("invalid AcceleratedFS options: expected an object");
  const problems: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if ((mountKeys as readonly string[]).includes(key)) continue;
    const check = adapterChecks[key as keyof AcceleratedFSAdapterOptions] as Check | undefined;
    const problem = check === undefined ? "unknown option" : check(value);
    if (problem !== undefined) problems.push(`${key}: ${problem}`);
  }
  if (problems.length > 0) throw new TypeError(`invalid AcceleratedFS options: ${problems.join("; ")}`);
  if (options.filesystem !== undefined) {
    const given = mountKeys.filter((key) => options[key] !== undefined);
    const extra = [...given, ...(["cacheRoot", "storeFactory", "mountName"] as const).filter((key) => options[key] !== undefined)];
    if (extra.length > 0) {
      throw new TypeError(`invalid AcceleratedFS options: ${extra.join(", ")}: not allowed with \`filesystem\` (it is already mounted)`);
    }
  }
}

/** The mount options among `options` (those defined). */
export function mountOptionsOf(options: AcceleratedFSOptions): AcceleratedMountOptions {
  return Object.fromEntries(mountKeys.filter((key) => options[key] !== undefined).map((key) => [key, options[key]])) as AcceleratedMountOptions;
}
