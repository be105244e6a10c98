// Provider behaviour that the local Ceph RGW server cannot produce (AWS's 409 and 404 answers,
// quoted-ETag success, Tigris's header), reproduced by a scripted HTTP endpoint that the real SDK
// talks to, so request signing, header handling and error parsing are all the real ones.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { S3Client } from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { createServer, type AddressInfo } from "node:net";
import { PreconditionFailedError, S3ObjectStore, UnauthorizedError, UnavailableError, AmbiguousOutcomeError } from "../../src/stores/index.ts";

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
}

type Reply = (request: Request, body: Uint8Array) => Response | Promise<Response>;

const seen: Seen[] = [];
let replies: Reply[] = [];
const objects = new Map<string, Uint8Array>();

const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(request) {
    const url = new URL(request.url);
    seen.push({ method: request.method, path: decodeURIComponent(url.pathname), headers: Object.fromEntries(request.headers) });
    const body = new Uint8Array(await request.arrayBuffer());
    const reply = replies.shift();
    if (reply !== undefined) return reply(request, body);
    return storeLike(request, body);
  },
});
afterAll(() => server.stop(true));
afterEach(() => {
  seen.length = 0;
  replies = [];
  objects.clear();
});

const etagOf = (body: Uint8Array) => `"${createHash("md5").update(body).digest("hex")}"`;

/** Plain PUT/GET/HEAD with no conditions: enough to read back. */
function storeLike(request: Request, body: Uint8Array): Response {
  const key = new URL(request.url).pathname;
  if (request.method === "PUT") {
    objects.set(key, body);
    return new Response("", { headers: { ETag: etagOf(body) } });
  }
  const object = objects.get(key);
  if (object === undefined) return s3Error(404, "NoSuchKey");
  const headers = { ETag: etagOf(object), "Content-Length": String(object.byteLength), "Last-Modified": new Date().toUTCString() };
  return new Response(request.method === "HEAD" ? null : object, { headers });
}

function s3Error(status: number, code: string): Response {
  return new Response(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`, {
    status,
    headers: { "Content-Type": "application/xml" },
  });
}

function store(options: Partial<ConstructorParameters<typeof S3ObjectStore>[0]> = {}): S3ObjectStore {
  return new S3ObjectStore({
    bucket: "bucket",
    endpoint: `http://127.0.0.1:${server.port}`,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "very-secret-key-material" },
    ...options,
  });
}

const text = (value: string) => new TextEncoder().encode(value);
const puts = () => seen.filter((request) => request.method === "PUT");

