// Subjects for the Mastra suites: AcceleratedFS instances on one storage (a LocalObjectStore
// directory, or a fresh prefix in a bucket of the real S3 server), with a read-only reader on the
// same storage and a `reopen` that mounts again from a deleted cache directory, as a new machine would.

import type { WorkspaceFilesystemCapabilities } from "./workspace-filesystem-suite.ts";
import type { WorkspaceToolsCapabilities } from "./workspace-tools-suite.ts";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { callLifecycle } from "@mastra/core/workspace";
import { LocalObjectStore } from "../../src/core.ts";
import { AcceleratedFS, type AcceleratedFSOptions } from "../../src/mastra/index.ts";
import { s3Server } from "../support/s3-server.ts";
import { tempDirectory } from "../support/temp.ts";

export interface AcceleratedSubject {
  fs: AcceleratedFS;
  readOnlyFs: AcceleratedFS;
  reopen: () => Promise<AcceleratedFS>;
  cleanup: () => Promise<void>;
  /** Another instance on the same storage, with these options. */
  open: (options?: Partial<AcceleratedFSOptions>) => AcceleratedFS;
  directory: string;
}

let counter = 0;

/** Options that reach the storage: a LocalObjectStore under `directory`, or `bucket` on the S3 server (at `prefix`, a new one by default). */
export function storageOptions(directory: string, bucket?: string, prefix = `workspace-${++counter}`): Partial<AcceleratedFSOptions> {
  if (bucket === undefined) {
    return { prefix, storeFactory: (config) => new LocalObjectStore({ root: join(directory, "bucket", config.prefix), fsync: false }) };
  }
  const server = s3Server();
  return {
    bucket,
    prefix,
    region: server.region,
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  };
}

/** A factory of subjects; `bucket` selects the S3 server, else a LocalObjectStore. */
export function acceleratedSubjects(label: string, bucket?: () => string, defaults: Partial<AcceleratedFSOptions> = {}) {
  return async (): Promise<AcceleratedSubject> => {
    const directory = tempDirectory(label);
    const cacheRoot = join(directory, "cache");
    const storage = storageOptions(directory, bucket?.());
    const opened: AcceleratedFS[] = [];
    const open = (options: Partial<AcceleratedFSOptions> = {}) => {
      const fs = new AcceleratedFS({ cacheRoot, ...storage, ...defaults, ...options });
      opened.push(fs);
      return fs;
    };
    const fs = open({ id: `${label}-writer` });
    // maxStalenessMs 0: the suites write through `fs` and read through the reader at once.
    const readOnlyFs = open({ id: `${label}-reader`, readOnly: true, maxStalenessMs: 0 });
    const destroyAll = () => Promise.all(opened.map((instance) => callLifecycle(instance, "destroy")));
    return {
      fs,
      readOnlyFs,
      open,
      directory,
      reopen: async () => {
        await destroyAll();
        rmSync(cacheRoot, { recursive: true, force: true }); // nothing local survives: all of it comes from the store
        return open({ id: `${label}-reopened` });
      },
      cleanup: async () => {
        await destroyAll();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  };
}

/** Runs a test body on a fresh subject from `subjects`, its writer initialised, and cleans the subject up after. */
export function subjectRunner(subjects: () => Promise<AcceleratedSubject>) {
  return async (body: (fs: AcceleratedFS, subject: AcceleratedSubject) => Promise<void>): Promise<void> => {
    const subject = await subjects();
    try {
      await subject.fs.init();
      await body(subject.fs, subject);
    } finally {
      await subject.cleanup();
    }
  };
}

/** What AcceleratedFS offers, wherever its store is: every capability of the suites is required. */
export const acceleratedFilesystemCapabilities: WorkspaceFilesystemCapabilities = {
  walk: true,
  grep: true,
  readOnly: true,
  // The same class LocalFilesystem throws, and what the tools themselves throw for read-only.
  readOnlyError: "WorkspaceReadOnlyError",
  emptyDirectories: true,
  deleteThrowsOnMissing: true,
  rootedPaths: true,
  plainInitSetsReady: true,
};

export const acceleratedToolsCapabilities: WorkspaceToolsCapabilities = { readOnly: true, reopen: true, rootedPaths: true };
