// S3ObjectStore: the ObjectStore on any S3-compatible service, through @aws-sdk/client-s3.
//
// The SDK's own retries are switched off (maxAttempts 1): a retried conditional PUT whose first
// attempt landed comes back 412, which would turn a win into a loss. Retries live in the
// retrying decorator; this class only makes each single request's answer definite where it can.
//
// Provider quirks handled here (docs/object-store-providers.md):
// - If-Match with a quoted ETag always fails on Ceph RGW and DigitalOcean Spaces. `ifMatchEtag`
//   "auto" (the default) sends the quoted form; on a 412 it HEADs the key, and if the ETag there is
//   the one it sent, it retries once unquoted and uses that form for this endpoint from then on,
//   in every store of this process.
// - Losers of a concurrent conditional write get HTTP 500 on RGW and may get 409 on AWS; a lost
//   answer is a timeout or reset. All of these are settled by reading the key back
//   (conditional-put.ts), so the caller gets a win, a PreconditionFailedError, or (only if the
//   read-back fails too) an AmbiguousOutcomeError.
// - If-Match on a missing key is 412 on RGW and 404 on AWS: both are PreconditionFailedError.
// - Tigris evaluates conditions on the leader region only with `X-Tigris-Consistent: true`: sent
//   when `tigrisConsistent` is set, which it is by default for Tigris endpoints.
// Credentials never appear in messages, `description` or `util.inspect` output.
//
// The store knows where it lives (`locator`): a store at another prefix of the same bucket is one
// with the same settings, which is what forks need to reach their ancestors.

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { settleConditionalPut, normalizeEtag, sameEtag } from "./conditional-put.ts";
import { normalizePrefix } from "./located-store.ts";
import {
  keyProblem,
  rangeProblem,
  type GetOptions,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  type StoreCapabilities,
  type StoreLocator,
  type StoredObject,
} from "./object-store.ts";
import {
  AmbiguousOutcomeError,
  InvalidRequestError,
  MisconfiguredError,
  NotFoundError,
  PreconditionFailedError,
  StoreError,
  UnauthorizedError,
  UnavailableError,
  describe,
  type StoreOperation,
} from "./store-errors.ts";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Keys live under `<prefix>/`; the store's callers never see the prefix. */
  prefix?: string;
  region?: string;
  /** For R2, Tigris, MinIO, Ceph RGW, a local server. */
  endpoint?: string;
  forcePathStyle?: boolean;
  /**
   * Keys, or a provider function of the AWS SDK's shape (`fromIni()`, `fromSSO()`, ...); from the
   * SDK's default chain (environment, profile, SSO, instance role) when omitted.
   */
  credentials?: S3Credentials | S3CredentialProvider;
  /** How If-Match carries the ETag; see the header comment. Default "auto". */
  ifMatchEtag?: "quoted" | "unquoted" | "auto";
  /** Send `X-Tigris-Consistent: true`. Default: true for Tigris endpoints, false elsewhere. */
  tigrisConsistent?: boolean;
  /** Time to open a connection, in ms (default 5,000). */
  connectTimeoutMs?: number;
  /** Longest a single request may take, in ms, body included (default 60,000). */
  requestTimeoutMs?: number;
  /** Concurrent connections to the endpoint (default 64). */
  maxSockets?: number;
  /**
   * An S3Client of the caller's: the store sends through it (its settings, and its middleware:
   * the caller's metrics or logging see every request), each request once: the SDK's retry step is
   * replaced on every command the store sends (a retried conditional write that landed would come
   * back 412, which the store could not tell from a lost race; the store's own retries settle by
   * reading back). The caller's client is never destroyed. Give `endpoint` too when the service is
   * not AWS: it names the provider's quirks.
   */
  client?: S3Client;
}

/** The AWS SDK's credential provider shape (`AwsCredentialIdentityProvider`). */
export type S3CredentialProvider = () => Promise<S3Credentials & { expiration?: Date }>;

type Provider = "aws" | "r2" | "tigris" | "spaces" | "other";

/** Clients that already send `X-Tigris-Consistent`. */
const consistentClients = new WeakSet<S3Client>();

/** Endpoints found to match If-Match only unquoted, so every store on them starts out right. */
const unquotedEndpoints = new Set<string>();

