/**
 * Issue 16's first proof, on pg_cron's own clock: the function's gateway answers 503 to the first two attempts
 * of the day's occurrence and lets the third through to the real function. The catch-up job retries on its
 * own; the day's reminder is created exactly once, the log shows three attempts of the one occurrence, and
 * `status` ends healthy. Back-off 10 s, so the retries come on the next minutes' ticks; about three minutes,
 * on a lane of its own.
 */
import { withClient } from "../support/db";
import { createAssignment, notificationsFor } from "../support/reminder-scheduler";
import { attemptsOf, flakyDay, nextOccurrence, scheduleDailyAt, seriesReaches } from "../support/series";
import { status } from "../../cli/commands/status";
import { defaultJobName } from "../../infra/sql/names";

let day: Awaited<ReturnType<typeof flakyDay>>;

beforeAll(() => withClient(async (client) => (day = await flakyDay(client, 2, "5, '10 seconds', '4 hours'"))));

afterAll(() => withClient((client) => day.release(client)));

test("503, 503, then 200: the occurrence is retried twice on its own, its reminder created once, and status ends healthy", () =>
  withClient(async (client) => {
    const assignment = await createAssignment(client);
    const occurrence = nextOccurrence();
    await scheduleDailyAt(client, occurrence);

    const series = await seriesReaches(client, occurrence, ["succeeded", "exhausted", "missed"], Math.max(0, occurrence.getTime() - Date.now()) + 270_000);
    expect(series).toMatchObject({ state: "succeeded", attempts: 3, max_attempts: 6 });

    const attempts = await attemptsOf(client, occurrence);
    expect(attempts.map(({ attempt, status, http_status }) => ({ attempt, status, http_status }))).toEqual([
      { attempt: 1, status: "failed", http_status: 503 },
      { attempt: 2, status: "failed", http_status: 503 },
      { attempt: 3, status: "succeeded", http_status: 200 },
    ]);
    expect(attempts.map((a) => a.reason)).toEqual([
      "on schedule",
      expect.stringMatching(/^retry 1 of 5: attempt 1 failed with HTTP 503: /),
      expect.stringMatching(/^retry 2 of 5: attempt 2 failed with HTTP 503: /),
    ]);
    // Never two in flight: each attempt went out after the one before had failed.
    for (let i = 1; i < attempts.length; i++) expect(attempts[i].triggered_at.getTime()).toBeGreaterThan(attempts[i - 1].finished_at!.getTime());
    // What the gateway saw: the three attempts, once each, and only the third reached the function.
    expect(day.gateway.seen).toEqual(attempts.map((a) => ({ runId: Number(a.id), status: a.http_status })));

    const notifications = await notificationsFor(client, assignment.id);
    expect(notifications).toHaveLength(1);
    const { rows } = await client.query("select id from public.reminder_runs where cron_run_id = $1", [attempts[2].id]);
    expect(notifications[0].run_id).toBe(rows[0].id);

    const outcome = await status(client, defaultJobName);
    expect((outcome.json as { alerts: unknown[] }).alerts).toEqual([]);
    expect(outcome.exitCode).toBe(0);
  }),
  330_000);
