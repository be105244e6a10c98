// Docs that run as written: every ```ts / ```typescript block of README.md, src/*/README.md and
// docs/*.md runs as a user's script, in an app that has the package installed (imported by its
// public names), under Bun. An HTML comment just before a block says how:
//   (none)                           runs as written, with no AWS settings in the environment;
//   <!-- example: s3 -->             runs against the test's S3 server, given as a user gives it
//                                    to the AWS SDK: AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID,
//                                    AWS_SECRET_ACCESS_KEY and AWS_REGION in the environment, and
//                                    the bucket "my-bucket" replaced by a fresh one;
//   <!-- example: skip: <reason> --> not run; the visible text beside it says what it needs.
// The provider check command of docs/object-store-providers.md runs too, against the test server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { freshBucket, s3Server } from "./support/s3-server.ts";
import { repository, tempApp, type TempApp } from "./support/temp-app.ts";
import { removeTempDirectories } from "./support/temp.ts";

interface Example {
  file: string;
  line: number;
  language: string;
  directive: string;
  code: string;
}

const documents = [
  "README.md",
  ...readdirSync(join(repository, "src"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `src/${entry.name}/README.md`)
    .filter((file) => exists(file)),
  ...readdirSync(join(repository, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

function exists(file: string): boolean {
  try {
    readFileSync(join(repository, file));
    return true;
  } catch {
    return false;
  }
}

/** Every fenced block of a document, with the example directive just before it (blank lines between allowed). */
function blocksOf(file: string): Example[] {
  const lines = readFileSync(join(repository, file), "utf8").split("\n");
  const examples: Example[] = [];
  for (let index = 0; index < lines.length; index++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[index]!);
    if (open === null) continue;
    const indent = open[1]!.length;
    const language = open[2]!;
    const start = index;
    const body: string[] = [];
    for (index++; index < lines.length && !/^\s*```\s*$/.test(lines[index]!); index++) body.push(lines[index]!.slice(indent));
    let before = start - 1;
    while (before >= 0 && lines[before]!.trim() === "") before--;
    const comment = before >= 0 ? /^\s*<!--\s*example:\s*(.*?)\s*-->\s*$/.exec(lines[before]!) : null;
    examples.push({ file, line: start + 1, language, directive: comment?.[1] ?? "", code: body.join("\n") + "\n" });
  }
  return examples;
}

const all = documents.flatMap(blocksOf);
const typescript = all.filter((example) => example.language === "ts" || example.language === "typescript");

let bucket = "";
beforeAll(async () => {
  bucket = await freshBucket("docs-examples");
});
afterAll(() => removeTempDirectories());

/**
 * The environment of a user with no AWS settings (nothing reaches a real service by accident); the
 * platform's cache directory inside the app, when given one.
 */
function offlineEnvironment(app?: TempApp): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  if (app !== undefined) env.XDG_CACHE_HOME = join(app.directory, "platform-cache");
  for (const key of Object.keys(env)) if (key.startsWith("AWS_") || key.startsWith("S3_")) delete env[key];
  return env;
}

function s3Environment(app: TempApp): Record<string, string | undefined> {
  const server = s3Server();
  return {
    ...offlineEnvironment(app),
    AWS_ENDPOINT_URL_S3: server.endpoint,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_REGION: server.region,
  };
}

test("the documents hold TypeScript examples, and every directive is one the test knows", () => {
  expect(typescript.length).toBeGreaterThanOrEqual(6);
  for (const example of typescript) {
    expect(`${example.file}:${example.line} ${example.directive}`).toMatch(/:\d+ (|s3|skip: .{10,})$/);
  }
});

describe("every TypeScript example runs as written", () => {
  for (const example of typescript) {
    const where = `${example.file}:${example.line}`;
    const title = `${where}${example.directive === "" ? "" : ` (${example.directive.split(":")[0]})`}`;
    if (example.directive.startsWith("skip:")) {
      test.skip(title, () => {});
      continue;
    }
    test(
      title,
      async () => {
        const s3 = example.directive === "s3";
        const code = s3 ? example.code.replaceAll('"my-bucket"', JSON.stringify(bucket)) : example.code;
        const file = `example-${example.file.replace(/[^A-Za-z0-9]+/g, "-")}-${example.line}.ts`;
        const app = tempApp("docs-example"); // each example in an app of its own, as a user would start
        const result = await app.run(file, code, s3 ? s3Environment(app) : offlineEnvironment(app));
        if (result.exitCode !== 0) throw new Error(`${where} exited ${result.exitCode}:\n${result.stdout}\n${result.stderr}`);
      },
      240_000,
    );
  }
});

test("the provider check command of docs/object-store-providers.md runs the conformance suite (its file filter matches)", async () => {
  const block = all.find((example) => example.file === "docs/object-store-providers.md" && example.language === "bash" && example.code.includes("bun test"));
  expect(block).toBeDefined();
  // The command as a user types it in a checkout, with the test server's settings for the placeholders.
  const server = s3Server();
  const command = block!.code
    .replace("S3_ENDPOINT=https://...", `S3_ENDPOINT=${server.endpoint}`)
    .replace("S3_ACCESS_KEY=...", `S3_ACCESS_KEY=${server.accessKeyId}`)
    .replace("S3_SECRET_KEY=...", `S3_SECRET_KEY=${server.secretAccessKey}`)
    .replace("S3_REGION=...", `S3_REGION=${server.region}`);
  expect(command).not.toContain("...");
  const child = Bun.spawn(["bash", "-c", command], { cwd: repository, env: offlineEnvironment(), stdout: "pipe", stderr: "pipe", timeout: 300_000 });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const output = stdout + stderr;
  if (exitCode !== 0) throw new Error(`the provider check exited ${exitCode}:\n${output.slice(-4000)}`);
  expect(output).toMatch(/Ran \d+ tests across 1 file/);
  expect(output).toContain(" 0 fail");
}, 300_000);
