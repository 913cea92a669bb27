/**
 * `logs --since`: a duration back from now (90s, 30m, 24h, 7d, 2w, or combined: 1h30m) or a timestamp in
 * UTC (2026-11-28, 2026-11-28T06:00, 2026-11-28 06:00:00Z, or with an explicit offset).
 */
import { cliError, exitCodes } from "./exit-codes";

const unitMs: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const durationShape = /^(\d+[smhdw])+$/;
const timestampShape = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

function bad(value: string, why: string): Error {
  return cliError(
    exitCodes.usage,
    `--since ${JSON.stringify(value)} ${why}: give a duration back from now (30m, 24h, 7d, 1h30m) or a UTC timestamp (2026-11-28T06:00:00Z).`,
  );
}

export function parseSince(value: string, now: Date = new Date()): Date {
  const text = value.trim();
  if (durationShape.test(text)) {
    const ms = [...text.matchAll(/(\d+)([smhdw])/g)].reduce((sum, [, n, unit]) => sum + Number(n) * unitMs[unit], 0);
    if (ms === 0) throw bad(value, "is a duration of zero");
    return new Date(now.getTime() - ms);
  }
  const match = timestampShape.exec(text);
  if (!match) throw bad(value, "is neither a duration nor a timestamp");
  const [, date, time, zone] = match;
  const [year, month, day] = date.split("-").map(Number);
  const calendar = new Date(Date.UTC(year, month - 1, day));
  // No zone means UTC, as every time the CLI prints is UTC.
  const at = new Date(`${date}T${time ?? "00:00"}${zone ? zone.toUpperCase().replace(/^([+-]\d{2})(\d{2})$/, "$1:$2") : "Z"}`);
  if (Number.isNaN(at.getTime()) || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) {
    throw bad(value, "is not a real date and time");
  }
  if (at.getTime() > now.getTime()) throw bad(value, "is in the future");
  return at;
}
