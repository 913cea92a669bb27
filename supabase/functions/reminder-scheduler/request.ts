/**
 * The body a reminder run is started with. pg_cron's trigger sends
 *   {"job_name": "daily-reminder-eval", "run_id": <cron_execution_log id>, "triggered_at": "<timestamptz>"}
 * and a manual `supabase functions invoke` / supabase-js `functions.invoke` may send any part of it, or no
 * body at all. Anything else is refused with a message that names the bad value and the fix.
 */

export interface RunRequest {
  /** Recorded on the run; "manual" when the caller names none. */
  jobName: string;
  /** The cron_execution_log id of the triggering invocation, when pg_cron triggered the run. */
  cronRunId: number | null;
  /** When the run was triggered, with its time zone; the run evaluates that moment's UTC day. Null: now. */
  triggeredAt: string | null;
}

export type ParsedRunRequest = { ok: true; request: RunRequest } | { ok: false; error: string };

export const defaultJobName = "manual";
const fields = ["job_name", "run_id", "triggered_at"];
const maxJobNameLength = 200;
/** A trigger's clock may run a little ahead of the function's; more than this is a mistake, not skew. */
const futureToleranceMs = 5 * 60 * 1000;
const timestampWithZone = /^(\d{4})-(\d{2})-(\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i;
const expectedShape = `{"job_name": "<text>", "run_id": <integer>, "triggered_at": "<timestamp with time zone>"}, every field optional, or an empty body`;

/** Shows a bad value in an error without flooding it. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Milliseconds since the epoch of an ISO 8601 / PostgreSQL timestamp with a zone, or undefined. Postgres
 * writes "+00" offsets, which JavaScript does not read, and JavaScript reads "02-30" as March 2, which
 * Postgres refuses: both are settled here so the database never sees a timestamp it would reject.
 */
function parseTimestamp(text: string): number | undefined {
  const match = timestampWithZone.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const calendarDay = new Date(Date.UTC(year, month - 1, day));
  if (calendarDay.getUTCFullYear() !== year || calendarDay.getUTCMonth() !== month - 1 || calendarDay.getUTCDate() !== day) return undefined;
  const millis = Date.parse(text.replace(" ", "T").replace(/([+-]\d{2})$/, "$1:00"));
  return Number.isNaN(millis) ? undefined : millis;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

export function parseRunRequest(text: string, now: number = Date.now()): ParsedRunRequest {
  if (text.trim() === "") return { ok: true, request: { jobName: defaultJobName, cronRunId: null, triggeredAt: null } };

  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `The request body is not valid JSON (${(error as Error).message}). Send ${expectedShape}.` };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, error: `The request body is ${describe(body)}, not a JSON object. Send ${expectedShape}.` };
  }

  const record = body as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !fields.includes(key));
  if (unknown.length > 0) {
    return {
      ok: false,
      error: `Unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map(shown).join(", ")} in the request body; the supported fields are ${fields.map(shown).join(", ")}.`,
    };
  }

  const jobName = record.job_name ?? defaultJobName;
  if (typeof jobName !== "string" || jobName.trim() === "" || jobName.length > maxJobNameLength) {
    return { ok: false, error: `job_name must be a non-empty string of at most ${maxJobNameLength} characters, got ${shown(record.job_name)}.` };
  }

  const cronRunId = record.run_id ?? null;
  if (cronRunId !== null && !(typeof cronRunId === "number" && Number.isSafeInteger(cronRunId) && cronRunId > 0)) {
    return { ok: false, error: `run_id must be a positive integer (the cron_execution_log id of the trigger), got ${shown(record.run_id)}; leave it out for a manual run.` };
  }

  const triggeredAt = record.triggered_at ?? null;
  if (triggeredAt !== null) {
    const moment = typeof triggeredAt === "string" ? parseTimestamp(triggeredAt.trim()) : undefined;
    if (typeof triggeredAt !== "string" || moment === undefined) {
      return {
        ok: false,
        error: `triggered_at must be a timestamp with a time zone, such as "2026-11-28T06:00:00Z", got ${shown(record.triggered_at)}; leave it out to evaluate today.`,
      };
    }
    if (moment > now + futureToleranceMs) {
      return {
        ok: false,
        error: `triggered_at ${shown(triggeredAt)} is in the future, and a run evaluates the UTC day it was triggered; send the time of the trigger, or leave triggered_at out to evaluate today.`,
      };
    }
  }

  return { ok: true, request: { jobName, cronRunId, triggeredAt: triggeredAt === null ? null : triggeredAt.trim() } };
}
