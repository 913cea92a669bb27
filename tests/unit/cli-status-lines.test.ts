/**
 * The lines `status` prints for retries: the series in one line per state, the retry settings, and the week's
 * outcomes where the log is silent (the schedule tells "no run" from "not yet" and "not scheduled that day").
 * tests/integration/cli-status-history.test.ts proves the same through the database.
 */
import { retriesSetting, seriesLine } from "../../cli/format";
import { SeriesRow, Settings } from "../../cli/queries";
import { historyView } from "../../cli/views";

const now = new Date("2026-12-06T06:05:30Z");
const occurrence = new Date("2026-12-06T06:00:00Z");

const series = (state: SeriesRow["state"], changes: Partial<SeriesRow> = {}): SeriesRow => ({
  occurrence,
  state,
  attempts: 1,
  max_attempts: 6,
  next_attempt_at: null,
  deadline_at: new Date("2026-12-06T10:00:00Z"),
  last_run_id: "41",
  detail: null,
  ...changes,
});

test.each([
  [
    series("retrying", { next_attempt_at: new Date("2026-12-06T06:03:05Z"), detail: "attempt 1 failed with HTTP 503: maintenance" }),
    "today       06:00 UTC: retrying (attempt 2 of 6, next at 06:03:05 UTC); attempt 1 failed with HTTP 503: maintenance",
  ],
  [series("succeeded", { attempts: 3 }), "today       06:00 UTC: succeeded at attempt 3 of 6"],
  [series("in-flight", { attempts: 2 }), "today       06:00 UTC: in flight (attempt 2 of 6)"],
  [series("exhausted", { attempts: 6, detail: "attempt 6 failed with HTTP 500: boom" }), "today       06:00 UTC: retries exhausted: 6 of 6 attempts failed; attempt 6 failed with HTTP 500: boom"],
  [series("catch-up", { attempts: 0, detail: "the database was down at the occurrence" }), "today       06:00 UTC: catch-up due: the database was down at the occurrence"],
  [series("idle", { occurrence: null, attempts: null }), "series      no recent occurrence to follow up"],
  [series("missed", { occurrence: new Date("2026-12-05T06:00:00Z"), attempts: 0, detail: "no run" }), "yesterday   06:00 UTC: missed: no run"],
  [{ problem: "reminder_retry_limit is 50" }, "series      UNKNOWN: the retry settings in Vault cannot be used (see the retry-settings-invalid alert)"],
] as const)("series line %#", (row, line) => {
  expect(seriesLine(row, now)).toBe(line);
});

test("a success by run-now after failed attempts is not called an attempt", () => {
  expect(seriesLine(series("succeeded", { attempts: 2, last_run_id: "44" }), now, true)).toBe("today       06:00 UTC: succeeded by hand (run 44) after 2 failed attempt(s)");
});

const settings = (changes: Partial<Settings>): Settings => ({
  catchUpWindowSeconds: 21_600,
  logRetentionSeconds: 7_776_000,
  runDetailsRetentionSeconds: 1_209_600,
  retries: 5,
  retryBackoffSeconds: 60,
  retryDeadlineSeconds: 14_400,
  retrySettingsProblem: null,
  ...changes,
});

test.each([
  [{}, "retries 5 (first after 1 min, doubling; none after 4 h)"],
  [{ retries: 1, retryBackoffSeconds: 300 }, "retries 1 (after 5 min; none after 4 h)"],
  [{ retries: 0, retryBackoffSeconds: 0 }, "retries none"],
  [{ retries: null, retrySettingsProblem: "bad" }, "retries UNUSABLE (see the retry-settings-invalid alert)"],
] as const)("settings %j: %s", (changes, text) => {
  expect(retriesSetting(settings(changes))).toBe(text);
});

test("a week without log rows: today's 06:00 not yet, the days before no run, and Sundays not scheduled", () => {
  const early = new Date("2026-12-06T05:00:00Z"); // a Sunday
  const days = historyView([], "0 6 * * 1-6", null, 6, early);
  expect(days.map((day) => [day.day, day.outcome])).toEqual([
    ["2026-12-06", "not scheduled that day"],
    ["2026-12-05", "no run"],
    ["2026-12-04", "no run"],
    ["2026-12-03", "no run"],
    ["2026-12-02", "no run"],
    ["2026-12-01", "no run"],
    ["2026-11-30", "no run"],
  ]);
  expect(historyView([], "0 6 * * *", null, 6, early)[0]).toEqual({
    day: "2026-12-06",
    occurrences: ["2026-12-06T06:00:00.000Z"],
    attempts: 0,
    outcome: "not yet",
    runsByHand: 0,
    remindersCreated: null,
  });
});
