/**
 * A clean clone's first steps, as the README gives them: `npm run db:start`, then `npx reminder-cron run-now`
 * succeeds, with nothing set by hand in between; `db:start` says where the function is. On a throwaway
 * stack of its own (a scratch REMINDER_CRON_LOCAL_DIR), so the suite's stack is untouched.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../stack/paths";

const dir = mkdtempSync(join(tmpdir(), "reminder-cron-clean-clone-"));
const { DATABASE_URL: _external, ...inherited } = process.env;
const env = { ...inherited, REMINDER_CRON_LOCAL_DIR: dir };

const run = (args: string[]) => spawnSync(args[0], args.slice(1), { cwd: repoRoot, encoding: "utf8", env, timeout: 170_000 });
const dbCli = (command: string) => run([process.execPath, require.resolve("tsx/cli"), join(repoRoot, "stack/cli.ts"), command]);
const reminderCron = (...args: string[]) => run([process.execPath, join(repoRoot, "bin", "reminder-cron.js"), ...args]);

afterAll(() => {
  dbCli("remove");
  rmSync(dir, { recursive: true, force: true });
});

test("db:start, then run-now: the run succeeds, and db:start named the function's URL", () => {
  const started = dbCli("start");
  expect(started.status).toBe(0);
  expect(started.stderr).toMatch(
    /^local stack: reminder function: http:\/\/127\.0\.0\.1:\d+\/functions\/v1\/reminder-scheduler \(Vault's reminder_function_url points at it; npx reminder-cron run-now runs the job once\)$/m,
  );

  const ran = reminderCron("run-now");
  expect({ status: ran.status, stderr: ran.stderr.replace(/^reminder-cron: run \d+ dispatched;.*\n/m, "") }).toEqual({ status: 0, stderr: "" });
  expect(ran.stdout).toMatch(/^Run \d+ succeeded: HTTP 200 after .*; the reminder function: \d+ new of \d+ due\.\n$/);

  const status = reminderCron("status");
  expect(status.stdout).toContain("vault       reminder_function_url set, reminder_signing_key set");
}, 180_000);
