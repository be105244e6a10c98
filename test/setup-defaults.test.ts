// The shortest set-up, from the user's side: one call to a mounted filesystem, and the cache in the
// platform's cache directory unless the caller names one (the core manager, mountS3CachedFs,
// Mastra's AcceleratedFS and the Flue sandbox factory alike). Each case runs as a user's script in
// an app that has the package installed, with its own HOME and XDG_CACHE_HOME, against the real S3
// server.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { defaultCacheRoot, LocalObjectStore, mountS3CachedFs, S3CachedFsManagerImpl } from "../src/core.ts";
import { expectCode } from "./support/errors.ts";
import { freshBucket, s3Server } from "./support/s3-server.ts";
import { tempApp, type TempApp } from "./support/temp-app.ts";
import { removeTempDirectories, tempDirectory } from "./support/temp.ts";

let app: TempApp;
let bucket = "";
afterAll(() => removeTempDirectories());
beforeAll(async () => {
  app = tempApp("setup-defaults");
  bucket = await freshBucket("setup-defaults");
});

/** The S3 server's settings as a user writes them in a mount config. */
function s3Options(): string {
  const server = s3Server();
  return `region: ${JSON.stringify(server.region)}, endpoint: ${JSON.stringify(server.endpoint)}, forcePathStyle: true, accessKeyId: ${JSON.stringify(server.accessKeyId)}, secretAccessKey: ${JSON.stringify(server.secretAccessKey)}`;
}

/** An environment with its own home and, when given, its own XDG_CACHE_HOME (unset otherwise). */
function userEnvironment(home: string, xdgCacheHome?: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, HOME: home };
  delete env.XDG_CACHE_HOME;
  if (xdgCacheHome !== undefined) env.XDG_CACHE_HOME = xdgCacheHome;
  return env;
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

