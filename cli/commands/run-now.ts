/**
 * `reminder-cron run-now`: the runbook's "Run now" (one dispatch, as postgres), then one reconcile pass,
 * which is what the every-minute reconcile job does and waits for pg_net's answer (up to the 5 s timeout).
 * A paused job is refused unless the operator says --even-if-paused.
 */
import { Client } from "pg";
import { reconcileCommand, reconcileJobName, runOutcomeDeadlineSeconds } from "../../infra/sql/names";
import { cliError, exitCodes } from "../exit-codes";
import { humanDuration, remindersCell, runDurationMs, utc } from "../format";
import { Outcome, Progress } from "../output";
import { functionRunsSince, runById } from "../queries";
import { runbookSql } from "../runbook-sql";
import { byLogRun, runView } from "../views";
import { jobOption, requireJob } from "./control";

export async function runNow(client: Client, jobName: string, progress: Progress, evenIfPaused = false): Promise<Outcome> {
  const job = await requireJob(client, jobName);
  if (!job.active && !evenIfPaused) {
    // pause promises nothing runs until resume; an on-call person may not know someone paused it, or why.
    throw cliError(
      exitCodes.usage,
      `${jobName} is paused, and pause promises nothing runs until resume, so no run was sent. ` +
        `To run it once anyway: reminder-cron run-now${jobOption(jobName)} --even-if-paused; to run it on schedule again: reminder-cron resume${jobOption(jobName)}.`,
    );
  }
  const { rows } = await client.query(runbookSql(jobName, "Run now"));
  const runId = String(Object.values(rows[0])[0]);
  let run = await runById(client, runId);
  if (run?.status === "dispatched") {
    progress(`run ${runId} dispatched; waiting for the reminder function's answer (at most a few seconds)`);
    await client.query(reconcileCommand);
    run = await runById(client, runId);
  }
  if (!run) throw new Error(`Run ${runId} is missing from the execution log right after its dispatch; was it pruned or deleted?`);

  const reminders = byLogRun(await functionRunsSince(client, jobName, new Date(run.triggered_at))).get(run.id);
  const duration = runDurationMs(run);
  const said: Record<typeof run.status, string> = {
    succeeded:
      `Run ${run.id} succeeded: HTTP ${run.http_status} after ${duration === null ? "?" : humanDuration(duration)}` +
      (reminders ? `; the reminder function: ${remindersCell(reminders)}.` : "."),
    failed: `Run ${run.id} failed${run.http_status ? ` with HTTP ${run.http_status}` : ""}: ${run.error_message}`,
    skipped: `Run ${run.id} was skipped: ${run.error_message}. Wait for that run's outcome (reminder-cron status), then try again.`,
    dispatched: `Run ${run.id} (dispatched ${utc(run.triggered_at)}) has no answer yet; ${reconcileJobName} records it within a minute, or fails it after 120 s: see reminder-cron status.`,
    running:
      `Run ${run.id} was answered 202: the reminder function carries on with it, and ${reconcileJobName} records its outcome from public.reminder_runs ` +
      `(or fails it ${runOutcomeDeadlineSeconds} s after its trigger): see reminder-cron status.`,
  };
  return {
    exitCode: run.status === "succeeded" || run.status === "dispatched" || run.status === "running" ? exitCodes.ok : exitCodes.alert,
    json: { run: runView(run, reminders) },
    text: said[run.status],
  };
}
