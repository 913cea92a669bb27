/**
 * `npm start` itself, as a newcomer runs it, on its own throwaway stack (a scratch REMINDER_CRON_LOCAL_DIR,
 * so the suite's stack is untouched): a fresh start that seeds supabase/seed.sql, triggers one run and prints
 * the job, the log, the function's record and one notification per due assignment, then stops everything;
 * and a second start that stays up until Ctrl-C, creates no duplicate reminder, and leaves nothing running.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAlive } from "../../stack/processes";
import { repoRoot } from "../../stack/paths";
import type { StackState } from "../../stack/stack";
import { isRunningStack } from "../support/stack-status";

const dir = mkdtempSync(join(tmpdir(), "reminder-cron-demo-"));
chmodSync(dir, 0o755);
const { DATABASE_URL: _external, ...inherited } = process.env;
const env = { ...inherited, REMINDER_CRON_LOCAL_DIR: dir };
const state = (): StackState => JSON.parse(readFileSync(join(dir, "stack.json"), "utf8"));

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm start` with `args` in its own process group; `onOutput` may act on what it printed so far. */
function npmStart(args: string[], onOutput?: (stdout: string, pid: number) => void): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["start", "--silent", "--", ...args], { cwd: repoRoot, env, detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      onOutput?.(stdout, child.pid!);
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("npm start -- --once on a fresh clone's stack: one run through the job's path, printed, then everything stopped", async () => {
  const { code, stdout, stderr } = await npmStart(["--once"]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout).not.toContain("Ctrl-C");
  for (const step of ["1. Starting the local stack", "2. Seeding the demo assignments", "3. Pointing Vault's", "4. Triggering one run now"]) {
    expect(stdout).toMatch(new RegExp(`^${step.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}.* \\.\\.\\. done \\(`, "m"));
  }
  const due = Number(/^ {3}\d+ assignment\(s\); (\d+) active and due for a follow-up today$/m.exec(stdout)?.[1]);
  expect(due).toBeGreaterThan(0);
  // It says which pg_net and Vault it ran on, as the stack recorded them.
  const kind = (name: string) => (state().standIns.includes(name as never) ? "local stand-in" : "real extension");
  expect(stdout).toContain(`\n   pg_net: ${kind("pg_net")}; supabase_vault: ${kind("supabase_vault")}\n`);
  // The job row, as pg_cron holds it, and its companions.
  expect(stdout).toMatch(/^ +\d+ +daily-reminder-eval +0 6 \* \* \* +true +cron_runner +select public\.dispatch_reminder_run\('daily-reminder-eval'\)$/m);
  expect(stdout).toMatch(/^ +\d+ +reminder-eval-reconcile +\* \* \* \* \* +true +cron_runner/m);
  // The log row of this run: succeeded with the function's 200, and what the function did.
  expect(stdout).toMatch(new RegExp(`^ +1 +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +succeeded +- +200 +\\d+ ms +${due} new of ${due} due +by hand, as \\w+$`, "m"));
  expect(stdout).toContain(`${due} active assignment(s) due, ${due} reminder(s) created, 0 already reminded today`);
  // One notification per due assignment, each due on or before today.
  expect(stdout).toContain(`The notifications this run created (public.notifications): ${due}`);
  const dueOn = [...stdout.matchAll(/^ +\d+ +…\w{4} +…\w{4} +follow_up_reminder +(\d{4}-\d\d-\d\d) +/gm)].map((m) => m[1]);
  expect(dueOn).toHaveLength(due);
  const today = new Date().toISOString().slice(0, 10);
  expect(dueOn.filter((day) => day > today)).toEqual([]);
  expect(stdout).toMatch(/^Outcome: run 1 succeeded \(HTTP 200\) at .* UTC\.$/m);
  expect(stdout.trimEnd().endsWith("Stopping the local stack ... stopped: no process and no port of the demo is left.")).toBe(true);
  // Nothing of the secret is printed.
  const { serviceRoleKey, sharedSecret, signingKey } = JSON.parse(readFileSync(join(dir, "functions-secrets.json"), "utf8"));
  for (const secret of [serviceRoleKey, sharedSecret, signingKey]) expect(stdout).not.toContain(secret);

  const after = state();
  expect(after.processes).toEqual({});
  expect(await isRunningStack(after)).toBe(false);
}, 180_000);

test("npm start stays up for the CLI until Ctrl-C, which stops everything it started; a second run reminds nobody twice", async () => {
  // A second run needs a first: the test above made it, unless this one runs alone.
  if (!existsSync(join(dir, "stack.json"))) expect((await npmStart(["--once"])).code).toBe(0);
  let pids: number[] = [];
  const { stdout } = await npmStart([], (printed, pid) => {
    if (printed.includes("Ctrl-C stops everything.") && pids.length === 0) {
      pids = Object.values(state().processes);
      // What a terminal's Ctrl-C does: SIGINT to the whole foreground process group.
      process.kill(-pid, "SIGINT");
    }
  });
  expect(pids.length).toBeGreaterThan(0);
  // Said first, before the wait for the stack: it does not return by itself.
  expect(stdout.split("\n")[1]).toBe(
    "It keeps running after the run, so you can try the CLI on the stack; Ctrl-C to stop (npm start -- --once stops after the run).",
  );
  expect(stdout).toContain("The notifications this run created (public.notifications): 0");
  expect(stdout).toContain("None new: each due follow-up was already reminded today");
  const due = Number(/^ {3}\d+ assignment\(s\); (\d+) active and due for a follow-up today$/m.exec(stdout)?.[1]);
  expect(stdout).toMatch(new RegExp(`^ +2 +.* succeeded +- +200 +\\d+ ms +0 new of ${due} due +by hand, as \\w+$`, "m"));
  expect(stdout).toContain(`${due} active assignment(s) due, 0 reminder(s) created, ${due} already reminded today`);
  expect(stdout.trimEnd().endsWith("Stopping the local stack ... stopped: no process and no port of the demo is left.")).toBe(true);
  const after = state();
  expect(after.processes).toEqual({});
  expect(pids.filter(isAlive)).toEqual([]);
  expect(await isRunningStack(after)).toBe(false);
}, 180_000);

test("npm start whose database stops under it (npm run db:stop elsewhere) exits 1 with one line, and leaves nothing running", async () => {
  if (!existsSync(join(dir, "stack.json"))) expect((await npmStart(["--once"])).code).toBe(0);
  let pids: number[] = [];
  let stopped: Promise<unknown> | undefined;
  const finished = await npmStart([], (printed) => {
    if (printed.includes("Ctrl-C stops everything.") && !stopped) {
      pids = Object.values(state().processes);
      stopped = new Promise((resolve) => {
        const stop = spawn(process.execPath, [require.resolve("tsx/cli"), join(repoRoot, "stack/cli.ts"), "stop"], { cwd: repoRoot, env, stdio: "ignore" });
        stop.on("exit", resolve);
      });
    }
  });
  await stopped;
  expect(pids.length).toBeGreaterThan(0);
  expect(finished.code).toBe(1);
  expect(finished.stderr).toMatch(
    /^npm start: the database at postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres went away \([^\n]+\), so the demo ends\. npm start \(or npm run db:start\) starts it again\.\n$/,
  );
  const after = state();
  expect(after.processes).toEqual({});
  expect(pids.filter(isAlive)).toEqual([]);
  expect(await isRunningStack(after)).toBe(false);
}, 180_000);
