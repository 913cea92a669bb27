/**
 * Every read of the CLI, each on an index of the log (job_name, triggered_at) or its partial index of
 * dispatched runs, so status stays instant however long the history. Secrets never leave the database:
 * of Vault, only whether a secret is set is read.
 */
import { Client } from "pg";
import { cronRunnerRole, logTable, qualified, retiredVaultSecret, vaultSecrets } from "../infra/sql/names";
import { catchUpTable, intervalSettings, settingFunction } from "../infra/sql/operations-names";

export interface RunRow {
  id: string;
  job_name: string;
  triggered_at: Date;
  status: "dispatched" | "running" | "succeeded" | "failed" | "skipped";
  http_status: number | null;
  error_message: string | null;
  finished_at: Date | null;
  /** The missed occurrence this run caught up, when it was a catch-up. */
  catch_up_of: Date | null;
}

export interface JobRow {
  jobid: string;
  jobname: string;
  schedule: string;
  command: string;
  active: boolean;
  username: string;
}

/**
 * No row dated ahead is a run: an earlier release let any role append one ('succeeded' in 2099 silenced every
 * alert), and the upgrade marks those failed. A row's triggered_at is its insert's now(), never later.
 */
const notAhead = "l.triggered_at <= now()";

const runColumns = `l.id, l.job_name, l.triggered_at, l.status, l.http_status, l.error_message, l.finished_at, c.occurrence as catch_up_of
  from ${qualified(logTable)} l
  left join ${qualified(catchUpTable)} c on c.run_id = l.id`;

export async function jobRow(client: Client, jobName: string): Promise<JobRow | undefined> {
  const { rows } = await client.query<JobRow>(
    "select jobid, jobname, schedule, command, active, username from cron.job where jobname = $1 and username = $2",
    [jobName, cronRunnerRole],
  );
  return rows[0];
}

/** The other jobs of cron_runner: reconcile, catch-up, retention. */
export async function companionJobs(client: Client, jobName: string): Promise<JobRow[]> {
  const { rows } = await client.query<JobRow>(
    "select jobid, jobname, schedule, command, active, username from cron.job where username = $1 and jobname <> $2 order by jobid",
    [cronRunnerRole, jobName],
  );
  return rows;
}

export async function lastRuns(client: Client, jobName: string, limit: number): Promise<RunRow[]> {
  const { rows } = await client.query<RunRow>(`select ${runColumns} where l.job_name = $1 and ${notAhead} order by l.triggered_at desc limit $2`, [jobName, limit]);
  return rows;
}

export async function runsSince(client: Client, jobName: string, since: Date): Promise<RunRow[]> {
  const { rows } = await client.query<RunRow>(`select ${runColumns} where l.job_name = $1 and l.triggered_at >= $2 and ${notAhead} order by l.triggered_at desc`, [
    jobName,
    since,
  ]);
  return rows;
}

export async function runById(client: Client, id: string): Promise<RunRow | undefined> {
  const { rows } = await client.query<RunRow>(`select ${runColumns} where l.id = $1`, [id]);
  return rows[0];
}

/**
 * Runs without a final outcome past the time reconcile settles them, at any age (a forgotten one is the
 * worst): still awaiting their answer after `dispatchedMinutes`, or still running after `runningMinutes`.
 */
export async function stuckRuns(client: Client, jobName: string, dispatchedMinutes: number, runningMinutes: number): Promise<RunRow[]> {
  const { rows } = await client.query<RunRow>(
    `select ${runColumns}
      where l.job_name = $1
        and (   (l.status = 'dispatched' and l.triggered_at < now() - make_interval(mins => $2))
             or (l.status = 'running'    and l.triggered_at < now() - make_interval(mins => $3)))
      order by l.triggered_at`,
    [jobName, dispatchedMinutes, runningMinutes],
  );
  return rows;
}

export async function lastSuccessAt(client: Client, jobName: string): Promise<Date | null> {
  const { rows } = await client.query(
    `select l.triggered_at from ${qualified(logTable)} l where l.job_name = $1 and l.status = 'succeeded' and ${notAhead} order by l.triggered_at desc limit 1`,
    [jobName],
  );
  return rows[0]?.triggered_at ?? null;
}

export interface OutcomeCounts {
  succeeded: number;
  failed: number;
  skipped: number;
  dispatched: number;
  running: number;
}

