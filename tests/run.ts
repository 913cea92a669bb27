/**
 * `npm test`: the type check and the unit tests once, then every database-facing test (jest's integration
 * and clock projects, and pgTAP) on each platform Supabase runs: PostgreSQL 15 with pg_cron 1.4 (Debian 12's
 * packages) and 17 with pg_cron 1.6 (Debian 13's, in a root stack/debian-root.ts builds). REMINDER_CRON_PG=15
 * or 17 runs one platform. One closing line, `tests: N passed, M failed`, counts every phase of every platform.
 *
 * Every jest worker, and each pgTAP run, gets a fresh local stack of its own (test lanes,
 * tests/support/lanes.ts), so the suites that wait on pg_cron's clock overlap everything else.
 * `npm test -- <jest arguments>` runs only those jest tests (and says that it left the rest out).
 * With DATABASE_URL, one database: jest then pgTAP, one after the other. Exit 0 only when nothing failed.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { databaseTestsDir, repoRoot, serverFilesBase } from "../stack/paths";
import { ensureToolchain, majorEnv, requestedMajor, supportedMajors } from "../stack/install";
import { startStack, stopStack } from "../stack/stack";
import { lanesDir, lanesEnv, laneStack, pgTapLane, removeAbandonedRuns, removeRun } from "./support/lanes";

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
function run(command: string, args: string[], options: { capture?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...options.env } });
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

/** One jest run; `lanes` is the folder its workers' stacks go in, `env` what else its workers get. */
async function jest(args: string[], lanes: string = lanesDir(), env: NodeJS.ProcessEnv = {}): Promise<Tally> {
  const report = join(lanes, "jest-report.json");
  mkdirSync(lanes, { recursive: true });
  rmSync(report, { force: true });
  const { code } = await run(bin("jest"), ["--json", `--outputFile=${report}`, ...args], { env: { ...env, [lanesEnv]: lanes } });
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
async function pgTapOnLane(dir: string): Promise<Tally> {
  const started = await laneStack(dir, "start");
  if (started.code !== 0) throw new Error(`its stack did not start: ${started.stderr.trim()}`);
  try {
    return await pgProve(started.stdout.trim());
  } finally {
    await laneStack(dir, "stop");
  }
}

/**
 * Installs what one platform needs (PostgreSQL, pg_cron, pgTAP; for 17 the Debian 13 root) in a process of
 * its own, so a first build of the root overlaps the other platform's tests instead of blocking them.
 */
async function preparePlatform(major: number): Promise<void> {
  const { code } = await run(process.execPath, [require.resolve("tsx/cli"), join(repoRoot, "stack/cli.ts"), "install"], { env: { [majorEnv]: String(major) } });
  if (code !== 0) throw new Error(`PostgreSQL ${major} could not be set up (see above), so none of its tests ran`);
}

/** Every database-facing test on one platform: its jest projects, and (unless partial) pgTAP beside them. */
async function platform(major: number, jestArgs: string[]): Promise<Phase[]> {
  const name = `PostgreSQL ${major}`;
  const dir = join(lanesDir(), `pg${major}`);
  const env = { [majorEnv]: String(major) };
  const prepared = await timed(`${name}: set-up`, async () => (await preparePlatform(major), { passed: 0, failed: 0 }));
  if (prepared.failed > 0) return [prepared];
  const partial = jestArgs.length > 0;
  return Promise.all([
    timed(`${name}: jest`, () => jest(["--selectProjects", "integration", "clock", ...(partial ? ["--passWithNoTests"] : []), ...jestArgs], dir, env)),
    ...(partial ? [] : [timed(`${name}: pgTAP`, () => pgTapOnLane(join(dir, pgTapLane)))]),
  ]);
}

/** The platforms this run tests: REMINDER_CRON_PG's, or both. */
const platforms = (): number[] => {
  const major = requestedMajor();
  return major === undefined ? [...supportedMajors] : [major];
};

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
    const majors = platforms();
    // Once, before the lanes start side by side: a fresh machine installs the host's PostgreSQL here, not in five places at once.
    ensureToolchain(majors.includes(15) ? 15 : undefined);
    await removeAbandonedRuns();
    // Each jest run's teardown then stops only its workers; the pgTAP lanes and the run's folder are ours.
    process.env.REMINDER_CRON_TEST_OWNER = "npm-test";
    process.env[lanesEnv] = lanesDir();
    const results = await Promise.all([
      timed("type check", typeCheck).then((phase) => [phase]),
      // The unit tests need no database: once, whatever the platforms.
      timed("unit", () => jest(["--selectProjects", "unit", ...(partial ? ["--passWithNoTests"] : []), ...jestArgs], join(lanesDir(), "unit"))).then((phase) => [phase]),
      ...majors.map((major) => platform(major, jestArgs)),
    ]);
    phases = results.flat();
    // A failed run keeps its lanes' logs for reading (the next run removes them); a passing one leaves nothing.
    if (phases.every((phase) => phase.failed === 0)) {
      // A cluster left behind is a defect of the run, not a detail: it counts.
      const problems = await removeRun();
      for (const problem of problems) say(problem);
      if (problems.length > 0) phases.push({ name: "clean-up", passed: 0, failed: problems.length, seconds: 0 });
    } else {
      say(`the lanes' logs stay in ${lanesDir()}, their servers' logs in ${serverFilesBase}/<lane>/log, until the next run`);
    }
    process.stderr.write("\n");
    for (const major of majors) {
      const own = phases.filter((phase) => phase.name.startsWith(`PostgreSQL ${major}:`));
      say(`PostgreSQL ${major}: ${own.reduce((sum, t) => sum + t.passed, 0)} passed, ${own.reduce((sum, t) => sum + t.failed, 0)} failed`);
    }
  }
  process.stderr.write("\n");
  for (const phase of phases) say(`${phase.name.padEnd(22)} ${phase.seconds.toFixed(1).padStart(6)} s  ${phase.passed} passed, ${phase.failed} failed`);
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
