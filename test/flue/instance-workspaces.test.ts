// How a Flue sandbox instance id maps to a workspace, and who shares what: one workspace per id
// under `<prefix>/<id>` (never shared unless the caller asks), one open mount per workspace shared
// by every factory of the process (Flue makes a factory on every render), a caller's function or
// a caller's filesystem when given, and a storeFactory that ignores the prefix refused.

import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { LocalObjectStore, S3CachedFsManagerImpl } from "../../src/core.ts";
import { acceleratedFsSandbox, instanceMountConfig, type AcceleratedFsSandboxOptions } from "../../src/flue/index.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { quietMount, testBucket } from "./flue-fixtures.ts";

afterAll(() => removeTempDirectories());

test("each instance id gets its own prefix and mount name under the base config; ids are escaped into one key segment", () => {
  expect(instanceMountConfig({ bucket: "my-bucket", prefix: "agents/", region: "us-east-1" }, "issue-42")).toEqual({
    bucket: "my-bucket",
    prefix: "agents/issue-42",
    region: "us-east-1",
    name: "my-bucket/agents/issue-42",
  });
  expect(instanceMountConfig({ name: "flue", prefix: "" }, "a/b c")).toEqual({ name: "flue/a%2Fb%20c", prefix: "a%2Fb%20c" });
  expect(instanceMountConfig({ prefix: "agents" }, "..")).toEqual({ name: "agents/%2E%2E", prefix: "agents/%2E%2E" });
  expect(instanceMountConfig({}, "t1")).toEqual({ name: "flue/t1", prefix: "t1" });
  expect(() => instanceMountConfig({ prefix: "agents" }, "")).toThrow("invalid sandbox instance id");
  // A function maps ids as the caller decides; the name defaults as the manager's does (bucket/prefix).
  expect(instanceMountConfig((id) => ({ bucket: "b", prefix: `teams/${id.split("-")[0]}` }), "red-7")).toEqual({ bucket: "b", prefix: "teams/red", name: "b/teams/red" });
});

test("two instance ids never see each other's files", async () => {
  const factory = testBucket("ws-isolated").factory();
  try {
    const first = await factory.createSandbox({ id: "first" });
    const second = await factory.createSandbox({ id: "second" });
    await first.writeFile("secret.txt", "first's");
    expect(await second.exists("secret.txt")).toBe(false);
    expect((await second.exec("ls -a")).stdout).toBe(".\n..\n");
    expect((await factory.filesystemFor("first")).name).toBe("agents/first");
    expect((await factory.filesystemFor("second")).name).toBe("agents/second");
  } finally {
    await factory.close();
  }
});

test("factories made afresh (as on every render) share one open mount per instance; it closes when the last one is closed", async () => {
  const bucket = testBucket("ws-shared-mount");
  const cacheRoot = tempDirectory("flue-cache-ws-shared-mount");
  const one = bucket.factory({ cacheRoot });
  const two = bucket.factory({ cacheRoot });
  const sandboxOne = await one.createSandbox({ id: "same" });
  const sandboxTwo = await two.createSandbox({ id: "same" });
  const filesystem = await one.filesystemFor("same");
  expect(await two.filesystemFor("same")).toBe(filesystem);
  await sandboxOne.writeFile("from-one.txt", "1");
  expect(await sandboxTwo.readFile("from-one.txt")).toBe("1");

  await one.close();
  expect(filesystem.closed).toBe(false); // `two` still uses it
  expect((await sandboxTwo.exec("cat from-one.txt")).stdout).toBe("1");
  await two.close();
  expect(filesystem.closed).toBe(true);

  // The workspace is durable: a third factory mounts it again.
  const three = bucket.factory({ cacheRoot });
  try {
    expect(await (await three.createSandbox({ id: "same" })).readFile("from-one.txt")).toBe("1");
  } finally {
    await three.close();
  }
});

test("a storeFactory that ignores config.prefix is refused rather than putting every instance in one store", async () => {
  const root = tempDirectory("flue-bucket-ws-no-prefix");
  const factory = acceleratedFsSandbox({
    mount: { prefix: "agents", ...quietMount },
    managerConfig: { cacheRoot: tempDirectory("flue-cache-ws-no-prefix"), storeFactory: () => new LocalObjectStore({ root, fsync: false }) },
  });
  try {
    await (await factory.createSandbox({ id: "first" })).writeFile("mine.txt", "first's");
    await expect(factory.createSandbox({ id: "second" })).rejects.toThrow(`the storeFactory returned the same store (local:${root}) for prefix "agents/second" as for "agents/first": it must honour config.prefix`);
  } finally {
    await factory.close();
  }
  // With a manager of the caller's own the same check happens once mounted.
  const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("flue-cache-ws-no-prefix"), storeFactory: () => new LocalObjectStore({ root, fsync: false }) });
  const own = acceleratedFsSandbox({ mount: { prefix: "agents", ...quietMount }, manager });
  try {
    await expect(own.createSandbox({ id: "third" })).rejects.toThrow("it must honour config.prefix");
    expect(manager.names).toEqual([]); // the mount was closed again
  } finally {
    await own.close();
  }
});

test("a mount function maps instance ids to workspaces as the caller decides (here: one per team)", async () => {
  const bucket = testBucket("ws-function");
  const factory = acceleratedFsSandbox({
    mount: (id) => ({ name: `team-${id.split("-")[0]}`, prefix: `teams/${id.split("-")[0]}`, ...quietMount }),
    managerConfig: { cacheRoot: tempDirectory("flue-cache-ws-function"), storeFactory: bucket.storeFactory },
  });
  try {
    await (await factory.createSandbox({ id: "red-1" })).writeFile("board.md", "red");
    expect(await (await factory.createSandbox({ id: "red-2" })).readFile("board.md")).toBe("red");
    expect(await (await factory.createSandbox({ id: "blue-1" })).exists("board.md")).toBe(false);
  } finally {
    await factory.close();
  }
});