export async function outcomeCounts(client: Client, jobName: string, since: Date): Promise<OutcomeCounts> {
  const { rows } = await client.query<{ status: keyof OutcomeCounts; n: number }>(
    `select l.status, count(*)::int as n from ${qualified(logTable)} l where l.job_name = $1 and l.triggered_at >= $2 and ${notAhead} group by l.status`,
    [jobName, since],
  );
  const counts: OutcomeCounts = { succeeded: 0, failed: 0, skipped: 0, dispatched: 0, running: 0 };
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

export interface Settings {
  catchUpWindowSeconds: number;
  logRetentionSeconds: number;
  runDetailsRetentionSeconds: number;
}

/** The operations settings as they apply now (Vault, else defaults); null before the operations migration. */
export async function settings(client: Client): Promise<Settings | null> {
  const { catchUpWindow, logRetention, runDetailsRetention } = intervalSettings;
  const read = (first: number) => `extract(epoch from ${qualified(settingFunction)}($${first}, $${first + 1}))::float8`;
  try {
    const { rows } = await client.query(
      `select ${read(1)} as catch_up_window, ${read(3)} as log_retention, ${read(5)} as run_details_retention`,
      [catchUpWindow.secret, catchUpWindow.default, logRetention.secret, logRetention.default, runDetailsRetention.secret, runDetailsRetention.default],
    );
    return {
      catchUpWindowSeconds: rows[0].catch_up_window,
      logRetentionSeconds: rows[0].log_retention,
      runDetailsRetentionSeconds: rows[0].run_details_retention,
    };
  } catch (error) {
    // 42883: the function does not exist, i.e. the operations migration has not been applied here.
    if ((error as { code?: string }).code === "42883") return null;
    throw error;
  }
}

/** Whether each Vault secret the dispatch reads is set; never its value. */
export async function vaultSecretsSet(client: Client): Promise<Record<string, boolean>> {
  const names = [vaultSecrets.functionUrl, vaultSecrets.signingKey, vaultSecrets.cronExpression];
  const { rows } = await client.query<{ name: string }>(
    "select name from vault.decrypted_secrets where name = any($1) and coalesce(decrypted_secret, '') <> ''",
    [names],
  );
  return Object.fromEntries(names.map((name) => [name, rows.some((row) => row.name === name)]));
}

/** Whether Vault still holds the service-role key earlier releases sent through pg_net (never its value). */
export async function retiredSecretStored(client: Client): Promise<boolean> {
  const { rows } = await client.query("select exists (select 1 from vault.secrets where name = $1) as stored", [retiredVaultSecret]);
  return rows[0].stored;
}

/** The reminder function's own record of a run (public.reminder_runs), linked to the log by cron_run_id. */
export interface FunctionRunRow {
  id: string;
  cron_run_id: string | null;
  status: "running" | "succeeded" | "failed" | "skipped";
  started_at: Date;
  finished_at: Date | null;
  evaluated: number | null;
  created: number | null;
  skipped: number | null;
  duration_ms: number | null;
  error_message: string | null;
}

/**
 * The function's runs started since `since`, through its started_at index: what a run did (reminders
 * created), and, for one answered 202, the record reconcile settles the log's outcome from.
 */
export async function functionRunsSince(client: Client, jobName: string, since: Date): Promise<FunctionRunRow[]> {
  const { rows } = await client.query<FunctionRunRow>(
    `select id, cron_run_id, status, started_at, finished_at, evaluated, created, skipped, duration_ms, error_message
       from public.reminder_runs
      where started_at >= $1 and job_name = $2
      order by started_at desc`,
    [since, jobName],
  );
  return rows;
}

export interface CronFailure {
  jobname: string;
  runid: string;
  start_time: Date | null;
  end_time: Date | null;
  return_message: string | null;
}

/**
 * Runs pg_cron itself recorded as failed for cron_runner's jobs (the command raised, or could not start):
 * such a run writes nothing to the execution log. job_run_details is indexed on runid only; retention
 * keeps it to two weeks, so this read stays small.
 */
export async function cronFailures(client: Client, since: Date): Promise<CronFailure[]> {
  const { rows } = await client.query<CronFailure>(
    `select j.jobname, d.runid, d.start_time, d.end_time, d.return_message
       from cron.job_run_details d
       join cron.job j on j.jobid = d.jobid
      where d.username = $1 and d.status = 'failed' and coalesce(d.start_time, d.end_time) >= $2
      order by d.runid desc
      limit 50`,
    [cronRunnerRole, since],
  );
  return rows;
}
