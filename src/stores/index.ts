// The object-store layer: one contract, two stores, four decorators.
export * from "./object-store.ts";
export {
  StoreError,
  NotFoundError,
  PreconditionFailedError,
  AmbiguousOutcomeError,
  UnavailableError,
  UnauthorizedError,
  CorruptObjectError,
  UnsupportedFormatError,
  InvalidRequestError,
  MisconfiguredError,
  isStoreError,
  type StoreOperation,
  type StoreErrorDetails,
  type ConfigurationField,
} from "./store-errors.ts";
export { settleConditionalPut, normalizeEtag, sameEtag } from "./conditional-put.ts";
export { S3ObjectStore, detectProvider, type S3ObjectStoreOptions, type S3Credentials, type S3CredentialProvider } from "./s3-object-store.ts";
export { LocalObjectStore, type LocalObjectStoreOptions } from "./local-object-store.ts";
export { MemoryObjectStore, type MemoryObjectStoreOptions } from "./memory-object-store.ts";
export { RetryingStore, type RetryingStoreOptions } from "./retrying-store.ts";
export { CountingStore, type RequestCounts, type OperationCounts, type RecordedRequest } from "./counting-store.ts";
export { FaultInjectingStore, StoreCrashedError, type Fault, type FaultRule, type FiredFault, type InjectedError } from "./fault-injecting-store.ts";
export { LatencyStore, type LatencyStoreOptions } from "./latency-store.ts";
