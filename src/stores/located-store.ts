// A store that knows where it is: its bucket-relative prefix, and how to open a store on the same
// bucket at another prefix. Forks need both (a fork reads its parent's objects where they lie, and
// registers itself with its parent); nothing else does. Every request goes to the inner store
// unchanged; decorators around it pass its `locator` on, so fault injection and counting stay
// transparent to forks.

import { ForwardingStore } from "./forwarding-store.ts";
import type { ObjectStore, StoreLocator } from "./object-store.ts";

export type { StoreLocator } from "./object-store.ts";

/** "/a//b/" -> "a/b": prefixes compare equal however they were typed. */
export function normalizePrefix(prefix: string): string {
  return prefix
    .split("/")
    .filter((part) => part !== "" && part !== ".")
    .join("/");
}

/** Wraps a store with its location. */
export class LocatedStore extends ForwardingStore implements StoreLocator {
  readonly prefix: string;

  constructor(
    inner: ObjectStore,
    prefix: string,
    private readonly open: (prefix: string) => ObjectStore,
  ) {
    super(inner);
    this.prefix = normalizePrefix(prefix);
  }

  override get locator(): StoreLocator {
    return this;
  }

  storeAt(prefix: string): ObjectStore {
    const normalized = normalizePrefix(prefix);
    return new LocatedStore(this.open(normalized), normalized, this.open);
  }
}

/**
 * Where `store` lives, if it can tell: its own `locator`, or that of a store it wraps, for
 * decorators written elsewhere that expose their inner store as `inner` but do not pass the
 * locator on.
 */
export function storeLocator(store: ObjectStore): StoreLocator | undefined {
  let current: unknown = store;
  for (let depth = 0; depth < 16 && current !== undefined && current !== null; depth++) {
    const locator = (current as Partial<ObjectStore>).locator;
    if (locator !== undefined) return locator;
    current = (current as { inner?: unknown }).inner;
  }
  return undefined;
}
