// Options of the manager and of each mount, validated by zod so a mistake fails at once with a
// message naming the field ("mount config: cacheBytes: expected a number, received string").

import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { z } from "zod";
import { FsError } from "./errors.ts";
import type { ObjectStore } from "../stores/object-store.ts";
import { normalizePrefix } from "../stores/located-store.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** The longest delay a timer can wait (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
/** What a mount waiting for the writer lease is told (`onWriterWait`): whom it waits for, and until when. */
export interface LeaseWaitInfo {
  /** The holder's writer id, its epoch, and where it runs (when its lease says). */
  writer: string;
  epoch: number;
  host?: string;
  pid?: number;
  /** The earliest the lease can be taken over if its holder stops renewing it now (a renewal moves it on). */
  expiresBy: Date;
  /** When the wait gives up with EBUSY (leaseWaitTimeoutMs). */
  giveUpAt: Date;
  /** All of it in a sentence, for a log or a terminal. */
  message: string;
}

/** The AWS SDK's credential provider shape (`AwsCredentialIdentityProvider`): `fromIni()`, `fromSSO()`, ... */
export type CredentialProvider = () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }>;

/** What the mount needs of an S3Client (its `send` and resolved `config`); any @aws-sdk/client-s3 v3 client has it. */
export interface S3ClientLike {
  send(...args: never[]): Promise<unknown>;
  config: object;
}

export const maxTimerMs = 2 ** 31 - 1;

const positiveInteger = z.number().int().positive().max(Number.MAX_SAFE_INTEGER, { message: "expected a safe integer" });
const nonNegativeInteger = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER, { message: "expected a safe integer" });

/** Bytes held in memory at once: a positive integer up to `max`. */
function bytesUpTo(max: number) {
  return z
    .number()
    .int()
    .positive()
    .max(max, { message: `at most ${max / MiB} MiB (${max} bytes): this many bytes are held in memory at once` });
}

