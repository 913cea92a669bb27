/**
 * Registration of the job by the migration: what it creates, that running it again changes nothing, that
 * it guards against a same-named job of another owner, and that a bad schedule in Vault changes nothing.
 */
import { Client } from "pg";
import { withClient } from "../support/db";
import { alterJob, cronMigrationSql, deleteSecret, jobRows, setSecret } from "../support/trigger";
import { defaultCronExpression, defaultJobName, vaultSecrets } from "../../infra/sql/names";

const applyMigration = (client: Client) => client.query(cronMigrationSql());

afterEach(() =>
  withClient(async (client) => {
    // Leave the job as the migration registers it, whatever a test did.
    await deleteSecret(client, vaultSecrets.cronExpression);
    await applyMigration(client);
  }),
);

test("the job exists in cron.job with the daily schedule, the dispatch command, active, run by cron_runner", () =>
  withClient(async (client) => {
    const [job] = await jobRows(client);
    // The task card's job, spelled out: rebuilt from defaultCronExpression and dispatchCommand, which made it,
    // the expectation would follow any change to them.
    expect(job).toMatchObject({
      jobname: "daily-reminder-eval",
      schedule: "0 6 * * *",
      command: "select public.dispatch_reminder_run('daily-reminder-eval')",
      active: true,
      username: "cron_runner",
    });
    const [reconcile] = await jobRows(client, "reminder-eval-reconcile");
    expect(reconcile).toMatchObject({ schedule: "* * * * *", command: "select public.reconcile_reminder_runs()", active: true, username: "cron_runner" });
  }));

test("applying the migration twice leaves exactly one row for the job, with the same id", () =>
  withClient(async (client) => {
    const before = await jobRows(client);
    await applyMigration(client);
    await applyMigration(client);
    const after = await jobRows(client);
    expect(after).toHaveLength(1);
    expect(after[0].jobid).toBe(before[0].jobid);
    const { rows } = await client.query("select count(*)::int as n from cron.job where jobname = $1", [defaultJobName]);
    expect(rows[0].n).toBe(1);
  }));

test("works on a database where nothing of it exists yet", () =>
  withClient(async (client) => {
    await client.query("begin");
    // Every job cron_runner owns (the later operations migration adds two), then everything granted to it.
    await client.query("set local role cron_runner");
    await client.query("select cron.unschedule(jobid) from cron.job where username = current_user");
    await client.query("reset role");
    await client.query("drop table public.cron_execution_log cascade");
    await client.query("drop function public.dispatch_reminder_run(text), public.reconcile_reminder_runs()");
    await client.query("drop owned by cron_runner");
    await client.query("drop role cron_runner");
    await applyMigration(client);
    const jobs = await jobRows(client);
    await client.query("rollback");
    expect(jobs).toHaveLength(1);
    expect(jobs[0].username).toBe("cron_runner");
  }));

test("takes its schedule from the Vault secret reminder_cron_expression", () =>
  withClient(async (client) => {
    await setSecret(client, vaultSecrets.cronExpression, "30 5 * * 1-5");
    await applyMigration(client);
    expect((await jobRows(client))[0].schedule).toBe("30 5 * * 1-5");
  }));

test("a schedule pg_cron refuses fails the migration with a message naming the secret and the fix, and changes nothing", () =>
  withClient(async (client) => {
    await setSecret(client, vaultSecrets.cronExpression, "every morning");
    const error = await client.query("begin").then(() => applyMigration(client)).catch((e) => e);
    await client.query("rollback");
    expect(error.message).toBe(
      "Vault secret reminder_cron_expression holds 'every morning', which pg_cron does not accept as a schedule",
    );
    expect(error.hint).toContain("vault.update_secret");
    expect((await jobRows(client))[0].schedule).toBe(defaultCronExpression);
  }));

test("a paused job stays paused when the migration runs again, so a redeploy never resumes it behind on-call's back", () =>
  withClient(async (client) => {
    await alterJob(client, { active: false });
    await applyMigration(client);
    expect((await jobRows(client))[0].active).toBe(false);
    await alterJob(client, { active: true });
  }));

test("a same-named job that postgres scheduled by hand is replaced, never left to run twice", () =>
  withClient(async (client) => {
    await client.query("select cron.schedule($1, '*/5 * * * *', 'select 1')", [defaultJobName]);
    expect(await jobRows(client)).toHaveLength(2);
    await applyMigration(client);
    const jobs = await jobRows(client);
    expect(jobs.map((j) => j.username)).toEqual(["cron_runner"]);
  }));

test("a same-named job of another owner is refused with the exact unschedule to run", () =>
  withClient(async (admin) => {
    await admin.query("select cron.schedule($1, '*/5 * * * *', 'select 1')", [defaultJobName]);
    try {
      const error = await withClient((client) => applyMigration(client).catch((e) => e));
      expect(error.message).toMatch(/^pg_cron job daily-reminder-eval \(id \d+\) already exists for role supabase_admin, and would run beside ours$/);
      expect(error.hint).toMatch(/^As supabase_admin or a superuser, run: select cron.unschedule\(\d+\); then apply this migration again\.$/);
    } finally {
      await admin.query("select cron.unschedule($1)", [defaultJobName]);
    }
  }, { admin: true }));
