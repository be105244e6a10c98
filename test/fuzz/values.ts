// The fuzzer's arguments: paths (mostly ones the model knows, often hostile), contents given as
// every type writeFile accepts (and some it must refuse), numbers, options and signals. Every
// choice comes from the run's seeded generator, so a seed replays the same arguments.

export type Random = () => number;

export interface Picker {
  random: Random;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  int(below: number): number;
}

export function picker(random: Random): Picker {
  return {
    random,
    chance: (p) => random() < p,
    pick: (items) => items[Math.floor(random() * items.length)]!,
    int: (below) => Math.floor(random() * below),
  };
}

/** What is wrong with a path argument, if anything; each hostile path carries exactly one flaw. */
export type PathFlaw =
  | "not-a-string"
  | "empty"
  | "nul"
  | "climbs"
  | "long-name"
  | "long-path"
  | "lone-surrogate"
  | "trailing-slash"
  | "spelled-differently"
  | "max-name";

export interface PathArg {
  value: unknown;
  /** For the log: JSON where possible, a short form for long strings. */
  shown: string;
  /** The path the model uses (the normalised form), when the argument is a usable path. */
  normalized?: string;
  flaw?: PathFlaw;
  /** The code the core must refuse it with, whatever the tree holds (bad input). */
  refusedWith?: string;
}

export function showValue(value: unknown): string {
  if (typeof value === "string") return value.length > 60 ? `${JSON.stringify(value.slice(0, 24))}+${value.length - 24} chars` : JSON.stringify(value);
  if (typeof value === "symbol" || typeof value === "bigint" || typeof value === "function") return typeof value === "function" ? "function" : String(value);
  if (value instanceof Uint8Array) return `${value.constructor.name}(${value.byteLength})`;
  if (value === undefined) return "undefined";
  if (typeof value === "number") return Number.isNaN(value) ? "NaN" : Object.is(value, -0) ? "-0" : String(value);
  if (value instanceof AbortSignal) return `AbortSignal(${value.aborted ? "aborted" : "live"})`;
  if (typeof value === "object" && value !== null && value.constructor !== Object && value.constructor !== Array) return value.constructor?.name ?? "object";
  try {
    return JSON.stringify(value, (_key, item) => (typeof item === "number" && !Number.isFinite(item) ? String(item) : typeof item === "function" ? "function" : item instanceof AbortSignal ? `AbortSignal(${item.aborted ? "aborted" : "live"})` : item)) ?? String(value);
  } catch {
    return String(value);
  }
}

export const plainNames = ["a", "b", "c"] as const;
/** Odd but valid names: the core must treat each as an ordinary name. */
export const oddNames = [" ", "-", "a b", "\n", "名前", "😀", "%2e%2e", "*", "\\", ".hidden", "...", "a:b", "\u00e9", "e\u0301"] as const;

/** A path the model can reason about: existing entries half the time, so calls do something. */
export function modelPath(p: Picker, existing: readonly string[]): string {
  if (existing.length > 0 && p.chance(0.55)) {
    const path = p.pick(existing);
    if (p.chance(0.6) || path.split("/").length > 3) return path;
    return `${path}/${p.pick(plainNames)}`;
  }
  const depth = 1 + p.int(3);
  return `/${Array.from({ length: depth }, () => (p.chance(0.06) ? p.pick(oddNames) : p.pick(plainNames))).join("/")}`;
}

/** The normalised form of a well-formed path (no NUL, no climbing, within the limits). */
export function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/**
 * A path argument: a model path, possibly spelled another way, or (with probability `hostility`)
 * one with a flaw the core must refuse or handle as node:fs does.
 */
export function pathArg(p: Picker, existing: readonly string[], hostility: number): PathArg {
  const arg = flawedPath(p, existing, hostility);
  // A flaw added to a long existing path may push it past the limits: then it is refused for that.
  if (arg.normalized !== undefined && arg.refusedWith === undefined) {
    const tooLong = Buffer.byteLength(arg.value as string) > 4096 || arg.normalized.split("/").some((name) => Buffer.byteLength(name) > 255);
    if (tooLong) return { value: arg.value, shown: arg.shown, ...(arg.flaw === undefined ? {} : { flaw: arg.flaw }), refusedWith: "ENAMETOOLONG" };
  }
  return arg;
}

