// Request prices used to estimate what a million operations cost in requests alone (storage,
// egress and minimum durations excluded). Public list prices, US dollars per million requests:
//
// - AWS S3 Standard, us-east-1: PUT, COPY, POST, LIST $5.00 (i.e. $0.005 per 1,000);
//   GET, HEAD and other reads $0.40 ($0.0004 per 1,000); DELETE free.
// - Cloudflare R2 Standard: Class A (PutObject, CopyObject, ListObjects, multipart calls) $4.50;
//   Class B (GetObject, HeadObject) $0.36; DeleteObject free. R2's free tier is ignored.
//
// Multipart calls (create, upload part, complete) count as PUTs; DeleteObjects as a delete.

import type { RequestKind } from "./wire.ts";

export interface PriceList {
  name: string;
  /** Dollars per million requests of each kind. */
  perMillion: Record<RequestKind, number>;
}

export const priceLists: { aws: PriceList; r2: PriceList } = {
  aws: { name: "AWS S3 Standard (us-east-1)", perMillion: { put: 5.0, list: 5.0, get: 0.4, head: 0.4, delete: 0 } },
  r2: { name: "Cloudflare R2 Standard", perMillion: { put: 4.5, list: 4.5, get: 0.36, head: 0.36, delete: 0 } },
};

/** Dollars per million operations, given the requests of each kind one operation makes. */
export function dollarsPerMillionOperations(requestsPerOperation: Record<RequestKind, number>, prices: PriceList): number {
  let dollars = 0;
  for (const kind of Object.keys(prices.perMillion) as RequestKind[]) dollars += requestsPerOperation[kind] * prices.perMillion[kind];
  return dollars;
}
