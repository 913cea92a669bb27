/** How the CLI writes times, durations, runs and tables for a person; --json output uses views.ts instead. */
import { FunctionRunRow, RunRow, SeriesRow, Settings } from "./queries";
import type { HistoryDayView } from "./views";

/** 2026-11-28 06:00:00 UTC: the database session is UTC, and so is every printed time. */
export function utc(at: Date | string | null): string {
  if (at === null) return "-";
  return `${new Date(at).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

export function humanDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(abs / 60_000);
  if (minutes < 60) return `${minutes} min ${Math.floor((abs % 60_000) / 1000)} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** 6 h, 90 d, 1 min: for settings, which are whole days, hours or minutes. */
export function humanInterval(seconds: number): string {
  if (seconds === 0) return "0 s";
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return humanDuration(seconds * 1000);
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

export const runDurationMs = (run: RunRow): number | null =>
  run.finished_at ? new Date(run.finished_at).getTime() - new Date(run.triggered_at).getTime() : null;

function runNote(run: RunRow, noteLength: number): string {
  const notes: string[] = [];
  // A catch-up's reason says it is one, and why; with an error, the error is what the reader needs.
  if (run.catch_up_of && (run.error_message || !run.reason)) notes.push(`catch-up of ${utc(run.catch_up_of)}`);
  if (run.error_message) notes.push(run.error_message);
  else if (run.reason) notes.push(run.reason);
  const note = notes.join("; ");
  return note.length > noteLength ? `${note.slice(0, noteLength - 3)}...` : note;
}

/** What the reminder function did for a run, in a few words. */
export function remindersCell(run: FunctionRunRow | undefined): string {
  if (!run) return "-";
  if (run.status === "running") return "running";
  if (run.status !== "succeeded") return run.status;
  return `${run.created ?? 0} new of ${run.evaluated ?? 0} due`;
}

/** The runs as a table; notes are cut at `noteLength` (status) or kept whole (logs, where the fix is read). */
export function runsTable(runs: RunRow[], functionRuns: Map<string, FunctionRunRow>, noteLength = Infinity): string {
  if (runs.length === 0) return "  (no runs)";
  const rows = runs.map((run) => {
    const duration = runDurationMs(run);
    return [
      run.id,
      utc(run.triggered_at).replace(" UTC", ""),
      run.status,
      run.attempt === null ? "-" : String(run.attempt),
      run.http_status === null ? "-" : String(run.http_status),
      duration === null ? "-" : humanDuration(duration),
      remindersCell(functionRuns.get(run.id)),
      runNote(run, noteLength),
    ];
  });
  return table(["run", "triggered (UTC)", "outcome", "attempt", "http", "duration", "reminders", "note"], rows)
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}

/** 06:00 of a UTC time; with seconds when it has them (a retry's time is its failure's plus the wait). */
const clock = (at: Date | string, seconds = false) => `${new Date(at).toISOString().slice(11, seconds ? 19 : 16)} UTC`;

/** The settings line's retry part: `retries 5 (first after 1 min, doubling; none after 4 h)`. */
export function retriesSetting(settings: Settings): string {
  if (settings.retrySettingsProblem !== null) return "retries UNUSABLE (see the retry-settings-invalid alert)";
  if (settings.retries === null || settings.retryBackoffSeconds === null || settings.retryDeadlineSeconds === null) return "retries not installed";
  if (settings.retries === 0) return "retries none";
  const wait = `${settings.retries === 1 ? "after" : "first after"} ${humanInterval(settings.retryBackoffSeconds)}${settings.retries === 1 ? "" : ", doubling"}`;
  return `retries ${settings.retries} (${wait}; none after ${humanInterval(settings.retryDeadlineSeconds)})`;
}

const cut = (text: string, length: number) => (text.length > length ? `${text.slice(0, length - 3)}...` : text);

/**
 * The latest occurrence in one line, labelled by its day: `today       06:00 UTC: retrying (attempt 2 of 6,
 * next at 06:03:05 UTC); attempt 1 failed with HTTP 503: ...`. `byHand` says whether the run that ended it
 * served no occurrence, so a success by run-now is not called an attempt.
 */
export function seriesLine(series: SeriesRow | { problem: string }, now: Date, byHand = false): string {
  if ("problem" in series) return `${"series".padEnd(12)}UNKNOWN: the retry settings in Vault cannot be used (see the retry-settings-invalid alert)`;
  const { occurrence, state, detail } = series;
  const attempts = series.attempts ?? 0;
  const of = series.max_attempts === null ? "" : ` of ${series.max_attempts}`;
  const why = detail ? `: ${cut(detail, 200)}` : "";
  let label = "series";
  let subject = "";
  if (occurrence) {
    const day = new Date(occurrence).toISOString().slice(0, 10);
    const today = now.toISOString().slice(0, 10);
    const yesterday = new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
    label = day === today ? "today" : day === yesterday ? "yesterday" : day;
    subject = `${clock(occurrence)}: `;
  }
  const says = (() => {
    switch (state) {
      case "idle":
        return occurrence ? "not followed up: no run of the job was logged before it (a fresh install misses nothing)" : "no recent occurrence to follow up";
      case "due":
        return "due: pg_cron is starting it";
      case "in-flight":
        return attempts > 0 ? `in flight (attempt ${attempts}${of})` : `in flight (run ${series.last_run_id}, by hand)`;
      case "succeeded":
        return byHand || attempts === 0
          ? `succeeded by hand (run ${series.last_run_id})${attempts > 0 ? ` after ${attempts} failed attempt(s)` : ""}`
          : `succeeded at attempt ${attempts}${of}`;
      case "catch-up":
        return `catch-up due${why}`;
      case "retrying":
        return `retrying (attempt ${attempts + 1}${of}, next at ${series.next_attempt_at ? clock(series.next_attempt_at, true) : "-"})${detail ? `; ${cut(detail, 200)}` : ""}`;
      case "exhausted":
        return `retries exhausted: ${attempts}${of} attempts failed${detail ? `; ${cut(detail, 200)}` : ""}`;
      case "missed":
        return `missed${why}`;
      case "paused":
        return "paused: no run, catch-up or retry until reminder-cron resume";
      case "no-job":
        return "no such job";
    }
  })();
  return `${label.padEnd(11)} ${subject}${says}`;
}

/** The week, a line a day: `2026-12-06  06:00  3  retries exhausted  -`. */
export function historyTable(days: HistoryDayView[]): string {
  const times = (day: HistoryDayView) => {
    if (day.occurrences.length === 0) return "-";
    const shown = day.occurrences.slice(0, 3).map((at) => at.slice(11, 16));
    return day.occurrences.length > 3 ? `${shown.join(", ")} +${day.occurrences.length - 3} more` : shown.join(", ");
  };
  const rows = days.map((day) => [
    day.day,
    times(day),
    String(day.attempts),
    day.runsByHand > 0 ? `${day.outcome} (${day.runsByHand} by hand)` : day.outcome,
    day.remindersCreated === null ? "-" : String(day.remindersCreated),
  ]);
  return table(["day (UTC)", "at", "attempts", "outcome", "reminders created"], rows)
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}