function flawedPath(p: Picker, existing: readonly string[], hostility: number): PathArg {
  const base = modelPath(p, existing);
  if (!p.chance(hostility)) return { value: base, shown: showValue(base), normalized: base };
  const flaw = p.pick<PathFlaw>(["not-a-string", "empty", "nul", "climbs", "long-name", "long-path", "lone-surrogate", "trailing-slash", "trailing-slash", "spelled-differently", "spelled-differently", "max-name"]);
  switch (flaw) {
    case "not-a-string": {
      const value = p.pick<unknown>([42, null, undefined, {}, ["a"], Symbol("a"), true, new URL("file:///a"), Buffer.from("/a"), () => "/a", Number.NaN]);
      return { value, shown: showValue(value), flaw, refusedWith: "EINVAL" };
    }
    case "empty":
      return { value: "", shown: '""', flaw, refusedWith: "ENOENT" };
    case "nul": {
      const value = p.pick([`${base}\0`, `/a\0b`, `\0`, `${base}\0/../x`]);
      return { value, shown: showValue(value), flaw, refusedWith: "EINVAL" };
    }
    case "climbs": {
      const value = p.pick(["..", "/..", "/../a", "/a/../../b", "../../etc/passwd", "/a/b/../../../.."]);
      return { value, shown: showValue(value), flaw, refusedWith: "EINVAL" };
    }
    case "long-name": {
      const value = `/${p.pick(["n".repeat(256), "é".repeat(128), "😀".repeat(64), "n".repeat(10_000)])}`;
      return { value, shown: showValue(value), flaw, refusedWith: "ENAMETOOLONG" };
    }
    case "long-path": {
      const value = `/${Array.from({ length: 20 }, () => "d".repeat(250)).join("/")}`;
      return { value, shown: showValue(value), flaw, refusedWith: "ENAMETOOLONG" };
    }
    case "max-name": {
      // Names at the limit are valid: the core must handle them everywhere (materialize included).
      const value = `/${p.pick(["m".repeat(255), "m".repeat(210), "é".repeat(127)])}`;
      return { value, shown: showValue(value), normalized: value, flaw };
    }
    case "lone-surrogate": {
      const value = p.pick([`/a\uD800`, `/\uDFFF`, `${base}\uD83D`, `/x\uDC00y`]);
      // node:fs writes a lone surrogate as U+FFFD; refusing it (EINVAL) is the other clear answer.
      return { value, shown: showValue(value), normalized: normalize(value.toWellFormed()), flaw };
    }
    case "trailing-slash": {
      const value = `${base}/`;
      return { value, shown: showValue(value), normalized: base, flaw };
    }
    case "spelled-differently": {
      // Names of the same entry: "x/." is not one of them (it names a directory, as "x/" does: node:fs
      // refuses to write a file there), so it is left to the trailing-slash flaw.
      const value = p.pick([base.slice(1), `/.${base}`, `/${base}`.replaceAll("/", "//"), `${base}/../${base.split("/").pop()}`, `/a/..${base}`]);
      return { value, shown: showValue(value), normalized: normalize(value), flaw };
    }
  }
}

/** Integers and not: what numeric arguments (offsets, lengths, depths, windows) get. */
export function numberArg(p: Picker, valid: () => number): { value: unknown; valid: boolean } {
  if (!p.chance(0.35)) return { value: valid(), valid: true };
  const value = p.pick<unknown>([Number.NaN, -1, -5, -0.5, 1.5, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, 2 ** 60, -(2 ** 31), "3", {}, 10n]);
  return { value, valid: false };
}

export function abortedSignal(): AbortSignal {
  const controller = new AbortController();
  controller.abort(new Error("aborted by the fuzzer before the call"));
  return controller.signal;
}

/** File contents: short text, sometimes just over the tiny layout's large-file limit. */
export function contentText(p: Picker, largeFileBytes: number): string {
  const size = p.chance(0.15) ? largeFileBytes + 1 + p.int(3 * largeFileBytes) : p.int(12);
  return Array.from({ length: size }, () => p.pick(["x", "y", "z", "é", "\n", "0"])).join("");
}

