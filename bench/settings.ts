// Benchmark settings: the three sizes of the suite (smoke for CI, default for `npm run bench`,
// full for the on-demand sizes named in the issue) and the command-line flags that choose them.
//
//   bun bench/run.ts                 default sizes, 20 ms round trip, 3 repetitions
//   bun bench/run.ts --full          the big sizes (100k-file walk and mount, 500 MiB mixed, ...)
//   bun bench/run.ts --smoke         a seconds-long run of every workload (what CI runs)
//   --round-trip-ms=N  --repetitions=N  --only=insert,mixed  --out=DIR  --no-docs
//   bun bench/run.ts --render       no measuring: rewrite the charts and performance.md from the
//                                   results JSON already in --out (after editing the notes or the report)
//   bun bench/run.ts --only=writers --merge
//                                   measure some workloads and merge them into the results JSON already
//                                   in --out (they replace those workloads' scenarios, and the report
//                                   says when and how they were measured), then rewrite charts and page
// The same choices can come from the environment: BENCH_PROFILE, BENCH_ROUND_TRIP_MS,
// BENCH_REPETITIONS, BENCH_ONLY, BENCH_OUT; BENCH_REVISION names the code measured when the tree
// has no .git (an exported commit).

const KiB = 1024;
const MiB = 1024 * KiB;

export type Profile = "smoke" | "default" | "full";

export const workloadNames = ["insert", "mixed", "metadata", "reads", "lifecycle", "agents", "local", "transaction", "writers", "busy"] as const;
export type WorkloadName = (typeof workloadNames)[number];

export interface MixedSize {
  label: string;
  workspaceBytes: number;
  fileBytes: number;
}

export interface Sizes {
  insert: { fileBytes: number; transactionFiles: number; transactions: number; singleWrites: number; concurrency: number };
  /**
   * Ours runs at each cache size: `cacheBytes` (one size for every workspace: the row older tables
   * have), and each of `cacheFractions` of the workspace (0.1: a cache a tenth of the workspace).
   */
  mixed: { workspaces: MixedSize[]; reads: number; writes: number; clients: number; cacheBytes: number; cacheFractions: number[] };
  metadata: { statCalls: number; existsCalls: number; directoryEntries: number; readdirCalls: number; walkFiles: number; filesPerDirectory: number };
  reads: { smallFiles: number; fileBytes: number; coldReads: number; largeFileBytes: number; partBytes: number; partConcurrency: number };
  lifecycle: { mountFiles: number; idleRefreshes: number; lagWrites: number; lagIntervalMs: number };
  agents: { shellModules: number; treeFiles: number; treeDirectories: number };
  /** Local speed (no network): small cached files read `calls` times, and `scriptFiles` files written. */
  local: { files: number; fileBytes: number; calls: number; scriptFiles: number };
  /** One transaction of `files` files of `fileBytes`, `filesPerDirectory` to a directory, beside node:fs (no network). */
  transaction: { files: number; fileBytes: number; filesPerDirectory: number };
  /**
   * Several writer processes: agent-like (`agentProcesses` each writing every `intervalMs`,
   * `agentWrites` each; again every `calmIntervalMs`, `calmWrites` each, a pace the one log keeps up with, and again so with ours given `refreshIntervalMs: 0`, no catch-up while idle), then saturation for each count in `processes`: `writes` awaited writes
   * each, and `rounds` rounds of `batch` concurrent writes each; files of `fileBytes`.
   */
  writers: { processes: number[]; writes: number; rounds: number; batch: number; agentProcesses: number; agentWrites: number; intervalMs: number; calmIntervalMs: number; calmWrites: number; fileBytes: number };
  /**
   * One busy mount: for each count in `clients`, that many clients of one mount each writing
   * `writes` files of `fileBytes`, each awaited after a seeded pause of up to `thinkMs`, beside raw
   * PutObject with the same clients and pauses; and one client's `awaitedWrites` without pauses.
   */
  busy: { clients: number[]; writes: number; thinkMs: number; fileBytes: number; awaitedWrites: number };
  /** Concurrency used to seed baselines' objects (not timed). */
  seedConcurrency: number;
}

export interface BenchSettings {
  profile: Profile;
  /** Added before every remote request of every subject, in ms. */
  roundTripMs: number;
  repetitions: number;
  only: WorkloadName[];
  sizes: Sizes;
  /** Where results, charts and performance.md go (`docs` by default). */
  outputDirectory: string;
  /** Write performance.md (off for the smoke run, which writes JSON and charts only). */
  writeDocument: boolean;
  /** Only re-render charts and the document from the results JSON in `outputDirectory`. */
  renderOnly: boolean;
  /** Merge the workloads run into the results JSON already in `outputDirectory`, instead of replacing it. */
  merge: boolean;
  /** Seed of every random choice (file picked, operation order). */
  seed: number;
  /** The mount's head delay (the library default): deferred head updates are counted. */
  headDelayMs: number;
}

