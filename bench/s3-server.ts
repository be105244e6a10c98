// The real S3 server for `npm run bench`, found or started the way `npm test` does it
// (scripts/test.sh): the server named by S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY if set, else Ceph
// RGW on loopback through scripts/start-s3.sh, stopped again with scripts/ceph-aio.sh if this run
// started it. If the server cannot start, the bench fails saying why; it never measures a fake.

import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import { s3Server, type S3ServerSettings } from "../test/support/s3-server.ts";

const projectRoot = resolve(import.meta.dir, "..");

export interface RunningServer {
  settings: S3ServerSettings;
  /** How it was found: "environment" or "started" (then stopped by `stop`). */
  origin: "environment" | "started";
  stop(): Promise<void>;
}

export async function ensureS3Server(log: (line: string) => void = console.error): Promise<RunningServer> {
  if (process.env.S3_ENDPOINT) return { settings: s3Server(), origin: "environment", stop: async () => {} };
  const cephDirectory = process.env.CEPH_DIR ?? "/tmp/s3-bun-cached-fs-ceph";
  const environment = { ...process.env, CEPH_DIR: cephDirectory };
  const alreadyRunning = serverRunning(cephDirectory);
  log(`bench: S3_ENDPOINT is not set; ${alreadyRunning ? "reusing" : "starting"} Ceph RGW (scripts/start-s3.sh, CEPH_DIR=${cephDirectory})`);
  // A cluster this run starts is its own: begin from nothing, so earlier runs' data cannot fill the OSD.
  if (!alreadyRunning) rmSync(cephDirectory, { recursive: true, force: true });
  const started = Bun.spawn(["bash", join(projectRoot, "scripts/start-s3.sh")], { cwd: projectRoot, env: environment, stdout: "pipe", stderr: "inherit" });
  const output = await new Response(started.stdout).text();
  if ((await started.exited) !== 0) {
    throw new Error(`bench: the S3 server (Ceph RGW) could not be started; see the log above and ${cephDirectory}/log. Set S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY to use another server.`);
  }
  for (const line of output.split("\n")) {
    const match = /^(S3_[A-Z_]+)=(.*)$/.exec(line.trim());
    if (match !== null) process.env[match[1]!] = match[2]!;
  }
  const stop = async () => {
    if (alreadyRunning) return;
    log("bench: stopping the Ceph RGW this run started");
    await Bun.spawn(["bash", join(projectRoot, "scripts/ceph-aio.sh"), "stop"], { cwd: projectRoot, env: environment, stdout: "inherit", stderr: "inherit" }).exited;
    rmSync(cephDirectory, { recursive: true, force: true });
  };
  return { settings: s3Server(), origin: "started", stop };
}

function serverRunning(cephDirectory: string): boolean {
  const pidFile = join(cephDirectory, "run/aio.pid");
  if (!existsSync(pidFile)) return false;
  try {
    process.kill(Number(readFileSync(pidFile, "utf8").trim()), 0);
    return true;
  } catch {
    return false;
  }
}

/** A new bucket for one benchmark run. */
export async function createBenchBucket(settings: S3ServerSettings, label: string): Promise<string> {
  const bucket = `${label}-${randomUUID().slice(0, 8)}`;
  const client = new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  return bucket;
}
