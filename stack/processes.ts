/**
 * The local stack's helper processes (the pg_net stand-in worker, the Edge Functions server): started
 * detached with their output in .local/log, their pids kept in the stack state, stopped and waited for.
 */
import { spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { logDir, repoRoot } from "./paths";

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs a TypeScript file of ours with tsx in its own process group, so stopping it stops its children too. */
export function startTsProcess(name: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  mkdirSync(logDir, { recursive: true });
  const log = openSync(join(logDir, `${name}.log`), "a");
  const child = spawn(process.execPath, [require.resolve("tsx/cli"), join(repoRoot, script), ...args], {
    cwd: repoRoot,
    detached: true,
    stdio: ["ignore", log, log],
    env: { ...process.env, ...env },
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`Could not start ${name}; see ${join(logDir, `${name}.log`)}.`);
  return child.pid;
}

export async function stopProcess(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    process.kill(pid, "SIGTERM");
  }
  for (let waited = 0; waited < 5000 && isAlive(pid); waited += 50) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      process.kill(pid, "SIGKILL");
    }
  }
}
