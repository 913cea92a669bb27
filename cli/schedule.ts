/**
 * A schedule as an operator reads it: the expression, in words, and its next run in UTC, the time zone
 * pg_cron reads schedules in here. Both come from pg_cron's own reading of what cron.job holds
 * (infra/providers/pg-cron-schedule.ts `readAsPgCron`), so a schedule pg_cron runs is shown as it runs,
 * including ones the stack itself would refuse to set.
 */
import { CronFields, nextRun as nextMinute, ParsedSchedule, readAsPgCron, runsAt } from "../infra/providers/pg-cron-schedule";
import { scheduleWords } from "../infra/schedule-words";

export interface ScheduleView {
  expression: string;
  /** In words, e.g. "At 06:00"; null when it cannot be put in words. */
  description: string | null;
  timeZone: "UTC";
  /** The next run after `now`; null when paused or when it never runs on a clock. */
  nextRun: string | null;
}

/** Reading a schedule pg_cron already stored needs no version check: the newest pg_cron's reading. */
const newestVersion = "1.6.5";

function held(expression: string): ParsedSchedule | undefined {
  const reading = readAsPgCron(expression, newestVersion);
  if (!("entry" in reading)) return undefined;
  const { entry } = reading;
  if (entry.kind === "interval") return { kind: "interval", expression, seconds: entry.seconds };
  const { kind: _kind, ...fields } = entry;
  return { kind: "cron", expression, fields: fields as CronFields };
}

export function describe(expression: string): string | null {
  const parsed = held(expression);
  return (parsed && scheduleWords(parsed)) ?? null;
}

/** The next run after `now`; throws a message that says why when there is none. */
export function nextRun(expression: string, now: Date = new Date()): Date {
  const parsed = held(expression);
  if (!parsed) throw new Error(`pg_cron cannot read '${expression}'`);
  if (parsed.kind === "interval") return new Date(now.getTime() + parsed.seconds * 1000);
  const next = nextMinute(parsed.fields, now);
  if (!next) throw new Error(`'${expression}' never runs on a clock`);
  return next;
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

/**
 * The minutes of one UTC day (from `day`, a UTC midnight) the schedule runs at, in order; null when that
 * cannot be told: an interval schedule runs from when it was set, not at times of day, and an unreadable
 * one not at all.
 */
export function occurrencesOn(expression: string, day: Date): Date[] | null {
  const parsed = held(expression);
  if (!parsed || parsed.kind === "interval") return null;
  const found: Date[] = [];
  for (const hour of [...new Set(parsed.fields.hours)].sort((a, b) => a - b)) {
    for (const minute of [...new Set(parsed.fields.minutes)].sort((a, b) => a - b)) {
      const at = new Date(day.getTime() + hour * 3_600_000 + minute * 60_000);
      if (runsAt(parsed.fields, at)) found.push(at);
    }
  }
  return found;
}
