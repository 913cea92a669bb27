/**
 * cron_runner may append to the execution log (the task card's "write-only"), and the log is what status,
 * its alerts, the in-flight check and the catch-up believe. Played as the attacker holding cron_runner: a row
 * that claims an outcome, a run in flight, or a time other than now would silence every alert for good
 * (a `succeeded` row dated 2099 is the latest run and a success within 26 hours, forever), hold back the
 * next trigger, or stop the catch-up. RLS lets cron_runner append only what claims none of that.
 */
import { Client } from "pg";
import { withClient } from "../support/db";
import { asCronRunner } from "../support/trigger";
import { cronRunnerRole, defaultJobName, logTable, qualified } from "../../infra/sql/names";

/** The error of `sql` run as cron_runner in a transaction rolled back after, or undefined when it went through. */
async function refusalAsCronRunner(client: Client, sql: string, values: unknown[]): Promise<{ code?: string; message: string } | undefined> {
  await client.query("begin");
  try {
    await client.query(`set local role ${cronRunnerRole}`);
    return await client.query(sql, values).then(
      () => undefined,
      (error) => error,
    );
  } finally {
    await client.query("rollback");
  }
}

const forged: [string, string, string | null, string | null][] = [
  // what it would do, status, triggered_at, finished_at
  ["a success dated ahead: the latest run and a success in 26 hours, forever", "succeeded", "2099-01-01 06:00+00", "2099-01-01 06:00+00"],
  ["a success now: silences no-success and failed-run", "succeeded", null, null],
  ["a run in flight: skips every trigger while it lasts", "running", null, null],
  ["a run awaiting its answer: skips every trigger while it lasts", "dispatched", null, null],
  ["a failure dated ahead: every later occurrence looks run, so the catch-up never fires", "failed", "2099-01-01 06:00+00", "2099-01-01 06:00+00"],
  ["a failure now: the missed occurrence looks run, so the catch-up skips it", "failed", null, null],
  ["a skipped row dated ahead: tops the log", "skipped", "2099-01-01 06:00+00", null],
  ["a skipped row dated back: rewrites history", "skipped", "2020-01-01 06:00+00", null],
  ["a skipped row that lasted years: a false long-run alert", "skipped", null, "2099-01-01 06:00+00"],
];

test.each(forged)("cron_runner cannot append %s", (_what, status, triggeredAt, finishedAt) =>
  withClient(async (client) => {
    const error = await refusalAsCronRunner(
      client,
      `insert into ${qualified(logTable)} (job_name, status, triggered_at, finished_at) values ($1, $2, coalesce($3::timestamptz, now()), $4)`,
      [defaultJobName, status, triggeredAt, finishedAt],
    );
    expect(error?.code).toBe("42501");
    expect(error?.message).toMatch(/row-level security/);
  }));

test("cron_runner cannot claim a request or an answer on a row it appends", () =>
  withClient(async (client) => {
    const error = await refusalAsCronRunner(
      client,
      `insert into ${qualified(logTable)} (job_name, status, http_status, request_id) values ($1, 'skipped', 200, 1)`,
      [defaultJobName],
    );
    expect(error?.code).toBe("42501");
    expect(error?.message).toMatch(/row-level security/);
  }));

test("cron_runner still appends a skipped row of now, as the privilege matrix allows", () =>
  withClient(async (client) => {
    await client.query("begin");
    try {
      await asCronRunner(client, () =>
        client.query(`insert into ${qualified(logTable)} (job_name, status, error_message, finished_at) values ($1, 'skipped', 'by hand', now())`, [defaultJobName]),
      );
      const { rows } = await client.query(`select status from ${qualified(logTable)} where job_name = $1 and error_message = 'by hand'`, [defaultJobName]);
      expect(rows).toEqual([{ status: "skipped" }]);
    } finally {
      await client.query("rollback");
    }
  }));

test("the dispatch, which runs as the log's owner, still writes every status", () =>
  withClient(async (client) => {
    await client.query("begin");
    try {
      // No Vault URL in this transaction: the dispatch records a failed run, a status cron_runner may not append itself.
      await client.query("delete from vault.secrets where name = 'reminder_function_url'");
      const { rows } = await asCronRunner(client, () => client.query("select public.dispatch_reminder_run($1) as id", [defaultJobName]));
      const logged = await client.query(`select status from ${qualified(logTable)} where id = $1`, [rows[0].id]);
      expect(logged.rows).toEqual([{ status: "failed" }]);
    } finally {
      await client.query("rollback");
    }
  }));