describe("S3ObjectStore against AWS-style answers", () => {
  test("a 409 ConditionalRequestConflict is settled by reading back: our bytes there means we won", async () => {
    const body = text("our commit record");
    replies.push((_, sent) => {
      objects.set("/bucket/wal/1", sent); // the write landed, but the answer says conflict
      return s3Error(409, "ConditionalRequestConflict");
    });
    const result = await store().put("wal/1", body, { ifNoneMatch: "*" });
    expect(result.etag).toBe(etagOf(body));
    expect(seen.map((request) => request.method)).toEqual(["PUT", "GET"]);
  });

  test("a 500 during a compare-and-swap race with someone else's object there is a precondition failure", async () => {
    objects.set("/bucket/heads/main.json", text("theirs"));
    replies.push(() => s3Error(500, "InternalError"));
    const error = await store()
      .put("heads/main.json", text("ours"), { ifMatch: '"0123"' })
      .catch((caught) => caught);
    expect(error).toBeInstanceOf(PreconditionFailedError);
  });

  test("a 500 on a conditional write that did not land is retryable, not a loss", async () => {
    replies.push(() => s3Error(500, "InternalError"));
    const error = await store().put("wal/2", text("record"), { ifNoneMatch: "*" }).catch((caught) => caught);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.retryable).toBe(true);
  });

  test("a 404 to If-Match (AWS, for a missing key) is a precondition failure", async () => {
    replies.push(() => s3Error(404, "NoSuchKey"));
    await expect(store().put("heads/main.json", text("x"), { ifMatch: '"abc"' })).rejects.toBeInstanceOf(PreconditionFailedError);
  });

  test("If-Match is sent quoted, as AWS expects, and kept quoted when it works", async () => {
    replies.push(() => new Response("", { headers: { ETag: '"new"' } }));
    const s3 = store();
    await s3.put("k", text("x"), { ifMatch: "abc" });
    expect(puts()[0]?.headers["if-match"]).toBe('"abc"');
    expect(s3.ifMatchEtag).toBe("auto");
  });

  test("auto mode learns unquoted ETags when the server rejects a matching quoted one (RGW, Spaces)", async () => {
    objects.set("/bucket/k", text("current"));
    const current = etagOf(text("current"));
    replies.push(() => s3Error(412, "PreconditionFailed"));
    // Each learning test names the endpoint its own way: what a store learns holds for its endpoint.
    const s3 = store({ endpoint: `http://127.0.0.1:${server.port}/` });
    await s3.put("k", text("next"), { ifMatch: current });
    const sent = puts().map((request) => request.headers["if-match"]);
    expect(sent).toEqual([current, current.replaceAll('"', "")]);
    expect(s3.ifMatchEtag).toBe("unquoted");
  });

  test("once learned, the unquoted form is used by every new store on that endpoint", async () => {
    objects.set("/bucket/k", text("current"));
    const current = etagOf(text("current"));
    replies.push(() => s3Error(412, "PreconditionFailed"));
    await store({ endpoint: `http://localhost:${server.port}` }).put("k", text("next"), { ifMatch: current });
    seen.length = 0;
    const later = store({ endpoint: `http://localhost:${server.port}` });
    expect(later.ifMatchEtag).toBe("unquoted");
    await later.put("k", text("again"), { ifMatch: etagOf(text("next")) });
    expect(seen.map((request) => request.method)).toEqual(["PUT"]);
    expect(puts()[0]?.headers["if-match"]).toBe(etagOf(text("next")).replaceAll('"', ""));
  });

  test("a real mismatch under auto mode stays a precondition failure after one HEAD", async () => {
    objects.set("/bucket/k", text("current"));
    replies.push(() => s3Error(412, "PreconditionFailed"));
    await expect(store().put("k", text("next"), { ifMatch: '"stale"' })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(seen.map((request) => request.method)).toEqual(["PUT", "HEAD"]);
  });

  test("Tigris endpoints get X-Tigris-Consistent; others do not unless asked", async () => {
    await store().put("plain", text("x"));
    expect(seen[0]?.headers["x-tigris-consistent"]).toBeUndefined();
    await store({ tigrisConsistent: true }).put("tigris", text("x"));
    expect(seen[1]?.headers["x-tigris-consistent"]).toBe("true");
  });

  test("a store at another prefix shares the client built from a given one: the Tigris header is added once, and closing either leaves the caller's client open", async () => {
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${server.port}`,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "very-secret-key-material" },
    });
    let destroyed = 0;
    const destroy = client.destroy.bind(client);
    client.destroy = () => {
      destroyed += 1;
      destroy();
    };
    const parent = store({ prefix: "a", client, tigrisConsistent: true });
    const sibling = parent.locator.storeAt("b");
    await sibling.put("k", text("x"));
    await sibling.close?.();
    expect(destroyed).toBe(0);
    await parent.put("k", text("y"));
    expect(seen.map((request) => [request.path, request.headers["x-tigris-consistent"]])).toEqual([
      ["/bucket/b/k", "true"],
      ["/bucket/a/k", "true"],
    ]);
    await parent.close();
    expect(destroyed).toBe(0);
  });

  test("a store given the caller's client sends each request once (the SDK's retries off) through the caller's middleware, and the caller's client keeps its own", async () => {
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${server.port}`,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "very-secret-key-material" },
    });
    // The caller's own middleware (metrics, say) sees every request the store sends.
    let observed = 0;
    client.middlewareStack.add((next) => async (args) => { observed++; return next(args); }, { step: "finalizeRequest", name: "callersTally" });
    replies.push(() => s3Error(412, "PreconditionFailed"));
    await expect(store({ client, ifMatchEtag: "quoted" }).put("wal/1", text("r"), { ifNoneMatch: "*" })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(seen.length).toBe(1);
    seen.length = 0;
    replies.push(() => s3Error(503, "SlowDown"));
    await expect(store({ client }).get("k")).rejects.toBeInstanceOf(UnavailableError);
    expect(seen.length).toBe(1);
    expect(observed).toBe(2);
    client.destroy();
  });

  test("a timeout on a conditional write that never landed is ambiguous, not a failure", async () => {
    replies.push(async () => {
      await Bun.sleep(400);
      return s3Error(500, "TooLate");
    });
    const error = await store({ requestTimeoutMs: 100 }).put("wal/3", text("r"), { ifNoneMatch: "*" }).catch((caught) => caught);
    expect(error).toBeInstanceOf(AmbiguousOutcomeError);
  });

  test("403 is UnauthorizedError, and no message or inspection shows the secret", async () => {
    replies.push(() => s3Error(403, "SignatureDoesNotMatch"));
    const s3 = store();
    const error = await s3.get("k").catch((caught) => caught);
    expect(error).toBeInstanceOf(UnauthorizedError);
    for (const shown of [error.message, String(error.stack), Bun.inspect(s3), JSON.stringify(s3), Bun.inspect(error)]) {
      expect(shown).not.toContain("very-secret-key-material");
    }
  });

  test("the prefix is applied on the wire and hidden from callers", async () => {
    const s3 = store({ prefix: "/team/ws/" });
    await s3.put("wal/00000000000000000001", text("x"));
    expect(puts()[0]?.path).toBe("/bucket/team/ws/wal/00000000000000000001");
    expect(s3.description).toBe("s3://bucket/team/ws/");
  });
});

