// What makes one simulated run replay exactly from its seed, installed in the simulation's own
// process before the library is loaded (test/sim/run.ts imports this first, then the library
// dynamically: Bun binds `import { randomUUID } from "node:crypto"` when a module is linked).
//
// - Time is virtual. setTimeout/setInterval (the retrying store's backoff, the lease's renewal and
//   wait, the delayed head update) register timers with the scheduler, which fires them when it
//   chooses to let time pass; Date, Date.now and performance.now read the virtual clock. Nothing
//   waits for real time. setImmediate and queueMicrotask stay real: they carry no time.
// - randomUUID and Math.random (the retrying store's backoff jitter) draw from the run's seeded
//   generator (writer ids, nonces, chunk keys, fsIds).
// - Each simulated process reads the virtual clock through its manager's `now`, with a skew.
//
// Outside a run (no `virtual` installed) everything behaves as the real thing.

import { AsyncLocalStorage } from "node:async_hooks";
import { createRequire } from "node:module";

export interface VirtualTimer {
  id: number;
  due: number;
  callback: () => void;
  interval: number | undefined;
  /** Registration order: timers due at the same moment fire in it. */
  order: number;
}

export class VirtualTime {
  now: number;
  readonly timers = new Map<number, VirtualTimer>();
  private nextId = 1;
  private nextOrder = 1;
  /** Bumped when a timer is set: the scheduler waits until activity stops. */
  activity = 0;
  /** True while a timer's callback runs: what it calls synchronously was started by a timer. */
  firing = false;

  constructor(
    start: number,
    readonly random: () => number,
  ) {
    this.now = start;
  }

  set(callback: () => void, ms: number, interval: boolean): number {
    const delay = Math.max(0, Number.isFinite(ms) ? ms : 0);
    const id = this.nextId++;
    this.timers.set(id, { id, due: this.now + delay, callback, interval: interval ? Math.max(1, delay) : undefined, order: this.nextOrder++ });
    this.activity++;
    return id;
  }

  clear(id: number): void {
    this.timers.delete(id);
  }

  /** The timer that fires next, if any. */
  next(): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const timer of this.timers.values()) {
      if (best === undefined || timer.due < best.due || (timer.due === best.due && timer.order < best.order)) best = timer;
    }
    return best;
  }

  /** Moves the clock to the next timer and fires it. False when no timer is set. */
  fireNext(): boolean {
    const timer = this.next();
    if (timer === undefined) return false;
    this.now = Math.max(this.now, timer.due);
    if (timer.interval === undefined) this.timers.delete(timer.id);
    else {
      timer.due = this.now + timer.interval;
      timer.order = this.nextOrder++;
    }
    this.firing = true;
    try {
      timer.callback();
    } finally {
      this.firing = false;
    }
    return true;
  }

  advance(ms: number): void {
    this.now += ms;
  }

  uuid(): string {
    const hex = (digits: number) => {
      let out = "";
      for (let i = 0; i < digits; i++) out += Math.floor(this.random() * 16).toString(16);
      return out;
    };
    return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  }
}

/**
 * The run a piece of code belongs to follows it through promises and callbacks, so work left
 * over from an earlier run (a continuation still settling) draws on its own run's clock and
 * generators, never on the current run's.
 */
const runs = new AsyncLocalStorage<VirtualTime>();
let current: VirtualTime | undefined;
const virtualNow = (): VirtualTime | undefined => (current === undefined ? undefined : (runs.getStore() ?? current));

const real = {
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setInterval: globalThis.setInterval,
  clearInterval: globalThis.clearInterval,
  Date: globalThis.Date,
  performanceNow: performance.now.bind(performance),
};

