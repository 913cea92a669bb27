/**
 * The catch-up's reading of a schedule, in SQL (public.cron_previous_occurrence): the last minute at which
 * pg_cron runs a job. Checked on named cases, then against cron-parser on a few hundred random expressions
 * of the grammar both share, so the SQL matcher cannot drift from what the CLI prints as the next run.
 */
import { CronExpressionParser } from "cron-parser";
import { withClient } from "../support/db";

const previous = (expression: string, at: string, horizon = "8 days", zone = "GMT") =>
  withClient(async (client) => {
    const { rows } = await client.query("select public.cron_previous_occurrence($1, $2, $3::interval, $4) as at", [expression, at, horizon, zone]);
    return rows[0].at === null ? null : (rows[0].at as Date).toISOString();
  });

test.each([
  ["0 6 * * *", "2026-11-28T07:00:00Z", "2026-11-28T06:00:00.000Z"],
  ["0 6 * * *", "2026-11-28T06:00:00Z", "2026-11-28T06:00:00.000Z"],
  ["0 6 * * *", "2026-11-28T05:59:59Z", "2026-11-27T06:00:00.000Z"],
  // Monday 05:00: the weekday schedule last ran on Friday.
  ["0 6 * * 1-5", "2026-11-30T05:00:00Z", "2026-11-27T06:00:00.000Z"],
  ["0 6 * * mon-fri", "2026-11-30T05:00:00Z", "2026-11-27T06:00:00.000Z"],
  // Day of month and day of week both restricted: either matches (the 15th, or a Monday).
  ["0 6 15 * mon", "2026-11-28T12:00:00Z", "2026-11-23T06:00:00.000Z"],
  ["0 6 27 * mon", "2026-11-28T12:00:00Z", "2026-11-27T06:00:00.000Z"],
  // Sunday as 7 and as 0.
  ["0 6 * * 7", "2026-11-30T12:00:00Z", "2026-11-29T06:00:00.000Z"],
  ["0 6 * * 0", "2026-11-30T12:00:00Z", "2026-11-29T06:00:00.000Z"],
  ["*/15 * * * *", "2026-11-28T06:44:59Z", "2026-11-28T06:30:00.000Z"],
  ["5-50/20 * * * *", "2026-11-28T06:44:00Z", "2026-11-28T06:25:00.000Z"],
  ["@daily", "2026-11-28T07:00:00Z", "2026-11-28T00:00:00.000Z"],
  ["@hourly", "2026-11-28T07:30:00Z", "2026-11-28T07:00:00.000Z"],
  ["0 6 * dec *", "2026-11-28T07:00:00Z", null],
  // pg_cron 1.6's last day of the month.
  ["0 6 $ * *", "2026-12-01T12:00:00Z", "2026-11-30T06:00:00.000Z"],
  ["30 seconds", "2026-11-28T07:00:00Z", null],
  ["@reboot", "2026-11-28T07:00:00Z", null],
])("%s, at or before %s: %s", async (expression, at, expected) => {
  expect(await previous(expression, at)).toBe(expected);
});

test("the horizon bounds the search: yesterday's 06:00 is 23 hours before 05:00", async () => {
  expect(await previous("0 6 * * *", "2026-11-28T05:00:00Z", "22 hours 59 minutes")).toBeNull();
  expect(await previous("0 6 * * *", "2026-11-28T05:00:00Z", "23 hours")).toBe("2026-11-27T06:00:00.000Z");
});

test("with pg_cron 1.5+'s cron.timezone, 06:00 in Oslo in winter is 05:00 UTC", async () => {
  expect(await previous("0 6 * * *", "2026-11-28T12:00:00Z", "1 day", "Europe/Oslo")).toBe("2026-11-28T05:00:00.000Z");
});

/** A small deterministic generator (mulberry32), so a failure names an expression that fails again. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generator(next: () => number) {
  const int = (low: number, high: number) => low + Math.floor(next() * (high - low + 1));
  const item = (low: number, high: number, names?: string[]) => {
    const value = (n: number) => (names && next() < 0.3 ? names[n - low] : String(n));
    const a = int(low, high);
    const b = int(a, high);
    switch (int(0, 4)) {
      case 0:
        return value(a);
      case 1:
        return `${value(a)}-${value(b)}`;
      case 2:
        return `${a}-${b}/${int(1, 7)}`;
      case 3:
        return `*/${int(1, 20)}`;
      default:
        return "*";
    }
  };
  const field = (low: number, high: number, names?: string[], starStepAllowed = true) => {
    if (next() < 0.35) return "*";
    const items = [...new Set(Array.from({ length: int(1, 3) }, () => item(low, high, names)))].filter((i) => starStepAllowed || !i.startsWith("*/"));
    return items.length === 0 || items.includes("*") ? "*" : items.join(",");
  };
  const months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
  const days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
  // A stepped '*' in a day field counts as unrestricted for pg_cron (vixie) but not for cron-parser: left out there.
  return () => [field(0, 59), field(0, 23), field(1, 31, undefined, false), field(1, 12, months), field(0, 6, days, false)].join(" ");
}

test("agrees with cron-parser on 300 random expressions and times", () =>
  withClient(async (client) => {
    const next = random(20261128);
    const expression = generator(next);
    const start = Date.parse("2026-01-01T00:00:00Z");
    // cron-parser refuses a few lists pg_cron takes (a value twice, say): those are drawn again.
    const readable = (): string => {
      const candidate = expression();
      try {
        CronExpressionParser.parse(candidate, { tz: "UTC" });
        return candidate;
      } catch {
        return readable();
      }
    };
    const cases = Array.from({ length: 300 }, () => ({ expression: readable(), at: new Date(start + Math.floor(next() * 365 * 86_400_000)) }));
    const horizonMs = 8 * 86_400_000;
    const { rows } = await client.query(
      `select public.cron_previous_occurrence(c.expression, c.at, interval '8 days') as at
         from unnest($1::text[], $2::timestamptz[]) with ordinality as c(expression, at, n)
        order by c.n`,
      [cases.map((c) => c.expression), cases.map((c) => c.at)],
    );
    const disagreements = cases.flatMap((c, i) => {
      const minuteStart = Math.floor(c.at.getTime() / 60_000) * 60_000;
      // cron-parser's prev() is strictly before currentDate: one second into the minute includes the minute itself.
      const expected = CronExpressionParser.parse(c.expression, { tz: "UTC", currentDate: new Date(minuteStart + 1000) }).prev().toDate();
      const want = minuteStart - expected.getTime() <= horizonMs ? expected.toISOString() : null;
      const got = rows[i].at === null ? null : (rows[i].at as Date).toISOString();
      return got === want ? [] : [`${c.expression} at ${c.at.toISOString()}: SQL ${got}, cron-parser ${want}`];
    });
    expect(disagreements).toEqual([]);
    // The sample is not trivial: most cases have an occurrence within the horizon, some do not.
    const found = rows.filter((row) => row.at !== null).length;
    expect(found).toBeGreaterThan(150);
    expect(found).toBeLessThan(300);
  }));
