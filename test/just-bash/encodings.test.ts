// Encodings round-trip exactly as just-bash's InMemoryFs has them ("binary"/"latin1" one byte per
// character, "base64", "hex", UTF-8 for the rest, a Uint8Array as raw bytes), and the bytes are
// the ones the store keeps: they read back the same after a remount from an empty cache.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { InMemoryFs, latin1FromBytes, type BufferEncoding } from "just-bash";
import type { S3CachedFs } from "../../src/core.ts";
import { AcceleratedJustBashFs } from "../../src/just-bash/index.ts";
import { testWorkspace, type TestWorkspace } from "../support/mounts.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { remountCold } from "./shell-fixtures.ts";

const encodings: BufferEncoding[] = ["utf8", "utf-8", "ascii", "binary", "latin1", "base64", "hex"];
const allBytes = Uint8Array.from({ length: 256 }, (_, index) => index);

/** A string in each encoding, and the bytes it stands for. */
const samples: { encoding: BufferEncoding | undefined; text: string; bytes: Uint8Array }[] = [
  { encoding: undefined, text: "plain ✓ 日本\n", bytes: new TextEncoder().encode("plain ✓ 日本\n") },
  { encoding: "utf8", text: "héllo 🎉", bytes: new TextEncoder().encode("héllo 🎉") },
  { encoding: "utf-8", text: "naïve", bytes: new TextEncoder().encode("naïve") },
  { encoding: "ascii", text: "just ascii", bytes: new TextEncoder().encode("just ascii") },
  { encoding: "binary", text: latin1FromBytesOf(allBytes), bytes: allBytes },
  { encoding: "latin1", text: "\u00ff\u00fe\u0080\u0000", bytes: Uint8Array.of(0xff, 0xfe, 0x80, 0x00) },
  { encoding: "base64", text: Buffer.from(allBytes).toString("base64"), bytes: allBytes },
  { encoding: "hex", text: "00ff10ab", bytes: Uint8Array.of(0x00, 0xff, 0x10, 0xab) },
];

function latin1FromBytesOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("latin1");
}

let workspace: TestWorkspace;
let filesystem: S3CachedFs;
let ours: AcceleratedJustBashFs;
const reference = new InMemoryFs();

beforeAll(async () => {
  workspace = await testWorkspace("local", "jb-encodings");
  filesystem = await workspace.mount();
  ours = new AcceleratedJustBashFs(filesystem);
});

afterAll(async () => {
  await filesystem.close();
  removeTempDirectories();
});

describe("writing a string in each encoding stores its bytes, as InMemoryFs does", () => {
  samples.forEach((sample, index) => {
    test(`${sample.encoding ?? "no encoding"}`, async () => {
      const path = `/enc/write-${index}`;
      const options = sample.encoding === undefined ? undefined : { encoding: sample.encoding };
      await ours.writeFile(path, sample.text, options);
      await reference.writeFile(path, sample.text, options);
      expect([...(await ours.readFileBuffer(path))]).toEqual([...sample.bytes]);
      expect([...(await reference.readFileBuffer(path))]).toEqual([...sample.bytes]);
      // Read back in every encoding: the same strings as the reference.
      for (const encoding of encodings) expect(await ours.readFile(path, encoding)).toBe(await reference.readFile(path, encoding));
      if (sample.encoding !== undefined) expect(await ours.readFile(path, sample.encoding === "ascii" ? "utf8" : sample.encoding)).toBe(sample.text);
    });
  });
});

test("an encoding given as a plain string works like { encoding }", async () => {
  await ours.writeFile("/enc/hex-string", "cafe", "hex");
  expect(await ours.readFile("/enc/hex-string", "hex")).toBe("cafe");
  expect(await ours.readFile("/enc/hex-string", { encoding: "base64" })).toBe(Buffer.from([0xca, 0xfe]).toString("base64"));
});

test("a Uint8Array is written as raw bytes whatever the encoding option says", async () => {
  await ours.writeFile("/enc/raw", allBytes, "base64");
  await ours.appendFile("/enc/raw", Uint8Array.of(0xff, 0x00), { encoding: "hex" });
  const bytes = await ours.readFileBuffer("/enc/raw");
  expect(bytes).toBeInstanceOf(Uint8Array);
  expect([...bytes]).toEqual([...allBytes, 0xff, 0x00]);
  expect(latin1FromBytes(await ours.readFileBytes("/enc/raw"))).toBe(latin1FromBytesOf(bytes));
});

test("appendFile honours the encoding of each piece", async () => {
  await ours.writeFile("/enc/pieces", "é", "utf8");
  await ours.appendFile("/enc/pieces", "\u00e9", "binary");
  await ours.appendFile("/enc/pieces", "00e9", "hex");
  expect([...(await ours.readFileBuffer("/enc/pieces"))]).toEqual([0xc3, 0xa9, 0xe9, 0x00, 0xe9]);
});

test("invalid UTF-8 reads as replacement characters, as it does over InMemoryFs", async () => {
  const invalid = Uint8Array.of(0x61, 0xff, 0xc3, 0x62);
  await ours.writeFile("/enc/invalid", invalid);
  await reference.writeFile("/enc/invalid", invalid);
  expect(await ours.readFile("/enc/invalid")).toBe(await reference.readFile("/enc/invalid"));
});

test("the bytes survive a remount from an empty cache", async () => {
  await ours.writeFile("/enc/durable", allBytes);
  await filesystem.close();
  const remounted = await remountCold(workspace);
  try {
    const again = new AcceleratedJustBashFs(remounted);
    expect([...(await again.readFileBuffer("/enc/durable"))]).toEqual([...allBytes]);
    expect(await again.readFile("/enc/write-6", "base64")).toBe(Buffer.from(allBytes).toString("base64"));
  } finally {
    await remounted.close();
    filesystem = await workspace.mount(); // afterAll closes it
  }
});

test("binary output of commands keeps every byte through the shell", async () => {
  const { createAcceleratedJustBashShell } = await import("../../src/just-bash/index.ts");
  const shell = await createAcceleratedJustBashShell({ filesystem, cwd: "/shell" });
  const result = await shell.exec("printf 'AAEC/w==' | base64 -d > b.bin; od -An -tx1 b.bin; base64 b.bin; cp b.bin c.bin; md5sum c.bin | cut -c1-8");
  expect(result.stdout).toBe(" 000 001 002 377\nAAEC/w==\n" + `${new Bun.CryptoHasher("md5").update(Uint8Array.of(0, 1, 2, 255)).digest("hex").slice(0, 8)}\n`);
  expect([...(await shell.fs.readFileBuffer("/shell/c.bin"))]).toEqual([0, 1, 2, 255]);
});
