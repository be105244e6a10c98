import { afterAll } from "bun:test";
import { LocalObjectStore } from "../../src/stores/index.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { objectStoreSuite } from "./object-store-suite.ts";

const root = tempDirectory("local-store");
afterAll(removeTempDirectories);

objectStoreSuite("LocalObjectStore", async () => ({
  store: new LocalObjectStore({ root }),
  another: () => new LocalObjectStore({ root }),
  wrongCredentials: { gap: "a local directory has no credentials; file permissions guard it" },
}));
