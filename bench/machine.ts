// The machine, runtime and package versions a run was measured on, written beside its figures.

import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join, resolve } from "node:path";
import type { MachineInfo } from "./results.ts";

const projectRoot = resolve(import.meta.dir, "..");

export function describeMachine(): MachineInfo {
  const processors = cpus();
  return {
    date: new Date().toISOString(),
    os: osName(),
    kernel: release(),
    cpu: processors[0]?.model ?? "unknown",
    cores: processors.length,
    memoryBytes: totalmem(),
    bun: Bun.version,
    packages: Object.fromEntries(
      ["s3-bun-cached-fs", "@aws-sdk/client-s3", "@mastra/core", "@mastra/s3", "just-bash"].map((name) => [name, packageVersion(name)]),
    ),
    s3Server: s3ServerVersion(),
    revision: revision(),
  };
}

function osName(): string {
  try {
    const text = readFileSync("/etc/os-release", "utf8");
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? process.platform;
  } catch {
    return process.platform;
  }
}

function packageVersion(name: string): string {
  const file = name === "s3-bun-cached-fs" ? join(projectRoot, "package.json") : join(projectRoot, "node_modules", name, "package.json");
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

function s3ServerVersion(): string {
  try {
    const result = Bun.spawnSync(["radosgw", "--version"], { stdout: "pipe", stderr: "pipe" });
    const line = new TextDecoder().decode(result.stdout).trim().split("\n")[0] ?? "";
    const match = /ceph version (\S+)/.exec(line);
    return match === null ? "unknown S3 server" : `Ceph RGW ${match[1]} (radosgw, beast frontend, one OSD on loopback)`;
  } catch {
    return "unknown S3 server (radosgw not on PATH)";
  }
}

function revision(): string {
  // Set when measuring an exported tree (git archive) that has no .git of its own.
  if (process.env.BENCH_REVISION) return process.env.BENCH_REVISION;
  const git = (...args: string[]) => new TextDecoder().decode(Bun.spawnSync(["git", ...args], { cwd: projectRoot, stdout: "pipe", stderr: "pipe" }).stdout).trimEnd();
  try {
    const commit = git("rev-parse", "--short", "HEAD").trim();
    if (commit === "") return "unknown (not a git checkout)";
    const changed = git("status", "--porcelain", "--", "src")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => line.slice(3));
    if (changed.length === 0) return commit;
    const directories = [...new Set(changed.map((path) => path.replace(/\/[^/]*$/, "/")))];
    return `${commit} + uncommitted changes in ${directories.join(", ")}`;
  } catch {
    return "unknown (git not available)";
  }
}
