/**
 * pg_net's tables are PUBLIC (pg_net 0.12+), so every role that reaches schema `net` may write an answer
 * into net._http_response before the worker does. A forged 200 must not become a `succeeded` run: the log
 * believes the function's own record of the run (public.reminder_runs), which no such role can write.
 * Each case runs in one transaction, rolled back: the queued request is never sent.
 */
import { Client } from "pg";
import { withClient } from "../support/db";
import { setSecret } from "../support/trigger";
import { cronRunnerRole, defaultJobName, logTable, qualified, runOutcomeDeadlineSeconds, vaultSecrets } from "../../infra/sql/names";

interface Case {
  /** Moves the trigger back past the outcome deadline before reconciling. */
  pastDeadline?: boolean;
  /** Writes the function's own succeeded record of the run first, as the real function does before its 200. */
  withRecord?: boolean;
}

/** Dispatches as cron_runner, forges the answer as `forger`, reconciles as cron_runner; the log row after. */
async function forgedAnswer(client: Client, forger: string, statusCode: number, options: Case = {}) {
  await client.query("begin");
  try {
    await setSecret(client, vaultSecrets.functionUrl, "http://127.0.0.1:9/functions/v1/reminder-scheduler");
    await client.query(`set local role ${cronRunnerRole}`);
    const { rows } = await client.query("select public.dispatch_reminder_run($1) as id", [defaultJobName]);
    const logId = rows[0].id;
    await client.query("reset role");
    const { rows: queued } = await client.query(`select request_id from ${qualified(logTable)} where id = $1`, [logId]);
    await client.query(`set local role ${forger}`);
    await client.query(
      `insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg, created)
       values ($1, $2, 'application/json', '{}'::jsonb, $3, false, null, now())`,
      [queued[0].request_id, statusCode, JSON.stringify({ run_id: 1, status: "succeeded", created: 0 })],
    );
    await client.query("reset role");
    if (options.pastDeadline) {
      await client.query(`update ${qualified(logTable)} set triggered_at = now() - make_interval(secs => $2) where id = $1`, [logId, runOutcomeDeadlineSeconds + 10]);
    }
    if (options.withRecord) {
      await client.query(
        `insert into public.reminder_runs (job_name, cron_run_id, triggered_at, as_of, status, finished_at, evaluated, created, skipped, duration_ms)
         values ($1, $2, now(), current_date, 'succeeded', now(), 0, 0, 0, 1)`,
        [defaultJobName, logId],
      );
    }
    await client.query(`set local role ${cronRunnerRole}`);
    await client.query("select public.reconcile_reminder_runs()");
    await client.query("reset role");
    const { rows: logged } = await client.query(`select status, http_status, finished_at, error_message from ${qualified(logTable)} where id = $1`, [logId]);
    return logged[0];
  } finally {
    await client.query("rollback");
  }
}

test.each([cronRunnerRole, "authenticated", "anon"])("a 200 that %s forges in net._http_response is no success: the run awaits its record", (forger) =>
  withClient(async (client) => {
    const row = await forgedAnswer(client, forger, 200);
    expect(row.status).not.toBe("succeeded");
    expect(row).toMatchObject({ status: "running", http_status: 200, finished_at: null });
  }));

test("a forged 200 that no record of the function follows ends failed at the deadline, saying where the answer came from", () =>
  withClient(async (client) => {
    const row = await forgedAnswer(client, "authenticated", 200, { pastDeadline: true });
    expect(row).toMatchObject({ status: "failed", http_status: 200 });
    expect(row.error_message).toBe(
      `an HTTP 200 answer was recorded in net._http_response, but the reminder function recorded no run for it in public.reminder_runs within ${runOutcomeDeadlineSeconds} s: ` +
        "the answer did not come from the function (pg_net's tables are writable by every role that reaches schema net), or it lost its record; " +
        `the next trigger runs again, or now: select public.dispatch_reminder_run('${defaultJobName}');`,
    );
  }));

test("a 200 with the function's own succeeded record is a success in the same reconcile pass", () =>
  withClient(async (client) => {
    const row = await forgedAnswer(client, cronRunnerRole, 200, { withRecord: true });
    expect(row).toMatchObject({ status: "succeeded", http_status: 200, error_message: null });
    expect(row.finished_at).not.toBeNull();
  }));
