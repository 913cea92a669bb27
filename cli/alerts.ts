/**
 * The alerts `status` reports and exits 1 on, for monitoring: computed from rows already read, so the
 * rules are plain and tested without waiting for time to pass.
 */
import { dispatchLockTable, lockSkipMessage, qualified, reconcileJobName, retiredVaultSecret, runOutcomeDeadlineSeconds, vaultSecrets } from "../infra/sql/names";
import { alertThresholds, catchUpJobName } from "../infra/sql/operations-names";
import { humanDuration, runDurationMs, utc } from "./format";
import { jobMissingMessage } from "./job-missing";
import { FunctionRunRow, RunRow, SeriesRow } from "./queries";

export type AlertCode =
  | "job-missing"
  | "stuck-run"
  | "failed-run"
  | "long-run"
  | "no-success"
  | "exposed-credential"
  | "lone-skip"
  | "retries-exhausted"
  | "retry-settings-invalid";

/**
 * The catch-up job runs every minute, so a retry is dispatched within a minute of its time; past this, it
 * is not coming (the catch-up job paused or failing), and the failure is the operator's again.
 */
const retryOverdueMs = 3 * 60_000;

/** How near a lock skip the dispatch that held the lock is logged: both start within the same instant. */
const lockSkipWindowMs = 60_000;

export interface Alert {
  code: AlertCode;
  message: string;
  runId?: number;
}

export interface AlertInput {
  now: Date;
  jobName: string;
  jobExists: boolean;
  /** Runs still dispatched after alertThresholds.stuckAfterMinutes, or running after stuckRunningAfterMinutes. */
  stuck: RunRow[];
  /** Runs of the last alertThresholds.noSuccessHours, newest first. */
  recent: RunRow[];
  /** The reminder function's runs of the same hours (public.reminder_runs). */
  functionRuns: FunctionRunRow[];
  lastSuccessAt: Date | null;
  /** Vault still holds the service-role key earlier releases sent through pg_net. */
  retiredSecretStored: boolean;
  /** cron_runner's other jobs, named when the job is missing, since a missing name is most often a typo. */
  otherJobs?: string[];
  /**
   * public.reminder_run_series for the job: the row, or the database's sentence when Vault's retry settings
   * cannot be used; null or absent before the operations migration.
   */
  series?: SeriesRow | { problem: string } | null;
  /** Why reminder_cron_retry_policy() refused Vault's retry settings, when the series did not say (a missing job). */
  retrySettingsProblem?: string | null;
}

const minutes = (n: number) => n * 60_000;

