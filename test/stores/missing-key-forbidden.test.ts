// AWS answers 403 AccessDenied, not 404, for a key that does not exist when the caller may not
// s3:ListBucket the bucket; the mount reads keys that may be missing (the head hint, the next log
// record) and depends on those 404s. Without ListBucket, the error a user gets must say so.
// The endpoint here answers as AWS does for such a policy: every GET and HEAD is a 403 (the keys
// do not exist), every PUT is refused too.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { S3CachedFsManagerImpl, S3ObjectStore, UnauthorizedError } from "../../src/core.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

const accessDenied = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>R1</RequestId></Error>`;
let server: ReturnType<typeof Bun.serve>;
let endpoint = "";
const seen: string[] = [];

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(request) {
      seen.push(request.method);
      return new Response(request.method === "HEAD" ? null : accessDenied, { status: 403, headers: { "content-type": "application/xml" } });
    },
  });
  endpoint = `http://127.0.0.1:${server.port}`;
});
afterAll(() => {
  server.stop(true);
  removeTempDirectories();
});

const options = () => ({ bucket: "no-list-bucket", region: "us-east-1", endpoint, forcePathStyle: true, credentials: { accessKeyId: "key", secretAccessKey: "secret" } });

test("a 403 on GET or HEAD is unauthorized, and its message says that a missing key answers 403 without s3:ListBucket", async () => {
  const store = new S3ObjectStore({ ...options(), prefix: "ws" });
  for (const attempt of [() => store.get("wal/00000000000000000001"), () => store.head("head.json")]) {
    const error = await attempt().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect((error as Error).message).toContain("s3:ListBucket");
    expect((error as Error).message).toContain("403");
  }
  // A refused PUT is a plain access denial: ListBucket has nothing to do with it.
  const put = await store.put("wal/00000000000000000001", new Uint8Array([1]), { ifNoneMatch: "*" }).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(put).toBeInstanceOf(UnauthorizedError);
  expect((put as Error).message).not.toContain("s3:ListBucket");
  await store.close?.();
});

test("a mount on a policy without s3:ListBucket fails at once with EACCES naming s3:ListBucket, not after retries", async () => {
  const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("no-list-bucket") });
  seen.length = 0;
  const error = await expectCode(manager.mount({ ...options(), name: "ws", prefix: "ws" }), "EACCES");
  expect(error.message).toContain("s3:ListBucket");
  expect(seen.length).toBe(1); // permanent: never retried
});
