// Each store decorator, with tests that fail if it misbehaves: retrying, counting, fault-injecting,
// latency. They run on LocalObjectStore; the conformance suite covers the real S3 server.
import { afterAll, describe, expect, test } from "bun:test";
import {
  AmbiguousOutcomeError,
  CountingStore,
  FaultInjectingStore,
  LatencyStore,
  LocalObjectStore,
  NotFoundError,
  PreconditionFailedError,
  RetryingStore,
  StoreCrashedError,
  UnavailableError,
  type FaultRule,
} from "../../src/stores/index.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(removeTempDirectories);

const text = (value: string) => new TextEncoder().encode(value);
const read = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const noSleep = async () => {};

/** local store <- counting (what really reached the store) <- faults <- retrying */
function stack(rules: FaultRule[], retry: { maxAttempts?: number } = {}) {
  const local = new LocalObjectStore({ root: tempDirectory("decorators"), fsync: false });
  const reached = new CountingStore(local, { record: true });
  const faults = new FaultInjectingStore(reached, { seed: 7, rules, sleep: noSleep });
  const delays: number[] = [];
  const retrying = new RetryingStore(faults, { ...retry, sleep: async (ms) => void delays.push(ms), random: () => 0.5 });
  return { local, reached, faults, retrying, delays };
}

