/**
 * `status` on retries: the series line and its JSON while an occurrence is being retried, the alert once every
 * attempt failed, and the week's history a line a day. The log rows are written by hand (as the superuser,
 * who may date them) for a job of its own, which pg_cron runs at most once a day and the catch-up job never
 * follows, so nothing but the test changes its log while it reads it.
 */
import { Client } from "pg";
import { main } from "../../cli/main";
import { dispatchCommand, logTable, qualified } from "../../infra/sql/names";
import { withClient } from "../support/db";
import { alterJob, asCronRunner, deleteSecret, setSecret } from "../support/trigger";

const probe = "cli-history-probe";
const dayMs = 86_400_000;

interface Ran {
  code: number;
  stdout: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function cli(...argv: string[]): Promise<Ran> {
  let stdout = "";
  const code = await main(argv, { write: (text: string) => (stdout += text) }, { write: () => true });
  return { code, stdout, json: argv.includes("--json") ? JSON.parse(stdout) : undefined };
}

const admin = <T>(fn: (client: Client) => Promise<T>) => withClient(fn, { admin: true });

interface Attempt {
  occurrence: Date | null;
  attempt: number | null;
  status: "succeeded" | "failed";
  /** Seconds after the occurrence (or, by hand, after `at`). */
  after?: number;
  at?: Date;
  httpStatus?: number;
  error?: string;
  reason?: string;
}

async function logRow(client: Client, row: Attempt): Promise<number> {
  const triggered = new Date((row.occurrence ?? row.at)!.getTime() + (row.after ?? 1) * 1000);
  const { rows } = await client.query(
    `insert into ${qualified(logTable)} (job_name, status, triggered_at, finished_at, http_status, error_message, occurrence, attempt, reason)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id`,
    [
      probe,
      row.status,
      triggered,
      new Date(triggered.getTime() + 3000),
      row.httpStatus ?? (row.status === "succeeded" ? 200 : 503),
      row.status === "failed" ? (row.error ?? "HTTP 503 from the reminder function: maintenance") : null,
      row.occurrence,
      row.attempt,
      row.reason ?? (row.occurrence === null ? "by hand, as postgres" : row.attempt === 1 ? "on schedule" : `retry ${row.attempt! - 1} of 5`),
    ],
  );
  return Number(rows[0].id);
}

/** What the reminder function recorded for a log run: `created` reminders, or a failure with none. */
async function functionRun(client: Client, cronRunId: number, status: "succeeded" | "failed", created: number | null): Promise<void> {
  await client.query(
    `insert into public.reminder_runs (job_name, cron_run_id, triggered_at, as_of, status, started_at, finished_at, evaluated, created, skipped, duration_ms)
     select l.job_name, l.id, l.triggered_at, (l.triggered_at at time zone 'UTC')::date, $2, l.triggered_at, l.finished_at, $3, $3, 0, 500
       from ${qualified(logTable)} l where l.id = $1`,
    [cronRunId, status, created],
  );
}

/** A daily schedule at `at`'s minute, on every weekday but `skipDay`'s. */
const dailyAt = (at: Date, skipDay?: Date) => {
  const days = [0, 1, 2, 3, 4, 5, 6].filter((d) => skipDay === undefined || d !== skipDay.getUTCDay());
  return `${at.getUTCMinutes()} ${at.getUTCHours()} * * ${skipDay === undefined ? "*" : days.join(",")}`;
};

const clock = (at: Date, seconds = false) => at.toISOString().slice(11, seconds ? 19 : 16);

beforeAll(() =>
  withClient((client) => asCronRunner(client, () => client.query("select cron.schedule($1, $2, $3)", [probe, "0 6 1 1 *", dispatchCommand(probe)]))),
);

afterEach(() =>
  admin(async (client) => {
    await client.query("delete from public.reminder_runs where job_name = $1", [probe]);
    await client.query(`delete from ${qualified(logTable)} where job_name = $1`, [probe]);
  }),
);

afterAll(() => withClient((client) => asCronRunner(client, () => client.query("select cron.unschedule($1)", [probe]))));

test("an occurrence being retried: the series line, silence from failed-run, and a week of history a line a day", () =>
  admin(async (client) => {
    const now = Date.now();
    // The occurrence four minutes ago; its two failures leave the third attempt due a minute or two from now.
    const occurrence = new Date(Math.floor(now / 60_000) * 60_000 - 4 * 60_000);
    const dayBefore = (n: number) => new Date(occurrence.getTime() - n * dayMs);
    await alterJob(client, { schedule: dailyAt(occurrence, dayBefore(4)) }, probe);

    // Six days ago: a first attempt the function refused, then a run by hand that succeeded.
    await logRow(client, { occurrence: dayBefore(6), attempt: 1, status: "failed", httpStatus: 400, error: "HTTP 400 from the reminder function: bad body" });
    const byHand = await logRow(client, { occurrence: null, attempt: null, status: "succeeded", at: dayBefore(6), after: 3600 });
    await functionRun(client, byHand, "succeeded", 7);
    // Five days ago: nothing ran. Four days ago: not scheduled.
    // Three days ago: all six attempts failed.
    for (let attempt = 1; attempt <= 6; attempt++) await logRow(client, { occurrence: dayBefore(3), attempt, status: "failed", after: 60 * 2 ** attempt });
    // Two days ago: one failed attempt (its retries were off that day).
    await logRow(client, { occurrence: dayBefore(2), attempt: 1, status: "failed" });
    // Yesterday: a failure, then the first retry succeeded and created 12 reminders.
    const failedYesterday = await logRow(client, { occurrence: dayBefore(1), attempt: 1, status: "failed" });
    await functionRun(client, failedYesterday, "failed", null);
    const retriedYesterday = await logRow(client, { occurrence: dayBefore(1), attempt: 2, status: "succeeded", after: 70 });
    await functionRun(client, retriedYesterday, "succeeded", 12);
    // Today: two failed attempts, the second 65 s after the occurrence, so the third is due 2 minutes after it.
    await logRow(client, { occurrence, attempt: 1, status: "failed" });
    const second = await logRow(client, { occurrence, attempt: 2, status: "failed", after: 65 });
    const nextAttempt = new Date(occurrence.getTime() + 68_000 + 120_000);

    const { code, json } = await cli("status", "--job", probe, "--json");
    expect(json.series).toEqual({
      occurrence: occurrence.toISOString(),
      state: "retrying",
      attempts: 2,
      maxAttempts: 6,
      nextAttemptAt: nextAttempt.toISOString(),
      deadlineAt: new Date(occurrence.getTime() + 4 * 3_600_000).toISOString(),
      lastRunId: second,
      detail: "attempt 2 failed with HTTP 503: HTTP 503 from the reminder function: maintenance",
    });
    // A retry is due: failed-run stays silent, and yesterday's success keeps no-success away.
    expect(json.alerts).toEqual([]);
    expect(code).toBe(0);
    expect(json.settings).toMatchObject({ retries: 5, retryBackoffSeconds: 60, retryDeadlineSeconds: 4 * 3600, retrySettingsProblem: null });
    expect(json.runs[0]).toMatchObject({ id: second, occurrence: occurrence.toISOString(), attempt: 2, reason: "retry 1 of 5" });

    const day = (n: number) => dayBefore(n).toISOString().slice(0, 10);
    const at = (n: number) => [dayBefore(n).toISOString()];
    const expected = [
      { day: day(0), occurrences: at(0), attempts: 2, outcome: "retrying", runsByHand: 0, remindersCreated: null },
      { day: day(1), occurrences: at(1), attempts: 2, outcome: "succeeded", runsByHand: 0, remindersCreated: 12 },
      { day: day(2), occurrences: at(2), attempts: 1, outcome: "failed", runsByHand: 0, remindersCreated: null },
      { day: day(3), occurrences: at(3), attempts: 6, outcome: "retries exhausted", runsByHand: 0, remindersCreated: null },
      { day: day(4), occurrences: [], attempts: 0, outcome: "not scheduled that day", runsByHand: 0, remindersCreated: null },
      { day: day(5), occurrences: at(5), attempts: 0, outcome: "no run", runsByHand: 0, remindersCreated: null },
      { day: day(6), occurrences: at(6), attempts: 1, outcome: "succeeded", runsByHand: 1, remindersCreated: 7 },
    ];
    // Just past midnight UTC the occurrence is yesterday's, and today has its own still to come.
    const today = new Date(now).toISOString().slice(0, 10);
    const history = today === day(0) ? expected : [{ day: today, occurrences: [new Date(occurrence.getTime() + dayMs).toISOString()], attempts: 0, outcome: "not yet", runsByHand: 0, remindersCreated: null }, ...expected.slice(0, 6)];
    expect(json.history).toEqual(history);

    const { stdout } = await cli("status", "--job", probe);
    const label = today === day(0) ? "today      " : "yesterday  ";
    expect(stdout).toContain(
      `\n${label} ${clock(occurrence)} UTC: retrying (attempt 3 of 6, next at ${clock(nextAttempt, true)} UTC); attempt 2 failed with HTTP 503: HTTP 503 from the reminder function: maintenance\n`,
    );
    expect(stdout).toContain("retries 5 (first after 1 min, doubling; none after 4 h)");
    expect(stdout).toMatch(new RegExp(`\\n  ${second} +.* failed +2 +503 +3\\.0 s +- +HTTP 503 from the reminder function: maintenance\\n`));
    const t = clock(occurrence);
    expect(stdout).toContain("\nlast 7 days\n  day (UTC)   at     attempts  outcome                 reminders created\n");
    for (const [line, present] of [
      [`  ${day(1)}  ${t}  2         succeeded               12`, true],
      [`  ${day(2)}  ${t}  1         failed                  -`, true],
      [`  ${day(3)}  ${t}  6         retries exhausted       -`, true],
      [`  ${day(4)}  -      0         not scheduled that day  -`, true],
      [`  ${day(5)}  ${t}  0         no run                  -`, true],
      [`  ${day(6)}  ${t}  1         succeeded (1 by hand)   7`, today === day(0)],
    ] as const) {
      if (present) expect(stdout).toContain(`\n${line}\n`);
    }
  }));

test("every attempt failed: retries-exhausted names the occurrence, the attempts and the last failure, and status exits 1", () =>
  admin(async (client) => {
    const occurrence = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60 * 60_000);
    await alterJob(client, { schedule: dailyAt(occurrence) }, probe);
    // A success the day before: not a fresh install, and no-success stays away.
    const before = new Date(occurrence.getTime() - dayMs);
    await logRow(client, { occurrence: before, attempt: 1, status: "succeeded" });
    let last = 0;
    for (let attempt = 1; attempt <= 6; attempt++) last = await logRow(client, { occurrence, attempt, status: "failed", after: 60 * 2 ** (attempt - 1) });

    const { code, json } = await cli("status", "--job", probe, "--json");
    expect(code).toBe(1);
    expect(json.series).toMatchObject({ state: "exhausted", attempts: 6, maxAttempts: 6, lastRunId: last });
    const stamp = `${occurrence.toISOString().slice(0, 10)} ${clock(occurrence)}:00 UTC`;
    expect(json.alerts).toEqual([
      {
        code: "retries-exhausted",
        runId: last,
        message:
          `Every attempt at the ${stamp} run failed (6 of 6), and no retry is left: attempt 6 failed with HTTP 503: HTTP 503 from the reminder function: maintenance. ` +
          "No reminders went out for it. Fix the cause (reminder-cron logs --since 24h has each attempt's error), then reminder-cron run-now.",
      },
    ]);
    const today = new Date().toISOString().slice(0, 10);
    expect(json.history[0]).toMatchObject(
      today === occurrence.toISOString().slice(0, 10) ? { occurrences: [occurrence.toISOString()], attempts: 6, outcome: "retries exhausted" } : { outcome: "not yet" },
    );

    const { stdout } = await cli("status", "--job", probe);
    expect(stdout).toMatch(
      new RegExp(` ${clock(occurrence)} UTC: retries exhausted: 6 of 6 attempts failed; attempt 6 failed with HTTP 503: HTTP 503 from the reminder function: maintenance\\n`),
    );
    expect(stdout).toContain("\nALERT retries-exhausted: Every attempt at the ");

    const logs = await cli("logs", "--job", probe, "--since", "2d", "--json");
    expect(logs.json.runs.map((r: { attempt: number | null }) => r.attempt)).toEqual([6, 5, 4, 3, 2, 1, 1]);
  }));