test("a filesystem passed in is one workspace shared by every instance, and the factory never closes it", async () => {
  const bucket = testBucket("ws-filesystem");
  const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("flue-cache-ws-filesystem"), storeFactory: bucket.storeFactory });
  const filesystem = await manager.mount({ name: "shared", prefix: "shared", ...quietMount });
  const factory = acceleratedFsSandbox({ filesystem, cwd: "/team" });
  try {
    await (await factory.createSandbox({ id: "a" })).writeFile("note.txt", "from a");
    expect(await (await factory.createSandbox({ id: "b" })).readFile("note.txt")).toBe("from a");
    expect(await factory.filesystemFor("anyone")).toBe(filesystem);
    await factory.close();
    expect(filesystem.closed).toBe(false);
    expect(await filesystem.readText("/team/note.txt")).toBe("from a");
  } finally {
    await manager.closeAll();
  }
});

test("with a manager of the caller's own, a mount it already has is used (never closed by the factory), and one it closed is opened again", async () => {
  const bucket = testBucket("ws-manager");
  const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("flue-cache-ws-manager"), storeFactory: bucket.storeFactory });
  const mount = { prefix: "agents", ...quietMount };
  const premounted = await manager.mount(instanceMountConfig(mount, "known"));
  await premounted.writeFile("/workspace/seed.txt", "seeded by the host");
  const factory = acceleratedFsSandbox({ mount, manager });
  try {
    expect(await (await factory.createSandbox({ id: "known" })).readFile("seed.txt")).toBe("seeded by the host");
    await factory.close();
    expect(premounted.closed).toBe(false);
    await manager.closeAll();

    const again = acceleratedFsSandbox({ mount, manager });
    const sandbox = await again.createSandbox({ id: "known" });
    expect(await sandbox.readFile("seed.txt")).toBe("seeded by the host");
    await again.close();
    expect(manager.names).toEqual([]); // this time the factory opened it, so it closed it
  } finally {
    await manager.closeAll();
  }
});

test("a read-only mount serves reads and refuses writes; it never shares a read-write mount's open handle", async () => {
  const bucket = testBucket("ws-readonly");
  const cacheRoot = tempDirectory("flue-cache-ws-readonly");
  const writer = bucket.factory({ cacheRoot });
  await (await writer.createSandbox({ id: "docs" })).writeFile("guide.md", "read me");
  const reader = bucket.factory({ cacheRoot, mount: { prefix: "agents", mode: "readonly", ...quietMount } });
  try {
    await expect(reader.createSandbox({ id: "docs" })).rejects.toThrow(
      'EBUSY: a mount named "agents/docs" is already open in this process for {"prefix":"agents/docs","mode":"readwrite"}; the mount for {"prefix":"agents/docs","mode":"readonly"} needs a name of its own',
    );
    await writer.close();
    const sandbox = await reader.createSandbox({ id: "docs" });
    expect(await sandbox.readFile("guide.md")).toBe("read me");
    await expect(sandbox.writeFile("new.md", "x")).rejects.toThrow("EROFS");
    expect(await sandbox.exec("echo x > new.md")).toMatchObject({ exitCode: 1, stderr: "bash: new.md: Read-only file system\n" });
  } finally {
    await reader.close();
  }
});

test("a mount name already open for another workspace is refused, not shared", async () => {
  const bucket = testBucket("ws-name-clash");
  const cacheRoot = tempDirectory("flue-cache-ws-name-clash");
  const make = (prefix: string) =>
    acceleratedFsSandbox({ mount: () => ({ name: "same-name", prefix, ...quietMount }), managerConfig: { cacheRoot, storeFactory: bucket.storeFactory } });
  const first = make("one");
  const second = make("two");
  try {
    await (await first.createSandbox({ id: "a" })).writeFile("one.txt", "1");
    await expect(second.createSandbox({ id: "b" })).rejects.toThrow('EBUSY: a mount named "same-name" is already open in this process for {"prefix":"one","mode":"readwrite"}');
  } finally {
    await first.close();
    await second.close();
  }
});

test("bad options fail at once, naming the field", () => {
  const managerConfig = { cacheRoot: join(tempDirectory("flue-cache-ws-options"), "cache") };
  const cases: [unknown, string][] = [
    [undefined, "expected an options object"],
    [{ managerConfig }, "give a mount config (one workspace per instance id) or a mounted filesystem"],
    [{ mount: {}, managerConfig, manager: {} }, "with mount, give at most one of managerConfig and manager"],
    [{ mount: {}, managerConfig: null }, "managerConfig: expected an object of manager options"],
    [{ mount: "agents", managerConfig }, "mount: expected a mount config or a function"],
    [{ mount: {}, manager: {} }, "manager: expected an S3CachedFsManagerImpl"],
    [{ mount: {}, managerConfig: { cacheRoot: "" } }, "managerConfig.cacheRoot: expected a non-empty string"],
    [{ filesystem: {} }, "filesystem: expected a mounted S3CachedFs"],
    [{ mount: {}, managerConfig, cwd: "" }, "cwd: expected a non-empty string"],
    [{ mount: {}, managerConfig, grep: { maxFileBytes: -1 } }, "grep.maxFileBytes: expected an integer >= 0"],
    [{ mount: {}, managerConfig, grep: { readAhead: 0 } }, "grep.readAhead: expected an integer >= 1"],
  ];
  for (const [options, message] of cases) {
    expect(() => acceleratedFsSandbox(options as AcceleratedFsSandboxOptions)).toThrow(`EINVAL: invalid sandbox options: ${message}`);
  }
});
