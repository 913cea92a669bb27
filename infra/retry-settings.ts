/**
 * The retry settings as a person types them in the stack config, and the database's one check of them
 * (public.reminder_cron_retry_problem, infra/sql/operations-migration.ts) ported rule for rule and sentence
 * for sentence: what `pulumi up` would write to Vault is refused here, before anything changes, exactly
 * where the catch-up job would later refuse it. tests/integration/retry-settings.test.ts holds the two to
 * the same verdicts.
 */
import { intervalSettings, maximumRetries, retryLimitSetting } from "./sql/operations-names";

/** An interval read as PostgreSQL reads it: days and the time of day apart, as interval_out prints them. */
export interface Interval {
  /** As Vault will hold it: one `<number> <unit>` per unit, largest first, e.g. '1 hour 30 minutes'. */
  text: string;
  days: number;
  /** The time part, in seconds; may exceed a day ('36 hours'), as in PostgreSQL. */
  time: number;
  /** days as 24 hours each: the database compares from now() in UTC, where every day has 24 hours. */
  seconds: number;
}

const units = [
  { name: "day", seconds: 86_400, words: ["days", "day", "d"] },
  { name: "hour", seconds: 3_600, words: ["hours", "hour", "h"] },
  { name: "minute", seconds: 60, words: ["minutes", "minute", "mins", "min", "m"] },
  { name: "second", seconds: 1, words: ["seconds", "second", "secs", "sec", "s"] },
] as const;

const example = "'1 minute', '90 seconds' or '1 hour 30 minutes'";
const unitWords = "second(s)/sec(s)/s, minute(s)/min(s)/m, hour(s)/h or day(s)/d";

/**
 * Reads what a person types for a wait: one or more `<whole number> <unit>` pairs, or 0. Only what
 * PostgreSQL reads the same way is taken: no months or years (no fixed length), no fractions, no unit twice
 * (PostgreSQL refuses that), no bare number but 0 (PostgreSQL would read seconds where a person meant minutes).
 */
export function readInterval(typed: string): { interval: Interval } | { problem: string } {
  const text = typed.trim().toLowerCase();
  if (/^[+-]?0+$/.test(text)) return { interval: { text: "0", days: 0, time: 0, seconds: 0 } };
  if (/^[+-]?\d+$/.test(text)) return { problem: `is a number without a unit, which PostgreSQL would read as seconds; write the unit, e.g. '${Number(text)} minutes'` };
  if (/\d[.,]\d/.test(text)) return { problem: `holds a fraction; write whole numbers, a smaller unit for the rest, e.g. '1 hour 30 minutes' or ${example}` };
  if (!/^[+-]?\d+\s*[a-z]+(\s+[+-]?\d+\s*[a-z]+)*$/.test(text)) {
    return { problem: `is not a wait such as ${example}: write one or more whole numbers, each with its unit, ${unitWords}` };
  }
  const amounts = new Map<(typeof units)[number]["name"], number>();
  for (const [, number, word] of text.matchAll(/([+-]?\d+)\s*([a-z]+)/g)) {
    const unit = units.find((u) => (u.words as readonly string[]).includes(word));
    if (!unit) return { problem: `has the unit '${word}', which is not taken here (a month or a year has no fixed length); use ${unitWords}` };
    if (amounts.has(unit.name)) return { problem: `gives ${unit.name}s twice, which PostgreSQL refuses; give each unit once, e.g. '1 hour 30 minutes'` };
    if (number.replace(/^[+-]?0*/, "").length > 7) return { problem: `holds ${number}, more than anyone waits; give a smaller number` };
    amounts.set(unit.name, Number(number));
  }
  const parts = units.filter((u) => amounts.has(u.name)).map((u) => ({ unit: u, amount: amounts.get(u.name)! }));
  const days = amounts.get("day") ?? 0;
  const time = parts.filter((p) => p.unit.name !== "day").reduce((sum, p) => sum + p.amount * p.unit.seconds, 0);
  return {
    interval: {
      text: parts.map((p) => `${p.amount} ${p.unit.name}${Math.abs(p.amount) === 1 ? "" : "s"}`).join(" "),
      days,
      time,
      seconds: days * 86_400 + time,
    },
  };
}

/** The words for a number of seconds, as a person (and readInterval) would write them, e.g. '2 hours 30 minutes'. */
export function intervalWords(seconds: number): string {
  if (seconds === 0) return "0";
  const parts: string[] = [];
  let rest = seconds;
  for (const unit of units) {
    // Whole days only when nothing smaller is left: '36 hours' reads better than '1 day 12 hours'.
    if (unit.name === "day" && rest % unit.seconds !== 0) continue;
    const amount = Math.trunc(rest / unit.seconds);
    if (amount !== 0) parts.push(`${amount} ${unit.name}${Math.abs(amount) === 1 ? "" : "s"}`);
    rest -= amount * unit.seconds;
  }
  return parts.join(" ");
}

