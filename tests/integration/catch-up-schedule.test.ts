/**
 * The catch-up's reading of a schedule, in SQL (public.cron_previous_occurrence): the last minute at which
 * pg_cron runs a job, on named cases. tests/integration/schedule-corpus.test.ts checks it against real
 * pg_cron and the TypeScript model on thousands of generated schedules.
 */
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
  // pg_cron reads numbers with atoi: five digits and leading zeros are fine.
  ["00000 6 * * *", "2026-11-28T07:00:00Z", "2026-11-28T06:00:00.000Z"],
  ["0 006 * * *", "2026-11-28T07:00:00Z", "2026-11-28T06:00:00.000Z"],
  // A day field that starts with '*' makes both day fields have to match: an odd day that is a Monday.
  // 2026-11-30 is an even Monday, 2026-11-23 an odd one.
  ["0 6 */2 * 1", "2026-11-28T12:00:00Z", "2026-11-23T06:00:00.000Z"],
  // Without the '*' the same days read as either: the 27th is odd.
  ["0 6 1-31/2 * 1", "2026-11-28T12:00:00Z", "2026-11-27T06:00:00.000Z"],
  // A step of 2^31 - 2 from day 1 is day 1 only (1.4 refuses 2^31 - 1: the C loop overflows).
  ["0 0 */2147483646 * *", "2026-12-01T07:00:00Z", "2026-12-01T00:00:00.000Z"],
  // Characters pg_cron skips after a value.
  ["0% 6 * * *", "2026-11-28T07:00:00Z", "2026-11-28T06:00:00.000Z"],
  ["@weekly", "2026-12-01T12:00:00Z", "2026-11-29T00:00:00.000Z"],
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

test("pg_cron 1.6's '$' is the last day of the month, 1.5's 'N seconds' a count; 1.4 refuses both, as the installed pg_cron 1.4 does", () =>
  withClient(async (client) => {
    const seconds = await client.query("select seconds, minutes from public.cron_schedule_fields('30 seconds', '1.5')");
    expect(seconds.rows[0]).toEqual({ seconds: 30, minutes: null });
    await expect(client.query("select public.cron_schedule_fields('30 seconds', '1.4')")).rejects.toMatchObject({ code: "22023" });
    const { rows } = await client.query("select dom_last, days_of_month from public.cron_schedule_fields('0 6 $ * *', '1.6')");
    expect(rows[0]).toEqual({ dom_last: true, days_of_month: [] });
    await expect(client.query("select public.cron_schedule_fields('0 6 $ * *', '1.4')")).rejects.toMatchObject({ code: "22023" });
  }));