/** A delay or timeout in ms that a timer can honour. */
function milliseconds(minimum: 0 | 1) {
  return z
    .number()
    .int()
    .min(minimum)
    .max(maxTimerMs, { message: `at most ${maxTimerMs} ms (about 24.8 days), the longest a timer can wait` });
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/** What chunk uploads may hold in memory together (one buffer per upload in flight). */
const maxUploadBufferBytes = GiB;

export const layoutSchema = z
  .object({
    blockBytes: bytesUpTo(64 * MiB).default(MiB),
    chunkBytes: bytesUpTo(256 * MiB).default(8 * MiB),
    largeFileBytes: bytesUpTo(256 * MiB).default(4 * MiB),
    inlineRecordBytes: bytesUpTo(64 * MiB).default(4 * MiB),
    packBytes: bytesUpTo(256 * MiB).default(16 * MiB),
    uploadConcurrency: positiveInteger.max(64).default(4),
  })
  .strict()
  .refine((layout) => layout.chunkBytes * layout.uploadConcurrency <= maxUploadBufferBytes, {
    message: `chunkBytes x uploadConcurrency must be at most ${maxUploadBufferBytes / GiB} GiB: each upload in flight holds a chunk in memory`,
    path: ["uploadConcurrency"],
  });

/** Records a busy writer keeps in flight at most, unless its mount says otherwise (docs/s3-layout.md C8). */
export const defaultMaxRecordsInFlight = 8;

export const mountConfigSchema = z
  .object({
    /** Names the mount in the manager and its directory under cacheRoot (default: from bucket and prefix). */
    name: z.string().min(1).max(200).optional(),
    mode: z.enum(["readwrite", "readonly"]).default("readwrite"),
    /** The bucket's name alone (no "s3://", no slash): letters, digits, ".", "-" and "_", 3-63 characters. */
    bucket: z
      .string()
      .min(3)
      .max(63)
      .refine((name) => !name.includes("://") && !name.includes("/"), { message: 'give the bucket\'s name alone, not a URL or a path (put the path in "prefix")' })
      .refine((name) => /^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$/.test(name), {
        message: "a bucket name holds only letters, digits, '.', '-' and '_', and starts and ends with a letter or digit",
      })
      .optional(),
    prefix: z.string().max(512).default(""),
    region: z.string().min(1).optional(),
    /** The service's URL, scheme included ("https://host", "http://localhost:9000"). */
    endpoint: z
      .string()
      .refine(isHttpUrl, { message: 'expected an http:// or https:// URL with a host, such as "http://localhost:9000"' })
      .optional(),
    forcePathStyle: z.boolean().optional(),
    /**
     * Credentials, in any one of the shapes users have (none of them: the SDK's default chain of
     * environment, profile, SSO and instance role): `credentials` as keys or as a provider function
     * (`fromIni()`, `fromSSO()`, `fromContainerMetadata()`, ...), the keys flat (`accessKeyId`,
     * `secretAccessKey`, `sessionToken`), or an S3Client of the caller's (`client`).
     */
    credentials: z
      .union([
        z.object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1), sessionToken: z.string().optional() }).strict(),
        z.custom<CredentialProvider>((value) => typeof value === "function", { message: "expected { accessKeyId, secretAccessKey, sessionToken? } or a function" }),
      ])
      .optional(),
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    sessionToken: z.string().min(1).optional(),
    /**
     * An S3Client of the caller's: its credentials, region, endpoint, path style and transport are
     * used; the mount sends through a client of its own built from them (the SDK's retries off, as
     * the mount retries itself) and never destroys the caller's. Give `endpoint` too when the
     * service is not AWS, so the mount knows the provider's quirks.
     */
    client: z
      .custom<S3ClientLike>((value) => typeof value === "object" && value !== null && typeof (value as { send?: unknown }).send === "function" && typeof (value as { config?: unknown }).config === "object", {
        message: "expected an S3Client",
      })
      .optional(),
    /** Disk the mount's cache may use (default 256 MiB; bounded by the manager's total too). */
    cacheBytes: positiveInteger.default(256 * MiB),
    /**
     * Readers refresh on this interval, in ms (off by default); so do shared writers while idle,
     * so that a write after a pause finds the other writers' records taken in and usually lands at
     * its first PUT (each refresh that finds nothing is one GET; a write that comes while one is
     * under way waits for it). Unset, a shared writer catches up while idle only while other
     * writers are at work, as often as they write (`catchUpPauseMs` in src/commit/committer.ts);
     * 0: never on a timer. An exclusive writer ignores it.
     */
    refreshIntervalMs: milliseconds(0).optional(),
    /**
     * The exclusive writer's lease: its time to live (default 30 s). Only an exclusive writer
     * holds one; given without `exclusive`, it asks for the exclusive writer (`isExclusiveWriter`).
     */
    leaseTtlMs: milliseconds(1).optional(),
    /**
     * When an exclusive writer holds the lease: wait for it (default), fail with EBUSY, or take
     * over, fencing the holder (an exclusive writer takes the lease; a shared one writes past it).
     */
    onWriterBusy: z.enum(["wait", "fail", "takeover"]).default("wait"),
    /**
     * false: one of any number of writers, which take no lease and order their commits by log
     * slot (docs/guarantees.md, "Several writers"); true: the only writer, holding the writer
     * lease and fencing every other writer, shared ones included. Default: false, unless the
     * config asks for the lease itself (`leaseTtlMs`, or `onWriterBusy: "takeover"`): see
     * `isExclusiveWriter`.
     */
    exclusive: z.boolean().optional(),
    /**
     * Told what a mount waiting for the writer lease waits for (the holder, where it runs) and
     * until when; the library prints nothing by itself.
     */
    onWriterWait: z.custom<(wait: LeaseWaitInfo) => void>((value) => typeof value === "function", { message: "expected a function" }).optional(),
    leaseWaitTimeoutMs: milliseconds(1).default(120_000),
    /**
     * Time travel: mount the filesystem as it was at this seq (read-only; the seq must still be
     * within the retention window garbage collection keeps). The mount never moves from it.
     */
    atSeq: nonNegativeInteger.optional(),
    snapshotEveryCommits: positiveInteger.default(1_000),
    snapshotEveryBytes: positiveInteger.default(64 * MiB),
    headDelayMs: milliseconds(0).default(1_000),
    /**
     * Records a busy writer keeps in flight at once (default 8; docs/s3-layout.md C8). 1: every
     * record waits for the one before it to land, and every record is of format 1, which readers of
     * versions before pipelined records read (they refuse format 2 with "upgrade").
     */
    maxRecordsInFlight: positiveInteger.max(64).default(defaultMaxRecordsInFlight),
    /**
     * Whether a shared writer may open lanes (default true; docs/s3-layout.md LN1-LN9). false: it
     * publishes in the main log only (it still reads lanes others opened, and closes them as it
     * must), for a fleet whose readers include versions before lanes (they refuse a record opening
     * one with "upgrade").
     */
    lanes: z.boolean().default(true),
    /** Largest ranged GET, coalescing gap and read concurrency. */
    maxRangeBytes: bytesUpTo(256 * MiB).default(8 * MiB),
    coalesceGapBytes: z.number().int().nonnegative().max(64 * MiB, { message: `at most 64 MiB (${64 * MiB} bytes)` }).default(64 * 1024),
    readConcurrency: positiveInteger.max(256).default(8),
    /** Retries of retryable store errors. */
    maxAttempts: positiveInteger.max(20).default(6),
    requestTimeoutMs: milliseconds(1).default(60_000),
    layout: layoutSchema.default({
      blockBytes: MiB,
      chunkBytes: 8 * MiB,
      largeFileBytes: 4 * MiB,
      inlineRecordBytes: 4 * MiB,
      packBytes: 16 * MiB,
      uploadConcurrency: 4,
    }),
  })
  .strict()
  .refine((config) => config.atSeq === undefined || config.mode === "readonly", {
    message: 'time travel is read-only: give mode "readonly" with atSeq',
    path: ["atSeq"],
  })
  .superRefine((config, context) => {
    const flat = (["accessKeyId", "secretAccessKey", "sessionToken"] as const).filter((key) => config[key] !== undefined);
    if (flat.length > 0 && config.credentials !== undefined) {
      context.addIssue({ code: "custom", path: [flat[0]!], message: `${flat.join(", ")} and credentials: give the credentials one way, not both` });
    }
    if (flat.length > 0 && (config.accessKeyId === undefined || config.secretAccessKey === undefined)) {
      const missing = config.accessKeyId === undefined ? "accessKeyId" : "secretAccessKey";
      context.addIssue({ code: "custom", path: [missing], message: `required with ${flat.join(", ")}` });
    }
    if (config.client !== undefined && (flat.length > 0 || config.credentials !== undefined)) {
      const given = config.credentials !== undefined ? "credentials" : flat.join(", ");
      context.addIssue({ code: "custom", path: ["client"], message: `client and ${given}: the client carries its own credentials; give one or the other` });
    }
  });

