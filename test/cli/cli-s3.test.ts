// The command line against the real S3 server, configured only by --bucket and the usual AWS
// environment variables (path-style addressing is chosen for an endpoint given by IP address).
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freshBucket, s3Server, s3Store } from "../support/s3-server.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { cli } from "./run-cli.ts";

afterAll(removeTempDirectories);

describe("cli on the S3 server", () => {
  test("put, cat, ls, gc, fsck and fork with AWS_* settings from the environment", async () => {
    const server = s3Server();
    const bucket = await freshBucket("cli-s3");
    const env = {
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      AWS_REGION: server.region,
      AWS_ENDPOINT_URL: server.endpoint,
      AWS_ENDPOINT_URL_S3: undefined,
      AWS_PROFILE: undefined,
    };
    const at = ["--bucket", bucket, "--prefix", "team/workspace"];
    const local = join(tempDirectory("cli-s3"), "report.bin");
    writeFileSync(local, new Uint8Array(6_000_000).fill(9)); // chunks
    expect(await cli(["put", local, "/reports/report.bin", "--create", ...at], { env })).toMatchObject({ status: 0 });
    expect((await cli(["put", "-", "/notes.txt", ...at], { env, stdin: "on s3" })).status).toBe(0);
    expect((await cli(["cat", "/notes.txt", ...at], { env })).stdout).toBe("on s3");
    expect((await cli(["ls", "-R", "/", ...at], { env })).stdout).toBe("notes.txt\nreports/\nreports/report.bin\n");
    const gc = await cli(["gc", "--retention", "0", "--grace", "0", ...at], { env });
    expect(gc.status).toBe(0);
    expect(gc.stdout).toContain("dry run");
    const fsck = await cli(["fsck", ...at], { env });
    expect(fsck.status).toBe(0);
    expect(fsck.stdout).toContain("sound");
    const fork = await cli(["fork", "team/experiment", ...at], { env });
    expect(fork.status).toBe(0);
    expect((await cli(["put", "-", "/notes.txt", "--bucket", bucket, "--prefix", "team/experiment"], { env, stdin: "forked" })).status).toBe(0);
    expect((await cli(["cat", "/notes.txt", "--bucket", bucket, "--prefix", "team/experiment"], { env })).stdout).toBe("forked");
    expect((await cli(["cat", "/notes.txt", ...at], { env })).stdout).toBe("on s3");
    // The everyday changes, each one commit on the server.
    expect((await cli(["mkdir", "-p", "/archive/2026", ...at], { env })).status).toBe(0);
    expect((await cli(["mv", "/reports/report.bin", "/archive/2026/", ...at], { env })).status).toBe(0);
    expect((await cli(["cp", "-r", "/archive", "/archive-copy", ...at], { env })).status).toBe(0);
    expect((await cli(["rm", "-r", "/reports", ...at], { env })).status).toBe(0);
    expect((await cli(["find", "/", "--name", "*.bin", ...at], { env })).stdout).toBe("/archive-copy/2026/report.bin\n/archive/2026/report.bin\n"); // in the index's order of paths
    // A mistyped prefix: the put is refused, naming the bucket and prefix, and nothing is written.
    const typo = await cli(["put", "-", "/notes.txt", "--bucket", bucket, "--prefix", "team/worksapce"], { env, stdin: "lost" });
    expect(typo.status).toBe(1);
    expect(typo.stderr).toContain(`no filesystem at s3://${bucket}/team/worksapce`);
    expect(typo.stderr).toContain("--create");
    expect((await s3Store(bucket).list({ prefix: "team/worksapce" })).objects).toEqual([]);
    // Wrong credentials: a clear failure, exit 1.
    const denied = await cli(["ls", ...at], { env: { ...env, AWS_SECRET_ACCESS_KEY: "wrong" } });
    expect(denied.status).toBe(1);
    expect(denied.stderr).toContain("EACCES");
  }, 120_000);
});
