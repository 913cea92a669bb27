/**
 * Test lanes: every jest worker, and the pgTAP run, gets a local stack of its own under
 * `<localDir>/test-lanes/run-<pid>/<lane>`, so suites on different lanes share no database and no pg_cron
 * scheduler. That is what lets a suite that waits on pg_cron's clock (tests/clock/) run beside the others
 * instead of before or after them. Each run (one `npx jest`, one `npm test`) owns the folder named after its
 * process and removes it at the end, so two runs at once never stop each other's stacks. The developer's own
 * stack (`npm start`, `npm run db:start`) is never a lane.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { isAlive } from "../../stack/processes";
import { localDir, repoRoot } from "../../stack/paths";

/** Set by jest's global setup for its workers, so every worker of a run finds the run's folder. */
export const lanesEnv = "REMINDER_CRON_TEST_LANES";

const lanesRoot = join(localDir, "test-lanes");
const runPrefix = "run-";

/** This run's folder of lanes: named after the process that owns the run (jest's, or npm test's). */
export const lanesDir = (): string => process.env[lanesEnv] ?? join(lanesRoot, `${runPrefix}${process.pid}`);

export const laneDir = (lane: string): string => join(lanesDir(), lane);

/** The jest workers' lane of `workerId`. */
export const workerLane = (workerId: string): string => `worker-${workerId}`;

/** The lane of the pgTAP run. */
export const pgTapLane = "pgtap";

const isLaneName = (name: string) => name === pgTapLane || name.startsWith(workerLane(""));

/**
 * The lanes below a run's folder now, directly or one level down in a major's folder (pg15/, pg17/);
 * `onlyWorkers` leaves out the pgTAP lanes.
 */
export function laneDirs(options: { onlyWorkers?: boolean; dir?: string } = {}): string[] {
  const dir = options.dir ?? lanesDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => (isLaneName(entry.name) ? [join(dir, entry.name)] : laneDirs({ ...options, dir: join(dir, entry.name) })))
    .filter((lane) => !options.onlyWorkers || basename(lane).startsWith(workerLane("")));
}

/** Stops every stack of a run's lanes, all at once, removes their clusters and the run's folder. */
export async function removeRun(dir: string = lanesDir(), options: { onlyWorkers?: boolean } = {}): Promise<string[]> {
  const results = await Promise.all(laneDirs({ ...options, dir }).map(async (lane) => ({ lane, ...(await laneStack(lane, options.onlyWorkers ? "stop" : "remove")) })));
  // A lane that could not be removed keeps its folder: without it nothing could find its cluster again.
  const failed = results.filter((result) => result.code !== 0);
  if (!options.onlyWorkers && failed.length === 0) rmSync(dir, { recursive: true, force: true });
  return failed.map((result) => `${options.onlyWorkers ? "stopping" : "removing"} the stack in ${result.lane} failed: ${result.stderr.trim()}`);
}

/** What an interrupted run left (its owning process is gone): stopped and removed. Live runs are left alone. */
export async function removeAbandonedRuns(): Promise<void> {
  if (!existsSync(lanesRoot)) return;
  const abandoned = readdirSync(lanesRoot)
    .filter((name) => name.startsWith(runPrefix) && !isAlive(Number(name.slice(runPrefix.length))))
    .map((name) => join(lanesRoot, name));
  await Promise.all(abandoned.map((dir) => removeRun(dir)));
}

/**
 * Runs the local stack's CLI (`start`, `stop`) for one lane in a process of its own: stack/paths.ts
 * reads REMINDER_CRON_LOCAL_DIR once, at load, so one process cannot serve two lanes.
 */
export function laneStack(dir: string, command: "start" | "stop" | "remove"): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { DATABASE_URL: _external, ...env } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [require.resolve("tsx/cli"), join(repoRoot, "stack/cli.ts"), command], {
      cwd: repoRoot,
      env: { ...env, REMINDER_CRON_LOCAL_DIR: dir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
