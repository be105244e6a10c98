// LatencyStore: adds a round-trip time (and optionally a bandwidth limit) to every request, so
// benchmarks on a loopback server show what users pay on real S3, R2 or Tigris.

import { ForwardingStore, bytesReceived, type StoreRequest } from "./forwarding-store.ts";
import type { ObjectStore } from "./object-store.ts";
import { sleep as realSleep, type Sleep } from "./random.ts";

export interface LatencyStoreOptions {
  /** Added to every request, in ms (default 20). */
  roundTripMs?: number;
  /** Per-connection bandwidth; each request also waits bytes / bytesPerSecond. Unlimited if omitted. */
  bytesPerSecond?: number;
  sleep?: Sleep;
}

export class LatencyStore extends ForwardingStore {
  readonly roundTripMs: number;
  private readonly bytesPerSecond: number | undefined;
  private readonly sleep: Sleep;

  constructor(inner: ObjectStore, options: LatencyStoreOptions = {}) {
    super(inner);
    this.roundTripMs = options.roundTripMs ?? 20;
    this.bytesPerSecond = options.bytesPerSecond;
    this.sleep = options.sleep ?? realSleep;
  }

  /** A round trip first; a body sent takes its time before the request, one received after it. */
  protected override async forward<T>(request: StoreRequest, send: () => Promise<T>): Promise<T> {
    await this.sleep(this.roundTripMs);
    await this.transfer(request.bytesOut);
    const answer = await send();
    await this.transfer(bytesReceived(answer));
    return answer;
  }

  private async transfer(bytes: number): Promise<void> {
    if (this.bytesPerSecond !== undefined && bytes > 0) await this.sleep((bytes / this.bytesPerSecond) * 1000);
  }
}
