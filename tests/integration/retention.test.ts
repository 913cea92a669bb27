/**
 * Retention: the daily job prunes cron_execution_log and cron_runner's rows of cron.job_run_details beyond
 * their ages (old rows gone, recent kept, nobody else's history touched), refuses an age that would blind the
 * alerts, keeps 90 and 14 days unless Vault says otherwise, and deletes through indexes on large tables
 * (plans read with auto_explain).
 */
import { Client } from "pg";
import { asRole, withClient } from "../support/db";
import { asCronRunner, deleteSecret, setSecret } from "../support/trigger";
import { cronRunnerRole } from "../../infra/sql/names";
import { intervalSettings, retentionJobName } from "../../infra/sql/operations-names";
import { pruneCommand } from "../../infra/sql/operations-migration";

const probe = "retention-probe";
const day = 86_400_000;
const anHour = 1 / 24;
const daysAgo = (n: number) => new Date(Date.now() - n * day);

/** Runs below every real runid, oldest lowest, as pg_cron's sequence would have numbered them. */
let nextRunId = -1_000_000;

async function logRow(client: Client, triggeredDaysAgo: number): Promise<string> {
  const { rows } = await client.query(
    "insert into public.cron_execution_log (job_name, status, triggered_at, finished_at) values ($1, 'succeeded', $2, $2) returning id",
    [probe, daysAgo(triggeredDaysAgo)],
  );
  return rows[0].id;
}

async function runDetail(client: Client, startedDaysAgo: number, username = cronRunnerRole): Promise<string> {
  const runid = nextRunId++;
  await client.query(
    `insert into cron.job_run_details (runid, jobid, username, database, command, status, return_message, start_time, end_time)
     values ($1, (select jobid from cron.job where jobname = $2), $3, 'postgres', $4, 'succeeded', '1 row', $5, $5)`,
    [runid, retentionJobName, username, pruneCommand, daysAgo(startedDaysAgo)],
  );
  return String(runid);
}

const remainingLog = async (client: Client, ids: string[]) =>
  (await client.query("select id from public.cron_execution_log where id = any($1) order by id", [ids])).rows.map((r) => String(r.id));
const remainingDetails = async (client: Client, ids: string[]) =>
  (await client.query("select runid from cron.job_run_details where runid = any($1) order by runid", [ids])).rows.map((r) => String(r.runid));

/** Ages of the caller's choosing are the owner's (an operator's) only: cron_runner prunes as configured. */
const prune = async (client: Client, logAge: string | null, detailsAge: string | null) =>
  (await client.query("select * from public.prune_reminder_cron_history($1, $2)", [logAge, detailsAge])).rows[0];

async function clean(client: Client): Promise<void> {
  await client.query("delete from public.cron_execution_log where job_name = $1", [probe]);
  await client.query("delete from public.reminder_cron_catch_ups where job_name = $1", [probe]);
  await client.query("delete from cron.job_run_details where runid < -100000");
  await deleteSecret(client, intervalSettings.logRetention.secret);
  await deleteSecret(client, intervalSettings.runDetailsRetention.secret);
}

beforeAll(() => withClient(clean));
afterEach(() => withClient(clean));

test("the retention job runs daily at a quiet minute, as cron_runner", () =>
  withClient(async (client) => {
    const { rows } = await client.query("select schedule, command, username, active from cron.job where jobname = $1", [retentionJobName]);
    // Spelled out, not rebuilt from retentionSchedule and pruneCommand, which made the migration's job.
    expect(rows).toEqual([{ schedule: "17 3 * * *", command: "select * from public.apply_reminder_cron_retention()", username: "cron_runner", active: true }]);
  }));

test("rows older than the ages are deleted, recent rows kept, and another role's pg_cron history left alone", () =>
  withClient(async (client) => {
    const oldLog = [await logRow(client, 120), await logRow(client, 91)];
    const recentLog = [await logRow(client, 89), await logRow(client, 1)];
    const oldDetails = [await runDetail(client, 40), await runDetail(client, 15)];
    const othersOld = await runDetail(client, 20, "postgres");
    const recentDetails = [await runDetail(client, 13), await runDetail(client, 0.5)];

    const deleted = await prune(client, "90 days", "14 days");

    expect(await remainingLog(client, [...oldLog, ...recentLog])).toEqual(recentLog);
    expect(await remainingDetails(client, [...oldDetails, othersOld, ...recentDetails])).toEqual([othersOld, ...recentDetails]);
    expect(deleted.log_rows).toBeGreaterThanOrEqual(2);
    expect(deleted.run_detail_rows).toBeGreaterThanOrEqual(2);
  }));

test("a catch-up record goes when its run's log row does", () =>
  withClient(async (client) => {
    const [old, recent] = [await logRow(client, 100), await logRow(client, 10)];
    const record = "insert into public.reminder_cron_catch_ups (job_name, occurrence, run_id) values ($1, $2, $3)";
    await client.query(record, [probe, daysAgo(100.1), old]);
    await client.query(record, [probe, daysAgo(10.1), recent]);
    await prune(client, "90 days", "14 days");
    const { rows } = await client.query("select run_id from public.reminder_cron_catch_ups where job_name = $1", [probe]);
    expect(rows.map((r) => String(r.run_id))).toEqual([recent]);
  }));

