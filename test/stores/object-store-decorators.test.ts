// The conformance suite run on every store decorator, each alone around LocalObjectStore and with
// nothing armed that changes what it forwards: a decorator must answer exactly as the store it
// wraps (errors, ranges, conditions, listing pages, capabilities). The decorators' own behaviour
// (retries, counts, faults, delays) is tested in decorators.test.ts.
import { afterAll } from "bun:test";
import { CountingStore, FaultInjectingStore, LatencyStore, LocalObjectStore, RetryingStore, type ObjectStore } from "../../src/stores/index.ts";
import { OriginStore } from "../../src/stores/origin-store.ts";
import { LocatedStore } from "../../src/stores/located-store.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { objectStoreSuite } from "./object-store-suite.ts";

afterAll(removeTempDirectories);

const noCredentials = { gap: "a local directory has no credentials; file permissions guard it" };

/** The suite's subject: `wrap` around one LocalObjectStore, and around another on the same directory. */
function decorated(label: string, wrap: (local: ObjectStore, root: string) => ObjectStore): void {
  const root = tempDirectory(`decorated-${label}`);
  const local = () => new LocalObjectStore({ root, fsync: false });
  objectStoreSuite(`${label} around LocalObjectStore`, async () => ({
    store: wrap(local(), root),
    another: () => wrap(local(), root),
    wrongCredentials: noCredentials,
  }));
}

decorated("FaultInjectingStore with no faults armed", (local) => new FaultInjectingStore(local, { seed: 3 }));
decorated("CountingStore", (local) => new CountingStore(local, { record: true }));
decorated("RetryingStore", (local) => new RetryingStore(local));
decorated("LatencyStore with zero latency", (local) => new LatencyStore(local, { roundTripMs: 0 }));
decorated("OriginStore of a filesystem with no ancestors", (local) => new OriginStore(local));
decorated("LocatedStore", (local, root) => new LocatedStore(local, "", (prefix) => new LocalObjectStore({ root: `${root}/${prefix}`, fsync: false })));
