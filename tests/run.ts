/**
 * `npm test`: the type check, jest and pgTAP, side by side, and one closing line `tests: N passed, M failed`
 * that counts all three. Every jest worker and the pgTAP run get a fresh local stack of their own (test
 * lanes, tests/support/lanes.ts), so the suites that wait on pg_cron's clock overlap everything else.
 * `npm test -- <jest arguments>` runs only those jest tests (and says that it left the rest out).
 * With DATABASE_URL, one database: jest then pgTAP, one after the other. Exit 0 only when nothing failed.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { databaseTestsDir, repoRoot } from "../stack/paths";
import { ensureToolchain } from "../stack/install";
import { startStack, stopStack } from "../stack/stack";
import { laneDir, lanesDir, lanesEnv, laneStack, removeAbandonedRuns, removeRun } from "./support/lanes";

interface Tally {
  passed: number;
  failed: number;
}

interface Phase extends Tally {
  name: string;
  seconds: number;
}

const bin = (name: string) => join(repoRoot, "node_modules", ".bin", name);
const say = (line: string) => process.stderr.write(`== ${line}\n`);

/** Runs a command to its end; its output goes to stderr (stdout carries only the closing line), or is returned. */
function run(command: string, args: string[], options: { capture?: boolean } = {}): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (chunk) => (options.capture ? (stdout += chunk) : process.stderr.write(chunk)));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout }));
  });
}

async function timed(name: string, fn: () => Promise<Tally>): Promise<Phase> {
  const started = performance.now();
  say(`${name}: started`);
  const tally = await fn().catch((error: Error) => {
    process.stderr.write(`${name}: ${error.message}\n`);
    return { passed: 0, failed: 1 };
  });
  const phase = { name, ...tally, seconds: (performance.now() - started) / 1000 };
  say(`${name}: ${phase.passed} passed, ${phase.failed} failed in ${phase.seconds.toFixed(1)} s`);
  return phase;
}

async function typeCheck(): Promise<Tally> {
  const { code } = await run(bin("tsc"), ["--noEmit", "-p", "tsconfig.json"]);
  return code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 };
}

async function jest(args: string[]): Promise<Tally> {
  const report = join(lanesDir(), "jest-report.json");
  rmSync(report, { force: true });
  const { code } = await run(bin("jest"), ["--json", `--outputFile=${report}`, ...args]);
  if (!existsSync(report)) return { passed: 0, failed: 1 };
  const summary = JSON.parse(readFileSync(report, "utf8"));
  // A suite that fails to load has no test results; count it as one failure so it cannot pass silently.
  const brokenSuites = summary.numRuntimeErrorTestSuites ?? 0;
  const failed = summary.numFailedTests + brokenSuites + (code !== 0 && summary.numFailedTests + brokenSuites === 0 ? 1 : 0);
  return { passed: summary.numPassedTests, failed };
}

async function pgProve(postgresUrl: string): Promise<Tally> {
  if (!existsSync(databaseTestsDir) || !readdirSync(databaseTestsDir).some((f) => f.endsWith(".sql"))) return { passed: 0, failed: 0 };
  const { code, stdout } = await run("pg_prove", ["--verbose", "--ext", ".sql", "-r", "--dbname", postgresUrl, databaseTestsDir], { capture: true });
  process.stderr.write(stdout);
  const lines = stdout.split("\n");
  const passed = lines.filter((line) => /^\s*ok \d+/.test(line)).length;
  const failed = lines.filter((line) => /^\s*not ok \d+/.test(line)).length;
  // pg_prove fails a file that dies before its plan is met; that must count even with no `not ok` line.
  return { passed, failed: failed + (code !== 0 && failed === 0 ? 1 : 0) };
}

/** pgTAP on a lane of its own: a fresh stack, pg_prove, stop. */
async function pgTapLane(): Promise<Tally> {
  const dir = laneDir("pgtap");
  const started = await laneStack(dir, "start");
  if (started.code !== 0) throw new Error(`its stack did not start: ${started.stderr.trim()}`);
  try {
    return await pgProve(started.stdout.trim());
  } finally {
    await laneStack(dir, "stop");
  }
}

async function main(): Promise<number> {
  const jestArgs = process.argv.slice(2);
  const partial = jestArgs.length > 0;
  let phases: Phase[];
  if (process.env.DATABASE_URL) {
    await startStack({ log: (line) => process.stderr.write(`stack: ${line}\n`) });
    try {
      phases = [await timed("type check", typeCheck), await timed("jest", () => jest(jestArgs))];
      if (!partial) phases.push(await timed("pgTAP", () => pgProve(process.env.DATABASE_URL!)));
    } finally {
      await stopStack();
    }
  } else {
    // Once, before the lanes start side by side: a fresh machine installs PostgreSQL here, not in five places at once.
    ensureToolchain();
    await removeAbandonedRuns();
    // jest's workers and the pgTAP lane share this run's folder; jest's teardown then stops only its workers.
    process.env[lanesEnv] = lanesDir();
    process.env.REMINDER_CRON_TEST_OWNER = "npm-test";
    phases = await Promise.all([
      timed("type check", typeCheck),
      timed("jest", () => jest(jestArgs)),
      ...(partial ? [] : [timed("pgTAP", pgTapLane)]),
    ]);
    // A failed run keeps its lanes' logs for reading (the next run removes them); a passing one leaves nothing.
    if (phases.every((phase) => phase.failed === 0)) await removeRun();
    else say(`the lanes' logs stay in ${lanesDir()} until the next run`);
  }
  process.stderr.write("\n");
  for (const phase of phases) say(`${phase.name.padEnd(10)} ${phase.seconds.toFixed(1).padStart(6)} s  ${phase.passed} passed, ${phase.failed} failed`);
  if (partial) say(`pgTAP not run: jest arguments (${jestArgs.join(" ")}) select part of the suite; \`npm test\` alone runs everything`);
  const passed = phases.reduce((sum, t) => sum + t.passed, 0);
  const failed = phases.reduce((sum, t) => sum + t.failed, 0);
  process.stdout.write(`tests: ${passed} passed, ${failed} failed\n`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`npm test: ${(error as Error).message}\n`);
    process.stdout.write("tests: 0 passed, 1 failed\n");
    process.exit(1);
  },
);