export type DataForm = "string" | "Uint8Array" | "ArrayBuffer" | "DataView" | "Blob" | "Response" | "ReadableStream" | "hex" | "base64";

/** `text` delivered as one of the types writeFile accepts; the bytes are always its UTF-8. */
export function dataOf(p: Picker, text: string): { data: unknown; options: Record<string, unknown>; form: DataForm } {
  const bytes = new TextEncoder().encode(text);
  const form = p.pick<DataForm>(["string", "string", "string", "Uint8Array", "ArrayBuffer", "DataView", "Blob", "Response", "ReadableStream", "hex", "base64"]);
  switch (form) {
    case "string":
      return { data: text, options: {}, form };
    case "Uint8Array":
      return { data: bytes, options: {}, form };
    case "ArrayBuffer":
      return { data: bytes.slice().buffer, options: {}, form };
    case "DataView": {
      const padded = new Uint8Array(bytes.byteLength + 4);
      padded.set(bytes, 2);
      return { data: new DataView(padded.buffer, 2, bytes.byteLength), options: {}, form };
    }
    case "Blob":
      return { data: new Blob([bytes]), options: {}, form };
    case "Response":
      return { data: new Response(bytes), options: {}, form };
    case "ReadableStream": {
      const pieces = [bytes.subarray(0, Math.floor(bytes.byteLength / 2)), bytes.subarray(Math.floor(bytes.byteLength / 2))];
      return { data: new ReadableStream<Uint8Array>({ start: (controller) => (pieces.forEach((piece) => controller.enqueue(piece)), controller.close()) }), options: {}, form };
    }
    case "hex":
      return { data: Buffer.from(bytes).toString("hex"), options: { encoding: "hex" }, form };
    case "base64":
      return { data: Buffer.from(bytes).toString("base64"), options: { encoding: "base64" }, form };
  }
}

export type BadDataKind = "number" | "null" | "object" | "locked-stream" | "erroring-stream" | "number-chunks" | "used-response" | "unknown-encoding" | "array";

/** Data writeFile must refuse (EINVAL, or the stream's own failure as an FsError), publishing nothing. */
export function badData(p: Picker): { data: unknown; options: Record<string, unknown>; kind: BadDataKind } {
  const kind = p.pick<BadDataKind>(["number", "null", "object", "locked-stream", "erroring-stream", "number-chunks", "used-response", "unknown-encoding", "array"]);
  switch (kind) {
    case "number":
      return { data: 42, options: {}, kind };
    case "null":
      return { data: null, options: {}, kind };
    case "object":
      return { data: { toString: () => "x" }, options: {}, kind };
    case "array":
      return { data: [1, 2, 3], options: {}, kind };
    case "locked-stream": {
      const stream = new ReadableStream<Uint8Array>({ start: (controller) => controller.enqueue(new Uint8Array([1])) });
      stream.getReader();
      return { data: stream, options: {}, kind };
    }
    case "erroring-stream": {
      let sent = false;
      const stream = new ReadableStream<Uint8Array>({
        pull: (controller) => {
          if (!sent) {
            sent = true;
            controller.enqueue(new TextEncoder().encode("partial"));
          } else controller.error(new Error("the source broke"));
        },
      });
      return { data: stream, options: {}, kind };
    }
    case "number-chunks": {
      const stream = new ReadableStream<unknown>({ start: (controller) => (controller.enqueue(7), controller.close()) });
      return { data: stream, options: {}, kind };
    }
    case "used-response": {
      const response = new Response("used");
      void response.text();
      return { data: response, options: {}, kind };
    }
    case "unknown-encoding":
      return { data: "abc", options: { encoding: p.pick(["bogus", "utf-32", 42]) }, kind };
  }
}

/** A mode argument: usually valid, often not. */
export function modeArg(p: Picker): { value: unknown; valid: boolean } {
  if (p.chance(0.6)) return { value: p.pick([0o600, 0o644, 0o755, 0o700, 0o444, 0]), valid: true };
  return { value: p.pick<unknown>([Number.NaN, -1, 0o10000, 1.5, "644", 2 ** 40, Number.POSITIVE_INFINITY]), valid: false };
}