export type MountConfig = z.input<typeof mountConfigSchema>;

/**
 * Whether a read-write mount is the exclusive writer: as `exclusive` says, or, when it is not
 * given, only if the config asks for the writer lease itself (a `leaseTtlMs`, or `onWriterBusy:
 * "takeover"`), which only an exclusive writer holds. Otherwise writers share the workspace.
 */
export function isExclusiveWriter(config: Pick<ResolvedMountConfig, "exclusive" | "leaseTtlMs" | "onWriterBusy">): boolean {
  return config.exclusive ?? (config.leaseTtlMs !== undefined || config.onWriterBusy === "takeover");
}

/** The writer lease's time to live when the config gives none. */
export const defaultLeaseTtlMs = 30_000;
export type ResolvedMountConfig = z.output<typeof mountConfigSchema>;

/** Every field a MountConfig may have: adapters that take mount options beside their own accept exactly these. */
export const mountConfigKeys = Object.keys(mountConfigSchema.shape) as (keyof MountConfig)[];

/**
 * The one rule for a mount's default name (and so its directory under cacheRoot), used by the
 * manager and every adapter: "<bucket>/<prefix>", the prefix as a location (normalizePrefix), or
 * the prefix alone without a bucket; undefined when there is neither.
 */
export function defaultMountName(config: { bucket?: string | undefined; prefix?: string | undefined }): string | undefined {
  const prefix = normalizePrefix(config.prefix ?? "");
  if (config.bucket === undefined) return prefix === "" ? undefined : prefix;
  return prefix === "" ? config.bucket : `${config.bucket}/${prefix}`;
}

/** Options of one `mount()` call, beside its config. */
export const mountCallOptionsSchema = z
  .object({
    /** Aborting it cancels a mount still opening (waiting for the writer lease, say): ECANCELED, nothing held. */
    signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal, { message: "expected an AbortSignal" }).optional(),
  })
  .strict();

