// One rule names a mount by default (and so its directory under cacheRoot), whichever surface
// opens it: the manager, Mastra's AcceleratedFS and Flue's instance workspaces. A workspace opened
// through one of them and then another finds the same directory, and so its warm index and cache.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { LocalObjectStore, S3CachedFsManagerImpl, defaultMountName, mountConfigKeys } from "../src/core.ts";
import { AcceleratedFS } from "../src/mastra/index.ts";
import { instanceMountConfig } from "../src/flue/index.ts";
import { removeTempDirectories, tempDirectory } from "./support/temp.ts";

afterAll(removeTempDirectories);

test("the manager, Mastra and Flue derive a mount's default name by one rule: bucket, then the prefix as a location", async () => {
  const directory = tempDirectory("mount-names");
  const storeFactory = () => new LocalObjectStore({ root: join(directory, "bucket"), fsync: false });
  const config = { bucket: "team-bucket", prefix: "/agents//a1/./" };
  expect(defaultMountName(config)).toBe("team-bucket/agents/a1");
  expect(defaultMountName({ bucket: "team-bucket" })).toBe("team-bucket");
  expect(defaultMountName({ prefix: "/ws/" })).toBe("ws");
  expect(defaultMountName({})).toBeUndefined();

  const manager = new S3CachedFsManagerImpl({ cacheRoot: join(directory, "manager"), storeFactory });
  await manager.mount(config);
  expect(manager.names).toEqual(["team-bucket/agents/a1"]);
  await manager.closeAll();

  const mastra = new AcceleratedFS({ ...config, cacheRoot: join(directory, "mastra"), storeFactory });
  await mastra.init();
  expect(mastra.getInfo().metadata?.mountName).toBe("team-bucket/agents/a1");
  await mastra.destroy();

  // Flue: an id mapped to this config by the caller's function is named by the same rule.
  expect(instanceMountConfig(() => config, "session-1").name).toBe("team-bucket/agents/a1");
});

test("Mastra accepts every mount option the core has, as the core grows (derived from its schema, not a hand list)", () => {
  const adapterDecides = new Set(["name", "mode"]);
  for (const key of mountConfigKeys.filter((key) => !adapterDecides.has(key))) {
    // Mount values are the core's to check, at mount; an unknown key is refused here, at construction.
    expect(() => new AcceleratedFS({ [key]: 1 } as never)).not.toThrow();
  }
  expect(() => new AcceleratedFS({ onWriterWait: () => {} } as never)).not.toThrow();
  expect(() => new AcceleratedFS({ name: "x" } as never)).toThrow("name: unknown option");
});