const sizesByProfile: Record<Profile, Sizes> = {
  smoke: {
    insert: { fileBytes: 10 * KiB, transactionFiles: 40, transactions: 2, singleWrites: 5, concurrency: 32 },
    mixed: { workspaces: [{ label: "2 MiB", workspaceBytes: 2 * MiB, fileBytes: 32 * KiB }], reads: 20, writes: 20, clients: 1, cacheBytes: 100 * MiB, cacheFractions: [0.1, 0.2, 1] },
    metadata: { statCalls: 10, existsCalls: 10, directoryEntries: 50, readdirCalls: 2, walkFiles: 300, filesPerDirectory: 100 },
    reads: { smallFiles: 40, fileBytes: 10 * KiB, coldReads: 10, largeFileBytes: 12 * MiB, partBytes: 8 * MiB, partConcurrency: 4 },
    lifecycle: { mountFiles: 300, idleRefreshes: 3, lagWrites: 3, lagIntervalMs: 20 },
    agents: { shellModules: 5, treeFiles: 60, treeDirectories: 6 },
    local: { files: 20, fileBytes: 1024, calls: 200, scriptFiles: 20 },
    transaction: { files: 200, fileBytes: 1024, filesPerDirectory: 100 },
    writers: { processes: [1, 2], writes: 5, rounds: 2, batch: 5, agentProcesses: 2, agentWrites: 4, intervalMs: 50, calmIntervalMs: 100, calmWrites: 4, fileBytes: 1024 },
    busy: { clients: [1, 2, 8], writes: 8, thinkMs: 30, fileBytes: 32 * KiB, awaitedWrites: 8 },
    seedConcurrency: 32,
  },
  default: {
    insert: { fileBytes: 10 * KiB, transactionFiles: 400, transactions: 3, singleWrites: 50, concurrency: 32 },
    mixed: { workspaces: [{ label: "50 MiB", workspaceBytes: 50 * MiB, fileBytes: 32 * KiB }], reads: 1000, writes: 1000, clients: 8, cacheBytes: 100 * MiB, cacheFractions: [0.1, 0.2, 1] },
    metadata: { statCalls: 100, existsCalls: 100, directoryEntries: 1000, readdirCalls: 5, walkFiles: 10_000, filesPerDirectory: 100 },
    reads: { smallFiles: 400, fileBytes: 10 * KiB, coldReads: 50, largeFileBytes: 64 * MiB, partBytes: 8 * MiB, partConcurrency: 4 },
    lifecycle: { mountFiles: 10_000, idleRefreshes: 5, lagWrites: 20, lagIntervalMs: 50 },
    agents: { shellModules: 30, treeFiles: 1800, treeDirectories: 60 },
    local: { files: 100, fileBytes: 1024, calls: 5000, scriptFiles: 340 },
    transaction: { files: 10_000, fileBytes: 1024, filesPerDirectory: 100 },
    writers: { processes: [1, 2, 4, 8], writes: 40, rounds: 8, batch: 10, agentProcesses: 4, agentWrites: 50, intervalMs: 100, calmIntervalMs: 1000, calmWrites: 20, fileBytes: 1024 },
    busy: { clients: [1, 2, 4, 8, 16], writes: 40, thinkMs: 30, fileBytes: 32 * KiB, awaitedWrites: 50 },
    seedConcurrency: 64,
  },
  full: {
    insert: { fileBytes: 10 * KiB, transactionFiles: 400, transactions: 10, singleWrites: 400, concurrency: 32 },
    mixed: {
      workspaces: [
        { label: "50 MiB", workspaceBytes: 50 * MiB, fileBytes: 32 * KiB },
        { label: "500 MiB", workspaceBytes: 500 * MiB, fileBytes: 32 * KiB },
      ],
      reads: 1000,
      writes: 1000,
      clients: 8,
      cacheBytes: 100 * MiB,
      cacheFractions: [0.1, 0.2, 1],
    },
    metadata: { statCalls: 1000, existsCalls: 1000, directoryEntries: 1000, readdirCalls: 10, walkFiles: 100_000, filesPerDirectory: 100 },
    reads: { smallFiles: 2000, fileBytes: 10 * KiB, coldReads: 500, largeFileBytes: 256 * MiB, partBytes: 8 * MiB, partConcurrency: 4 },
    lifecycle: { mountFiles: 100_000, idleRefreshes: 10, lagWrites: 50, lagIntervalMs: 50 },
    agents: { shellModules: 60, treeFiles: 1800, treeDirectories: 60 },
    local: { files: 1000, fileBytes: 1024, calls: 20_000, scriptFiles: 1000 },
    transaction: { files: 10_000, fileBytes: 1024, filesPerDirectory: 100 },
    writers: { processes: [1, 2, 4, 8], writes: 100, rounds: 20, batch: 10, agentProcesses: 4, agentWrites: 200, intervalMs: 100, calmIntervalMs: 1000, calmWrites: 60, fileBytes: 1024 },
    busy: { clients: [1, 2, 4, 8, 16], writes: 200, thinkMs: 30, fileBytes: 32 * KiB, awaitedWrites: 400 },
    seedConcurrency: 64,
  },
};

