/**
 * Every read of the CLI, each on an index of the log (job_name, triggered_at) or its partial index of
 * dispatched runs, so status stays instant however long the history. Secrets never leave the database:
 * of Vault, only whether a secret is set is read.
 */
import { Client } from "pg";
import { cronRunnerRole, logTable, qualified, retiredVaultSecret, vaultSecrets } from "../infra/sql/names";
import { catchUpTable, intervalSettings, retryPolicyFunction, seriesFunction, settingFunction } from "../infra/sql/operations-names";

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
  /** The scheduled time this run serves; null for a run by hand (and for rows from before retries). */
  occurrence: Date | null;
  /** 1 on schedule or its catch-up, then each retry; null for a skip or a run by hand. */
  attempt: number | null;
  /** Why it was dispatched: 'on schedule', 'catch-up: ...', 'retry 2 of 5: ...', 'by hand, as postgres'. */
  reason: string | null;
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

const runColumns = `l.id, l.job_name, l.triggered_at, l.status, l.http_status, l.error_message, l.finished_at, c.occurrence as catch_up_of,
       l.occurrence, l.attempt, l.reason
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
  /** Retries after a failed first attempt; null when Vault's retry settings cannot be used (see retrySettingsProblem). */
  retries: number | null;
  /** The wait before the first retry (each later one doubles it). */
  retryBackoffSeconds: number | null;
  /** No attempt is dispatched later than this after its occurrence. */
  retryDeadlineSeconds: number | null;
  /** Why Vault's retry settings cannot be used (the database's own sentence, naming the fix); null when they can. */
  retrySettingsProblem: string | null;
}

const sqlState = (error: unknown) => (error as { code?: string }).code;
/** 42883: the function does not exist, i.e. the operations migration (or its retries) is not applied here. */
const notInstalled = (error: unknown) => sqlState(error) === "42883";
/** 22023 is how the retry policy and the series refuse settings out of range: a finding, not a failure of status. */
const invalidSetting = (error: unknown) => sqlState(error) === "22023";
/** The message and, when given, the hint: the hint is where the database puts the fix. */
const problemText = (error: unknown) => {
  const { message, hint } = error as { message: string; hint?: string };
  return hint ? `${message}. ${hint}` : message;
};

export interface RetryPolicy {
  retries: number | null;
  retryBackoffSeconds: number | null;
  retryDeadlineSeconds: number | null;
  retrySettingsProblem: string | null;
}

/** The retry settings as the catch-up job applies them; their refusal is returned, so status still reports the rest. */
export async function retryPolicy(client: Client): Promise<RetryPolicy> {
  try {
    const { rows } = await client.query(
      `select retries, extract(epoch from backoff)::float8 as backoff, extract(epoch from deadline)::float8 as deadline from ${qualified(retryPolicyFunction)}()`,
    );
    return { retries: rows[0].retries, retryBackoffSeconds: rows[0].backoff, retryDeadlineSeconds: rows[0].deadline, retrySettingsProblem: null };
  } catch (error) {
    if (notInstalled(error)) return { retries: null, retryBackoffSeconds: null, retryDeadlineSeconds: null, retrySettingsProblem: null };
    if (invalidSetting(error)) return { retries: null, retryBackoffSeconds: null, retryDeadlineSeconds: null, retrySettingsProblem: problemText(error) };
    throw error;
  }
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
      ...(await retryPolicy(client)),
    };
  } catch (error) {
    if (notInstalled(error)) return null;
    throw error;
  }
}

/** public.reminder_run_series: where the job's latest occurrence stands, as the catch-up job reads it. */
export interface SeriesRow {
  occurrence: Date | null;
  state: "idle" | "due" | "in-flight" | "succeeded" | "catch-up" | "retrying" | "exhausted" | "missed" | "paused" | "no-job";
  attempts: number | null;
  max_attempts: number | null;
  next_attempt_at: Date | null;
  deadline_at: Date | null;
  last_run_id: string | null;
  detail: string | null;
}

/**
 * The series, or the database's sentence should it refuse Vault's settings (the catch-up window; retry
 * settings it cannot use it reports in detail instead); null before the operations migration.
 */
export async function series(client: Client, jobName: string): Promise<SeriesRow | { problem: string } | null> {
  try {
    const { rows } = await client.query<SeriesRow>(
      `select occurrence, state, attempts, max_attempts, next_attempt_at, deadline_at, last_run_id, detail from ${qualified(seriesFunction)}($1)`,
      [jobName],
    );
    return rows[0];
  } catch (error) {
    if (notInstalled(error)) return null;
    if (invalidSetting(error)) return { problem: problemText(error) };
    throw error;
  }
}

/** One UTC day of the job's log, grouped: what the week's history in status is made of. */
export interface HistoryDayRow {
  /** YYYY-MM-DD, UTC. */
  day: string;
  occurrences: Date[];
  /** Non-skipped rows with an attempt number: the scheduled run, its catch-up and retries. */
  attempts: number;
  /** The highest attempt number of the day's non-skipped rows; null when none had one. */
  last_attempt: number | null;
  succeeded: number;
  failed: number;
  in_flight: number;
  skipped: number;
  /** Non-skipped runs that serve no occurrence: by hand, or logged before runs named their occurrence. */
  unscheduled: number;
  /** What the reminder function recorded as created for the day's runs (its latest record of each); null when none recorded. */
  reminders_created: number | null;
}

/**
 * The log since `since` (a UTC midnight) by UTC day, newest first. A run is placed on its occurrence's day
 * (a retry past midnight still belongs to the day it retries), a run by hand on the day it ran. A run is
 * never logged before its occurrence, so triggered_at >= since bounds the read on the (job_name,
 * triggered_at) index, and the days are at most as many as asked for.
 */
export async function historyDays(client: Client, jobName: string, since: Date): Promise<HistoryDayRow[]> {
  const { rows } = await client.query<HistoryDayRow>(
    `select to_char(coalesce(l.occurrence, l.triggered_at) at time zone 'UTC', 'YYYY-MM-DD') as day,
            coalesce(array_agg(distinct l.occurrence) filter (where l.occurrence is not null), '{}') as occurrences,
            count(*) filter (where l.status <> 'skipped' and l.attempt is not null)::int as attempts,
            max(l.attempt) filter (where l.status <> 'skipped') as last_attempt,
            count(*) filter (where l.status = 'succeeded')::int as succeeded,
            count(*) filter (where l.status = 'failed')::int as failed,
            count(*) filter (where l.status in ('dispatched', 'running'))::int as in_flight,
            count(*) filter (where l.status = 'skipped')::int as skipped,
            count(*) filter (where l.status <> 'skipped' and l.occurrence is null)::int as unscheduled,
            sum(r.created)::int as reminders_created
       from ${qualified(logTable)} l
       left join lateral (
             select f.created from public.reminder_runs f where f.cron_run_id = l.id order by f.started_at desc limit 1
            ) r on true
      where l.job_name = $1 and l.triggered_at >= $2 and ${notAhead}
        and coalesce(l.occurrence, l.triggered_at) >= $2
      group by 1
      order by 1 desc`,
    [jobName, since],
  );
  return rows.map((row) => ({ ...row, occurrences: [...row.occurrences].sort((a, b) => new Date(a).getTime() - new Date(b).getTime()) }));
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