async function runScript(file: string, source: string, env: Record<string, string | undefined>) {
  const result = await app.run(file, source, env);
  if (result.exitCode !== 0) throw new Error(`${file} exited ${result.exitCode}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout.trim();
}

test("mountS3CachedFs({ bucket, region, prefix, ... }) is one line to a working filesystem, cached under $XDG_CACHE_HOME/s3-bun-cached-fs (mode 0o700); close() lets the same mount open again", async () => {
  const home = tempDirectory("setup-home");
  const xdg = join(tempDirectory("setup-xdg"), "cache");
  const output = await runScript(
    "one-line.ts",
    `import { mountS3CachedFs } from "s3-bun-cached-fs";
const fs = await mountS3CachedFs({ bucket: ${JSON.stringify(bucket)}, prefix: "one-line", ${s3Options()} });
await fs.writeFile("/hello.txt", "hello");
const first = await fs.readText("/hello.txt");
await fs.close();
{
  await using again = await mountS3CachedFs({ bucket: ${JSON.stringify(bucket)}, prefix: "one-line", ${s3Options()} });
  console.log(JSON.stringify({ first, again: await again.readText("/hello.txt"), name: again.name }));
}
`,
    userEnvironment(home, xdg),
  );
  expect(JSON.parse(output)).toEqual({ first: "hello", again: "hello", name: `${bucket}/one-line` });
  const cacheRoot = join(xdg, "s3-bun-cached-fs");
  expect(mode(cacheRoot)).toBe(0o700);
  expect(readdirSync(cacheRoot).length).toBeGreaterThan(0); // the mount's directory is there
  expect(existsSync(join(home, ".cache"))).toBe(false);
}, 120_000);

test("without XDG_CACHE_HOME the manager's cache is ~/.cache/s3-bun-cached-fs (on Linux), created with mode 0o700", async () => {
  const home = tempDirectory("setup-home-only");
  const output = await runScript(
    "manager-default.ts",
    `import { S3CachedFsManagerImpl, defaultCacheRoot } from "s3-bun-cached-fs/core";
await using manager = new S3CachedFsManagerImpl();
const fs = await manager.mount({ bucket: ${JSON.stringify(bucket)}, prefix: "manager-default", ${s3Options()} });
await fs.writeFile("/a.txt", "a");
console.log(JSON.stringify({ cacheRoot: manager.cacheRoot, defaultCacheRoot: defaultCacheRoot() }));
`,
    userEnvironment(home),
  );
  const expected = join(home, ".cache", "s3-bun-cached-fs");
  expect(JSON.parse(output)).toEqual({ cacheRoot: expected, defaultCacheRoot: expected });
  expect(mode(expected)).toBe(0o700);
}, 120_000);

test("Mastra's AcceleratedFS and the Flue sandbox factory need no cacheRoot either: both cache in the platform's cache directory", async () => {
  const home = tempDirectory("setup-adapters-home");
  const xdg = tempDirectory("setup-adapters-xdg");
  const output = await runScript(
    "adapters-default.ts",
    `import { AcceleratedFS } from "s3-bun-cached-fs/mastra";
import { acceleratedFsSandbox } from "s3-bun-cached-fs/flue";
const mastra = new AcceleratedFS({ bucket: ${JSON.stringify(bucket)}, prefix: "mastra-default", ${s3Options()} });
await mastra.writeFile("/note.md", "from mastra");
const mastraRead = await mastra.readFile("/note.md", { encoding: "utf-8" });
const mastraCacheRoot = (await mastra.getInfo()).metadata?.cacheRoot;
await mastra.destroy();
const factory = acceleratedFsSandbox({ cwd: "/workspace", mount: { bucket: ${JSON.stringify(bucket)}, prefix: "flue-default", ${s3Options()} } });
const sandbox = await factory.createSandbox({ id: "t1" });
await sandbox.writeFile("note.md", "from flue");
const flueRead = await sandbox.readFile("note.md");
await factory.close();
console.log(JSON.stringify({ mastraRead, mastraCacheRoot, flueRead }));
`,
    userEnvironment(home, xdg),
  );
  const cacheRoot = join(xdg, "s3-bun-cached-fs");
  const result = JSON.parse(output);
  expect(result.mastraRead).toBe("from mastra");
  expect(result.flueRead).toBe("from flue");
  expect(result.mastraCacheRoot).toBe(cacheRoot);
  const mountDirectories = readdirSync(cacheRoot).filter((name) => !name.startsWith("."));
  expect(mountDirectories.some((name) => name.startsWith(`${bucket}_mastra-default`))).toBe(true);
  expect(mountDirectories.some((name) => name.startsWith(`${bucket}_flue-default_t1`))).toBe(true);
  expect(mode(cacheRoot)).toBe(0o700);
}, 180_000);

test("defaultCacheRoot follows XDG_CACHE_HOME only when it is an absolute path, and reads the environment at each call", () => {
  const saved = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, HOME: process.env.HOME };
  try {
    process.env.HOME = "/home/someone";
    process.env.XDG_CACHE_HOME = "/var/cache/someone";
    expect(defaultCacheRoot()).toBe("/var/cache/someone/s3-bun-cached-fs");
    process.env.XDG_CACHE_HOME = "relative/cache"; // the XDG spec says to ignore a relative path
    expect(defaultCacheRoot()).toBe(process.platform === "darwin" ? "/home/someone/Library/Caches/s3-bun-cached-fs" : "/home/someone/.cache/s3-bun-cached-fs");
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
});

test("mountS3CachedFs rejects a typo before it creates anything, names a missing bucket, and while its mount is open the same name under the same cacheRoot is EBUSY", async () => {
  const root = tempDirectory("setup-typo");
  const cacheRoot = join(root, "cache");
  const storeFactory = () => new LocalObjectStore({ root: join(root, "bucket"), fsync: false });
  const typo = await expectCode(mountS3CachedFs({ bucket: "my-bucket", prefx: "ws", cacheRoot, storeFactory } as never), "EINVAL");
  expect(typo.message).toContain("prefx: unknown option");
  expect(existsSync(cacheRoot)).toBe(false);
  const nameless = await expectCode(mountS3CachedFs({ prefix: "ws", cacheRoot, storeFactory }), "EINVAL");
  expect(nameless.message).toContain("give a name or a bucket");

  const fs = await mountS3CachedFs({ name: "ws", cacheRoot, storeFactory, cacheBytes: 1024 * 1024 });
  await fs.writeFile("/x", "1");
  await expectCode(mountS3CachedFs({ name: "ws", cacheRoot, storeFactory }), "EBUSY");
  await fs.close();
  // The manager behind it held only that mount: once it is closed, nothing is left open.
  const manager = new S3CachedFsManagerImpl({ cacheRoot, storeFactory });
  const again = await manager.mount({ name: "ws" });
  expect(await again.readText("/x")).toBe("1");
  await manager.closeAll();
});
