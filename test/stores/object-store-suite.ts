// The ObjectStore conformance suite, written once and run against every store and every decorator
// (object-store-local.test.ts, object-store-s3.test.ts, object-store-decorators.test.ts). What a
// store can do it declares in `capabilities`, and the suite holds it to each claim; what it cannot
// test (credentials of a local directory) the subject names as a gap with a reason. Nothing is
// skipped silently.

import { describe, expect, test } from "bun:test";
import {
  InvalidRequestError,
  NotFoundError,
  PreconditionFailedError,
  UnauthorizedError,
  StoreError,
  compareKeys,
  listAll,
  type ObjectStore,
} from "../../src/stores/index.ts";

export interface StoreUnderTest {
  store: ObjectStore;
  /** A second, independent instance on the same storage (another client, another connection). */
  another(): ObjectStore;
  /** The same storage reached with wrong credentials, or a reason why the store has none. */
  wrongCredentials: ObjectStore | { gap: string };
  cleanup?(): Promise<void>;
}

const text = (value: string) => new TextEncoder().encode(value);
const read = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Runs `count` conditional writes at once; the writers whose write won (losers fail with PreconditionFailedError, any other error fails the test). */
async function conditionalWinners(count: number, put: (writer: number) => Promise<unknown>): Promise<number[]> {
  const attempts = Array.from({ length: count }, (_, writer) =>
    put(writer).then(
      () => writer,
      (error: unknown) => {
        if (error instanceof PreconditionFailedError) return -1;
        throw error;
      },
    ),
  );
  return (await Promise.all(attempts)).filter((writer) => writer >= 0);
}

