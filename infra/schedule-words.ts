/**
 * A schedule in words, as pg_cron runs it. cronstrue writes the words, but from an expression rebuilt out of
 * what pg_cron read (pg-cron-schedule.ts), not from the text: cronstrue knows neither pg_cron's numbers
 * (`00000`, atoi's wrap-around), nor '$', nor its day rule, and reads both day fields as "either" where
 * pg_cron requires both (a day field starting with '*'). That one case is worded here.
 */
import cronstrue from "cronstrue";
import { CronFields, ParsedSchedule } from "./providers/pg-cron-schedule";

const weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** A set of values as cron text cronstrue reads: '*', 'a-b/s', or a list of ranges and values. */
function cronText(values: number[], low: number, high: number): string {
  if (values.length === high - low + 1) return "*";
  if (values.length >= 3) {
    const step = values[1] - values[0];
    if (step > 1 && values.every((v, i) => v === values[0] + i * step)) {
      return values[0] === low && values[values.length - 1] + step > high ? `*/${step}` : `${values[0]}-${values[values.length - 1]}/${step}`;
    }
  }
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j] + 1) j++;
    parts.push(j - i >= 2 ? `${values[i]}-${values[j]}` : values.slice(i, j + 1).join(","));
    i = j + 1;
  }
  return parts.join(",");
}

/** The words for five-field schedules; undefined when pg_cron never runs it on a clock. */
function cronWords(fields: CronFields, verbose: boolean): string | undefined {
  const days = [...new Set(fields.daysOfWeek.map((d) => d % 7))].sort((a, b) => a - b);
  if (fields.reboot || [fields.minutes, fields.hours, fields.months].some((f) => f.length === 0)) return undefined;
  if (fields.daysOfMonth.length === 0 && !fields.domLast) return undefined;
  const allDays = fields.daysOfMonth.length === 31 && !fields.domLast;
  const allWeekdays = days.length === 7;
  const both = fields.domStar || fields.dowStar;
  let dom = fields.domLast ? "L" : cronText(fields.daysOfMonth, 1, 31);
  let dow = days.length === 0 ? undefined : cronText(days, 0, 6);
  let onlyIf = "";
  if (both) {
    if (dow === undefined) return undefined;
    if (allDays) dom = "*";
    else if (allWeekdays) dow = "*";
    else {
      // pg_cron: both must match. cronstrue would write "…, and on Monday", which reads as either.
      onlyIf = `, if it is a ${days.map((d) => weekdays[d]).join(" or ")}`;
      dow = "*";
    }
  } else if (allDays || allWeekdays) {
    dom = "*";
    dow = "*";
  } else if (dow === undefined) {
    dow = "*";
  }
  const expression = [cronText(fields.minutes, 0, 59), cronText(fields.hours, 0, 23), dom, cronText(fields.months, 1, 12), dow].join(" ");
  try {
    return cronstrue.toString(expression, { use24HourTimeFormat: true, verbose, throwExceptionOnParseError: true }) + onlyIf;
  } catch {
    return undefined;
  }
}

/** e.g. "At 06:00, every day"; undefined when it cannot be put in words (it never runs on a clock). */
export function scheduleWords(parsed: ParsedSchedule, options: { verbose?: boolean } = {}): string | undefined {
  if (parsed.kind === "interval") return `Every ${parsed.seconds} second${parsed.seconds === 1 ? "" : "s"}`;
  return cronWords(parsed.fields, options.verbose ?? false);
}
