/**
 * Issue 16, "Outcomes no one can forge": each case makes the log lie the way the security review did on the
 * local stack, and shows that it no longer does. Cases that only need the database run in one transaction,
 * rolled back, so the queued request is never sent.
 */
import { Client } from "pg";
import { asRole, withClient } from "../support/db";
import { callFunction, runRow } from "../support/reminder-scheduler";
import { startEndpoint } from "../support/http-server";
import { asCronRunner, cronMigrationSql, pointVaultAt, setSecret } from "../support/trigger";
import { status } from "../../cli/commands/status";
import { cronRunnerRole, defaultJobName, logTable, qualified, vaultSecrets } from "../../infra/sql/names";
import { pruneCommand } from "../../infra/sql/operations-migration";
import { retentionFunction } from "../../infra/sql/operations-names";

/** Runs `fn` in a transaction that is rolled back: a queued request is never sent, a row never stays. */
function rolledBack<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  return withClient(async (client) => {
    await client.query("begin");
    try {
      return await fn(client);
    } finally {
      await client.query("rollback");
    }
  });
}

async function logRow(client: Client, id: string) {
  const { rows } = await client.query(`select status, http_status, error_message, triggered_at from ${qualified(logTable)} where id = $1`, [id]);
  return rows[0];
}

const reconcile = (client: Client) => asCronRunner(client, () => client.query("select public.reconcile_reminder_runs()"));

/** A dispatch in an open transaction, its request queued (never sent: the caller rolls back); its log id. */
async function dispatchUnsent(client: Client): Promise<{ id: string; requestId: string }> {
  await setSecret(client, vaultSecrets.functionUrl, "http://127.0.0.1:9/functions/v1/reminder-scheduler");
  const { rows } = await asCronRunner(client, () => client.query("select public.dispatch_reminder_run($1) as id", [defaultJobName]));
  const { rows: queued } = await client.query(`select request_id from ${qualified(logTable)} where id = $1`, [rows[0].id]);
  return { id: rows[0].id, requestId: queued[0].request_id };
}

describe("a manual call cannot settle a scheduled run", () => {
  test("a run_id in a call made with the service-role key binds nothing: the scheduled run is not settled by it", () =>
    withClient(async (client) => {
      // A scheduled run answered 202, still running (its record not written yet): what the manual call tries to settle.
      const accepted = await startEndpoint({ status: 202, body: '{"status":"running"}' });
      const restoreVault = await pointVaultAt(client, `${accepted.url}/functions/v1/reminder-scheduler`);
      try {
        const { rows } = await asCronRunner(client, () => client.query("select public.dispatch_reminder_run($1) as id", [defaultJobName]));
        const scheduled = rows[0].id as string;
        await reconcile(client);
        expect(await logRow(client, scheduled)).toMatchObject({ status: "running", http_status: 202 });

        const manual = await callFunction({ body: { job_name: defaultJobName, run_id: Number(scheduled), triggered_at: "2000-01-01T00:00:00Z" } });
        expect(manual.status).toBe(200);
        expect((await runRow(client, manual.body.run_id)).cron_run_id).toBeNull();

        await reconcile(client);
        expect((await logRow(client, scheduled)).status).toBe("running");
      } finally {
        await client.query(`update ${qualified(logTable)} set status = 'failed', finished_at = now() where status = 'running' and job_name = $1`, [defaultJobName]);
        await restoreVault(client);
        await accepted.close();
      }
    }));

  test.each([
    ["another trigger time", { job: defaultJobName, at: "'2000-01-01T00:00:00Z'::timestamptz" }],
    ["another job", { job: "manual", at: "l.triggered_at" }],
    ["its own job and trigger time, as the function records a signed run (the control)", { job: defaultJobName, at: "l.triggered_at" }],
  ])("a record naming the run's id with %s", (what, forged) =>
    rolledBack(async (client) => {
      const run = await dispatchUnsent(client);
      await client.query(
        `insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg, created)
         values ($1, 202, 'application/json', '{}'::jsonb, '{}', false, null, now())`,
        [run.requestId],
      );
      await reconcile(client);
      await client.query(
        `insert into public.reminder_runs (job_name, cron_run_id, triggered_at, as_of, status, finished_at, evaluated, created, skipped, duration_ms)
         select $1, l.id, ${forged.at}, current_date, 'succeeded', now(), 0, 0, 0, 1 from ${qualified(logTable)} l where l.id = $2`,
        [forged.job, run.id],
      );
      await reconcile(client);
      expect((await logRow(client, run.id)).status).toBe(what.includes("control") ? "succeeded" : "running");
    }));
});

