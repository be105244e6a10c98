// Noticing a cold scan. An agent's `grep -r` or a loop over a directory reads hundreds of small
// neighbours, usually written together into the same records and packs; one ranged GET per file
// would pay a round trip each (docs/performance.md: 50 cold reads of one directory at 20 ms cost 1.22 s that way, against 79.3 ms with this prefetch).
// When a second cache miss lands in the same directory soon after the first, the facade fetches
// the rest of that directory's small files in a few large coalesced ranges, in the background.
// A single cold read stays exactly one GET of just its bytes.

const windowMs = 2_000;
const cooldownMs = 30_000;

interface Seen {
  firstMiss: number;
  misses: number;
  prefetchedAt: number;
}

export class ScanDetector {
  private readonly directories = new Map<number, Seen>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Records a miss in `directory`; true when it is time to prefetch the directory. */
  miss(directory: number): boolean {
    const now = this.now();
    let seen = this.directories.get(directory);
    if (seen === undefined || now - seen.firstMiss > windowMs) {
      seen = { firstMiss: now, misses: 0, prefetchedAt: seen?.prefetchedAt ?? Number.NEGATIVE_INFINITY };
      this.directories.set(directory, seen);
    }
    seen.misses++;
    if (seen.misses < 2 || now - seen.prefetchedAt < cooldownMs) return false;
    seen.prefetchedAt = now;
    if (this.directories.size > 10_000) this.directories.clear(); // a bound, not a cache: forgetting is harmless
    return true;
  }
}
