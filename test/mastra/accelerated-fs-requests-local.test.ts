// Remote requests of the Mastra tools over AcceleratedFS on a LocalObjectStore (counted by the core).
import { afterAll } from "bun:test";
import { removeTempDirectories } from "../support/temp.ts";
import { acceleratedSubjects } from "./accelerated-subjects.ts";
import { requestCountCases } from "./request-count-cases.ts";

afterAll(removeTempDirectories);

// The head is brought up to date, and the lease renewed, outside the measured calls: a tool call that
// runs long on a busy machine never counts an earlier commit's head update or a renewal.
const quiet = { headDelayMs: 600_000, leaseTtlMs: 600_000 };
requestCountCases("AcceleratedFS on LocalObjectStore", acceleratedSubjects("mastra-requests", undefined, quiet));
