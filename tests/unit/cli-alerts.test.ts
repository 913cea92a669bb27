/**
 * The alerts of `reminder-cron status`, each at its threshold: a run with no outcome, a run over 30 minutes,
 * no success in 26 hours, and a job that is not registered. Pure rules over rows; the integration test
 * (tests/integration/cli-commands.test.ts) proves the same through the database and the exit code.
 */
import { alerts, AlertInput } from "../../cli/alerts";
import { FunctionRunRow, RunRow, SeriesRow } from "../../cli/queries";

const now = new Date("2026-11-28T12:00:00Z");
const ago = (minutes: number) => new Date(now.getTime() - minutes * 60_000);

function run(id: number, triggeredMinutesAgo: number, status: RunRow["status"], tookMinutes: number | null): RunRow {
  const triggered = ago(triggeredMinutesAgo);
  return {
    id: String(id),
    job_name: "daily-reminder-eval",
    triggered_at: triggered,
    status,
    http_status: status === "succeeded" ? 200 : null,
    error_message: null,
    finished_at: tookMinutes === null ? null : new Date(triggered.getTime() + tookMinutes * 60_000),
    catch_up_of: null,
    occurrence: null,
    attempt: null,
    reason: null,
  };
}

const healthy: AlertInput = {
  now,
  jobName: "daily-reminder-eval",
  jobExists: true,
  stuck: [],
  recent: [run(1, 360, "succeeded", 0.01)],
  functionRuns: [],
  lastSuccessAt: ago(360),
  retiredSecretStored: false,
};

function functionRun(id: number, cronRunId: number | null, startedMinutesAgo: number, status: FunctionRunRow["status"], tookMinutes: number | null): FunctionRunRow {
  return {
    id: String(id),
    cron_run_id: cronRunId === null ? null : String(cronRunId),
    status,
    started_at: ago(startedMinutesAgo),
    finished_at: tookMinutes === null ? null : new Date(ago(startedMinutesAgo).getTime() + tookMinutes * 60_000),
    evaluated: 10,
    created: 4,
    skipped: 0,
    duration_ms: tookMinutes === null ? null : tookMinutes * 60_000,
    error_message: null,
  };
}

const codes = (input: Partial<AlertInput>) => alerts({ ...healthy, ...input }).map((alert) => alert.code);

test("a registered job whose last run succeeded 6 hours ago raises nothing", () => {
  expect(alerts(healthy)).toEqual([]);
});

test("a run without an outcome is a stuck-run alert that names the run and what to check", () => {
  const found = alerts({ ...healthy, stuck: [run(7, 12, "dispatched", null)] });
  expect(found).toEqual([
    {
      code: "stuck-run",
      runId: 7,
      message:
        "Run 7 (triggered 2026-11-28 11:48:00 UTC) has had no outcome for 12 min 0 s: reminder-eval-reconcile should settle it within 2 minutes; " +
        "check it is active (reminder-cron status lists it) and that pg_net's worker is up (select net.check_worker_is_up();).",
    },
  ]);
});

test.each([
  [30, []],
  [30.5, ["long-run"]],
  [95, ["long-run"]],
])("a run that took %d minutes raises %j", (minutes, expected) => {
  expect(codes({ recent: [run(3, 200, "succeeded", minutes)] })).toEqual(expected);
});

test("a long run says how long, and where to look", () => {
  const [alert] = alerts({ ...healthy, recent: [run(3, 200, "succeeded", 45)] });
  expect(alert.message).toBe(
    "Run 3 (triggered 2026-11-28 08:40:00 UTC) took 45 min 0 s, over the 30-minute limit: check the reminder function's log for that run, and whether another run overlapped it (reminder-cron logs).",
  );
});

test.each([
  ["25 h 59 min ago", ago(26 * 60 - 1), []],
  ["26 h 1 min ago", ago(26 * 60 + 1), ["no-success"]],
  ["never", null, ["no-success"]],
])("a last success %s raises %j", (_, lastSuccessAt, expected) => {
  expect(codes({ lastSuccessAt })).toEqual(expected);
});

test("the reminder function still running 40 minutes after it answered 202 is a long-run alert", () => {
  expect(alerts({ ...healthy, functionRuns: [functionRun(12, 5, 40, "running", null)] })).toEqual([
    {
      code: "long-run",
      runId: 5,
      message:
        "The reminder function's run 12 (of run 5), started 2026-11-28 11:20:00 UTC, has been running for 40 min 0 s, over the 30-minute limit: " +
        "check the reminder function's log for that run, and whether another run overlapped it (reminder-cron logs).",
    },
  ]);
});

test.each([
  ["running for 29 minutes", functionRun(12, 5, 29, "running", null), []],
  ["that took 31 minutes", functionRun(12, 5, 100, "succeeded", 31), ["long-run"]],
  ["invoked by hand, that took 31 minutes", functionRun(12, null, 100, "succeeded", 31), ["long-run"]],
  ["that took 2 minutes", functionRun(12, 5, 100, "succeeded", 2), []],
])("a function run %s raises %j", (_, functionRunRow, expected) => {
  expect(codes({ functionRuns: [functionRunRow] })).toEqual(expected);
});

