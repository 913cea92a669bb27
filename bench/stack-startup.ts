/**
 * How long the local stack takes to come up (issue 2's goal: under 20 s) on each platform: a fresh start
 * (initdb, Supabase bootstrap, stand-ins, migrations) and a warm restart of an existing cluster, each in a
 * scratch folder. PostgreSQL 17 runs from the Debian 13 root, built beforehand if the machine has none.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { majorEnv, supportedMajors } from "../stack/install";
import { repoRoot } from "../stack/paths";
import { runStandalone } from "./run";

function timedCli(dir: string, command: string, major: number): number {
  const { DATABASE_URL: _ignored, ...env } = process.env;
  const started = performance.now();
  const result = spawnSync(process.execPath, [require.resolve("tsx/cli"), join(repoRoot, "stack/cli.ts"), command], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...env, REMINDER_CRON_LOCAL_DIR: dir, [majorEnv]: String(major) },
  });
  if (result.status !== 0) throw new Error(`stack ${command} failed: ${result.stderr.trim()}`);
  return Math.round(performance.now() - started);
}

async function platform(major: number): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), "reminder-cron-bench-"));
  try {
    timedCli(dir, "install", major);
    const freshStartMs = timedCli(dir, "start", major);
    const stopMs = timedCli(dir, "stop", major);
    const warmStartMs = timedCli(dir, "start", major);
    return { freshStartMs, warmStartMs, stopMs };
  } finally {
    timedCli(dir, "remove", major);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {};
  for (const major of supportedMajors) results[`postgres${major}`] = await platform(major);
  return { ...results, goal: "fresh start under 20000 ms" };
}

if (require.main === module) runStandalone("stack-startup", run);
