/**
 * Outcomes that tell the truth: the execution log says succeeded only when the reminder run did. The real
 * function answers 202 when its run outlasts its answer budget; the log then stays `running` until the run's
 * own record (public.reminder_runs) ends it, a run that never ends is failed at the deadline, and neither
 * blocks the next trigger, which creates each reminder once. Vault points at the real function for this file.
 */
import { Client } from "pg";
import { waitFor, withClient } from "../support/db";
import { createAssignment, notificationsFor, pointVaultAtFunction, runRow } from "../support/reminder-scheduler";
import { asCronRunner, dispatchAndReconcile, lastLogId, logRowsAfter, LogRow } from "../support/trigger";
import { status } from "../../cli/commands/status";
import { exitCodes } from "../../cli/exit-codes";
import { defaultJobName, logTable, qualified, runOutcomeDeadlineSeconds } from "../../infra/sql/names";

let restoreVault: (client: Client) => Promise<void>;

beforeAll(() => withClient(async (client) => (restoreVault = await pointVaultAtFunction(client))));

afterAll(() => withClient((client) => restoreVault(client)));

async function logRowById(client: Client, id: string | number): Promise<LogRow> {
  const { rows } = await client.query<LogRow>(`select * from ${qualified(logTable)} where id = $1`, [id]);
  return rows[0];
}

async function reconcile(client: Client): Promise<void> {
  await asCronRunner(client, () => client.query("select public.reconcile_reminder_runs()"));
}

/** The function's record of the run a log row triggered. */
async function recordOf(client: Client, logId: string | number) {
  const { rows } = await client.query("select id from public.reminder_runs where cron_run_id = $1", [logId]);
  expect(rows).toHaveLength(1);
  return runRow(client, rows[0].id);
}

test("the function answers 202 and the evaluation then fails: the log ends failed, status alerts, and the next trigger creates the reminders once", () =>
  withClient(async (client) =>
    withClient(async (blocker) => {
      const assignment = await createAssignment(client);

      // Hold the notifications table so the evaluation waits past the function's 4 s answer budget.
      await blocker.query("begin");
      await blocker.query("lock table public.notifications in exclusive mode");
      let dispatched: LogRow;
      try {
        dispatched = await dispatchAndReconcile(client);
        expect(dispatched).toMatchObject({ status: "running", http_status: 202, finished_at: null, error_message: null });

        // Then the evaluation fails: its statement is cancelled while it waits, as a killed query would be.
        // waitFor fails the test if no such statement turns up; what it returns is always true.
        await waitFor("the function's evaluation waiting on the lock", async () => {
          const { rows } = await client.query(
            `select pg_cancel_backend(pid) as done from pg_stat_activity
              where application_name = 'reminder-scheduler' and wait_event_type = 'Lock' and query like '%evaluate_reminder_run%'`,
          );
          return rows.length === 1 && rows[0].done ? true : undefined;
        });
      } finally {
        await blocker.query("rollback");
      }

      const record = await waitFor("the function to record its failed run", async () => {
        const run = await recordOf(client, dispatched.id);
        return run.status === "running" ? undefined : run;
      });
      expect(record.status).toBe("failed");
      expect(record.error_message).toMatch(/^the evaluation failed: canceling statement due to user request/);

      // Before the run's record said so the log did not claim success; now it says failed, and why.
      await reconcile(client);
      const settled = await logRowById(client, dispatched.id);
      expect(settled).toMatchObject({ status: "failed", http_status: 202 });
      expect(settled.error_message).toBe(`the reminder function answered 202, then its run ${record.id} ended failed: ${record.error_message}`);
      expect(settled.finished_at).not.toBeNull();
      expect(await notificationsFor(client, assignment.id)).toHaveLength(0);

      const report = await status(client, defaultJobName);
      expect(report.exitCode).toBe(exitCodes.alert);
      const alerts = (report.json as { alerts: { code: string; runId?: number; message: string }[] }).alerts;
      expect(alerts).toContainEqual({ code: "failed-run", runId: Number(dispatched.id), message: expect.stringContaining(settled.error_message!) });
      expect(report.text).toContain(`ALERT failed-run: The latest run, ${dispatched.id} `);

      // The next trigger is not blocked by the failed run, and creates the reminder, once.
      const next = await dispatchAndReconcile(client);
      expect(next).toMatchObject({ status: "succeeded", http_status: 200 });
      expect(await notificationsFor(client, assignment.id)).toHaveLength(1);
      const again = await dispatchAndReconcile(client);
      expect(again.status).toBe("succeeded");
      expect(await notificationsFor(client, assignment.id)).toHaveLength(1);
      expect((await status(client, defaultJobName)).json).toMatchObject({ alerts: expect.not.arrayContaining([expect.objectContaining({ code: "failed-run" })]) });
    }),
  ));

