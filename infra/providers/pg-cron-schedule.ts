/**
 * What pg_cron accepts as a schedule, read off its parser (src/entry.c `parse_cron_entry`, and
 * src/job_metadata.c `TryParseInterval`), so `pulumi preview` refuses a bad expression with a reason
 * instead of the database refusing it halfway through `pulumi up`. infra/config.ts then has cron-parser
 * validate the same expression again, compute its next run and put it in words.
 *
 * No imports, on purpose: the CronJob provider's `check` uses this, and everything a provider references
 * is serialized into state with it.
 *
 * Where pg_cron is laxer than it should be, we refuse too, and say why:
 * - it ignores anything after the fifth field, so the six-field "0 0 6 * * *" (06:00 in cron-parser's
 *   seconds-first reading) would silently become "00:00 on the 6th of each month";
 * - it accepts a range whose start is after its end and then never runs the job;
 * - `@reboot` runs at scheduler start-up, never on a clock.
 */
/** A schedule pg_cron accepts, in the form cron-parser and cronstrue understand. */
export type ParsedSchedule =
  | { kind: "cron"; /** five fields; `$` (pg_cron's last day of month) as cron-parser's `L` */ expression: string }
  | { kind: "interval"; seconds: number };

interface Field {
  name: string;
  low: number;
  high: number;
  /** pg_cron's MonthNames / DowNames: three letters, any case, Sunday as 0 and 7. */
  names?: string[];
}

const fields: Field[] = [
  { name: "minute", low: 0, high: 59 },
  { name: "hour", low: 0, high: 23 },
  { name: "day of month", low: 1, high: 31 },
  { name: "month", low: 1, high: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] },
  { name: "day of week", low: 0, high: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"] },
];

/** pg_cron's @-names and the five fields each stands for (entry.c). */
const macros: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const example = "'0 6 * * *' (06:00 UTC daily)";

const versionParts = (version: string) => version.split(".").map((part) => Number.parseInt(part, 10) || 0);

/** True when pg_cron `version` (as in pg_extension.extversion, e.g. "1.4-1" or "1.6") is at least `wanted`. */
export function pgCronAtLeast(version: string, wanted: string): boolean {
  const [major, minor] = versionParts(version.replace(/-.*$/, ""));
  const [wantMajor, wantMinor] = versionParts(wanted);
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

function numberIn(field: Field, token: string): number | string {
  if (/^\d+$/.test(token)) {
    const value = Number(token);
    return value >= field.low && value <= field.high ? value : `${field.name} ${value} is outside ${field.low}-${field.high}`;
  }
  const named = field.names?.indexOf(token.toLowerCase()) ?? -1;
  if (named >= 0) return named + field.low;
  return field.names
    ? `${field.name} '${token}' is neither a number from ${field.low} to ${field.high} nor a three-letter name such as '${field.names[1]}'`
    : `${field.name} '${token}' is not a number from ${field.low} to ${field.high}`;
}

/** One field: a comma list of `*`, `n`, `n-m`, each range optionally `/step` (entry.c get_list/get_range). */
function fieldProblem(field: Field, text: string): string | undefined {
  for (const item of text.split(",")) {
    const match = /^(?:(\*)|([A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?)(?:\/(\d+))?$/.exec(item);
    if (!match) return `${field.name} '${item}' is not '*', a number, a range 'a-b' or a step '*/n' or 'a-b/n'`;
    const [, star, from, to, step] = match;
    if (step !== undefined && !star && to === undefined) {
      return `${field.name} '${item}' steps from a single value, which pg_cron refuses; write '${from}-${field.high}/${step}' or '*/${step}'`;
    }
    if (step !== undefined && Number(step) === 0) return `${field.name} '${item}' has a step of 0`;
    if (star) continue;
    const start = numberIn(field, from);
    if (typeof start === "string") return start;
    if (to === undefined) continue;
    const end = numberIn(field, to);
    if (typeof end === "string") return end;
    if (start > end) return `${field.name} range '${item}' starts after it ends, so the job would never run`;
  }
  return undefined;
}

function cronProblem(fiveFields: string[], pgCronVersion: string): string | undefined {
  for (const [index, field] of fields.entries()) {
    const text = fiveFields[index];
    if (index === 2 && text === "$") {
      if (!pgCronAtLeast(pgCronVersion, "1.6")) return `'$' (last day of the month) needs pg_cron 1.6 or later, not ${pgCronVersion}`;
      continue;
    }
    const problem = fieldProblem(field, text);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Parses `schedule` as the pg_cron `pgCronVersion` would, and refuses what it would refuse (plus the traps
 * above). Returns the parsed schedule, or a reason that names what is wrong and what to write instead.
 */
export function parseSchedule(schedule: string, pgCronVersion: string): { parsed: ParsedSchedule } | { problem: string } {
  const text = schedule.trim();
  if (text === "") return { problem: `it is empty; pg_cron needs five fields (minute hour day-of-month month day-of-week, UTC), e.g. ${example}` };

  const interval = /^(\d+)\s*seconds?$/i.exec(text);
  if (interval) {
    const seconds = Number(interval[1]);
    if (!pgCronAtLeast(pgCronVersion, "1.5")) return { problem: `'N seconds' schedules need pg_cron 1.5 or later, not ${pgCronVersion}` };
    if (seconds < 1 || seconds > 59) return { problem: `pg_cron runs 'N seconds' schedules for N from 1 to 59 only, not ${seconds}` };
    return { parsed: { kind: "interval", seconds } };
  }

  if (text.startsWith("@")) {
    const name = text.toLowerCase();
    if (name === "@reboot" || name === "@restart") return { problem: `${text} runs whenever pg_cron's scheduler starts, not on a clock; use a cron expression such as ${example}` };
    const expression = macros[name];
    if (!expression) return { problem: `pg_cron knows no '${text}'; it knows ${Object.keys(macros).join(", ")}` };
    return { parsed: { kind: "cron", expression } };
  }

  const parts = text.split(/\s+/);
  if (parts.length !== 5) {
    const hint = parts.length === 6 ? "; pg_cron has no seconds field and would read the first five fields only, shifting their meaning" : "";
    return { problem: `it has ${parts.length} fields; pg_cron needs exactly 5 (minute hour day-of-month month day-of-week, UTC)${hint}. Example: ${example}` };
  }
  const problem = cronProblem(parts, pgCronVersion);
  if (problem) return { problem };
  return { parsed: { kind: "cron", expression: parts.map((part, index) => (index === 2 && part === "$" ? "L" : part)).join(" ") } };
}

/** The text pg_cron should store: trimmed, fields separated by one space, so diffs compare like with like. */
export function normalizeSchedule(schedule: string): string {
  return schedule.trim().split(/\s+/).join(" ");
}