export function detectProvider(endpoint: string | undefined): Provider {
  if (endpoint === undefined) return "aws";
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return "other";
  }
  if (host.endsWith(".amazonaws.com")) return "aws";
  if (host.endsWith(".r2.cloudflarestorage.com")) return "r2";
  if (host.endsWith(".tigris.dev") || host === "t3.storage.dev" || host.endsWith(".t3.storage.dev")) return "tigris";
  if (host.endsWith(".digitaloceanspaces.com")) return "spaces";
  return "other";
}

export class S3ObjectStore implements ObjectStore {
  readonly capabilities: StoreCapabilities = {
    createOnly: true,
    compareAndSwap: true,
    conditionalGet: true,
    maxListPage: 1000,
    keysNestUnderObjects: true,
  };
  readonly description: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly provider: Provider;
  /** This store's prefix as a location ("a/b"), and stores at the bucket's other prefixes. */
  readonly locator: StoreLocator;
  readonly #options: S3ObjectStoreOptions;
  readonly #client: S3Client;
  /** False for a store at another prefix that shares the client given to the store it came from. */
  #ownsClient = true;
  readonly #requestTimeoutMs: number;
  readonly #endpoint: string;
  #ifMatchEtag: "quoted" | "unquoted" | "auto";

  constructor(options: S3ObjectStoreOptions) {
    this.#options = options;
    this.bucket = options.bucket;
    this.prefix = keyPrefix(options.prefix);
    this.locator = { prefix: normalizePrefix(this.prefix), storeAt: (prefix) => this.storeAt(prefix) };
    this.provider = detectProvider(options.endpoint);
    this.description = `s3://${options.bucket}/${this.prefix}`;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.#endpoint = options.endpoint ?? "aws";
    this.#ifMatchEtag = options.ifMatchEtag ?? (this.provider === "spaces" || unquotedEndpoints.has(this.#endpoint) ? "unquoted" : "auto");
    // The caller's client is the caller's: closing the store leaves it alone.
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? new S3Client(clientConfig(options, this.provider));
    const tigrisConsistent = options.tigrisConsistent ?? this.provider === "tigris";
    if (tigrisConsistent && !consistentClients.has(this.#client)) {
      consistentClients.add(this.#client); // once per client: stores at other prefixes may share it
      this.#client.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request as { headers?: Record<string, string> };
          if (request.headers !== undefined) request.headers["X-Tigris-Consistent"] = "true";
          return next(args);
        },
        { step: "build", name: "tigrisConsistentHeader" },
      );
    }
  }

  /** A command as this store sends it: through a caller's client once (sentOnce); its own client's retries are off already. */
  private once<C>(command: C): C {
    return this.#ownsClient ? command : sentOnce(command);
  }

  /** The ETag form If-Match currently uses (it changes from "auto" once learned). */
  get ifMatchEtag(): "quoted" | "unquoted" | "auto" {
    return this.#ifMatchEtag;
  }

  async get(key: string, options: GetOptions = {}): Promise<StoredObject> {
    const fullKey = this.fullKey("get", key);
    const { range } = options;
    if (range !== undefined) {
      const problem = rangeProblem(range);
      if (problem !== undefined) throw new InvalidRequestError(describe("get", key, problem), { operation: "get", key });
    }
    const header = range === undefined ? undefined : `bytes=${range.offset}-${range.length === undefined ? "" : range.offset + range.length - 1}`;
    const response = await this.send("get", key, options.signal, (abortSignal) =>
      this.#client.send(this.once(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey, Range: header })), { abortSignal }),
    );
    return this.readBody("get", key, response, range !== undefined);
  }

  async getIfChanged(key: string, etag: string, options: { signal?: AbortSignal } = {}): Promise<StoredObject | undefined> {
    const fullKey = this.fullKey("get", key);
    try {
      const response = await this.send("get", key, options.signal, (abortSignal) =>
        this.#client.send(this.once(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey, IfNoneMatch: etag })), { abortSignal }),
      );
      return await this.readBody("get", key, response, false);
    } catch (error) {
      if (error instanceof StoreError && error.status === 304) return undefined;
      throw error;
    }
  }

