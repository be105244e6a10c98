// Seeded randomness and injectable time, so fault campaigns, backoff jitter and model-based tests
// replay exactly from a printed seed.

/** A small, fast, seeded generator (mulberry32): floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed from the environment variable `name` if set, else a fresh one (print it!). */
export function seedFrom(name: string): number {
  const value = process.env[name];
  if (value !== undefined && value !== "") {
    const seed = Number(value);
    if (!Number.isSafeInteger(seed)) throw new Error(`${name} must be an integer seed, got ${JSON.stringify(value)}`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const sleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
