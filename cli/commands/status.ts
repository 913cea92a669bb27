/**
 * `reminder-cron status`: the job, its schedule in words and its next run, where its latest occurrence stands
 * (retries included), the last runs with their outcome, attempt, HTTP status and duration, the week day by
 * day, the success rate, the companion jobs and settings, and the alerts. Exit 1 when
 * any alert holds, so a monitor can run it as a check; 3 when the job itself is not registered.
 */
import { Client } from "pg";
import { defaultCronExpression, vaultSecrets } from "../../infra/sql/names";
import { alertThresholds, successRateDays } from "../../infra/sql/operations-names";
import { Alert, alerts } from "../alerts";
import { exitCodes } from "../exit-codes";
import { historyTable, humanDuration, humanInterval, retriesSetting, runsTable, seriesLine, utc } from "../format";
import { Outcome } from "../output";
import {
  companionJobs,
  functionRunsSince,
  historyDays,
  jobRow,
  lastRuns,
  lastSuccessAt,
  outcomeCounts,
  retiredSecretStored,
  runById,
  runsSince,
  series as readSeries,
  settings,
  stuckRuns,
  vaultSecretsSet,
} from "../queries";
import { scheduleView } from "../schedule";
import { byLogRun, historyStart, historyView, jobView, runView, seriesView } from "../views";

export const statusRunCount = 10;

export async function status(client: Client, jobName: string, now: Date = new Date()): Promise<Outcome> {
  const job = await jobRow(client, jobName);
  // One client runs one query at a time: these reads are sequential, each a few milliseconds on an index.
  const runs = await lastRuns(client, jobName, statusRunCount);
  const stuck = await stuckRuns(client, jobName, alertThresholds.stuckAfterMinutes, alertThresholds.stuckRunningAfterMinutes);
  const recent = await runsSince(client, jobName, new Date(now.getTime() - alertThresholds.noSuccessHours * 3_600_000));
  const lastSuccess = await lastSuccessAt(client, jobName);
  const counts = await outcomeCounts(client, jobName, new Date(now.getTime() - successRateDays * 86_400_000));
  const companions = await companionJobs(client, jobName);
  const current = await settings(client);
  const secrets = await vaultSecretsSet(client);
  const horizon = new Date(now.getTime() - alertThresholds.noSuccessHours * 3_600_000);
  const oldestShown = runs.length > 0 ? new Date(runs[runs.length - 1].triggered_at) : horizon;
  const functionRuns = await functionRunsSince(client, jobName, oldestShown < horizon ? oldestShown : horizon);
  const recentFunctionRuns = functionRuns.filter((run) => new Date(run.started_at) >= horizon);
  const retired = await retiredSecretStored(client);
  const series = await readSeries(client, jobName);
  const seriesRow = series && !("problem" in series) ? series : null;
  // Whether the run that ended the series served no occurrence: a success by run-now is no attempt.
  const endedBy = seriesRow?.state === "succeeded" && seriesRow.last_run_id !== null ? await runById(client, seriesRow.last_run_id) : undefined;
  const days = await historyDays(client, jobName, historyStart(now));
  const maxAttempts = current?.retries === null || current?.retries === undefined ? null : current.retries + 1;
  const history = historyView(days, job?.schedule ?? null, seriesRow, maxAttempts, now);
  const found = alerts({
    now,
    jobName,
    jobExists: job !== undefined,
    stuck,
    recent,
    functionRuns: recentFunctionRuns,
    lastSuccessAt: lastSuccess,
    retiredSecretStored: retired,
    otherJobs: companions.map((companion) => companion.jobname),
    series,
    retrySettingsProblem: current?.retrySettingsProblem ?? null,
  });
  const reminders = byLogRun(functionRuns);
  const finished = counts.succeeded + counts.failed;
  const schedule = job ? scheduleView(job.schedule, job.active, now) : null;

  const json = {
    job: job ? { ...jobView(job), description: schedule?.description ?? null, timeZone: "UTC", nextRun: schedule?.nextRun ?? null } : null,
    series: seriesRow ? seriesView(seriesRow) : null,
    runs: runs.map((run) => runView(run, reminders.get(run.id))),
    history,
    successRate: { days: successRateDays, ...counts, rate: finished === 0 ? null : counts.succeeded / finished },
    lastSuccessAt: lastSuccess ? new Date(lastSuccess).toISOString() : null,
    companions: companions.map((companion) => ({ name: companion.jobname, schedule: companion.schedule, active: companion.active })),
    settings: current,
    vaultSecretsSet: secrets,
    alerts: found,
    healthy: found.length === 0,
  };

  const lines: string[] = [];
  if (job && schedule) {
    lines.push(`${job.jobname}  ${job.active ? "active" : "PAUSED"}  (job ${job.jobid}, runs as ${job.username})`);
    lines.push(`schedule    ${job.schedule}  ${schedule.description ?? "(cannot put it in words)"}, UTC`);
    const next = schedule.nextRun
      ? `${utc(schedule.nextRun)} (in ${humanDuration(new Date(schedule.nextRun).getTime() - now.getTime())})`
      : job.active
        ? "none: pg_cron never runs this schedule on a clock"
        : "none while paused: reminder-cron resume";
    lines.push(`next run    ${next}`);
    if (series) lines.push(seriesLine(series, now, endedBy !== undefined && endedBy.occurrence === null));
  } else {
    lines.push(`${jobName}  NOT REGISTERED`);
  }
  const rate = finished === 0 ? "no finished runs" : `${counts.succeeded} of ${finished} finished runs succeeded (${Math.round((100 * counts.succeeded) / finished)}%)`;
  const unsettled = counts.dispatched + counts.running;
  lines.push(
    `success     last ${successRateDays} days: ${rate}${unsettled ? `; ${unsettled} without an outcome yet` : ""}${counts.skipped ? `; ${counts.skipped} skipped` : ""}`,
  );
  lines.push(`last ok     ${lastSuccess ? utc(lastSuccess) : "never"}`);
  // The schedule's secret is optional (the migration defaults it); the other two are needed for any run.
  const secretState = (name: string, set: boolean) => (set ? "set" : name === vaultSecrets.cronExpression ? `not set (default ${defaultCronExpression})` : "MISSING");
  lines.push(`vault       ${Object.entries(secrets).map(([name, set]) => `${name} ${secretState(name, set)}`).join(", ")}`);
  if (current) {
    lines.push(
      `settings    catch-up window ${humanInterval(current.catchUpWindowSeconds)}, ${retriesSetting(current)}, keeps the log ${humanInterval(current.logRetentionSeconds)}, ` +
        `pg_cron history ${humanInterval(current.runDetailsRetentionSeconds)}`,
    );
  }
  lines.push(`companions  ${companions.map((c) => `${c.jobname} (${c.schedule}, ${c.active ? "active" : "PAUSED"})`).join(", ") || "none"}`);
  lines.push(`last ${statusRunCount} runs`, runsTable(runs, reminders, 160));
  lines.push(`last ${history.length} days`, historyTable(history));
  lines.push(found.length === 0 ? "alerts      none" : found.map((alert: Alert) => `ALERT ${alert.code}: ${alert.message}`).join("\n"));

  // A job that is not there is 3 for every command (docs/operations.md): the check has no subject, and a
  // monitor that pages on 3 learns that as surely as from an alert. The output still says everything else.
  const exitCode = !job ? exitCodes.unavailable : found.length === 0 ? exitCodes.ok : exitCodes.alert;
  return { exitCode, json, text: lines.join("\n") };
}
