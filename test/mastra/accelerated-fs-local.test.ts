// The Mastra suites (validated against Mastra's own LocalFilesystem in
// local-filesystem-reference.test.ts) run against AcceleratedFS on a LocalObjectStore: every
// capability is required, nothing is declared not applicable.

import { afterAll } from "bun:test";
import { removeTempDirectories } from "../support/temp.ts";
import { acceleratedFilesystemCapabilities, acceleratedSubjects, acceleratedToolsCapabilities } from "./accelerated-subjects.ts";
import { workspaceFilesystemSuite } from "./workspace-filesystem-suite.ts";
import { workspaceToolsSuite } from "./workspace-tools-suite.ts";

afterAll(removeTempDirectories);

workspaceFilesystemSuite("AcceleratedFS on LocalObjectStore", acceleratedSubjects("mastra-accelerated"), acceleratedFilesystemCapabilities);

workspaceToolsSuite("AcceleratedFS on LocalObjectStore", acceleratedSubjects("mastra-accelerated-tools"), acceleratedToolsCapabilities);