export function alerts(input: AlertInput): Alert[] {
  const { now, jobName } = input;
  const found: Alert[] = [];
  if (!input.jobExists) {
    found.push({
      code: "job-missing",
      message: jobMissingMessage(jobName, input.otherJobs),
    });
  }
  for (const run of input.stuck) {
    const waitingFor =
      run.status === "running"
        ? `${reconcileJobName} should settle it from public.reminder_runs, or fail it ${runOutcomeDeadlineSeconds} s after its trigger; check it is active (reminder-cron status lists it).`
        : `${reconcileJobName} should settle it within 2 minutes; check it is active (reminder-cron status lists it) and that pg_net's worker is up (select net.check_worker_is_up();).`;
    found.push({
      code: "stuck-run",
      runId: Number(run.id),
      message: `Run ${run.id} (triggered ${utc(run.triggered_at)}) has had no outcome for ${humanDuration(now.getTime() - new Date(run.triggered_at).getTime())}: ${waitingFor}`,
    });
  }
  const series = input.series && !("problem" in input.series) ? input.series : null;
  const problem = input.series && "problem" in input.series ? input.series.problem : (input.retrySettingsProblem ?? null);
  if (problem !== null) {
    found.push({
      code: "retry-settings-invalid",
      message:
        `The retry settings in Vault cannot be used, so no failed run is retried until they are fixed (${catchUpJobName} still catches up missed ones). ` +
        problem,
    });
  }
  // The latest run that was not refused as skipped: when it failed, no reminder run has succeeded since.
  const latest = input.recent.find((run) => run.status !== "skipped");
  // A failure with its retry scheduled (or a lost request about to be sent again) is the series' business:
  // it is shown on status's series line, and retries-exhausted alerts if every attempt fails. Alerting on it
  // too would page for a 503 the next minute's retry fixes. A retry overdue is not coming, so it alerts again.
  // Every attempt failed: retries-exhausted says so, with the same failure, once.
  const sameRun = series !== null && latest !== undefined && series.last_run_id !== null && String(series.last_run_id) === String(latest.id);
  const followedUp =
    sameRun &&
    (series.state === "retrying" || series.state === "catch-up") &&
    (series.next_attempt_at === null || new Date(series.next_attempt_at).getTime() > now.getTime() - retryOverdueMs);
  if (latest?.status === "failed" && !followedUp && !(sameRun && series.state === "exhausted")) {
    const overdue =
      series?.state === "retrying" && series.next_attempt_at
        ? ` Its retry was due at ${utc(series.next_attempt_at)} and was not dispatched: check ${catchUpJobName} is active (reminder-cron status lists it).`
        : "";
    found.push({
      code: "failed-run",
      runId: Number(latest.id),
      message:
        `The latest run, ${latest.id} (triggered ${utc(latest.triggered_at)}), failed${latest.http_status ? ` with HTTP ${latest.http_status}` : ""}: ${latest.error_message ?? "(no reason recorded)"}.${overdue} ` +
        `Fix the cause; the next trigger runs again, or now: reminder-cron run-now.`,
    });
  }
  if (series?.state === "exhausted" && series.occurrence) {
    found.push({
      code: "retries-exhausted",
      ...(series.last_run_id === null ? {} : { runId: Number(series.last_run_id) }),
      message:
        `Every attempt at the ${utc(series.occurrence)} run failed (${series.attempts ?? 0} of ${series.max_attempts ?? "?"}), and no retry is left: ` +
        `${series.detail ?? "(no reason recorded)"}. No reminders went out for it. Fix the cause (reminder-cron logs --since 24h has each attempt's error), then reminder-cron run-now.`,
    });
  }
  // A skip for the lock is explained by the dispatch that held it, logged beside it. With none, something else
  // holds the lock (a session left in a transaction, or a forger of an earlier release's advisory key), and
  // every dispatch would be a silent skip until no-success notices, 26 hours later.
  for (const skip of input.recent) {
    if (skip.status !== "skipped" || skip.error_message !== lockSkipMessage) continue;
    const at = new Date(skip.triggered_at).getTime();
    const beside = input.recent.some(
      (other) => other.status !== "skipped" && Math.abs(new Date(other.triggered_at).getTime() - at) <= lockSkipWindowMs,
    );
    if (beside) continue;
    found.push({
      code: "lone-skip",
      runId: Number(skip.id),
      message:
        `Run ${skip.id} (triggered ${utc(skip.triggered_at)}) was skipped as if another dispatch of the job were starting, but none was logged within ${lockSkipWindowMs / 1000} s of it: ` +
        `a session holds the job's lock (select * from pg_locks where relation = '${qualified(dispatchLockTable)}'::regclass;); end it, then reminder-cron run-now.`,
    });
  }
  const tooLong = minutes(alertThresholds.longRunMinutes);
  const longRun = (runId: number | undefined, what: string): Alert => ({
    code: "long-run",
    ...(runId === undefined ? {} : { runId }),
    message:
      `${what}, over the ${alertThresholds.longRunMinutes}-minute limit: ` +
      `check the reminder function's log for that run, and whether another run overlapped it (reminder-cron logs).`,
  });
  for (const run of input.recent) {
    const duration = runDurationMs(run);
    if (duration !== null && duration > tooLong) found.push(longRun(Number(run.id), `Run ${run.id} (triggered ${utc(run.triggered_at)}) took ${humanDuration(duration)}`));
  }
  // The function's own clock: a run it still works on after answering 202, or one it recorded as long.
  for (const run of input.functionRuns) {
    const running = run.status === "running";
    const ms = running ? now.getTime() - new Date(run.started_at).getTime() : run.duration_ms;
    if (ms === null || ms <= tooLong) continue;
    const logRun = run.cron_run_id === null ? undefined : Number(run.cron_run_id);
    const subject = `The reminder function's run ${run.id}${logRun === undefined ? "" : ` (of run ${logRun})`}, started ${utc(run.started_at)},`;
    found.push(longRun(logRun, `${subject} ${running ? "has been running for" : "took"} ${humanDuration(ms)}`));
  }
  const horizon = now.getTime() - alertThresholds.noSuccessHours * 3_600_000;
  if (input.lastSuccessAt === null || new Date(input.lastSuccessAt).getTime() < horizon) {
    found.push({
      code: "no-success",
      message:
        `No successful run in the last ${alertThresholds.noSuccessHours} hours (last success: ${input.lastSuccessAt ? utc(input.lastSuccessAt) : "never"}): ` +
        `read reminder-cron logs --since 48h for the failures, fix their cause, then reminder-cron run-now.`,
    });
  }
  if (input.retiredSecretStored) {
    found.push({
      code: "exposed-credential",
      message:
        `Vault still holds ${retiredVaultSecret}, which earlier releases sent in pg_net's requests, where every role could read it; requests are signed with ${vaultSecrets.signingKey} now. ` +
        `Delete it (delete from vault.secrets where name = '${retiredVaultSecret}';, or pulumi up) and rotate the service-role key (dashboard: Project Settings, API keys).`,
    });
  }
  return found;
}