  async head(key: string, options: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    const fullKey = this.fullKey("head", key);
    const response = await this.send("head", key, options.signal, (abortSignal) =>
      this.#client.send(this.once(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey })), { abortSignal }),
    );
    return { key, etag: response.ETag ?? "", size: response.ContentLength ?? 0, lastModified: response.LastModified ?? new Date(0) };
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    const fullKey = this.fullKey("put", key);
    if (options.ifMatch !== undefined && options.ifNoneMatch !== undefined) {
      throw new InvalidRequestError(describe("put", key, "ifMatch and ifNoneMatch cannot be combined"), { operation: "put", key });
    }
    const conditional = options.ifMatch !== undefined || options.ifNoneMatch !== undefined;
    const attempt = (ifMatch: string | undefined) =>
      this.send("put", key, options.signal, (abortSignal) =>
        this.#client.send(
          this.once(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: fullKey,
              Body: body,
              ContentLength: body.byteLength,
              ContentType: options.contentType ?? "application/octet-stream",
              IfNoneMatch: options.ifNoneMatch,
              IfMatch: ifMatch,
            }),
          ),
          { abortSignal },
        ),
      );
    try {
      const ifMatch = options.ifMatch === undefined ? undefined : this.#ifMatchEtag === "unquoted" ? normalizeEtag(options.ifMatch) : quoteEtag(options.ifMatch);
      try {
        const response = await attempt(ifMatch);
        return { etag: response.ETag ?? "" };
      } catch (error) {
        if (!(error instanceof PreconditionFailedError) || options.ifMatch === undefined || this.#ifMatchEtag !== "auto") throw error;
        // Does the server only match unquoted ETags? Only if the object really carries the ETag we sent.
        const current = await this.head(key, options.signal === undefined ? {} : { signal: options.signal }).catch(() => undefined);
        if (current === undefined || !sameEtag(current.etag, options.ifMatch)) throw error;
        const response = await attempt(normalizeEtag(options.ifMatch));
        this.#ifMatchEtag = "unquoted";
        unquotedEndpoints.add(this.#endpoint);
        return { etag: response.ETag ?? "" };
      }
    } catch (error) {
      if (!conditional || !(error instanceof StoreError) || !unsettled(error)) throw error;
      const settlement = await settleConditionalPut(this, key, body, options, error);
      if (settlement.landed) return settlement.result;
      if (error instanceof AmbiguousOutcomeError) throw error; // not there yet, but it may still land
      throw new UnavailableError(describe("put", key, `the conditional write did not land (${error.message}); it may be sent again`), {
        operation: "put",
        key,
        cause: error,
        status: error.status,
      });
    }
  }

  async delete(key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const fullKey = this.fullKey("delete", key);
    await this.send("delete", key, options.signal, (abortSignal) =>
      this.#client.send(this.once(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey })), { abortSignal }),
    );
  }

  async list(options: ListOptions = {}): Promise<ListPage> {
    const maxKeys = Math.min(Math.max(1, options.maxKeys ?? 1000), 1000);
    const response = await this.send("list", options.prefix, undefined, (abortSignal) =>
      this.#client.send(
        this.once(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + (options.prefix ?? ""),
            StartAfter: options.startAfter === undefined ? undefined : this.prefix + options.startAfter,
            ContinuationToken: options.continuationToken,
            MaxKeys: maxKeys,
          }),
        ),
        { abortSignal },
      ),
    );
    const objects: ObjectInfo[] = (response.Contents ?? []).map((entry) => ({
      key: (entry.Key ?? "").slice(this.prefix.length),
      etag: entry.ETag ?? "",
      size: entry.Size ?? 0,
      lastModified: entry.LastModified ?? new Date(0),
    }));
    return response.IsTruncated && response.NextContinuationToken !== undefined ? { objects, nextToken: response.NextContinuationToken } : { objects };
  }

  async close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `S3ObjectStore(${this.description})`;
  }

  toJSON(): { store: string } {
    return { store: this.description };
  }

  /** A store at `prefix` of the same bucket, with the same settings (and the same client, if one was given). */
  private storeAt(prefix: string): S3ObjectStore {
    return new S3ObjectStore({ ...this.#options, prefix });
  }

  private fullKey(operation: StoreOperation, key: string): string {
    const problem = keyProblem(key);
    if (problem !== undefined) throw new InvalidRequestError(describe(operation, key, problem), { operation, key });
    return this.prefix + key;
  }

  private async readBody(operation: StoreOperation, key: string, response: GetObjectCommandOutput, ranged: boolean): Promise<StoredObject> {
    let body: Uint8Array;
    try {
      body = response.Body === undefined ? new Uint8Array(0) : await collectBody(response.Body, response.ContentLength);
    } catch (error) {
      throw new UnavailableError(describe(operation, key, `the response body broke off: ${(error as Error).message}`), { operation, key, cause: error });
    }
    const contentRange = parseContentRange(response.ContentRange);
    const size = contentRange?.size ?? body.byteLength;
    const object: StoredObject = { key, etag: response.ETag ?? "", size, lastModified: response.LastModified ?? new Date(0), body };
    if (ranged) object.range = { offset: contentRange?.offset ?? 0, length: body.byteLength };
    return object;
  }

  /** Sends one request with the per-request timeout, mapping every failure to a StoreError. */
  private async send<T>(operation: StoreOperation, key: string | undefined, signal: AbortSignal | undefined, request: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const timeout = AbortSignal.timeout(this.#requestTimeoutMs);
    const abortSignal = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    try {
      return await request(abortSignal);
    } catch (error) {
      throw mapS3Error(operation, key, error, { timedOut: timeout.aborted });
    }
  }
}

/** True for failures whose conditional write may or may not have landed. */
function unsettled(error: StoreError): boolean {
  if (error instanceof AmbiguousOutcomeError) return true;
  return error instanceof UnavailableError && (error.status === 409 || (typeof error.status === "number" && error.status >= 500));
}

function clientConfig(options: S3ObjectStoreOptions, provider: Provider): S3ClientConfig {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
  const config: S3ClientConfig = {
    region: options.region ?? (provider === "r2" ? "auto" : "us-east-1"),
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectTimeoutMs ?? 5_000,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    }),
  };
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
  if (options.credentials !== undefined) config.credentials = typeof options.credentials === "function" ? options.credentials : { ...options.credentials };
  return config;
}