test("no success says when the last one was, or never", () => {
  expect(alerts({ ...healthy, lastSuccessAt: null })[0].message).toBe(
    "No successful run in the last 26 hours (last success: never): read reminder-cron logs --since 48h for the failures, fix their cause, then reminder-cron run-now.",
  );
});

test("a job that is not registered is an alert that says how to restore it", () => {
  expect(alerts({ ...healthy, jobExists: false })[0]).toEqual({
    code: "job-missing",
    message:
      "Job daily-reminder-eval is not registered in cron.job (as cron_runner), so nothing runs: restore it by applying its migration again (it is idempotent): " +
        "npm run db:psql -- -f supabase/migrations/20261128060000_register_reminder_cron.sql on the local stack, " +
        'psql "$DATABASE_URL" -f supabase/migrations/20261128060000_register_reminder_cron.sql on a project, or pulumi up.',
  });
});

test("a service-role key left in Vault by an earlier release is an alert that says to delete it and rotate the key", () => {
  expect(alerts({ ...healthy, retiredSecretStored: true })).toEqual([
    {
      code: "exposed-credential",
      message:
        "Vault still holds reminder_service_role_key, which earlier releases sent in pg_net's requests, where every role could read it; requests are signed with reminder_signing_key now. " +
        "Delete it (delete from vault.secrets where name = 'reminder_service_role_key';, or pulumi up) and rotate the service-role key (dashboard: Project Settings, API keys).",
    },
  ]);
});

test("alerts add up: each condition is reported", () => {
  expect(codes({ jobExists: false, stuck: [run(9, 40, "dispatched", null)], recent: [run(8, 100, "failed", 31)], lastSuccessAt: null })).toEqual([
    "job-missing",
    "stuck-run",
    "failed-run",
    "long-run",
    "no-success",
  ]);
});

test("a run answered 202 and still running after reconcile's deadline is a stuck-run alert that says where its outcome comes from", () => {
  const [alert] = alerts({ ...healthy, stuck: [run(12, 15, "running", null)] });
  expect(alert.code).toBe("stuck-run");
  expect(alert.message).toBe(
    "Run 12 (triggered 2026-11-28 11:45:00 UTC) has had no outcome for 15 min 0 s: reminder-eval-reconcile should settle it from public.reminder_runs, or fail it 460 s after its trigger; check it is active (reminder-cron status lists it).",
  );
});

test("the latest run failed, even within a day of the last success: a failed-run alert naming the run, its reason and the way to run again", () => {
  const failed = { ...run(21, 30, "failed", 8), http_status: 202, error_message: "the reminder function answered 202, then its run 5 ended failed: boom" };
  const found = alerts({ ...healthy, recent: [failed, run(20, 1470, "succeeded", 0.01)], lastSuccessAt: ago(1470) });
  expect(found).toEqual([
    {
      code: "failed-run",
      runId: 21,
      message:
        "The latest run, 21 (triggered 2026-11-28 11:30:00 UTC), failed with HTTP 202: the reminder function answered 202, then its run 5 ended failed: boom. " +
        "Fix the cause; the next trigger runs again, or now: reminder-cron run-now.",
    },
  ]);
});

test.each([
  ["a success after the failure", [run(3, 10, "succeeded", 0.01), run(2, 60, "failed", 0.1)], []],
  ["a skipped run after the failure", [run(3, 10, "skipped", 0), run(2, 60, "failed", 0.1)], ["failed-run"]],
  ["a run still running after the failure", [run(3, 1, "running", null), run(2, 60, "failed", 0.1)], []],
] as const)("%s: failed-run is raised only while the latest run that was not skipped failed", (_, recent, expected) => {
  expect(codes({ recent: [...recent] })).toEqual(expected);
});

describe("a skip with nothing in flight", () => {
  const lockSkip = (id: number, minutesAgo: number): RunRow => ({
    ...run(id, minutesAgo, "skipped", 0),
    error_message: "another dispatch of this job was starting at the same moment",
  });

  test("a skip for the lock with no dispatch beside it alerts: something else held the lock", () => {
    const found = alerts({ ...healthy, recent: [lockSkip(2, 10), run(1, 360, "succeeded", 0.01)] });
    expect(found).toEqual([
      {
        code: "lone-skip",
        runId: 2,
        message: expect.stringMatching(/^Run 2 \(triggered .+\) was skipped as if another dispatch of the job were starting, but none was logged within 60 s of it:/),
      },
    ]);
  });

  test("a skip for the lock beside the dispatch that held it is no alert", () => {
    const beside: RunRow = { ...run(3, 10, "succeeded", 0.01), triggered_at: new Date(ago(10).getTime() - 200) };
    expect(alerts({ ...healthy, recent: [lockSkip(4, 10), beside, run(1, 360, "succeeded", 0.01)] })).toEqual([]);
  });
});