export function objectStoreSuite(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    let counter = 0;
    /** Each test works under its own key prefix, so tests share one store without interfering. */
    async function setup() {
      const subject = await make();
      const prefix = `case-${++counter}-${Math.random().toString(36).slice(2, 8)}/`;
      return { ...subject, prefix };
    }

    test("put then get returns the same bytes, size and ETag as head", async () => {
      const { store, prefix } = await setup();
      const body = new Uint8Array(300).map((_, index) => index % 256);
      const { etag } = await store.put(`${prefix}blob`, body);
      expect(etag).not.toBe("");
      const object = await store.get(`${prefix}blob`);
      expect(Buffer.compare(object.body, body)).toBe(0);
      expect(object.size).toBe(300);
      expect(object.etag).toBe(etag);
      const info = await store.head(`${prefix}blob`);
      expect(info).toMatchObject({ key: `${prefix}blob`, etag, size: 300 });
      expect(info.lastModified).toBeInstanceOf(Date);
    });

    test("an empty object round-trips", async () => {
      const { store, prefix } = await setup();
      await store.put(`${prefix}empty`, new Uint8Array(0));
      const object = await store.get(`${prefix}empty`);
      expect(object.body.byteLength).toBe(0);
      expect(object.size).toBe(0);
    });

    test("a missing key is NotFoundError for get, head and getIfChanged", async () => {
      const { store, prefix } = await setup();
      await expect(store.get(`${prefix}missing`)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.head(`${prefix}missing`)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.getIfChanged(`${prefix}missing`, '"x"')).rejects.toBeInstanceOf(NotFoundError);
    });

    test("an overwrite replaces the object and changes its ETag", async () => {
      const { store, prefix } = await setup();
      const first = await store.put(`${prefix}k`, text("one"));
      const second = await store.put(`${prefix}k`, text("two!"));
      expect(second.etag).not.toBe(first.etag);
      const object = await store.get(`${prefix}k`);
      expect(read(object.body)).toBe("two!");
      expect(object.etag).toBe(second.etag);
    });

    describe("ranged reads", () => {
      const body = text("0123456789");
      test("reads exactly the bytes asked for, at the start, middle and end", async () => {
        const { store, prefix } = await setup();
        await store.put(`${prefix}r`, body);
        const cases: [number, number | undefined, string][] = [
          [0, 1, "0"],
          [3, 4, "3456"],
          [9, 1, "9"],
          [0, 10, "0123456789"],
          [4, undefined, "456789"],
          [9, undefined, "9"],
        ];
        for (const [offset, length, expected] of cases) {
          const range = length === undefined ? { offset } : { offset, length };
          const object = await store.get(`${prefix}r`, { range });
          expect(read(object.body)).toBe(expected);
          expect(object.size).toBe(10);
          expect(object.range).toEqual({ offset, length: expected.length });
        }
      });

      test("a range running past the end is cut at the end", async () => {
        const { store, prefix } = await setup();
        await store.put(`${prefix}r`, body);
        const object = await store.get(`${prefix}r`, { range: { offset: 7, length: 100 } });
        expect(read(object.body)).toBe("789");
        expect(object.range).toEqual({ offset: 7, length: 3 });
      });

      test("a range starting at or past the end is InvalidRequestError", async () => {
        const { store, prefix } = await setup();
        await store.put(`${prefix}r`, body);
        await expect(store.get(`${prefix}r`, { range: { offset: 10 } })).rejects.toBeInstanceOf(InvalidRequestError);
        await expect(store.get(`${prefix}r`, { range: { offset: 50, length: 2 } })).rejects.toBeInstanceOf(InvalidRequestError);
      });

      test("a zero or negative length, or a negative offset, is refused before sending", async () => {
        const { store, prefix } = await setup();
        await store.put(`${prefix}r`, body);
        await expect(store.get(`${prefix}r`, { range: { offset: 0, length: 0 } })).rejects.toBeInstanceOf(InvalidRequestError);
        await expect(store.get(`${prefix}r`, { range: { offset: -1, length: 2 } })).rejects.toBeInstanceOf(InvalidRequestError);
      });
    });

    describe("create-only writes (If-None-Match: *)", () => {
      test("create a new key, then a second create fails and changes nothing", async () => {
        const { store, prefix } = await setup();
        const created = await store.put(`${prefix}slot`, text("first"), { ifNoneMatch: "*" });
        const error = await store.put(`${prefix}slot`, text("second"), { ifNoneMatch: "*" }).catch((caught) => caught);
        expect(error).toBeInstanceOf(PreconditionFailedError);
        const object = await store.get(`${prefix}slot`);
        expect(read(object.body)).toBe("first");
        expect(object.etag).toBe(created.etag);
      });

      test("of concurrent creators exactly one wins, round after round", async () => {
        const { store, another, prefix } = await setup();
        const clients = [store, another(), another(), another()];
        for (let round = 0; round < 6; round++) {
          const key = `${prefix}race-${round}`;
          const winners = await conditionalWinners(16, (writer) => clients[writer % clients.length]!.put(key, text(`writer ${writer}`), { ifNoneMatch: "*" }));
          expect(winners).toHaveLength(1);
          expect(read((await store.get(key)).body)).toBe(`writer ${winners[0]}`);
        }
      });
    });

    describe("compare-and-swap writes (If-Match)", () => {
      test("succeeds with the current ETag and fails with a stale one, changing nothing", async () => {
        const { store, prefix } = await setup();
        const first = await store.put(`${prefix}head`, text("v1"));
        const second = await store.put(`${prefix}head`, text("v2"), { ifMatch: first.etag });
        expect(read((await store.get(`${prefix}head`)).body)).toBe("v2");
        const error = await store.put(`${prefix}head`, text("v3"), { ifMatch: first.etag }).catch((caught) => caught);
        expect(error).toBeInstanceOf(PreconditionFailedError);
        const object = await store.get(`${prefix}head`);
        expect(read(object.body)).toBe("v2");
        expect(object.etag).toBe(second.etag);
      });

      test("on a missing key fails with PreconditionFailedError and creates nothing", async () => {
        const { store, prefix } = await setup();
        const error = await store.put(`${prefix}absent`, text("x"), { ifMatch: '"0123456789abcdef0123456789abcdef"' }).catch((caught) => caught);
        expect(error).toBeInstanceOf(PreconditionFailedError);
        await expect(store.head(`${prefix}absent`)).rejects.toBeInstanceOf(NotFoundError);
      });

      test("of concurrent swaps from the same ETag exactly one wins", async () => {
        const { store, another, prefix } = await setup();
        const clients = [store, another(), another(), another()];
        for (let round = 0; round < 4; round++) {
          const key = `${prefix}cas-${round}`;
          const { etag } = await store.put(key, text("start"));
          const winners = await conditionalWinners(12, (writer) => clients[writer % clients.length]!.put(key, text(`swap ${writer}`), { ifMatch: etag }));
          expect(winners).toHaveLength(1);
          expect(read((await store.get(key)).body)).toBe(`swap ${winners[0]}`);
        }
      });

      test("concurrent read-increment-swap loops lose no update", async () => {
        const { store, another, prefix } = await setup();
        const key = `${prefix}counter`;
        await store.put(key, text("0"));
        const increment = async (client: ObjectStore, writer: number, times: number) => {
          for (let done = 0; done < times; ) {
            const current = await client.get(key);
            const next = `${Number(read(current.body).split(" ")[0]) + 1} by ${writer}`;
            try {
              await client.put(key, text(next), { ifMatch: current.etag });
              done++;
            } catch (error) {
              if (!(error instanceof PreconditionFailedError)) throw error;
            }
          }
        };
        await Promise.all([0, 1, 2, 3].map((writer) => increment(writer === 0 ? store : another(), writer, 5)));
        expect(Number(read((await store.get(key)).body).split(" ")[0])).toBe(20);
      });
    });

    test("getIfChanged answers unchanged for the current ETag and returns the object after a change", async () => {
      const { store, prefix } = await setup();
      const { etag } = await store.put(`${prefix}h`, text("a"));
      expect(await store.getIfChanged(`${prefix}h`, etag)).toBeUndefined();
      await store.put(`${prefix}h`, text("b"));
      const changed = await store.getIfChanged(`${prefix}h`, etag);
      expect(changed === undefined ? undefined : read(changed.body)).toBe("b");
    });

    test("delete removes the object, and deleting a missing key succeeds", async () => {
      const { store, prefix } = await setup();
      await store.put(`${prefix}d`, text("x"));
      await store.delete(`${prefix}d`);
      await expect(store.head(`${prefix}d`)).rejects.toBeInstanceOf(NotFoundError);
      await store.delete(`${prefix}d`);
      await store.delete(`${prefix}never`);
      // A deleted key can be created again, create-only.
      await store.put(`${prefix}d`, text("again"), { ifNoneMatch: "*" });
      expect(read((await store.get(`${prefix}d`)).body)).toBe("again");
    });

    describe("listing", () => {
      test("pages through more than one page in key order, with prefix and start-after", async () => {
        const { store, prefix } = await setup();
        const keys = Array.from({ length: 23 }, (_, index) => `${prefix}list/${String(index).padStart(3, "0")}`);
        await Promise.all(keys.map((key) => store.put(key, text(key))));
        await store.put(`${prefix}other`, text("not listed"));

        const pages: string[][] = [];
        let token: string | undefined;
        do {
          const page = await store.list({ prefix: `${prefix}list/`, maxKeys: 10, ...(token === undefined ? {} : { continuationToken: token }) });
          expect(page.objects.length).toBeLessThanOrEqual(10);
          pages.push(page.objects.map((object) => object.key));
          token = page.nextToken;
        } while (token !== undefined);
        expect(pages.length).toBe(3);
        expect(pages.flat()).toEqual(keys);

        const after = await store.list({ prefix: `${prefix}list/`, startAfter: `${prefix}list/019` });
        expect(after.objects.map((object) => object.key)).toEqual(keys.slice(20));
        expect(after.nextToken).toBeUndefined();

        const all = [];
        for await (const object of listAll(store, { prefix })) all.push(object);
        expect(all).toHaveLength(24);
        const listed = all.find((object) => object.key === keys[5]);
        expect(listed?.size).toBe(keys[5]!.length);
        expect(listed?.etag).toBe((await store.head(keys[5]!)).etag);
      });

      test("a prefix with no keys lists nothing", async () => {
        const { store, prefix } = await setup();
        const page = await store.list({ prefix: `${prefix}nothing-here/` });
        expect(page.objects).toEqual([]);
        expect(page.nextToken).toBeUndefined();
      });
    });

    test("keys with spaces, unicode and odd punctuation round-trip and list in UTF-8 byte order", async () => {
      const { store, prefix } = await setup();
      const names = ["with space.txt", "café/naïve.md", "日本語/ファイル", "emoji 😀", "percent%20literal", ".hidden", "a+b=c&d", "z", "Ωmega"];
      for (const name of names) await store.put(`${prefix}${name}`, text(name));
      for (const name of names) expect(read((await store.get(`${prefix}${name}`)).body)).toBe(name);
      const listed = [];
      for await (const object of listAll(store, { prefix })) listed.push(object.key.slice(prefix.length));
      expect(listed).toEqual([...names].sort(compareKeys));
    });

    test("invalid keys are refused before anything is sent", async () => {
      const { store } = await setup();
      await expect(store.put("", text("x"))).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(store.get("a\0b")).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(store.put("k".repeat(1025), text("x"))).rejects.toBeInstanceOf(InvalidRequestError);
    });

    test("wrong credentials are rejected", async () => {
      const { wrongCredentials, prefix, store } = await setup();
      if ("gap" in wrongCredentials) {
        expect(wrongCredentials.gap.length).toBeGreaterThan(0);
        return;
      }
      await store.put(`${prefix}secret`, text("s"));
      await expect(wrongCredentials.get(`${prefix}secret`)).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(wrongCredentials.put(`${prefix}intruder`, text("x"))).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(store.head(`${prefix}intruder`)).rejects.toBeInstanceOf(NotFoundError);
    });

    describe("capabilities: every claim holds", () => {
      test("the store declares well-formed capabilities, atomic conditional writes among them, and a description", async () => {
        const { store } = await setup();
        const { createOnly, compareAndSwap, conditionalGet, maxListPage, keysNestUnderObjects } = store.capabilities;
        // The commit log is a sequence of create-only writes and the head a compare-and-swap: the
        // filesystem runs on no store without both, and the tests above hold both to their claim.
        expect(createOnly).toBe(true);
        expect(compareAndSwap).toBe(true);
        expect(typeof conditionalGet).toBe("boolean");
        expect(typeof keysNestUnderObjects).toBe("boolean");
        expect(Number.isSafeInteger(maxListPage) && maxListPage >= 1).toBe(true);
        expect(typeof store.description).toBe("string");
        expect(store.description.length).toBeGreaterThan(0);
      });

      test("conditionalGet: claimed, an unchanged object is answered without its body; either way a changed one comes back whole", async () => {
        const { store, prefix } = await setup();
        const { etag } = await store.put(`${prefix}c`, text("same"));
        const unchanged = await store.getIfChanged(`${prefix}c`, etag);
        if (store.capabilities.conditionalGet) expect(unchanged).toBeUndefined();
        else expect(unchanged === undefined ? "same" : read(unchanged.body)).toBe("same");
        await store.put(`${prefix}c`, text("changed"));
        const changed = await store.getIfChanged(`${prefix}c`, etag);
        expect(changed === undefined ? undefined : read(changed.body)).toBe("changed");
      });

      test("maxListPage: no page is longer, whatever maxKeys asks, and the pages together hold every key", async () => {
        const { store, prefix } = await setup();
        const { maxListPage } = store.capabilities;
        const keys = Array.from({ length: maxListPage + 1 }, (_, index) => `${prefix}many/${String(index).padStart(6, "0")}`);
        for (let start = 0; start < keys.length; start += 32) await Promise.all(keys.slice(start, start + 32).map((key) => store.put(key, text("x"))));
        const unbounded = await store.list({ prefix: `${prefix}many/` });
        expect(unbounded.objects).toHaveLength(maxListPage);
        expect(unbounded.nextToken).toBeDefined();
        const listed: string[] = [];
        let token: string | undefined;
        do {
          const page = await store.list({ prefix: `${prefix}many/`, maxKeys: maxListPage + 100, ...(token === undefined ? {} : { continuationToken: token }) });
          expect(page.objects.length).toBeLessThanOrEqual(maxListPage);
          listed.push(...page.objects.map((object) => object.key));
          token = page.nextToken;
        } while (token !== undefined);
        expect(listed).toEqual(keys);
      }, 240_000);

      test("keysNestUnderObjects: claimed, a key and the keys under it are separate objects; not claimed, a nesting write is refused and changes nothing", async () => {
        const { store, prefix } = await setup();
        const outer = `${prefix}nest/a`;
        const inner = `${prefix}nest/a/b`;
        const lower = `${prefix}nest/c/d`;
        const upper = `${prefix}nest/c`;
        await store.put(outer, text("outer"));
        await store.put(lower, text("lower"));
        if (store.capabilities.keysNestUnderObjects) {
          await store.put(inner, text("inner"));
          await store.put(upper, text("upper"));
          expect(read((await store.get(outer)).body)).toBe("outer");
          expect(read((await store.get(inner)).body)).toBe("inner");
          const listed = [];
          for await (const object of listAll(store, { prefix: `${prefix}nest/` })) listed.push(object.key);
          expect(listed).toEqual([outer, inner, upper, lower].sort(compareKeys));
          await store.delete(upper);
          expect(read((await store.get(lower)).body)).toBe("lower");
          return;
        }
        for (const [key, operation] of [
          [inner, "put"],
          [upper, "put"],
        ] as const) {
          const error = await store.put(key, text("nested"), { ifNoneMatch: "*" }).catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(InvalidRequestError);
          expect((error as StoreError).operation).toBe(operation);
          expect((error as StoreError).key).toBe(key);
          expect((error as Error).message).toStartWith(`put ${JSON.stringify(key)}: `);
        }
        // A prefix of longer keys holds no object: reading it finds nothing, deleting it is the
        // deletion of a missing key (which succeeds), and the keys under it stay.
        await expect(store.head(upper)).rejects.toBeInstanceOf(NotFoundError);
        await expect(store.get(upper)).rejects.toBeInstanceOf(NotFoundError);
        await store.delete(upper);
        await expect(store.head(inner)).rejects.toBeInstanceOf(NotFoundError);
        expect(read((await store.get(outer)).body)).toBe("outer");
        expect(read((await store.get(lower)).body)).toBe("lower");
        const listed = [];
        for await (const object of listAll(store, { prefix: `${prefix}nest/` })) listed.push(object.key);
        expect(listed).toEqual([outer, lower]);
      });
    });
  });
}
