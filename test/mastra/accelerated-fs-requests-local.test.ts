// Remote requests of the Mastra tools over AcceleratedFS on a LocalObjectStore (counted by the core).
import { afterAll } from "bun:test";
import { removeTempDirectories } from "../support/temp.ts";
import { acceleratedSubjects } from "./accelerated-subjects.ts";
import { requestCountCases } from "./request-count-cases.ts";

afterAll(removeTempDirectories);

requestCountCases("AcceleratedFS on LocalObjectStore", acceleratedSubjects("mastra-requests"));
