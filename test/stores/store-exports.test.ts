// The stores' part of the public core: the contract, its errors and helpers, the stores and the
// decorators, and nothing internal (the formatter of store error messages stays inside).
import { expect, test } from "bun:test";

test("the core exports every store error and helper, and not the formatter of their messages", async () => {
  const core: Record<string, unknown> = await import("../../src/core.ts");
  expect(core.describe).toBeUndefined();
  const errors = ["StoreError", "NotFoundError", "PreconditionFailedError", "AmbiguousOutcomeError", "UnavailableError", "UnauthorizedError"];
  errors.push("CorruptObjectError", "UnsupportedFormatError", "InvalidRequestError", "MisconfiguredError");
  for (const name of errors) expect(typeof core[name]).toBe("function");
  const helpers = ["isStoreError", "listAll", "compareKeys", "keyProblem", "rangeProblem", "settleConditionalPut", "normalizeEtag", "sameEtag", "detectProvider"];
  for (const name of helpers) expect(typeof core[name]).toBe("function");
  const stores = ["S3ObjectStore", "LocalObjectStore", "MemoryObjectStore", "RetryingStore", "CountingStore", "FaultInjectingStore", "StoreCrashedError", "LatencyStore", "LocatedStore"];
  for (const name of stores) expect(typeof core[name]).toBe("function");
  expect(core.maxKeyBytes).toBe(1024);
});
