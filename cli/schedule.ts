/**
 * A schedule as an operator reads it: the expression, in words (cronstrue), and its next run in UTC
 * (cron-parser), which is the time zone pg_cron reads schedules in here. pg_cron's own grammar, and its
 * differences from cron-parser's ('$' for the last day, the @ names), are infra/providers/pg-cron-schedule.ts.
 */
import { CronExpressionParser } from "cron-parser";
import cronstrue from "cronstrue";
import { parseSchedule } from "../infra/providers/pg-cron-schedule";

export interface ScheduleView {
  expression: string;
  /** In words, e.g. "At 06:00"; null when it cannot be put in words. */
  description: string | null;
  timeZone: "UTC";
  /** The next run after `now`; null when paused or when it cannot be computed. */
  nextRun: string | null;
}

/** Any version: reading a schedule pg_cron already stored needs no version check. */
const anyVersion = "99";

/** The expression in cron-parser's and cronstrue's dialect, or undefined for a seconds or unknown schedule. */
function forParsers(expression: string): string | undefined {
  const result = parseSchedule(expression, anyVersion);
  return "parsed" in result && result.parsed.kind === "cron" ? result.parsed.expression : undefined;
}

export function describe(expression: string): string | null {
  const interval = /^\s*(\d+)\s*seconds?\s*$/i.exec(expression);
  if (interval) return `Every ${interval[1]} seconds`;
  const readable = forParsers(expression);
  if (!readable) return null;
  try {
    return cronstrue.toString(readable, { use24HourTimeFormat: true, throwExceptionOnParseError: true });
  } catch {
    return null;
  }
}

/** Throws a message that says why when there is no next run (a range that matches nothing, say). */
export function nextRun(expression: string, now: Date = new Date()): Date {
  const readable = forParsers(expression);
  if (!readable) throw new Error(`'${expression}' is not a five-field schedule pg_cron runs on a clock`);
  return CronExpressionParser.parse(readable, { tz: "UTC", currentDate: now }).next().toDate();
}

export function scheduleView(expression: string, active: boolean, now: Date = new Date()): ScheduleView {
  let next: string | null = null;
  if (active) {
    try {
      next = nextRun(expression, now).toISOString();
    } catch {
      next = null;
    }
  }
  return { expression, description: describe(expression), timeZone: "UTC", nextRun: next };
}