test.each([500, 401, 404])("the function's own succeeded record settles the run even when net._http_response says %s", (statusCode) =>
  rolledBack(async (client) => {
    const run = await dispatchUnsent(client);
    await client.query(
      `insert into public.reminder_runs (job_name, cron_run_id, triggered_at, as_of, status, finished_at, evaluated, created, skipped, duration_ms)
       select l.job_name, l.id, l.triggered_at, current_date, 'succeeded', now(), 2, 2, 0, 1 from ${qualified(logTable)} l where l.id = $1`,
      [run.id],
    );
    await client.query(`set local role ${cronRunnerRole}`);
    await client.query(
      `insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg, created)
       values ($1, $2, 'application/json', '{}'::jsonb, '{"reason":"replayed"}', false, null, now())`,
      [run.requestId, statusCode],
    );
    await client.query("reset role");
    await reconcile(client);
    expect(await logRow(client, run.id)).toMatchObject({ status: "succeeded", error_message: null });
  }));

test.each([200, 202])("the skipped row names the status the run in flight was answered with (%s)", (httpStatus) =>
  rolledBack(async (client) => {
    const { rows } = await client.query(
      `insert into ${qualified(logTable)} (job_name, status, http_status) values ($1, 'running', $2) returning id`,
      [defaultJobName, httpStatus],
    );
    const { rows: skipped } = await asCronRunner(client, () => client.query("select public.dispatch_reminder_run($1) as id", [defaultJobName]));
    expect(await logRow(client, skipped[0].id)).toMatchObject({
      status: "skipped",
      error_message: `run ${rows[0].id} is still running in the reminder function (answered ${httpStatus})`,
    });
  }));

describe("cron_runner reaches retention and dispatch only as its jobs do", () => {
  /** The error `sql` raises as cron_runner, or undefined; in a transaction rolled back. */
  const refusedAsCronRunner = (sql: string, params: unknown[] = []) =>
    withClient((client) =>
      asRole(client, cronRunnerRole, () =>
        client.query(sql, params).then(
          () => undefined,
          (error: Error) => error.message,
        ),
      ),
    );

  test("its own cut-offs for retention are refused", async () => {
    expect(await refusedAsCronRunner("select * from public.prune_reminder_cron_history(interval '2 days', interval '2 days')")).toMatch(
      /^permission denied for function prune_reminder_cron_history$/,
    );
  });

  test("retention as configured is one call without arguments, the one its job makes", async () => {
    expect(await refusedAsCronRunner(`${pruneCommand}`)).toBeUndefined();
    expect(pruneCommand).toBe(`select * from ${qualified(retentionFunction)}()`);
  });

  test.each([`${defaultJobName} `, "x", defaultJobName.toUpperCase()])("a dispatch for %j, no job of cron_runner's, is refused and logs nothing", async (name) => {
    expect(await refusedAsCronRunner("select public.dispatch_reminder_run($1)", [name])).toBe(
      `'${name}' is not a pg_cron job of ${cronRunnerRole}: only a registered job is dispatched`,
    );
  });
});

