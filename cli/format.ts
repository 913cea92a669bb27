/** How the CLI writes times, durations, runs and tables for a person; --json output uses views.ts instead. */
import { FunctionRunRow, RunRow } from "./queries";

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

/** 6 h, 90 d: for settings, which are whole hours or days. */
export function humanInterval(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
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
  if (run.catch_up_of) notes.push(`catch-up of ${utc(run.catch_up_of)}`);
  if (run.error_message) notes.push(run.error_message);
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
      run.http_status === null ? "-" : String(run.http_status),
      duration === null ? "-" : humanDuration(duration),
      remindersCell(functionRuns.get(run.id)),
      runNote(run, noteLength),
    ];
  });
  return table(["run", "triggered (UTC)", "outcome", "http", "duration", "reminders", "note"], rows)
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}
