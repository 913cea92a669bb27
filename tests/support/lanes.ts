/**
 * Test lanes: every jest worker, and the pgTAP run, gets a local stack of its own under
 * `<localDir>/test-lanes/<lane>`, so suites on different lanes share no database and no pg_cron scheduler.
 * That is what lets a suite that waits on pg_cron's clock (tests/clock/) run beside the others instead of
 * before or after them. The developer's own stack (`npm start`, `npm run db:start`) is never a lane.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { localDir, repoRoot } from "../../stack/paths";

/** Set by jest's global setup for its workers, so a lane's folder never nests inside another lane's. */
export const lanesEnv = "REMINDER_CRON_TEST_LANES";

export const lanesDir = (): string => process.env[lanesEnv] ?? join(localDir, "test-lanes");

export const laneDir = (lane: string): string => join(lanesDir(), lane);

/** The jest workers' lane of `workerId`; the pgTAP run has the lane "pgtap". */
export const workerLane = (workerId: string): string => `worker-${workerId}`;

/** The lanes that have a stack folder now; `onlyWorkers` leaves out the pgTAP lane, which npm test stops itself. */
export function laneDirs(options: { onlyWorkers?: boolean } = {}): string[] {
  const dir = lanesDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && (!options.onlyWorkers || entry.name.startsWith(workerLane(""))))
    .map((entry) => join(dir, entry.name));
}

/**
 * Runs the local stack's CLI (`start`, `stop`, `reset`) for one lane in a process of its own: stack/paths.ts
 * reads REMINDER_CRON_LOCAL_DIR once, at load, so one process cannot serve two lanes.
 */
export function laneStack(dir: string, command: "start" | "stop" | "reset"): Promise<{ code: number | null; stdout: string; stderr: string }> {
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
