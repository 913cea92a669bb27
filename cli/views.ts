/** The --json shapes: camelCase, ISO timestamps in UTC, numbers for ids and durations. */
import { runDurationMs } from "./format";
import { FunctionRunRow, JobRow, RunRow } from "./queries";

export interface RunView {
  id: number;
  jobName: string;
  triggeredAt: string;
  status: RunRow["status"];
  httpStatus: number | null;
  finishedAt: string | null;
  durationMs: number | null;
  error: string | null;
  catchUpOf: string | null;
  /** What the reminder function recorded for this run (public.reminder_runs); null when it recorded nothing. */
  reminders: ReminderRunView | null;
}

export interface ReminderRunView {
  runId: number;
  status: FunctionRunRow["status"];
  /** Active assignments due; reminders created; due ones already reminded. */
  evaluated: number | null;
  created: number | null;
  skipped: number | null;
  durationMs: number | null;
  error: string | null;
}

export const reminderRunView = (run: FunctionRunRow): ReminderRunView => ({
  runId: Number(run.id),
  status: run.status,
  evaluated: run.evaluated,
  created: run.created,
  skipped: run.skipped,
  durationMs: run.duration_ms,
  error: run.error_message,
});

/** The function's runs by the log run that triggered them (the latest, should the function have run twice). */
export function byLogRun(functionRuns: FunctionRunRow[]): Map<string, FunctionRunRow> {
  const map = new Map<string, FunctionRunRow>();
  for (const run of [...functionRuns].sort((a, b) => new Date(b.started_at).getTime() - new Date(a.started_at).getTime())) {
    if (run.cron_run_id !== null && !map.has(String(run.cron_run_id))) map.set(String(run.cron_run_id), run);
  }
  return map;
}

const iso = (at: Date | null) => (at === null ? null : new Date(at).toISOString());

export function runView(run: RunRow, functionRun?: FunctionRunRow): RunView {
  return {
    id: Number(run.id),
    jobName: run.job_name,
    triggeredAt: new Date(run.triggered_at).toISOString(),
    status: run.status,
    httpStatus: run.http_status,
    finishedAt: iso(run.finished_at),
    durationMs: runDurationMs(run),
    error: run.error_message,
    catchUpOf: iso(run.catch_up_of),
    reminders: functionRun ? reminderRunView(functionRun) : null,
  };
}

export interface JobView {
  id: number;
  name: string;
  schedule: string;
  active: boolean;
  owner: string;
}

export const jobView = (job: JobRow): JobView => ({ id: Number(job.jobid), name: job.jobname, schedule: job.schedule, active: job.active, owner: job.username });
