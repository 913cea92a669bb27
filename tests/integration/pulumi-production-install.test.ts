/**
 * The program as `pulumi up` runs it after `npm ci --omit=dev`: a copy of the project with only production
 * dependencies installed, the program loaded in infra/ (Pulumi.yaml's main) through ts-node set up as the
 * SDK's cmd/run/run.js sets it up (its own tsutils find the compiler and read infra/tsconfig.json), and run
 * under the SDK's mocks in place of the engine. Nothing from the repository's full node_modules is
 * reachable from the copy.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../stack/paths";

let copy: string;

/** Loads infra/index.ts as run.js would, under mocks; prints what it found as JSON. Plain JavaScript: no compiler yet. */
const harness = `
const path = require("path");
const tsutils = require("@pulumi/pulumi/tsutils");
const { typescriptRequire, tsnodeRequire } = tsutils.typeScriptRequireStrings();
const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
const ts = require(typescriptRequire);
const nodeNext = Number(ts.version.split(".")[0]) >= 5 || ts.version.startsWith("4.7") || Number(ts.version.split(".")[1]) >= 7;
require(tsnodeRequire).register({
  compiler: typescriptRequire,
  transpileOnly: compilerOptions.noCheck,
  project: "tsconfig.json",
  skipProject: false,
  compilerOptions: { target: "ES2020", module: nodeNext ? "nodenext" : "commonjs", moduleResolution: nodeNext ? "nodenext" : "node", sourceMap: "true", ...compilerOptions },
});
const pulumi = require("@pulumi/pulumi");
const registrations = [];
(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registrations.push(args.type);
        const extra = args.type.endsWith(":CronJob") ? { jobId: 7, database: "postgres" } : {};
        return { id: args.name + "-id", state: { ...args.inputs, ...extra } };
      },
      call(args) { throw new Error("unexpected call " + args.token); },
    },
    "reminder-cron", "prod", false,
  );
  const config = JSON.parse(process.env.PROGRAM_CONFIG);
  pulumi.runtime.setAllConfig(config, ["reminder-cron:dbPassword", "reminder-cron:signingKey", "reminder-cron:sharedSecret", "reminder-cron:supabaseAccessToken"]);
  const program = require("./index.ts");
  const outputs = {};
  for (const [name, value] of Object.entries(program)) {
    outputs[name] = pulumi.Output.isInstance(value) ? await new Promise((resolve) => value.apply(resolve)) : value;
  }
  await pulumi.runtime.disconnect();
  process.stdout.write(JSON.stringify({ typescript: require.resolve(typescriptRequire), tsnode: require.resolve(tsnodeRequire), transpileOnly: compilerOptions.noCheck, registrations, outputs }));
  process.exit(0);
})().catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });
`;

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), "reminder-cron-omit-dev-"));
  for (const path of ["package.json", "package-lock.json", "Pulumi.yaml", "infra", join("stack", "paths.ts"), join("supabase", "migrations"), join("supabase", "functions")]) {
    cpSync(join(repoRoot, path), join(copy, path), { recursive: true });
  }
  // As the deploy jobs install (.github/actions/pulumi-stack); the npm cache `npm ci` filled serves it.
  execFileSync("npm", ["ci", "--omit=dev", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: copy, stdio: "pipe" });
  writeFileSync(join(copy, "infra", "run-under-mocks.js"), harness);
}, 300000);

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

test("the copy holds production dependencies only", () => {
  expect(existsSync(join(copy, "node_modules", "@pulumi", "pulumi"))).toBe(true);
  expect(existsSync(join(copy, "node_modules", "jest"))).toBe(false);
  expect(existsSync(join(copy, "node_modules", "@types", "jest"))).toBe(false);
});

test("the program loads with the project's TypeScript and ts-node, transpile only, and registers the whole stack", () => {
  const config = {
    "reminder-cron:functionUrl": "https://prodrefabcdefghijklm.supabase.co/functions/v1/reminder-scheduler",
    "reminder-cron:dbHost": "db.prodrefabcdefghijklm.supabase.co",
    "reminder-cron:dbSslRootCert": join(repoRoot, "tests", "fixtures", "test-root-ca.crt"),
    "reminder-cron:pgCronVersion": "1.6",
    "reminder-cron:protect": "true",
    "reminder-cron:dbPassword": "p",
    "reminder-cron:signingKey": "k".repeat(64),
    "reminder-cron:sharedSecret": "s".repeat(64),
    "reminder-cron:supabaseProjectRef": "prodrefabcdefghijklm",
    "reminder-cron:supabaseAccessToken": `sbp_${"a".repeat(40)}`,
  };
  const run = spawnSync(process.execPath, ["run-under-mocks.js"], {
    cwd: join(copy, "infra"),
    env: { PATH: process.env.PATH, PROGRAM_CONFIG: JSON.stringify(config) },
    encoding: "utf8",
    timeout: 240000,
  });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  const result = JSON.parse(run.stdout);
  expect(result.typescript).toBe(join(copy, "node_modules", "typescript", "lib", "typescript.js"));
  expect(result.tsnode.startsWith(join(copy, "node_modules", "ts-node"))).toBe(true);
  expect(result.transpileOnly).toBe(true);
  expect(result.registrations).toEqual(expect.arrayContaining(["pulumi-nodejs:dynamic/reminder-cron:CronJob", "pulumi-nodejs:dynamic/reminder-cron:EdgeFunction", "pulumi-nodejs:dynamic/reminder-cron:EdgeFunctionSecrets", "postgresql:index/grant:Grant", "command:local:Command"]));
  expect(result.outputs).toMatchObject({ jobName: "daily-reminder-eval", schedule: "0 6 * * *", scheduleInWords: "At 06:00, every day (UTC)" });
}, 300000);