describe("RetryingStore", () => {
  test("retries an unavailable store until it answers, with growing jittered backoff", async () => {
    const { retrying, reached, delays } = stack([{ operation: "get", fault: { kind: "error", error: "throttle" }, times: 3 }]);
    await retrying.put("k", text("v"));
    reached.reset();
    expect(read((await retrying.get("k")).body)).toBe("v");
    expect(reached.snapshot().get.requests).toBe(1); // the three failures never reached the store
    expect(delays).toEqual([25, 50, 100]); // half of the 50, 100, 200 ms ceilings
  });

  test("gives up after maxAttempts and throws the last error", async () => {
    const { retrying, faults } = stack([{ operation: "head", fault: { kind: "error", error: "server-error" }, times: Infinity }], { maxAttempts: 4 });
    await expect(retrying.head("k")).rejects.toBeInstanceOf(UnavailableError);
    expect(faults.fired).toHaveLength(4);
  });

  test("never retries a precondition failure or a missing key", async () => {
    const { retrying, reached } = stack([]);
    await retrying.put("k", text("v"));
    reached.reset();
    await expect(retrying.put("k", text("w"), { ifNoneMatch: "*" })).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(retrying.get("missing")).rejects.toBeInstanceOf(NotFoundError);
    expect(reached.snapshot().total.requests).toBe(2);
  });

  test("settles a create-only write whose answer was lost by reading it back: it won", async () => {
    const { retrying, reached } = stack([{ operation: "put", fault: { kind: "lost-answer" } }]);
    const result = await retrying.put("slot", text("mine"), { ifNoneMatch: "*" });
    expect(result.etag).not.toBe("");
    expect(reached.recorded().map((request) => request.operation)).toEqual(["put", "get"]);
    expect(read((await retrying.get("slot")).body)).toBe("mine");
  });

  test("a lost create-only write that did not land is sent again, exactly once more", async () => {
    const { retrying, reached } = stack([{ operation: "put", fault: { kind: "error", error: "timeout" } }]);
    await retrying.put("slot", text("mine"), { ifNoneMatch: "*" });
    expect(reached.recorded().map((request) => `${request.operation}:${request.ok}`)).toEqual(["get:false", "put:true"]);
  });

  test("a lost compare-and-swap is a failure if another writer's object stands there", async () => {
    const local = new LocalObjectStore({ root: tempDirectory("decorators"), fsync: false });
    const { etag } = await local.put("head", text("v1"));
    // Our CAS is lost before it lands; meanwhile another writer swaps the object.
    const faults = new FaultInjectingStore(local, { rules: [{ operation: "put", fault: { kind: "error", error: "reset" } }] });
    const racing = new RetryingStore(faults, { sleep: noSleep });
    await local.put("head", text("other"), { ifMatch: etag });
    await expect(racing.put("head", text("mine"), { ifMatch: etag })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(read((await local.get("head")).body)).toBe("other");
  });

  test("a lost compare-and-swap that landed is a success, not a spurious conflict", async () => {
    const { retrying, local } = stack([{ operation: "put", conditional: true, fault: { kind: "lost-answer", error: "reset" } }]);
    const { etag } = await local.put("head", text("v1"));
    const swapped = await retrying.put("head", text("v2"), { ifMatch: etag });
    expect(swapped.etag).toBe((await local.head("head")).etag);
  });

  test("an unconditional write with an unknown outcome is simply sent again", async () => {
    const { retrying, reached } = stack([{ operation: "put", fault: { kind: "lost-answer" } }]);
    await retrying.put("k", text("v"));
    expect(reached.recorded().filter((request) => request.operation === "put")).toHaveLength(2);
  });

  test("if the read-back fails too, the outcome stays ambiguous", async () => {
    const { retrying } = stack(
      [
        { operation: "put", fault: { kind: "lost-answer" }, times: Infinity },
        { operation: "get", fault: { kind: "error", error: "server-error" }, times: Infinity },
      ],
      { maxAttempts: 2 },
    );
    await expect(retrying.put("slot", text("mine"), { ifNoneMatch: "*" })).rejects.toBeInstanceOf(AmbiguousOutcomeError);
  });
});

describe("CountingStore", () => {
  test("counts requests, errors and bytes by operation", async () => {
    const counting = new CountingStore(new LocalObjectStore({ root: tempDirectory("counting"), fsync: false }), { record: true });
    await counting.put("a", text("12345"));
    await counting.put("b", text("xy"), { ifNoneMatch: "*" });
    await counting.get("a");
    await counting.get("a", { range: { offset: 1, length: 2 } });
    await counting.get("missing").catch(() => {});
    await counting.head("b");
    await counting.list({ prefix: "" });
    await counting.delete("b");
    const counts = counting.snapshot();
    expect(counts.put).toEqual({ requests: 2, errors: 0, bytesIn: 0, bytesOut: 7 });
    expect(counts.get).toEqual({ requests: 3, errors: 1, bytesIn: 7, bytesOut: 0 });
    expect(counts.head.requests).toBe(1);
    expect(counts.list.requests).toBe(1);
    expect(counts.delete.requests).toBe(1);
    expect(counts.total.requests).toBe(8);
    expect(counting.recorded({ operation: "put" }).map((request) => request.conditional)).toEqual([undefined, "create-only"]);
    expect(counting.recorded({ operation: "get" })[1]?.range).toEqual({ offset: 1, length: 2 });
    counting.reset();
    expect(counting.snapshot().total.requests).toBe(0);
  });
});

describe("FaultInjectingStore", () => {
  test("the same seed fires the same faults on the same requests", async () => {
    const run = async (seed: number) => {
      const store = new FaultInjectingStore(new LocalObjectStore({ root: tempDirectory("faults"), fsync: false }), {
        seed,
        rules: [{ operation: "put", probability: 0.3, times: Infinity, fault: { kind: "error", error: "throttle" } }],
      });
      const outcomes = [];
      for (let index = 0; index < 40; index++) outcomes.push(await store.put(`k${index}`, text("v")).then(() => "ok", () => "fail"));
      return outcomes.join(",");
    };
    const first = await run(42);
    expect(await run(42)).toBe(first);
    expect(first).toContain("fail");
    expect(first).toContain("ok");
    expect(await run(43)).not.toBe(first);
  });

  test("rules pick by operation, key prefix, position and count", async () => {
    const local = new LocalObjectStore({ root: tempDirectory("faults"), fsync: false });
    const store = new FaultInjectingStore(local, {
      rules: [{ operation: "put", keyPrefix: "wal/", after: 1, times: 2, fault: { kind: "error", error: "server-error" } }],
    });
    const outcome = (key: string) => store.put(key, text("v")).then(() => "ok", (error: Error) => error.constructor.name);
    expect(await outcome("packs/1")).toBe("ok");
    expect(await outcome("wal/1")).toBe("ok"); // skipped by `after`
    expect(await outcome("wal/2")).toBe("UnavailableError");
    expect(await outcome("wal/3")).toBe("UnavailableError");
    expect(await outcome("wal/4")).toBe("ok"); // `times` used up
    expect(store.fired.map((fault) => fault.key)).toEqual(["wal/2", "wal/3"]);
  });

  test("a lost answer means the write landed; an error before sending means it did not", async () => {
    const local = new LocalObjectStore({ root: tempDirectory("faults"), fsync: false });
    const store = new FaultInjectingStore(local, {
      rules: [
        { operation: "put", keyPrefix: "landed", fault: { kind: "lost-answer" } },
        { operation: "put", keyPrefix: "lost", fault: { kind: "error", error: "timeout" } },
      ],
    });
    await expect(store.put("landed", text("v"))).rejects.toBeInstanceOf(AmbiguousOutcomeError);
    await expect(store.put("lost", text("v"))).rejects.toBeInstanceOf(AmbiguousOutcomeError);
    expect(read((await local.get("landed")).body)).toBe("v");
    await expect(local.get("lost")).rejects.toBeInstanceOf(NotFoundError);
  });

  test("after a crash nothing more is sent, and the crashing request lands only if asked", async () => {
    const local = new LocalObjectStore({ root: tempDirectory("faults"), fsync: false });
    const landed = new FaultInjectingStore(local, { rules: [{ operation: "put", keyPrefix: "a", fault: { kind: "crash", landed: true } }] });
    await expect(landed.put("a", text("v"))).rejects.toBeInstanceOf(StoreCrashedError);
    await expect(landed.get("a")).rejects.toBeInstanceOf(StoreCrashedError);
    expect(landed.hasCrashed).toBe(true);
    expect(read((await local.get("a")).body)).toBe("v");
    const notLanded = new FaultInjectingStore(local, { rules: [{ operation: "put", keyPrefix: "b", fault: { kind: "crash", landed: false } }] });
    await expect(notLanded.put("b", text("v"))).rejects.toBeInstanceOf(StoreCrashedError);
    await expect(local.get("b")).rejects.toBeInstanceOf(NotFoundError);
  });

  test("a delay holds the request, then lets it through", async () => {
    const waits: number[] = [];
    const store = new FaultInjectingStore(new LocalObjectStore({ root: tempDirectory("faults"), fsync: false }), {
      rules: [{ operation: "put", fault: { kind: "delay", ms: 250 } }],
      sleep: async (ms) => void waits.push(ms),
    });
    await store.put("k", text("v"));
    expect(waits).toEqual([250]);
    expect(read((await store.get("k")).body)).toBe("v");
  });
  test("a late request: the caller hears a timeout at once, and the write lands later, when released", async () => {
    const local = new LocalObjectStore({ root: tempDirectory("faults"), fsync: false });
    const store = new FaultInjectingStore(local, {
      rules: [
        { operation: "put", keyPrefix: "wal/", conditional: true, times: 2, fault: { kind: "late" } },
        { operation: "put", keyPrefix: "go", fault: { kind: "release-late" } },
      ],
    });
    await expect(store.put("wal/1", text("first"), { ifNoneMatch: "*" })).rejects.toBeInstanceOf(AmbiguousOutcomeError);
    await expect(store.put("wal/1", text("second"), { ifNoneMatch: "*" })).rejects.toBeInstanceOf(AmbiguousOutcomeError);
    expect(store.lateRequests).toBe(2);
    await expect(local.get("wal/1")).rejects.toBeInstanceOf(NotFoundError); // not yet
    await store.put("go", text("now")); // the held writes land just before this one
    expect(store.lateRequests).toBe(0);
    expect(store.lateLandings.map((landing) => landing.landed)).toEqual([true, false]); // the second found the slot taken
    expect(store.lateLandings[1]!.error).toBeInstanceOf(PreconditionFailedError);
    expect(read((await local.get("wal/1")).body)).toBe("first");
  });

  test("a late request with a delay lands by itself; releaseLate() sends the others", async () => {
    const local = new LocalObjectStore({ root: tempDirectory("faults"), fsync: false });
    let wake: () => void = () => {};
    const store = new FaultInjectingStore(local, {
      rules: [
        { operation: "put", keyPrefix: "timed", fault: { kind: "late", ms: 1_000 } },
        { operation: "delete", fault: { kind: "late", error: "reset" } },
      ],
      sleep: () => new Promise<void>((resolve) => (wake = resolve)),
    });
    await local.put("gone", text("x"));
    await expect(store.put("timed", text("v"))).rejects.toBeInstanceOf(AmbiguousOutcomeError);
    await expect(store.delete("gone")).rejects.toBeInstanceOf(UnavailableError);
    expect(store.lateRequests).toBe(2);
    wake(); // the put's delay has passed
    while (store.lateLandings.length === 0) await Bun.sleep(1);
    expect(read((await local.get("timed")).body)).toBe("v");
    expect((await local.get("gone")).body.byteLength).toBe(1);
    expect(await store.releaseLate()).toEqual([{ operation: "delete", key: "gone", landed: true }]);
    await expect(local.get("gone")).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("LatencyStore", () => {
  test("adds one round trip per request and transfer time per byte", async () => {
    const waits: number[] = [];
    const store = new LatencyStore(new LocalObjectStore({ root: tempDirectory("latency"), fsync: false }), {
      roundTripMs: 20,
      bytesPerSecond: 1000,
      sleep: async (ms) => void waits.push(ms),
    });
    await store.put("k", text("0123456789"));
    await store.head("k");
    await store.get("k");
    expect(waits).toEqual([20, 10, 20, 20, 10]);
  });
});
