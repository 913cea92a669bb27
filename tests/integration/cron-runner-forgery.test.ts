/**
 * cron_runner may append to the execution log (the task card's "write-only"), and the log is what status,
 * its alerts, the in-flight check and the catch-up believe. Played as the attacker holding cron_runner: a row
 * that claims an outcome, a run in flight, a time other than now, a request or an answer would silence every
 * alert for good (a `succeeded` row dated 2099 is the latest run and a success within 26 hours, forever), hold
 * back the next trigger, or stop the catch-up. RLS lets cron_runner append only what claims none of that.
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

/** Every forgery is one row that differs from an allowed append (skipped, dated now) in what it claims. */
const forged: [string, Record<string, string | number>][] = [
  ["a success dated ahead: the latest run and a success in 26 hours, forever", { status: "succeeded", triggered_at: "2099-01-01 06:00+00", finished_at: "2099-01-01 06:00+00" }],
  ["a success now: silences no-success and failed-run", { status: "succeeded" }],
  ["a run in flight: skips every trigger while it lasts", { status: "running" }],
  ["a run awaiting its answer: skips every trigger while it lasts", { status: "dispatched" }],
  ["a failure dated ahead: every later occurrence looks run, so the catch-up never fires", { status: "failed", triggered_at: "2099-01-01 06:00+00", finished_at: "2099-01-01 06:00+00" }],
  ["a failure now: the missed occurrence looks run, so the catch-up skips it", { status: "failed" }],
  ["a skipped row dated ahead: tops the log", { status: "skipped", triggered_at: "2099-01-01 06:00+00" }],
  ["a skipped row dated back: rewrites history", { status: "skipped", triggered_at: "2020-01-01 06:00+00" }],
  ["a skipped row that lasted years: a false long-run alert", { status: "skipped", finished_at: "2099-01-01 06:00+00" }],
  // One column each: the policy checks each on its own, so each is forged on its own.
  ["a skipped row carrying an HTTP answer it never got", { status: "skipped", http_status: 200 }],
  ["a skipped row naming a pg_net request it never made", { status: "skipped", request_id: 4242 }],
];

test.each(forged)("cron_runner cannot append %s", (_what, claims) =>
  withClient(async (client) => {
    const columns = ["job_name", ...Object.keys(claims)];
    const error = await refusalAsCronRunner(
      client,
      `insert into ${qualified(logTable)} (${columns.join(", ")}) values (${columns.map((_, i) => `$${i + 1}`).join(", ")})`,
      [defaultJobName, ...Object.values(claims)],
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
