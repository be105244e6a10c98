// Options of the manager and of each mount, validated by zod so a mistake fails at once with a
// message naming the field ("mount config: cacheBytes: expected a number, received string").

import { z } from "zod";
import { FsError } from "./errors.ts";
import type { ObjectStore } from "./stores/object-store.ts";
import type { LeaseWaitInfo } from "./commit/lease.ts";

const MiB = 1024 * 1024;

const positiveInteger = z.number().int().positive();

export const layoutSchema = z
  .object({
    blockBytes: positiveInteger.default(MiB),
    chunkBytes: positiveInteger.default(8 * MiB),
    largeFileBytes: positiveInteger.default(4 * MiB),
    inlineRecordBytes: positiveInteger.default(4 * MiB),
    packBytes: positiveInteger.default(16 * MiB),
    uploadConcurrency: positiveInteger.max(64).default(4),
  })
  .strict();

export const mountConfigSchema = z
  .object({
    /** Names the mount in the manager and its directory under cacheRoot (default: from bucket and prefix). */
    name: z.string().min(1).max(200).optional(),
    mode: z.enum(["readwrite", "readonly"]).default("readwrite"),
    bucket: z.string().min(3).max(63).optional(),
    prefix: z.string().max(512).default(""),
    region: z.string().min(1).optional(),
    endpoint: z.string().url().optional(),
    forcePathStyle: z.boolean().optional(),
    credentials: z
      .object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1), sessionToken: z.string().optional() })
      .strict()
      .optional(),
    /** Disk the mount's cache may use (default 256 MiB; bounded by the manager's total too). */
    cacheBytes: positiveInteger.default(256 * MiB),
    /** Mount readers refresh on this interval, in ms (off by default). */
    refreshIntervalMs: positiveInteger.optional(),
    /** Writer lease: its time to live, and what to do when another writer holds it. */
    leaseTtlMs: positiveInteger.default(30_000),
    onWriterBusy: z.enum(["wait", "fail", "takeover"]).default("wait"),
    /**
     * Told what a mount waiting for the writer lease waits for (the holder, where it runs) and
     * until when; the library prints nothing by itself.
     */
    onWriterWait: z.custom<(wait: LeaseWaitInfo) => void>((value) => typeof value === "function", { message: "expected a function" }).optional(),
    leaseWaitTimeoutMs: positiveInteger.default(120_000),
    /**
     * Time travel: mount the filesystem as it was at this seq (read-only; the seq must still be
     * within the retention window garbage collection keeps). The mount never moves from it.
     */
    atSeq: z.number().int().nonnegative().optional(),
    snapshotEveryCommits: positiveInteger.default(1_000),
    snapshotEveryBytes: positiveInteger.default(64 * MiB),
    headDelayMs: z.number().int().nonnegative().default(1_000),
    /** Largest ranged GET, coalescing gap and read concurrency. */
    maxRangeBytes: positiveInteger.default(8 * MiB),
    coalesceGapBytes: z.number().int().nonnegative().default(64 * 1024),
    readConcurrency: positiveInteger.max(256).default(8),
    /** Retries of retryable store errors. */
    maxAttempts: positiveInteger.max(20).default(6),
    requestTimeoutMs: positiveInteger.default(60_000),
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
  });

export type MountConfig = z.input<typeof mountConfigSchema>;
export type ResolvedMountConfig = z.output<typeof mountConfigSchema>;

export const managerOptionsSchema = z
  .object({
    /** Where mounts keep their index, cache and staging files. */
    cacheRoot: z.string().min(1),
    /** Total disk all mounts' caches may use together (default: unbounded beyond each mount's own). */
    cacheBytes: positiveInteger.optional(),
    /** Supplies the object store for a mount (tests and demos use LocalObjectStore). */
    storeFactory: z.function().optional(),
    /** Wall clock for file times, in ms (tests inject one). */
    now: z.function().optional(),
  })
  .strict();

export interface ManagerOptions {
  cacheRoot: string;
  cacheBytes?: number;
  storeFactory?: (config: ResolvedMountConfig) => ObjectStore | Promise<ObjectStore>;
  now?: () => number;
}

/** Parses `input` or throws EINVAL naming each bad field. */
export function parseOptions<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.length === 0 ? "(root)" : issue.path.join(".")}: ${issue.message}`);
  throw new FsError("EINVAL", "mount", { detail: `invalid ${what}: ${problems.join("; ")}` });
}
