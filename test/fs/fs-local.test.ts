// The filesystem suite on LocalObjectStore, under each layout.
import { afterAll } from "bun:test";
import { removeTempDirectories } from "../support/temp.ts";
import { fsSuite, mountedSubject, suiteLayouts } from "./fs-suite.ts";

afterAll(removeTempDirectories);

for (const [label, layout] of suiteLayouts) fsSuite(`LocalObjectStore, ${label}`, () => mountedSubject("local", layout));