test("retry settings Vault holds out of range: retry-settings-invalid with the database's fix, and everything else still printed", () =>
  admin(async (client) => {
    const occurrence = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000);
    await alterJob(client, { schedule: dailyAt(occurrence) }, probe);
    await logRow(client, { occurrence, attempt: 1, status: "succeeded" });
    const { rows } = await client.query("select decrypted_secret as value from vault.decrypted_secrets where name = 'reminder_retry_limit'");
    const saved: string | undefined = rows[0]?.value;
    const put = (value: string) => setSecret(client, "reminder_retry_limit", value);
    await put("50");
    try {
      const { code, json } = await cli("status", "--job", probe, "--json");
      expect(code).toBe(1);
      expect(json.alerts.map((a: { code: string }) => a.code)).toEqual(["retry-settings-invalid"]);
      expect(json.alerts[0].message).toMatch(/^The retry settings in Vault cannot be used, so no failed run is retried until they are fixed \(reminder-eval-catch-up still catches up missed ones\)\. .*reminder_retry_limit is 50: give 0 \(no retries\) to 10\. Fix: select public\.set_reminder_cron_retries\(5, '1 minute', '4 hours'\);/);
      // The series still reads: it goes without retries, and says so once one would be due.
      expect(json.series).toMatchObject({ state: "succeeded", attempts: 1, maxAttempts: 1 });
      expect(json.settings).toMatchObject({ catchUpWindowSeconds: 6 * 3600, retries: null, retrySettingsProblem: expect.stringContaining("reminder_retry_limit is 50") });
      expect(json.history).toHaveLength(7);
      const { stdout } = await cli("status", "--job", probe);
      expect(stdout).toContain("retries UNUSABLE (see the retry-settings-invalid alert)");
      expect(stdout).toContain("\nlast 7 days\n");
    } finally {
      if (saved === undefined) await deleteSecret(client, "reminder_retry_limit");
      else await put(saved);
    }
  }));
