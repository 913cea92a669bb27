/**
 * The Pulumi program of reminder-cron (Pulumi.yaml: main infra/). One ReminderCron per stack; the stack
 * outputs are what on-call reads with `pulumi stack output` (docs/pulumi.md explains each). None is secret.
 * Each depends only on the stack config and the resources' state, never on the clock or the shell, so a
 * second preview of an unchanged stack shows no change (`pulumi preview --expect-no-changes` in CI).
 */
import { loadStackConfig, scheduleInWords as inWords } from "./config";
import { ReminderCron } from "./reminder-cron";
import { normalizeSchedule, ParsedSchedule, parseSchedule } from "./providers/pg-cron-schedule";
import { operationsRunbook as operationsRunbookFor } from "./sql/operations-migration";
import { runbook as runbookFor } from "./sql/runbook";

// Validated before any resource is registered: a bad value stops here, naming the key and the fix.
const config = loadStackConfig();
const trigger = new ReminderCron("reminder-cron", config);

/** cron.job.jobid of the daily job. */
export const jobId = trigger.jobId;
export const jobName = trigger.jobName;
/** The schedule as pg_cron holds it (UTC). */
export const schedule = trigger.schedule;
/** e.g. "At 06:00, every day (UTC)", read from the job's schedule. */
export const scheduleInWords = trigger.schedule.apply((held) => describe(held, (parsed) => inWords(parsed)));
// No next-run output: it would change with the clock on every preview. `npx reminder-cron status` computes
// it when asked. Where a value came from is announced with pulumi.log.warn (config.ts), not exported.
export const functionUrl = trigger.functionUrl;
export const logTable = trigger.logTable;
/** cron.job.jobid of the companion jobs: reconcile (every minute), missed-run catch-up, history retention. */
export const reconcileJobId = trigger.reconcileJobId;
export const catchUpJobId = trigger.catchUpJob.jobId;
export const retentionJobId = trigger.retentionJob.jobId;
/** The names of the Vault secrets the job reads; their values stay in Vault and in encrypted state. */
export const vaultSecretNames = trigger.vaultSecretNames;
/** Retries of a failed run as Vault holds them: how many, the first wait (doubling after), the latest attempt after the occurrence. */
export const retryPolicy = trigger.retryPolicy;
/** Exact SQL for on-call: see the job, pause, resume, reschedule, run now, read the log, remove, restore. */
export const runbook = runbookFor(config.jobName);
/** The same for the catch-up and the retention: see caught-up runs, change windows, stop catching up, prune now. */
export const operationsRunbook = operationsRunbookFor();

/** Parses what pg_cron holds, as leniently as the newest pg_cron, for the outputs that describe it. */
function describe(held: string, fn: (parsed: ParsedSchedule) => string): string {
  const result = parseSchedule(normalizeSchedule(held), "1.6");
  return "parsed" in result ? fn(result.parsed) : `(pg_cron holds '${held}', which cannot be described: ${result.problem})`;
}
