// LatencyStore: adds a round-trip time (and optionally a bandwidth limit) to every request, so
// benchmarks on a loopback server show what users pay on real S3, R2 or Tigris.

import type { GetOptions, ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions, PutResult, StoredObject } from "./object-store.ts";
import { sleep as realSleep, type Sleep } from "../random.ts";

export interface LatencyStoreOptions {
  /** Added to every request, in ms (default 20). */
  roundTripMs?: number;
  /** Per-connection bandwidth; each request also waits bytes / bytesPerSecond. Unlimited if omitted. */
  bytesPerSecond?: number;
  sleep?: Sleep;
}

export class LatencyStore implements ObjectStore {
  readonly capabilities;
  readonly description;
  readonly roundTripMs: number;
  private readonly bytesPerSecond: number | undefined;
  private readonly sleep: Sleep;

  constructor(
    readonly inner: ObjectStore,
    options: LatencyStoreOptions = {},
  ) {
    this.capabilities = inner.capabilities;
    this.description = inner.description;
    this.roundTripMs = options.roundTripMs ?? 20;
    this.bytesPerSecond = options.bytesPerSecond;
    this.sleep = options.sleep ?? realSleep;
  }

  async get(key: string, options?: GetOptions): Promise<StoredObject> {
    await this.sleep(this.roundTripMs);
    const object = await this.inner.get(key, options);
    await this.transfer(object.body.byteLength);
    return object;
  }

  async getIfChanged(key: string, etag: string, options?: { signal?: AbortSignal }): Promise<StoredObject | undefined> {
    await this.sleep(this.roundTripMs);
    const object = await this.inner.getIfChanged(key, etag, options);
    await this.transfer(object?.body.byteLength ?? 0);
    return object;
  }

  async head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    await this.sleep(this.roundTripMs);
    return this.inner.head(key, options);
  }

  async put(key: string, body: Uint8Array, options?: PutOptions): Promise<PutResult> {
    await this.sleep(this.roundTripMs);
    await this.transfer(body.byteLength);
    return this.inner.put(key, body, options);
  }

  async delete(key: string, options?: { signal?: AbortSignal }): Promise<void> {
    await this.sleep(this.roundTripMs);
    return this.inner.delete(key, options);
  }

  async list(options?: ListOptions): Promise<ListPage> {
    await this.sleep(this.roundTripMs);
    return this.inner.list(options);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  private async transfer(bytes: number): Promise<void> {
    if (this.bytesPerSecond !== undefined && bytes > 0) await this.sleep((bytes / this.bytesPerSecond) * 1000);
  }
}