/** A run the function answered 202 for and recorded as running, triggered `secondsAgo`: as its worker leaves it when stopped. */
async function runningRun(client: Client, secondsAgo: number): Promise<{ logId: string; recordId: string }> {
  const { rows } = await client.query(
    `insert into ${qualified(logTable)} (job_name, status, http_status, triggered_at)
     values ($1, 'running', 202, now() - make_interval(secs => $2)) returning id`,
    [defaultJobName, secondsAgo],
  );
  const { rows: record } = await client.query(
    // Its record names the log row's id, job and trigger time, as the function records a signed run.
    `insert into public.reminder_runs (job_name, cron_run_id, triggered_at, as_of, status, started_at, lease_expires_at)
     select l.job_name, l.id, l.triggered_at, current_date, 'running', now() - make_interval(secs => $2), now() + interval '2 minutes'
       from ${qualified(logTable)} l where l.id = $1
     returning id`,
    [rows[0].id, secondsAgo],
  );
  return { logId: rows[0].id, recordId: record[0].id };
}

test("while a run answered 202 is still running, a trigger is skipped and sends nothing; its record's success is the log's", () =>
  withClient(async (client) => {
    const before = await lastLogId(client);
    const run = await runningRun(client, 60);
    try {
      const skipped = await dispatchAndReconcile(client);
      expect(skipped).toMatchObject({ status: "skipped", error_message: `run ${run.logId} is still running in the reminder function (answered 202)` });
      expect(skipped.request_id).toBeNull();
      expect((await logRowById(client, run.logId)).status).toBe("running");

      await client.query(
        `update public.reminder_runs set status = 'succeeded', finished_at = now(), lease_expires_at = null, evaluated = 0, created = 0, skipped = 0, duration_ms = 1 where id = $1`,
        [run.recordId],
      );
      await reconcile(client);
      expect(await logRowById(client, run.logId)).toMatchObject({ status: "succeeded", http_status: 202, error_message: null });
      expect((await logRowsAfter(client, before)).map((row) => row.status)).toEqual(["succeeded", "skipped"]);
    } finally {
      await client.query("select public.fail_reminder_run($1, 'released by the test')", [run.recordId]);
    }
  }));

// 460 s is spelled out, not read from runOutcomeDeadlineSeconds: it is the figure the README promises on-call.
test("a run answered 202 that never records an outcome is failed 460 s after its trigger, its record too, and the next trigger runs once", () =>
  withClient(async (client) => {
    const assignment = await createAssignment(client);
    // Its worker stopped at the wall-clock limit: the log says running, its record holds the lease, nothing moves.
    const run = await runningRun(client, runOutcomeDeadlineSeconds + 20);
    try {
      await reconcile(client);
      const failed = await logRowById(client, run.logId);
      expect(failed.status).toBe("failed");
      expect(failed.error_message).toBe(
        "the reminder function answered 202 but its run recorded no outcome within 460 s (the Edge Function wall-clock limit is 400 s): " +
          `its worker was stopped or lost its database connection; the next trigger runs again, or now: select public.dispatch_reminder_run('${defaultJobName}');`,
      );
      const record = await runRow(client, run.recordId);
      expect(record.status).toBe("failed");
      expect(record.error_message).toBe(
        "no outcome 460 s after its trigger (the Edge Function wall-clock limit is 400 s): its worker was stopped or lost its connection",
      );

      const next = await dispatchAndReconcile(client);
      expect(next).toMatchObject({ status: "succeeded", http_status: 200 });
      expect(await notificationsFor(client, assignment.id)).toHaveLength(1);
    } finally {
      await client.query("select public.fail_reminder_run($1, 'released by the test')", [run.recordId]);
    }
  }));
