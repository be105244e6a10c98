// Asserting errors by code (and, where it matters, by syscall and path), as a caller would.
import { expect } from "bun:test";

export async function expectCode(promise: Promise<unknown>, code: string, details: { syscall?: string; path?: string } = {}): Promise<Error & { code: string }> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new Error(`expected ${code}, but the call succeeded`);
  const error = caught as Error & { code?: string; syscall?: string; path?: string };
  if (error.code !== code) throw new Error(`expected ${code}, got ${error.code ?? "no code"}: ${error.message}`);
  if (details.syscall !== undefined) expect(error.syscall).toBe(details.syscall);
  if (details.path !== undefined) expect(error.path).toBe(details.path);
  return error as Error & { code: string };
}
