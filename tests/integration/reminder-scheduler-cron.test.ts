/**
 * The trigger and the function together on the local stack, end to end: pg_cron's tick, the dispatch as
 * cron_runner, pg_net's request signed with Vault's key, the function's run, the notifications, and the
 * execution log's verdict. Vault points at the real function for this file and is put back afterwards.
 * The same path on pg_cron's own clock is tests/clock/reminder-tick.test.ts.
 */
import { Client } from "pg";
import { withClient } from "../support/db";
import { createAssignment, notificationsFor, pointVaultAtFunction, runRow, whileLeaseHeld } from "../support/reminder-scheduler";
import { dispatchAndReconcile, lastLogId } from "../support/trigger";
import { defaultJobName } from "../../infra/sql/names";

/** The run the function recorded for a cron_execution_log row. */
async function runOf(client: Client, logId: string) {
  const { rows } = await client.query("select id from public.reminder_runs where cron_run_id = $1", [logId]);
  expect(rows).toHaveLength(1);
  return runRow(client, rows[0].id);
}

let restoreVault: (client: Client) => Promise<void>;
/** The log's last id before this file: its runs (the last one a 409 failure) are its own to remove. */
let startId: string;

beforeAll(() =>
  withClient(async (client) => {
    restoreVault = await pointVaultAtFunction(client);
    startId = await lastLogId(client);
  }));

afterAll(() =>
  withClient(async (client) => {
    // A later file on this lane (verify, status) reads the daily job's last run: it must not be this file's 409.
    await client.query("delete from public.cron_execution_log where id > $1", [startId]);
    await restoreVault(client);
  }));

test("a dispatch as the job makes it reaches the function, which reminds the due assignment; the log says succeeded", () =>
  withClient(async (client) => {
    const assignment = await createAssignment(client);
    const logged = await dispatchAndReconcile(client);
    expect(logged).toMatchObject({ job_name: defaultJobName, status: "succeeded", http_status: 200, error_message: null });
    const run = await runOf(client, logged.id);
    expect(run).toMatchObject({ job_name: defaultJobName, status: "succeeded" });
    const notifications = await notificationsFor(client, assignment.id);
    expect(notifications).toHaveLength(1);
    expect(notifications[0].run_id).toBe(run.id);
  }));

test("two triggers on the same day: both succeed, and the second creates no duplicate", () =>
  withClient(async (client) => {
    const assignment = await createAssignment(client);
    const first = await dispatchAndReconcile(client);
    const second = await dispatchAndReconcile(client);
    expect([first.status, second.status]).toEqual(["succeeded", "succeeded"]);
    expect((await runOf(client, second.id)).created).toBe(0);
    expect(await notificationsFor(client, assignment.id)).toHaveLength(1);
  }));

test("a trigger while a run holds the lease is answered 409, logged as failed with that status, and recorded as skipped", () =>
  withClient(async (client) => {
    await whileLeaseHeld(client, async (holderId) => {
      const logged = await dispatchAndReconcile(client);
      expect(logged).toMatchObject({ status: "failed", http_status: 409 });
      expect(logged.error_message).toMatch(new RegExp(`^HTTP 409 from the reminder function: \\{"error":"Run ${holderId} has been running since `));
      const skipped = await runOf(client, logged.id);
      expect(skipped.status).toBe("skipped");
    });
  }));