/** An interval as PostgreSQL prints it (IntervalStyle postgres): '1 day 02:00:00', '-00:01:00', '36:00:00'. */
export function postgresIntervalText(days: number, time: number): string {
  const parts: string[] = [];
  if (days !== 0) parts.push(`${days} day${days === 1 ? "" : "s"}`);
  if (days === 0 || time !== 0) {
    const sign = time < 0 ? "-" : days < 0 ? "+" : "";
    const abs = Math.abs(time);
    const two = (n: number) => String(n).padStart(2, "0");
    parts.push(`${sign}${two(Math.floor(abs / 3600))}:${two(Math.floor((abs % 3600) / 60))}:${two(abs % 60)}`);
  }
  return parts.join(" ");
}

/** Which setting a refusal is about, for the fix; the sentence itself names the Vault secrets. */
export type RetrySetting = "retries" | "backoff" | "deadline";

export type RetryFix =
  /** Set the named setting back to its default. */
  | { kind: "default"; settings: RetrySetting[] }
  /** retries 0 with a back-off: either retry again, or drop the back-off too. */
  | { kind: "retry-or-not" }
  /** A deadline under the schedule's shortest gap, e.g. this many seconds. */
  | { kind: "deadline-under"; gapSeconds: number; suggestedSeconds: number };

export interface RetryProblem {
  setting: RetrySetting;
  /** The database's sentence up to its "Fix:", word for word. */
  sentence: string;
  fix: RetryFix;
}

export interface RetryPolicy {
  retries: number;
  backoff: Interval;
  deadline: Interval;
}

const { retryBackoff, retryDeadline } = intervalSettings;
const limitName = retryLimitSetting.secret;
const quoted = (interval: Interval) => `'${postgresIntervalText(interval.days, interval.time)}'`;

/**
 * Why a retry policy cannot hold for a schedule (given by its text and shortest gap in seconds), in the
 * database's order and words. The first problem is the one reminder_cron_retry_problem names; after it come
 * the other settings out of range on their own, so a person fixes every key in one go. Empty when it holds.
 */
export function retryPolicyProblems(policy: RetryPolicy, schedule?: { expression: string; gapSeconds: number | undefined }): RetryProblem[] {
  const { retries, backoff, deadline } = policy;
  const ranges = retryRangeProblems(policy);
  if (ranges.length > 0) return ranges;

  if (retries === 0 && backoff.seconds > 0) {
    return [
      {
        setting: "retries",
        sentence: `${limitName} is 0 (no retries), yet ${retryBackoff.secret} is ${quoted(backoff)}: a back-off with nothing to retry is a setting half-changed.`,
        fix: { kind: "retry-or-not" },
      },
    ];
  }
  if (retries > 0 && deadline.seconds < 60) {
    return [
      {
        setting: "deadline",
        sentence: `${retryDeadline.secret} is ${quoted(deadline)}: retries are looked for once a minute, so give at least 1 minute.`,
        fix: { kind: "default", settings: ["deadline"] },
      },
    ];
  }
  if (retries > 0 && deadline.seconds < backoff.seconds) {
    return [
      {
        setting: "deadline",
        sentence: `${retryDeadline.secret} is ${quoted(deadline)}, shorter than the first retry's wait (${retryBackoff.secret} ${quoted(backoff)}), so no retry would ever run.`,
        fix: { kind: "default", settings: ["backoff", "deadline"] },
      },
    ];
  }
  const gap = schedule?.gapSeconds;
  if (retries > 0 && schedule !== undefined && gap !== undefined && deadline.seconds >= gap) {
    return [
      {
        setting: "deadline",
        sentence:
          `${retryDeadline.secret} is ${quoted(deadline)}, which reaches the next occurrence: schedule '${schedule.expression}' runs as little as ${postgresIntervalText(0, gap)} apart, ` +
          `and the retries of one occurrence would run into the next.`,
        // The database suggests least(the default, half the gap); an odd gap's half rounds down to whole seconds.
        fix: { kind: "deadline-under", gapSeconds: gap, suggestedSeconds: Math.min(readDefault(retryDeadline.default), Math.floor(gap / 2)) },
      },
    ];
  }
  return [];
}

/** The settings out of range on their own, each checked where it could be read: the database's first three rules. */
export function retryRangeProblems({ retries, backoff, deadline }: Partial<RetryPolicy>): RetryProblem[] {
  const ranges: RetryProblem[] = [];
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0 || retries > maximumRetries)) {
    ranges.push({ setting: "retries", sentence: `${limitName} is ${retries}: give 0 (no retries) to ${maximumRetries}.`, fix: { kind: "default", settings: ["retries"] } });
  }
  if (backoff !== undefined && backoff.seconds < 0) {
    ranges.push({ setting: "backoff", sentence: `${retryBackoff.secret} is ${quoted(backoff)}: a wait cannot be negative.`, fix: { kind: "default", settings: ["backoff"] } });
  }
  if (deadline !== undefined && deadline.seconds < 0) {
    ranges.push({ setting: "deadline", sentence: `${retryDeadline.secret} is ${quoted(deadline)}: a deadline cannot be negative.`, fix: { kind: "default", settings: ["deadline"] } });
  }
  return ranges;
}

function readDefault(text: string): number {
  const read = readInterval(text);
  if (!("interval" in read)) throw new Error(`The default '${text}' is not an interval readInterval takes: ${read.problem}`);
  return read.interval.seconds;
}