class TimerHandle {
  /** The run that set it: a late clearTimeout from an earlier run must not clear this run's timer of the same number. */
  constructor(
    readonly id: number,
    readonly owner: VirtualTime,
  ) {}
  unref(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  hasRef(): boolean {
    return false;
  }
  refresh(): this {
    return this;
  }
  [Symbol.toPrimitive](): number {
    return this.id;
  }
}

let installed = false;
let io = 0;

/** Local file operations in flight (the cache's reads and writes): the scheduler waits for them. */
export function ioInFlight(): number {
  return io;
}

function counted<A extends unknown[], R>(call: (...args: A) => Promise<R>, wrapResult?: (result: R) => R): (...args: A) => Promise<R> {
  return (...args: A) => {
    io++;
    let promise: Promise<R>;
    try {
      promise = call(...args);
    } catch (error) {
      io--;
      throw error;
    }
    return promise.then(
      (result) => {
        io--;
        return wrapResult === undefined ? result : wrapResult(result);
      },
      (error: unknown) => {
        io--;
        throw error;
      },
    );
  };
}

/** Installs the virtual clock, timers and UUIDs (once per process; inert until `useVirtual`). */
export function installDeterminism(): void {
  if (installed) return;
  installed = true;
  const crypto = createRequire(import.meta.url)("node:crypto") as { randomUUID: () => string };
  const realUuid = crypto.randomUUID.bind(crypto);
  crypto.randomUUID = () => virtualNow()?.uuid() ?? realUuid();

  // Count local file operations, so the scheduler can wait for them to finish before it decides
  // (their real duration would otherwise decide which requests are queued when it looks).
  const fsp = createRequire(import.meta.url)("node:fs/promises") as Record<string, unknown>;
  const handleMethods = ["read", "write", "close", "sync", "datasync", "stat", "truncate", "readFile", "writeFile", "appendFile"];
  const wrapHandle = (handle: Record<string, unknown>) => {
    for (const method of handleMethods) {
      const original = handle[method];
      if (typeof original === "function") handle[method] = counted((original as (...args: unknown[]) => Promise<unknown>).bind(handle));
    }
    return handle;
  };
  for (const name of ["open", "rename", "rm", "unlink", "readFile", "writeFile", "mkdir", "stat", "readdir", "copyFile", "appendFile", "truncate"]) {
    const original = fsp[name];
    if (typeof original !== "function") continue;
    const bound = (original as (...args: unknown[]) => Promise<unknown>).bind(fsp);
    fsp[name] = name === "open" ? counted(bound, (handle) => wrapHandle(handle as Record<string, unknown>)) : counted(bound);
  }

  const g = globalThis as Record<string, unknown>;
  g.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const virtual = virtualNow();
    if (virtual === undefined) return real.setTimeout(callback, ms, ...args);
    return new TimerHandle(virtual.set(() => callback(...args), ms ?? 0, false), virtual);
  }) as unknown;
  g.setInterval = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const virtual = virtualNow();
    if (virtual === undefined) return real.setInterval(callback, ms, ...args);
    return new TimerHandle(virtual.set(() => callback(...args), ms ?? 0, true), virtual);
  }) as unknown;
  g.clearTimeout = ((id: unknown) => {
    if (id instanceof TimerHandle) id.owner.clear(id.id);
    else real.clearTimeout(id as ReturnType<typeof setTimeout>);
  }) as unknown;
  g.clearInterval = ((id: unknown) => {
    if (id instanceof TimerHandle) id.owner.clear(id.id);
    else real.clearInterval(id as ReturnType<typeof setInterval>);
  }) as unknown;

  const RealDate = real.Date;
  class SimDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(virtualNow()?.now ?? RealDate.now());
      else super(...(args as [number]));
    }
    static override now(): number {
      return virtualNow()?.now ?? RealDate.now();
    }
  }
  g.Date = SimDate;
  const realRandom = Math.random;
  Math.random = () => {
    const virtual = virtualNow();
    return virtual === undefined ? realRandom() : virtual.random();
  };
  performance.now = () => {
    const virtual = virtualNow();
    return virtual === undefined ? real.performanceNow() : virtual.now - 1_767_225_600_000;
  };
}

/** Runs `body` on the virtual clock and generators of `time` (and everything it starts). */
export function withVirtual<T>(time: VirtualTime, body: () => Promise<T>): Promise<T> {
  current = time;
  return runs.run(time, body).finally(() => {
    if (current === time) current = undefined;
  });
}

/** Real time, for measuring the simulation itself. */
export function realNow(): number {
  return real.performanceNow();
}
