/**
 * For the clock suites of retries and catch-ups: the daily job moved to the next minute (its occurrence),
 * where that occurrence's series stands, and its attempts as the log holds them.
 */
import { Client } from "pg";
import type { SeriesRow } from "../../cli/queries";
import { FlakyGateway, startFlakyGateway } from "./flaky-gateway";
import { endpoint } from "./reminder-scheduler";
import { alterJob, asCronRunner, deleteSecret, pointVaultAt } from "./trigger";
import { waitFor } from "./db";
import { defaultCronExpression, defaultJobName, dispatchCommand, reconcileCommand } from "../../infra/sql/names";
import { intervalSettings, retryLimitSetting } from "../../infra/sql/operations-names";

const minute = 60_000;

/** The first minute boundary at least 10 s away: the daily job's next occurrence once moved there. */
export const nextOccurrence = (): Date => new Date(Math.ceil((Date.now() + 10_000) / minute) * minute);

/** Moves the daily job to `occurrence`'s minute, every day (UTC), as a reschedule would. */
export const scheduleDailyAt = (client: Client, occurrence: Date) =>
  alterJob(client, { schedule: `${occurrence.getUTCMinutes()} ${occurrence.getUTCHours()} * * *` });


export async function seriesOf(client: Client, jobName = defaultJobName): Promise<SeriesRow> {
  const { rows } = await client.query<SeriesRow>("select * from public.reminder_run_series($1)", [jobName]);
  return rows[0];
}

/** Waits, as long as the scenario may take on pg_cron's minutes, for the series of `occurrence` to reach one of `states`. */
export async function seriesReaches(client: Client, occurrence: Date, states: string[], timeoutMs: number): Promise<SeriesRow> {
  try {
    return await reached(client, occurrence, states, timeoutMs);
  } catch (error) {
    // What the wait saw last, so a timeout says where the series stood and what the log held.
    const { rows } = await client.query(
      "select id, status, http_status, occurrence, attempt, reason, error_message, triggered_at, finished_at from public.cron_execution_log order by id desc limit 8",
    );
    throw new Error(`${(error as Error).message}\nseries: ${JSON.stringify(await seriesOf(client))}\nlog: ${JSON.stringify(rows, null, 1)}`);
  }
}

function reached(client: Client, occurrence: Date, states: string[], timeoutMs: number): Promise<SeriesRow> {
  return waitFor(
    `the series of ${occurrence.toISOString()} to be ${states.join(" or ")}`,
    async () => {
      const series = await seriesOf(client);
      return series.occurrence?.getTime() === occurrence.getTime() && states.includes(series.state) ? series : undefined;
    },
    timeoutMs,
    1000,
  );
}

export interface AttemptRow {
  id: string;
  attempt: number;
  status: string;
  http_status: number | null;
  reason: string;
  error_message: string | null;
  triggered_at: Date;
  finished_at: Date | null;
}

export async function attemptsOf(client: Client, occurrence: Date, jobName = defaultJobName): Promise<AttemptRow[]> {
  const { rows } = await client.query<AttemptRow>(
    `select id, attempt, status, http_status, reason, error_message, triggered_at, finished_at
       from public.cron_execution_log
      where job_name = $1 and occurrence = $2 and attempt is not null
      order by attempt`,
    [jobName, occurrence],
  );
  return rows;
}

/** Puts the retry settings back to their defaults (no Vault secret), as a file found them. */
export async function resetRetrySettings(client: Client): Promise<void> {
  for (const name of [retryLimitSetting.secret, intervalSettings.retryBackoff.secret, intervalSettings.retryDeadline.secret]) await deleteSecret(client, name);
}

/**
 * For a file whose day goes through a flaky gateway: Vault's URL pointed at it and the retry settings given
 * (SQL arguments of set_reminder_cron_retries); `release` puts the job, the settings and Vault back.
 */
export async function flakyDay(client: Client, failures: number, retries: string): Promise<{ gateway: FlakyGateway; release: (client: Client) => Promise<void> }> {
  const gateway = await startFlakyGateway(endpoint().url, failures, 503);
  const restoreVault = await pointVaultAt(client, gateway.url);
  await client.query(`select public.set_reminder_cron_retries(${retries})`);
  return {
    gateway,
    release: async (later: Client) => {
      await alterJob(later, { schedule: defaultCronExpression });
      await resetRetrySettings(later);
      await restoreVault(later);
      await gateway.close();
      await asCronRunner(later, () => later.query(reconcileCommand));
    },
  };
}

/** The five fields of a once-a-year schedule at exactly `at` (UTC): it cannot fire again during a test. */
export const onceAt = (at: Date) => `${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`;

/**
 * A job of cron_runner, like the daily one, whose `occurrence` has passed with no run logged since: it has a
 * run the day before (so it is not a fresh install, unless `ranBefore` is false). It starts with no other
 * history: an earlier jest run on the same stack may have left some. Remove it with removeProbeJob.
 */
export async function probeJob(client: Client, name: string, occurrence: Date, options: { ranBefore?: boolean; schedule?: string } = {}): Promise<void> {
  await client.query("delete from public.cron_execution_log where job_name = $1", [name]);
  await client.query("delete from public.reminder_cron_catch_ups where job_name = $1", [name]);
  await asCronRunner(client, () => client.query("select cron.schedule($1, $2, $3)", [name, options.schedule ?? onceAt(occurrence), dispatchCommand(name)]));
  if (options.ranBefore ?? true) {
    await client.query("insert into public.cron_execution_log (job_name, status, triggered_at, finished_at, http_status) values ($1, 'succeeded', $2, $2, 200)", [
      name,
      new Date(occurrence.getTime() - 86_400_000),
    ]);
  }
}

/** The probe job gone, with its log rows and catch-up records. */
export async function removeProbeJob(client: Client, name: string): Promise<void> {
  await asCronRunner(client, () => client.query("select cron.unschedule(jobid) from cron.job where jobname = $1 and username = current_user", [name]));
  await client.query("delete from public.cron_execution_log where job_name = $1", [name]);
  await client.query("delete from public.reminder_cron_catch_ups where job_name = $1", [name]);
}
