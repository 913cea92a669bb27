/** The --json shapes: camelCase, ISO timestamps in UTC, numbers for ids and durations. */
import { runDurationMs } from "./format";
import { FunctionRunRow, HistoryDayRow, JobRow, RunRow, SeriesRow } from "./queries";
import { occurrencesOn } from "./schedule";

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
  /** The scheduled time the run serves; null for a run by hand. */
  occurrence: string | null;
  /** 1 on schedule or its catch-up, then each retry; null for a skip or a run by hand. */
  attempt: number | null;
  /** Why it was dispatched. */
  reason: string | null;
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
    occurrence: iso(run.occurrence),
    attempt: run.attempt,
    reason: run.reason,
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

export interface SeriesView {
  occurrence: string | null;
  state: SeriesRow["state"];
  attempts: number | null;
  maxAttempts: number | null;
  nextAttemptAt: string | null;
  deadlineAt: string | null;
  lastRunId: number | null;
  detail: string | null;
}

export const seriesView = (row: SeriesRow): SeriesView => ({
  occurrence: iso(row.occurrence),
  state: row.state,
  attempts: row.attempts,
  maxAttempts: row.max_attempts,
  nextAttemptAt: iso(row.next_attempt_at),
  deadlineAt: iso(row.deadline_at),
  lastRunId: row.last_run_id === null ? null : Number(row.last_run_id),
  detail: row.detail,
});

export type DayOutcome =
  | "succeeded"
  | "failed"
  | "retrying"
  | "retries exhausted"
  | "in flight"
  | "skipped"
  | "no run"
  | "not yet"
  | "not scheduled that day";

export interface HistoryDayView {
  day: string;
  /** The occurrences the day's runs served; on a day without runs, those the current schedule has (up to 24). */
  occurrences: string[];
  attempts: number;
  outcome: DayOutcome;
  /** Runs that served no occurrence: by hand, or logged before runs named their occurrence. */
  runsByHand: number;
  remindersCreated: number | null;
}

export const historyDays = 7;
const dayMs = 86_400_000;
const maxListedOccurrences = 24;

/** UTC midnight of the oldest day the history shows: today and the six before it. */
export const historyStart = (now: Date) => new Date(Math.floor(now.getTime() / dayMs) * dayMs - (historyDays - 1) * dayMs);

function failedOutcome(row: HistoryDayRow, series: SeriesRow | null, maxAttempts: number | null): DayOutcome {
  const served = series?.occurrence ? row.occurrences.some((at) => new Date(at).getTime() === new Date(series.occurrence!).getTime()) : false;
  if (served && series?.state === "retrying") return "retrying";
  if (served && series?.state === "exhausted") return "retries exhausted";
  // An older day's series is over: it ran out of attempts if its last one was the last allowed. The limit
  // read is today's, so a day before the limit changed may be called merely failed.
  if (maxAttempts !== null && row.last_attempt !== null && row.last_attempt >= maxAttempts) return "retries exhausted";
  return "failed";
}

/**
 * The last seven UTC days, newest first. The log says what ran; the schedule as it is now tells a day it
 * should have run ("no run") from one it never runs on. `maxAttempts` is 1 + the retry limit, null if unknown.
 */
export function historyView(rows: HistoryDayRow[], schedule: string | null, series: SeriesRow | null, maxAttempts: number | null, now: Date): HistoryDayView[] {
  const start = historyStart(now);
  const days: HistoryDayView[] = [];
  for (let i = historyDays - 1; i >= 0; i--) {
    const dayStart = new Date(start.getTime() + i * dayMs);
    const day = dayStart.toISOString().slice(0, 10);
    const row = rows.find((r) => r.day === day);
    if (row && row.succeeded + row.failed + row.in_flight + row.skipped > 0) {
      const outcome: DayOutcome =
        row.succeeded > 0 ? "succeeded" : row.in_flight > 0 ? "in flight" : row.failed > 0 ? failedOutcome(row, series, maxAttempts) : "skipped";
      days.push({
        day,
        occurrences: row.occurrences.map((at) => new Date(at).toISOString()),
        attempts: row.attempts,
        outcome,
        runsByHand: row.unscheduled,
        remindersCreated: row.reminders_created,
      });
      continue;
    }
    const scheduled = schedule === null ? null : occurrencesOn(schedule, dayStart);
    // An occurrence of the last minute is pg_cron's to start still: not yet a missing run.
    const past = (scheduled ?? []).filter((at) => at.getTime() <= now.getTime() - 60_000);
    const outcome: DayOutcome =
      scheduled === null ? "no run" : past.length > 0 ? "no run" : scheduled.length > 0 ? "not yet" : "not scheduled that day";
    days.push({
      day,
      occurrences: (scheduled ?? []).slice(0, maxListedOccurrences).map((at) => at.toISOString()),
      attempts: 0,
      outcome,
      runsByHand: 0,
      remindersCreated: null,
    });
  }
  return days;
}
