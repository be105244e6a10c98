// The simulated store answers like a real one when the scheduler delivers everything at once: the
// same conformance suite as LocalObjectStore and S3ObjectStore (create-only puts, If-Match, ranges,
// 404s, listing order and pages, error classes).
import { objectStoreSuite } from "../stores/object-store-suite.ts";
import { SimBucket } from "./sim-store.ts";

const bucket = new SimBucket(() => Date.now());
bucket.allDirect = true;
let clients = 0;

objectStoreSuite("simulated store (every request delivered at once)", async () => ({
  store: bucket.client(`conformance-${++clients}`),
  another: () => bucket.client(`conformance-${++clients}`),
  wrongCredentials: { gap: "the simulated store has no credentials; the scheduler injects UnauthorizedError as a fault instead" },
}));