const defaults: Record<Profile, { roundTripMs: number; repetitions: number }> = {
  smoke: { roundTripMs: 5, repetitions: 1 },
  default: { roundTripMs: 20, repetitions: 3 },
  full: { roundTripMs: 20, repetitions: 3 },
};

/** Settings for `profile`, with any of its fields overridden. */
export function settingsFor(profile: Profile, overrides: Partial<Omit<BenchSettings, "profile">> = {}): BenchSettings {
  return {
    profile,
    roundTripMs: defaults[profile].roundTripMs,
    repetitions: defaults[profile].repetitions,
    only: [...workloadNames],
    sizes: structuredClone(sizesByProfile[profile]),
    outputDirectory: "docs",
    writeDocument: profile !== "smoke",
    renderOnly: false,
    merge: false,
    seed: 20_261_130,
    headDelayMs: 1_000,
    ...overrides,
  };
}

/** Settings from command-line flags, then the environment, then the profile's defaults. */
export function parseSettings(argv: readonly string[], environment: Record<string, string | undefined> = process.env): BenchSettings {
  const flags = new Map<string, string>();
  for (const argument of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argument);
    if (match === null) throw new Error(`bench: unknown argument ${JSON.stringify(argument)}; see the header of bench/settings.ts`);
    flags.set(match[1]!, match[2] ?? "true");
  }
  const known = new Set(["smoke", "full", "round-trip-ms", "repetitions", "only", "out", "no-docs", "seed", "render", "merge"]);
  for (const flag of flags.keys()) if (!known.has(flag)) throw new Error(`bench: unknown flag --${flag}; known: ${[...known].map((name) => `--${name}`).join(", ")}`);

  const profileName = flags.has("smoke") ? "smoke" : flags.has("full") ? "full" : (environment.BENCH_PROFILE ?? "default");
  if (profileName !== "smoke" && profileName !== "default" && profileName !== "full") throw new Error(`bench: BENCH_PROFILE must be smoke, default or full, not ${JSON.stringify(profileName)}`);
  const profile: Profile = profileName;
  const overrides: Partial<BenchSettings> = {};
  const roundTrip = flags.get("round-trip-ms") ?? environment.BENCH_ROUND_TRIP_MS;
  if (roundTrip !== undefined) overrides.roundTripMs = wholeNumber(roundTrip, "round-trip-ms", 0);
  const repetitions = flags.get("repetitions") ?? environment.BENCH_REPETITIONS;
  if (repetitions !== undefined) overrides.repetitions = wholeNumber(repetitions, "repetitions", 1);
  const seed = flags.get("seed");
  if (seed !== undefined) overrides.seed = wholeNumber(seed, "seed", 0);
  const only = flags.get("only") ?? environment.BENCH_ONLY;
  if (only !== undefined && only !== "") {
    const names = only.split(",").map((name) => name.trim());
    for (const name of names) {
      if (!(workloadNames as readonly string[]).includes(name)) throw new Error(`bench: --only: unknown workload ${JSON.stringify(name)}; known: ${workloadNames.join(", ")}`);
    }
    overrides.only = names as WorkloadName[];
  }
  const out = flags.get("out") ?? environment.BENCH_OUT;
  if (out !== undefined) overrides.outputDirectory = out;
  if (flags.has("no-docs")) overrides.writeDocument = false;
  if (flags.has("render")) overrides.renderOnly = true;
  if (flags.has("merge")) overrides.merge = true;
  return settingsFor(profile, overrides);
}

function wholeNumber(text: string, name: string, minimum: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < minimum) throw new Error(`bench: --${name} must be a whole number >= ${minimum}, got ${JSON.stringify(text)}`);
  return value;
}