describe("S3ObjectStore reading response bodies", () => {
  // A raw HTTP server: it can declare one Content-Length and then send fewer bytes, which an
  // HTTP framework would not let it do.
  function rawServer(answer: (socket: import("node:net").Socket) => void): Promise<{ port: number; close: () => void }> {
    return new Promise((resolve) => {
      const server = createServer((socket) => {
        socket.once("data", () => answer(socket));
        socket.on("error", () => {});
      });
      server.listen(0, "127.0.0.1", () => resolve({ port: (server.address() as AddressInfo).port, close: () => server.close() }));
    });
  }
  const headers = (length: number, extra = "") =>
    `HTTP/1.1 200 OK\r\nContent-Length: ${length}\r\nETag: "abc"\r\nLast-Modified: ${new Date().toUTCString()}\r\n${extra}\r\n`;

  test("a body that breaks off before its Content-Length is a retryable failure, never short bytes", async () => {
    const raw = await rawServer((socket) => {
      socket.write(headers(1_000_000));
      socket.write(new Uint8Array(300_000));
      setTimeout(() => socket.destroy(), 20);
    });
    try {
      const error = await store({ endpoint: `http://127.0.0.1:${raw.port}` })
        .get("k")
        .catch((caught) => caught);
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.retryable).toBe(true);
      expect(error.message).toContain("broke off");
    } finally {
      raw.close();
    }
  });

  test("a body sent in many pieces arrives whole and in order", async () => {
    const body = new Uint8Array(3 * 1024 * 1024 + 17).map((_, index) => (index * 31) % 251);
    const raw = await rawServer((socket) => {
      socket.write(headers(body.byteLength));
      let sent = 0;
      const next = () => {
        if (sent >= body.byteLength) return socket.end();
        const piece = body.subarray(sent, sent + 65_537);
        sent += piece.byteLength;
        socket.write(piece, next);
      };
      next();
    });
    try {
      const object = await store({ endpoint: `http://127.0.0.1:${raw.port}` }).get("k");
      expect(object.body.byteLength).toBe(body.byteLength);
      expect(Bun.hash.xxHash3(object.body)).toBe(Bun.hash.xxHash3(body));
    } finally {
      raw.close();
    }
  });
});
