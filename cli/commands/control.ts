/**
 * `pause`, `resume` and `reschedule`: the runbook's SQL, run after checking the job is there and the input
 * is sound, so a refusal changes nothing. Pausing a paused job (or resuming an active one) is a no-op.
 */
import { Client } from "pg";
import { nextRun as nextMinute, normalizeSchedule, parseSchedule } from "../../infra/providers/pg-cron-schedule";
import { defaultCronExpression, defaultJobName, vaultSecrets } from "../../infra/sql/names";
import { CliError, cliError, exitCodes } from "../exit-codes";
import { utc } from "../format";
import { Outcome } from "../output";
import { jobMissingMessage } from "../job-missing";
import { companionJobs, JobRow, jobRow } from "../queries";
import { rescheduleSql, runbookSql } from "../runbook-sql";
import { describe, scheduleView } from "../schedule";
import { ensureSecret } from "../vault";
import { jobView } from "../views";

export async function requireJob(client: Client, jobName: string): Promise<JobRow> {
  const job = await jobRow(client, jobName);
  if (!job) {
    const others = (await companionJobs(client, jobName)).map((other) => other.jobname);
    throw cliError(exitCodes.unavailable, jobMissingMessage(jobName, others));
  }
  return job;
}

/** The --job option to repeat in a suggested command: none for the daily job, the default. */
export const jobOption = (jobName: string) => (jobName === defaultJobName ? "" : ` --job ${jobName}`);

export async function setActive(client: Client, jobName: string, active: boolean): Promise<Outcome> {
  const before = await requireJob(client, jobName);
  const changed = before.active !== active;
  if (changed) await client.query(runbookSql(jobName, active ? "Resume" : "Emergency pause"));
  const after = await requireJob(client, jobName);
  const next = scheduleView(after.schedule, true).nextRun;
  const text = !changed
    ? `${jobName} is already ${active ? "active" : "paused"}; nothing changed.`
    : active
      ? `Resumed ${jobName}: it runs again at ${after.schedule} (UTC)${next ? `, next at ${utc(next)}` : ""}.`
      : `Paused ${jobName}: it keeps its schedule (${after.schedule}) and runs nothing${jobName === defaultJobName ? ", catch-ups included," : ""} until reminder-cron resume${jobOption(jobName)} (run-now too refuses it without --even-if-paused).`;
  return { exitCode: exitCodes.ok, json: { job: jobView(after), changed }, text };
}

const refuseSchedule = (expression: string, why: string) =>
  cliError(
    exitCodes.usage,
    `Cannot reschedule to '${expression}': ${why}${why.includes(defaultCronExpression) ? "" : `; give five fields in UTC, e.g. '${defaultCronExpression}'`}. Nothing changed.`,
  );

/** The pg_cron versions Supabase runs (PostgreSQL 15 and 17): a schedule every one of them refuses is bad input anywhere. */
const platformVersions = ["1.4", "1.6.5"];

/**
 * What reschedule refuses without asking the database: a job other than the daily one, and a schedule that
 * every platform's pg_cron refuses, so bad input exits 2 even with the database down. `wording` is undefined
 * when the reason is the same on every version: then this refusal is final. Otherwise it words the reason as
 * the newest version does, for use only when the database (and so its version) cannot be reached.
 */
export function rescheduleRefusal(jobName: string, given: string): { refusal: CliError; final: boolean } | undefined {
  if (jobName !== defaultJobName) {
    // Vault's reminder_cron_expression is the daily job's schedule; the companions' schedules are the migration's.
    return {
      refusal: cliError(exitCodes.usage, `reschedule changes ${defaultJobName} only, whose schedule Vault keeps; ${jobName}'s schedule is set by its migration. Nothing changed.`),
      final: true,
    };
  }
  const expression = normalizeSchedule(given);
  const problems = platformVersions.map((version) => parseSchedule(expression, version)).map((reading) => ("problem" in reading ? reading.problem : undefined));
  if (problems.some((problem) => problem === undefined)) return undefined;
  const newest = problems.at(-1)!;
  const final = problems.every((problem) => problem === newest);
  return { refusal: refuseSchedule(expression, final ? newest : `${newest} (as pg_cron ${platformVersions.at(-1)} reads it; the database could not be asked which it runs)`), final };
}

/**
 * Refuses (exit 2, before any change) what pg_cron of this database would refuse, what the stack refuses
 * on purpose (providers/pg-cron-schedule.ts: text pg_cron runs differently from what it says, a schedule
 * that never runs) and a seconds schedule (the reminder run is daily).
 */
async function validateSchedule(client: Client, expression: string): Promise<Date> {
  const refuse = (why: string) => refuseSchedule(expression, why);
  const { rows } = await client.query("select extversion from pg_extension where extname = 'pg_cron'");
  const result = parseSchedule(expression, rows[0]?.extversion ?? "1.4");
  if ("problem" in result) throw refuse(result.problem);
  if (result.parsed.kind !== "cron") throw refuse("a seconds schedule would run the daily reminder evaluation many times a minute; give five fields in UTC, e.g. '0 6 * * *'");
  // parseSchedule refuses a schedule that never runs, so there is a next run.
  return nextMinute(result.parsed.fields, new Date())!;
}

export async function reschedule(client: Client, jobName: string, given: string): Promise<Outcome> {
  const expression = normalizeSchedule(given);
  const early = rescheduleRefusal(jobName, given);
  if (early?.final) throw early.refusal;
  const before = await requireJob(client, jobName);
  const next = await validateSchedule(client, expression);
  await client.query("begin");
  try {
    // The runbook updates Vault's copy, which only exists once someone set it: write it first, so a
    // redeploy (which reads the secret) keeps the new schedule; the runbook's update then changes nothing.
    await ensureSecret(client, vaultSecrets.cronExpression, expression);
    await client.query(rescheduleSql(jobName, expression));
    await client.query("commit");
  } catch (error) {
    await client.query("rollback");
    if ((error as { code?: string }).code === "22023") {
      throw cliError(exitCodes.usage, `Cannot reschedule to '${expression}': pg_cron refused it (${(error as Error).message}). Nothing changed.`);
    }
    throw error;
  }
  const after = await requireJob(client, jobName);
  const words = describe(expression);
  return {
    exitCode: exitCodes.ok,
    json: { job: jobView(after), from: before.schedule, to: after.schedule, description: words, timeZone: "UTC", nextRun: after.active ? next.toISOString() : null },
    text:
      `Rescheduled ${jobName} from ${before.schedule} to ${after.schedule}${words ? ` (${words}, UTC)` : ""}; Vault's ${vaultSecrets.cronExpression} follows. ` +
      (after.active ? `Next run ${utc(next)}.` : "It is paused: reminder-cron resume to run it."),
  };
}
