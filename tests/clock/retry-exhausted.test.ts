/**
 * Issue 16's second proof, on pg_cron's own clock: every attempt of the day's occurrence is answered 503.
 * With two retries and no back-off the catch-up job tries three times on three ticks, then stops; `status`
 * alerts retries-exhausted at once, well inside the deadline, not a day later. About three minutes, on a
 * lane of its own.
 */
import { withClient } from "../support/db";
import { asCronRunner } from "../support/trigger";
import { attemptsOf, flakyDay, nextOccurrence, scheduleDailyAt, seriesReaches } from "../support/series";
import { status } from "../../cli/commands/status";
import { defaultJobName } from "../../infra/sql/names";

let day: Awaited<ReturnType<typeof flakyDay>>;

beforeAll(() => withClient(async (client) => (day = await flakyDay(client, Number.MAX_SAFE_INTEGER, "2, '0', '4 hours'"))));

afterAll(() => withClient((client) => day.release(client)));

test("every attempt answered 503: three attempts, then retries-exhausted at once, within the deadline", () =>
  withClient(async (client) => {
    const occurrence = nextOccurrence();
    await scheduleDailyAt(client, occurrence);

    const series = await seriesReaches(client, occurrence, ["succeeded", "exhausted", "missed"], Math.max(0, occurrence.getTime() - Date.now()) + 270_000);
    const noticed = new Date();
    expect(series).toMatchObject({ state: "exhausted", attempts: 3, max_attempts: 3 });
    expect(series.detail).toMatch(/^attempt 3 failed with HTTP 503: /);
    expect(noticed.getTime()).toBeLessThan(series.deadline_at!.getTime());

    const attempts = await attemptsOf(client, occurrence);
    expect(attempts.map(({ attempt, status, http_status }) => ({ attempt, status, http_status }))).toEqual([
      { attempt: 1, status: "failed", http_status: 503 },
      { attempt: 2, status: "failed", http_status: 503 },
      { attempt: 3, status: "failed", http_status: 503 },
    ]);
    expect(day.gateway.seen.map((seen) => seen.runId)).toEqual(attempts.map((a) => Number(a.id)));

    const outcome = await status(client, defaultJobName);
    const alerts = (outcome.json as { alerts: { code: string; message: string }[] }).alerts;
    expect(alerts.map((alert) => alert.code)).toContain("retries-exhausted");
    expect(outcome.exitCode).toBe(1);

    // And nothing more: the next tick's catch-up job leaves the occurrence alone.
    const again = await asCronRunner(client, () => client.query("select public.catch_up_reminder_run($1) as id", [defaultJobName]));
    expect(again.rows[0].id).toBeNull();
    expect(await attemptsOf(client, occurrence)).toHaveLength(3);
  }),
  330_000);