test("without arguments or Vault settings, the log is kept 90 days and pg_cron's run history 14 days", () =>
  withClient(async (client) => {
    // An hour either side of each default (oldest first, as runids are numbered).
    const [logPast, logInside] = [await logRow(client, 90 + anHour), await logRow(client, 90 - anHour)];
    const [detailsPast, detailsInside] = [await runDetail(client, 14 + anHour), await runDetail(client, 14 - anHour)];
    await prune(client, null, null);
    expect(await remainingLog(client, [logPast, logInside])).toEqual([logInside]);
    expect(await remainingDetails(client, [detailsPast, detailsInside])).toEqual([detailsInside]);
  }));

test("without arguments, ages set in Vault replace the defaults", () =>
  withClient(async (client) => {
    const [at40, at20] = [await logRow(client, 40), await logRow(client, 20)];
    const [at10, at3] = [await runDetail(client, 10), await runDetail(client, 3)];
    await setSecret(client, intervalSettings.logRetention.secret, "30 days");
    await setSecret(client, intervalSettings.runDetailsRetention.secret, "7 days");
    await prune(client, null, null);
    expect(await remainingLog(client, [at40, at20])).toEqual([at20]);
    expect(await remainingDetails(client, [at10, at3])).toEqual([at3]);
  }));

test.each([
  ["1 day", "14 days"],
  ["90 days", "1 hour"],
  // Compared as an interval, 12 months are 360 days, so this is "2 days"; subtracted from now(), it is 3 or 4
  // days ahead, and the whole log would go. An operator's typo must not empty the log.
  ["-12 mons 362 days", "14 days"],
  ["90 days", "-12 mons 362 days"],
])("an age under 2 days (%s, %s) is refused with the fix, and nothing is deleted", (logAge, detailsAge) =>
  withClient(async (client) => {
    const id = await logRow(client, 1.5);
    const error = await prune(client, logAge, detailsAge).catch((e) => e);
    expect(error.code).toBe("22023");
    expect(error.message).toMatch(/^Keeping the execution log .* and pg_cron's run history .* is too short: the 26-hour alert reads those rows$/);
    expect(error.hint).toBe(
      "Keep 2 days or more of each, e.g. select * from public.prune_reminder_cron_history(interval '90 days', interval '14 days');",
    );
    expect(await remainingLog(client, [id])).toEqual([id]);
  }));

test.each(["anon", "authenticated", "service_role"].flatMap((role) => [
  [role, "select * from public.prune_reminder_cron_history()"],
  [role, "select * from public.apply_reminder_cron_retention()"],
]))("%s may not prune: %s", (role, call) =>
  withClient((client) =>
    asRole(client, role, async () => {
      const error = await client.query(call).catch((e) => e);
      expect(error.code).toBe("42501");
    }),
  ));

test("cron_runner prunes as configured, never with ages of its own", () =>
  withClient(async (client) => {
    const old = await logRow(client, 120);
    const recent = await logRow(client, 3);
    const error = await asCronRunner(client, () => client.query("select * from public.prune_reminder_cron_history(interval '2 days', interval '2 days')")).catch((e) => e);
    expect(error.code).toBe("42501");
    const deleted = await asCronRunner(client, async () => (await client.query("select * from public.apply_reminder_cron_retention()")).rows[0]);
    expect(deleted.log_rows).toBeGreaterThanOrEqual(1);
    expect(await remainingLog(client, [old, recent])).toEqual([recent]);
  }));

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}
const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];

test("on large tables the pruning reads through indexes, not the tables", () =>
  withClient(async (client) => {
    // Two years of minute-by-minute log and a month of pg_cron history at one run a second (oldest first).
    await client.query(`
      insert into public.cron_execution_log (job_name, status, triggered_at, finished_at)
      select $1, 'succeeded', now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval
        from generate_series(1, 1000000) g`, [probe]);
    await client.query(`
      insert into cron.job_run_details (runid, jobid, username, database, command, status, start_time, end_time)
      select -1000000 - g, 0, $1, 'postgres', 'select 1', 'succeeded', now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval
        from generate_series(1, 30 * 86400 / 10) g`, [cronRunnerRole]);
    await client.query("analyze public.cron_execution_log");
    await client.query("analyze cron.job_run_details");

    // auto_explain hands the plan of every statement inside the function back as a notice (superuser only).
    const plans: PlanNode[] = [];
    await withClient(
      async (admin) => {
        admin.on("notice", (notice) => {
          const text = notice.message ?? "";
          const json = text.slice(text.indexOf("{"));
          if (text.includes('"Plan"')) plans.push(...flatten(JSON.parse(json).Plan));
        });
        await admin.query("load 'auto_explain'");
        await admin.query("set auto_explain.log_min_duration = 0");
        await admin.query("set auto_explain.log_nested_statements = on");
        await admin.query("set auto_explain.log_format = json");
        await admin.query("set auto_explain.log_level = notice");
        await admin.query("set client_min_messages = notice");
        // A day's pruning: the oldest day of each.
        await admin.query("select * from public.prune_reminder_cron_history(interval '693 days', interval '29 days')");
      },
      { admin: true },
    );
    const on = (table: string) => plans.filter((node) => node["Relation Name"] === table);
    expect(on("cron_execution_log").map((node) => node["Node Type"])).not.toContain("Seq Scan");
    expect(on("job_run_details").map((node) => node["Node Type"])).not.toContain("Seq Scan");
    const indexes = plans.map((node) => node["Index Name"]).filter(Boolean);
    expect(indexes).toContain("cron_execution_log_triggered_at_idx");
    expect(indexes).toContain("job_run_details_pkey");
  }), 120_000);
