/**
 * `npm test`: type-checks, starts a fresh local stack, runs jest and the pgTAP files through pg_prove
 * against it, stops it, and ends with one line `tests: N passed, M failed` that counts both suites.
 * Exit code 0 only when every step ran and nothing failed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { databaseTestsDir, localDir, repoRoot } from "../stack/paths";
import { readState, resetStack, startStack, stopStack } from "../stack/stack";

interface Tally {
  passed: number;
  failed: number;
}

const bin = (name: string) => join(repoRoot, "node_modules", ".bin", name);
const say = (line: string) => process.stderr.write(`\n== ${line}\n`);

function typeCheck(): Tally {
  say("type check (tsc --noEmit)");
  const result = spawnSync(bin("tsc"), ["--noEmit", "-p", "tsconfig.json"], { cwd: repoRoot, stdio: "inherit" });
  return result.status === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 };
}

function jest(args: string[]): Tally {
  say("jest");
  const report = join(localDir, "jest-report.json");
  rmSync(report, { force: true });
  const result = spawnSync(bin("jest"), ["--json", `--outputFile=${report}`, ...args], { cwd: repoRoot, stdio: "inherit" });
  if (!existsSync(report)) return { passed: 0, failed: 1 };
  const summary = JSON.parse(readFileSync(report, "utf8"));
  // A suite that fails to load has no test results; count it as one failure so it cannot pass silently.
  const brokenSuites = summary.numRuntimeErrorTestSuites ?? 0;
  const failed = summary.numFailedTests + brokenSuites + (result.status !== 0 && summary.numFailedTests + brokenSuites === 0 ? 1 : 0);
  return { passed: summary.numPassedTests, failed };
}

function pgTap(postgresUrl: string): Tally {
  say("pgTAP (pg_prove supabase/tests/database)");
  if (!existsSync(databaseTestsDir) || !readdirSync(databaseTestsDir).some((f) => f.endsWith(".sql"))) return { passed: 0, failed: 0 };
  const result = spawnSync("pg_prove", ["--verbose", "--ext", ".sql", "-r", "--dbname", postgresUrl, databaseTestsDir], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  process.stderr.write(result.stdout ?? "");
  process.stderr.write(result.stderr ?? "");
  const lines = (result.stdout ?? "").split("\n");
  const passed = lines.filter((line) => /^\s*ok \d+/.test(line)).length;
  const failed = lines.filter((line) => /^\s*not ok \d+/.test(line)).length;
  // pg_prove fails a file that dies before its plan is met; that must count even with no `not ok` line.
  return { passed, failed: failed + (result.status !== 0 && failed === 0 ? 1 : 0) };
}

async function main(): Promise<number> {
  const jestArgs = process.argv.slice(2);
  const tallies: Tally[] = [typeCheck()];
  if (!process.env.DATABASE_URL) await resetStack();
  const state = await startStack({ log: (line) => process.stderr.write(`local stack: ${line}\n`) });
  try {
    tallies.push(jest(jestArgs));
    // Tests may restart the stack; read where it runs now.
    if (jestArgs.length === 0) tallies.push(pgTap((readState() ?? state).postgresUrl));
  } finally {
    await stopStack();
  }
  const passed = tallies.reduce((sum, t) => sum + t.passed, 0);
  const failed = tallies.reduce((sum, t) => sum + t.failed, 0);
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