describe("retries", () => {
  const occurrence = ago(60);
  const failedAttempt = (id: number, attempt: number, minutesAgo: number): RunRow => ({
    ...run(id, minutesAgo, "failed", 0.05),
    http_status: 503,
    error_message: "HTTP 503 from the reminder function: maintenance",
    occurrence,
    attempt,
    reason: attempt === 1 ? "on schedule" : `retry ${attempt - 1} of 5: attempt ${attempt - 1} failed with HTTP 503`,
  });
  const series = (state: SeriesRow["state"], changes: Partial<SeriesRow> = {}): SeriesRow => ({
    occurrence,
    state,
    attempts: 1,
    max_attempts: 6,
    next_attempt_at: null,
    deadline_at: new Date(occurrence.getTime() + 4 * 3_600_000),
    last_run_id: "31",
    detail: "attempt 1 failed with HTTP 503: HTTP 503 from the reminder function: maintenance",
    ...changes,
  });
  const afterFailure = { recent: [failedAttempt(31, 1, 59), run(30, 1500, "succeeded", 0.01)], lastSuccessAt: ago(1500) };

  test("every attempt failed: retries-exhausted names the occurrence, the attempts, the last failure and what to do, instead of failed-run", () => {
    const found = alerts({
      ...healthy,
      ...afterFailure,
      recent: [failedAttempt(36, 6, 2), ...afterFailure.recent],
      series: series("exhausted", { attempts: 6, last_run_id: "36", detail: "attempt 6 failed with HTTP 503: HTTP 503 from the reminder function: maintenance" }),
    });
    expect(found).toEqual([
      {
        code: "retries-exhausted",
        runId: 36,
        message:
          "Every attempt at the 2026-11-28 11:00:00 UTC run failed (6 of 6), and no retry is left: attempt 6 failed with HTTP 503: HTTP 503 from the reminder function: maintenance. " +
          "No reminders went out for it. Fix the cause (reminder-cron logs --since 24h has each attempt's error), then reminder-cron run-now.",
      },
    ]);
  });

  test("a failure whose retry is scheduled raises nothing: the series line shows it, and retries-exhausted alerts if all fail", () => {
    expect(codes({ ...afterFailure, series: series("retrying", { next_attempt_at: ago(-1) }) })).toEqual([]);
  });

  test("a lost request about to be dispatched again as a catch-up raises nothing either", () => {
    expect(codes({ ...afterFailure, series: series("catch-up", { next_attempt_at: now }) })).toEqual([]);
  });

  test("a retry overdue by more than 3 minutes is not coming: failed-run again, saying to check the catch-up job", () => {
    const [alert] = alerts({ ...healthy, ...afterFailure, series: series("retrying", { next_attempt_at: ago(10) }) });
    expect(alert.code).toBe("failed-run");
    expect(alert.message).toContain("Its retry was due at 2026-11-28 11:50:00 UTC and was not dispatched: check reminder-eval-catch-up is active");
  });

  test("a failure the series is not retrying (missed, or another run than the series') is still failed-run", () => {
    expect(codes({ ...afterFailure, series: series("missed") })).toEqual(["failed-run"]);
    expect(codes({ ...afterFailure, series: series("retrying", { next_attempt_at: ago(-1), last_run_id: "29" }) })).toEqual(["failed-run"]);
  });

  test("a run by hand that failed after the retries ran out is failed-run beside retries-exhausted", () => {
    const byHand = { ...run(40, 1, "failed", 0.05), error_message: "HTTP 500 from the reminder function: boom", reason: "by hand, as postgres" };
    const found = codes({ ...afterFailure, recent: [byHand, ...afterFailure.recent], series: series("exhausted", { attempts: 6, last_run_id: "36" }) });
    expect(found).toEqual(["failed-run", "retries-exhausted"]);
  });

  test("retry settings the database refuses: retry-settings-invalid quotes its sentence and says what stops", () => {
    const problem = "Vault holds retry settings reminder-cron cannot use: reminder_retry_limit is 50: give 0 (no retries) to 10. Fix: select public.set_reminder_cron_retries(5, '1 minute', '4 hours');";
    expect(alerts({ ...healthy, series: { problem } })).toEqual([
      {
        code: "retry-settings-invalid",
        message:
          "The retry settings in Vault cannot be used, so no failed run is retried until they are fixed (reminder-eval-catch-up still catches up missed ones). " + problem,
      },
    ]);
    expect(codes({ series: series("no-job"), retrySettingsProblem: problem })).toEqual(["retry-settings-invalid"]);
  });

  test("a series that succeeded, is idle or in flight raises nothing", () => {
    for (const state of ["succeeded", "idle", "in-flight", "due", "paused"] as const) expect(codes({ series: series(state) })).toEqual([]);
  });
});