describe("rows dated ahead, written before the log's RLS was tightened", () => {
  const job = "forgery-future-probe";
  const ahead = async (client: Client) =>
    (
      await client.query(
        `insert into ${qualified(logTable)} (job_name, status, triggered_at, finished_at, http_status)
         values ($1, 'succeeded', '2099-01-01T00:00:00Z', '2099-01-01T00:00:01Z', 200) returning id`,
        [job],
      )
    ).rows[0].id as string;

  test("status believes none: no last success in 2099, no run listed, and the no-success alert holds", () =>
    rolledBack(async (client) => {
      await ahead(client);
      const { json } = await status(client, job);
      const shown = json as { lastSuccessAt: string | null; runs: unknown[]; alerts: { code: string }[]; successRate: { succeeded: number } };
      expect(shown.lastSuccessAt).toBeNull();
      expect(shown.runs).toEqual([]);
      expect(shown.successRate.succeeded).toBe(0);
      expect(shown.alerts.map((alert) => alert.code)).toContain("no-success");
    }));

  test("the upgrade marks each one failed, saying why, and applying it again changes nothing", () =>
    rolledBack(async (client) => {
      const id = await ahead(client);
      await client.query(cronMigrationSql());
      const { rows } = await client.query(`select status, error_message from ${qualified(logTable)} where id = $1`, [id]);
      expect(rows[0].status).toBe("failed");
      expect(rows[0].error_message).toMatch(/^dated 2099-01-01 00:00:00 UTC, ahead of the upgrade at .+ UTC: no run; it was written before the log's row level security let cron_runner append only a skip dated now, and status, its alerts and the catch-up ignore it$/);
      await client.query(cronMigrationSql());
      const { rows: again } = await client.query(`select status, error_message from ${qualified(logTable)} where id = $1`, [id]);
      expect(again).toEqual(rows);
    }));
});

describe("the per-job lock is the owner's functions' alone", () => {
  test.each(["anon", "authenticated", "service_role", cronRunnerRole])("%s holding the old advisory key turns no dispatch into a skip", (role) =>
    withClient(async (holder) => {
      await holder.query("begin");
      await holder.query(`set local role ${role}`);
      await holder.query("select pg_advisory_xact_lock(hashtext('reminder-cron'), hashtext($1))", [defaultJobName]);
      try {
        await rolledBack(async (client) => {
          const run = await dispatchUnsent(client);
          expect((await logRow(client, run.id)).status).toBe("dispatched");
        });
      } finally {
        await holder.query("rollback");
      }
    }));

  test.each(["anon", "authenticated", "service_role", cronRunnerRole])("%s cannot take the lock's row", (role) =>
    withClient((client) =>
      asRole(client, role, async () => {
        const error = await client.query("select * from public.reminder_cron_dispatch_locks for update").catch((e) => e);
        expect(error.code).toBe("42501");
      }),
    ));
});

describe("assignments the migration created refuse future dates from every writer", () => {
  test.each([
    ["update assigned_on", "update public.assignments set assigned_on = '2099-01-01' where id = $1"],
    ["insert with last_contact_date", "insert into public.assignments (peer_mentor_id, contact_id, last_contact_date) select gen_random_uuid(), gen_random_uuid(), '2099-01-01' where $1::uuid is not null"],
    ["insert with assigned_on", "insert into public.assignments (peer_mentor_id, contact_id, assigned_on) select gen_random_uuid(), gen_random_uuid(), '2099-01-01' where $1::uuid is not null"],
  ])("service_role: %s in 2099 is refused", (_what, sql) =>
    rolledBack(async (client) => {
      const { rows } = await client.query("insert into public.assignments (peer_mentor_id, contact_id) values (gen_random_uuid(), gen_random_uuid()) returning id");
      await client.query("set local role service_role");
      const error = await client.query(sql, [rows[0].id]).catch((e) => e);
      expect([error.code, error.message]).toEqual(["23514", expect.stringMatching(/^assignment .* is dated .*2099-01-01.*, which is in the future$/)]);
    }));

  test("today's and past dates are written as before", () =>
    rolledBack(async (client) => {
      await client.query("set local role service_role");
      await client.query("insert into public.assignments (peer_mentor_id, contact_id, assigned_on) values (gen_random_uuid(), gen_random_uuid(), current_date)");
      await client.query("insert into public.assignments (peer_mentor_id, contact_id, assigned_on) values (gen_random_uuid(), gen_random_uuid(), current_date - 30)");
    }));
});