export interface MountCallOptions {
  signal?: AbortSignal;
}

/**
 * Where mounts keep their index, cache and staging files when no cacheRoot is given: the
 * platform's cache directory. `$XDG_CACHE_HOME/s3-bun-cached-fs` when XDG_CACHE_HOME is an
 * absolute path, else `~/Library/Caches/s3-bun-cached-fs` on macOS and
 * `~/.cache/s3-bun-cached-fs` on Linux and others; `%LOCALAPPDATA%\s3-bun-cached-fs\Cache` on
 * Windows. Read from the environment at each call.
 */
export function defaultCacheRoot(): string {
  const env = process.env;
  if (process.platform === "win32") {
    const local = env.LOCALAPPDATA;
    const base = local !== undefined && isAbsolute(local) ? local : join(homedir(), "AppData", "Local");
    return join(base, "s3-bun-cached-fs", "Cache");
  }
  const xdg = env.XDG_CACHE_HOME;
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, "s3-bun-cached-fs");
  const home = env.HOME !== undefined && isAbsolute(env.HOME) ? env.HOME : homedir();
  return process.platform === "darwin" ? join(home, "Library", "Caches", "s3-bun-cached-fs") : join(home, ".cache", "s3-bun-cached-fs");
}

export const managerOptionsSchema = z
  .object({
    /**
     * Where mounts keep their index, cache and staging files (default: `defaultCacheRoot()`, the
     * platform's cache directory). Created, with mode 0o700, if missing.
     */
    cacheRoot: z.string().min(1).optional(),
    /** Total disk all mounts' caches may use together (default: unbounded beyond each mount's own). */
    cacheBytes: positiveInteger.optional(),
    /** Supplies the object store for a mount (tests and demos use LocalObjectStore). */
    storeFactory: z.function().optional(),
    /** Wall clock for file times, in ms (tests inject one). */
    now: z.function().optional(),
  })
  .strict();

export interface ManagerOptions {
  /** Default: `defaultCacheRoot()`, the platform's cache directory. */
  cacheRoot?: string;
  cacheBytes?: number;
  storeFactory?: (config: ResolvedMountConfig) => ObjectStore | Promise<ObjectStore>;
  now?: () => number;
}

// Options of the maintenance calls (history, fsck, collectGarbage): counts are whole numbers, so a
// NaN, a fraction, a string or a BigInt is refused naming the option rather than taken as a default.

export const historyOptionsSchema = z.object({
  limit: positiveInteger.optional(),
  before: nonNegativeInteger.optional(),
});

export const fsckOptionsSchema = z.object({
  verifyData: z.boolean().optional(),
  concurrency: positiveInteger.optional(),
  repair: z.boolean().optional(),
});

export const garbageCollectionOptionsSchema = z.object({
  dryRun: z.boolean().optional(),
  retentionMs: nonNegativeInteger.optional(),
  graceMs: nonNegativeInteger.optional(),
  compact: z.boolean().optional(),
  compactBelow: z.number().min(0).max(1).optional(),
  maxCompactBytes: nonNegativeInteger.optional(),
  deleteConcurrency: positiveInteger.optional(),
  collectorLeaseMs: positiveInteger.optional(),
});

/** `fs.transaction(body, options)`: how a shared writer's transaction meets other writers' commits (src/commit/committer.ts). */
export const transactionOptionsSchema = z
  .object({
    isolation: z.enum(["serializable", "blind"]).optional(),
    catchUp: z.boolean().optional(),
  })
  .strict();

/** Parses `input` or throws EINVAL (for `syscall`, "mount" by default) naming each bad field. */
export function parseOptions<T extends z.ZodType>(schema: T, input: unknown, what: string, syscall = "mount"): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => {
    const at = issue.path.map(String);
    // An unknown key is named the way every adapter names it: "prefx: unknown option".
    if (issue.code === "unrecognized_keys") return issue.keys.map((key) => `${[...at, key].join(".")}: unknown option`);
    return [`${at.length === 0 ? "(root)" : at.join(".")}: ${issue.message}`];
  });
  throw new FsError("EINVAL", syscall, { detail: `invalid ${what}: ${problems.join("; ")}` });
}
