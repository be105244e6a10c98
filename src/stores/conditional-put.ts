// Settling a conditional write whose outcome is unknown.
//
// A create-only or compare-and-swap PUT can end without a clear answer: a timeout, a reset
// connection, an HTTP 500 or 409 from a server that lost a race (Ceph RGW answers most CAS losers
// with 500; AWS may answer 409 ConditionalRequestConflict), or an SDK retry that got 412 after its
// first attempt had in fact landed. Retrying blindly could report failure for a write that won,
// or success for one that lost. So we read the key back and decide from what is there.
//
// The rule relies on conditional bodies being unique to their writer (commit records, heads and
// leases carry the writer's id and a nonce): finding our exact bytes means our write landed.

import type { ObjectStore, PutOptions, PutResult } from "./object-store.ts";
import { AmbiguousOutcomeError, NotFoundError, PreconditionFailedError } from "./store-errors.ts";

export type Settlement = { landed: true; result: PutResult } | { landed: false };

/** Strips the quotes and weak marker some servers add, so ETags compare by value. */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}

export function sameEtag(a: string, b: string): boolean {
  return normalizeEtag(a) === normalizeEtag(b);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/**
 * Reads `key` back after a conditional put of `body` ended without an answer.
 * Returns `{ landed: true }` if our bytes are there, `{ landed: false }` if the write did not land
 * and the condition still holds (so it may be sent again), and throws PreconditionFailedError if
 * someone else's write now stands where the condition required ours. If the read itself fails, the
 * outcome stays unknown: AmbiguousOutcomeError, with the original failure as its cause.
 */
export async function settleConditionalPut(
  store: Pick<ObjectStore, "get">,
  key: string,
  body: Uint8Array,
  options: PutOptions,
  cause: unknown,
): Promise<Settlement> {
  let current;
  try {
    current = await store.get(key);
  } catch (error) {
    if (error instanceof NotFoundError) {
      if (options.ifMatch !== undefined) {
        throw new PreconditionFailedError(`put ${JSON.stringify(key)}: the object to compare-and-swap no longer exists`, {
          operation: "put",
          key,
          cause,
        });
      }
      return { landed: false };
    }
    throw new AmbiguousOutcomeError(
      `put ${JSON.stringify(key)}: the outcome of a conditional write is unknown and reading it back failed (${(error as Error).message})`,
      { operation: "put", key, cause },
    );
  }
  if (sameBytes(current.body, body)) return { landed: true, result: { etag: current.etag } };
  if (options.ifMatch !== undefined && sameEtag(current.etag, options.ifMatch)) return { landed: false };
  throw new PreconditionFailedError(`put ${JSON.stringify(key)}: another writer's object stands where this conditional write was going`, {
    operation: "put",
    key,
    cause,
  });
}
