/**
 * How long the local stack takes to come up (issue 2's goal: under 20 s): a fresh start (initdb, Supabase
 * bootstrap, stand-ins, migrations) and a warm restart of an existing cluster, each in a scratch folder.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../stack/paths";
import { runStandalone } from "./run";

function timedCli(dir: string, command: string): number {
  const { DATABASE_URL: _ignored, ...env } = process.env;
  const started = performance.now();
  const result = spawnSync(process.execPath, [require.resolve("tsx/cli"), join(repoRoot, "stack/cli.ts"), command], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...env, REMINDER_CRON_LOCAL_DIR: dir },
  });
  if (result.status !== 0) throw new Error(`stack ${command} failed: ${result.stderr.trim()}`);
  return Math.round(performance.now() - started);
}

export async function run(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), "reminder-cron-bench-"));
  chmodSync(dir, 0o755);
  try {
    const freshStartMs = timedCli(dir, "start");
    const stopMs = timedCli(dir, "stop");
    const warmStartMs = timedCli(dir, "start");
    timedCli(dir, "stop");
    return { freshStartMs, warmStartMs, stopMs, goal: "fresh start under 20000 ms" };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) runStandalone("stack-startup", run);