/** A command sent through a caller's client goes once: the SDK's retry step is replaced on it. */
function sentOnce<C>(command: C): C {
  const stack = (command as unknown as { middlewareStack: { add(middleware: unknown, options: unknown): void } }).middlewareStack;
  stack.add((next: (args: unknown) => unknown) => (args: unknown) => next(args), { step: "finalizeRequest", name: "retryMiddleware", priority: "high", override: true });
  return command;
}

/**
 * Where the store's keys start in the bucket: the prefix as a location (normalizePrefix: "a/b",
 * "/a/b/", "a//b" and "a/./b" are all "a/b"), then "/"; "" is the root. One rule for the keys and
 * the location, so that format.json, forks and the keys themselves agree on where a filesystem is.
 */
function keyPrefix(prefix: string | undefined): string {
  const location = normalizePrefix(prefix ?? "");
  return location === "" ? "" : `${location}/`;
}

function quoteEtag(etag: string): string {
  return `"${normalizeEtag(etag)}"`;
}

function parseContentRange(header: string | undefined): { offset: number; size: number } | undefined {
  const match = header === undefined ? null : /^bytes (\d+)-\d+\/(\d+)$/.exec(header);
  return match === null ? undefined : { offset: Number(match[1]), size: Number(match[2]) };
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The one table from S3 answers to store errors. */
function mapS3Error(operation: StoreOperation, key: string | undefined, error: unknown, context: { timedOut: boolean }): StoreError {
  const failure = error as SdkError;
  const status = failure.$metadata?.httpStatusCode;
  const name = failure.name ?? failure.code ?? "Error";
  const detail = `${name}${status === undefined ? "" : ` (HTTP ${status})`}`;
  const details = { operation, key, cause: error, status: status ?? failure.code };
  if (status === 304) return new UnavailableError(describe(operation, key, "not modified"), { ...details, status: 304 });
  // Configuration mistakes are permanent: answered at once, naming the field, never retried.
  if (name === "NoSuchBucket") return new MisconfiguredError(describe(operation, key, `the bucket does not exist: ${detail}`), { ...details, field: "bucket", missing: true });
  if (name === "InvalidBucketName") {
    return new MisconfiguredError(describe(operation, key, `the bucket name is not valid: ${detail}: ${failure.message ?? ""}`), { ...details, field: "bucket" });
  }
  if (name === "EndpointError") {
    return new MisconfiguredError(describe(operation, key, `the endpoint is not a usable URL (give one such as "https://host" or "http://localhost:9000"): ${failure.message ?? ""}`), {
      ...details,
      field: "endpoint",
    });
  }
  if (name === "PermanentRedirect" || name === "AuthorizationHeaderMalformed" || name === "IllegalLocationConstraintException") {
    return new MisconfiguredError(describe(operation, key, `the bucket is in another region than the one configured: ${detail}: ${failure.message ?? ""}`), { ...details, field: "region" });
  }
  if (name === "CredentialsProviderError") {
    return new UnauthorizedError(
      describe(operation, key, "no credentials: give credentials in the mount config, or provide them through the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), a profile or an instance role"),
      details,
    );
  }
  if (status === 404 || name === "NoSuchKey" || name === "NotFound") {
    if (operation === "put") return new PreconditionFailedError(describe(operation, key, `the object to compare-and-swap does not exist: ${detail}`), details);
    return new NotFoundError(describe(operation, key, "no such key"), details);
  }
  if (status === 412) return new PreconditionFailedError(describe(operation, key, `precondition failed: ${detail}`), details);
  if (status === 401 || status === 403) {
    // AWS answers 403, not 404, for a missing key when the policy does not grant s3:ListBucket,
    // and the filesystem reads keys that may be missing (the head hint, the next log record).
    const readHint =
      status === 403 && (operation === "get" || operation === "head")
        ? "; a key that does not exist also answers 403 when the policy does not grant s3:ListBucket on the bucket, and the filesystem needs those answers to be 404: grant s3:ListBucket (see docs/object-store-providers.md)"
        : "";
    return new UnauthorizedError(describe(operation, key, `access denied (${detail}); check the credentials, the bucket and its policy${readHint}`), details);
  }
  if (status === 416) return new InvalidRequestError(describe(operation, key, `range not satisfiable: ${detail}`), details);
  if (status === 409) return new UnavailableError(describe(operation, key, `conflicting concurrent request: ${detail}`), details);
  if (status === 429 || status === 503 || (status !== undefined && status >= 500)) {
    return new UnavailableError(describe(operation, key, `the service is unavailable: ${detail}`), details);
  }
  if (status !== undefined && status >= 400) return new InvalidRequestError(describe(operation, key, `request rejected: ${detail}: ${failure.message ?? ""}`), details);
  // No HTTP answer: refused, reset, timed out or aborted. A write may have landed anyway.
  const what = context.timedOut ? "timed out" : name === "AbortError" ? "was aborted" : `failed in transit: ${detail}: ${failure.message ?? ""}`;
  if (operation === "put") return new AmbiguousOutcomeError(describe(operation, key, `the request ${what}; the write may or may not have landed`), details);
  return new UnavailableError(describe(operation, key, `the request ${what}`), details);
}

/**
 * A response body's bytes in one buffer sized from Content-Length, filled as the chunks arrive.
 * The SDK's own collector keeps every chunk (512 KiB each here) and then concatenates them: twice
 * the body's size at the peak for every 8 MiB range a large read fetches. Each chunk that owns its
 * whole buffer is detached once copied, which frees its memory at once instead of at the next
 * garbage collection, and lowers a long stream's peak memory (docs/performance.md, "How the stream
 * closed its gap").
 */
async function collectBody(body: NonNullable<GetObjectCommandOutput["Body"]>, contentLength: number | undefined): Promise<Uint8Array> {
  const chunks = body as unknown as Partial<AsyncIterable<Uint8Array>>;
  if (contentLength === undefined || typeof chunks[Symbol.asyncIterator] !== "function") return body.transformToByteArray();
  const bytes = new Uint8Array(contentLength);
  let filled = 0;
  for await (const chunk of chunks as AsyncIterable<Uint8Array>) {
    if (filled + chunk.byteLength > contentLength) throw new Error(`the body is longer than its Content-Length (${contentLength} bytes)`);
    bytes.set(chunk, filled);
    filled += chunk.byteLength;
    if (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer) chunk.buffer.transfer(0);
  }
  if (filled !== contentLength) throw new Error(`the body ended after ${filled} of its ${contentLength} bytes`);
  return bytes;
}

