/**
 * The retries of an occurrence, rule by rule, called as cron_runner exactly as the catch-up job calls it,
 * against probe jobs whose occurrence lies minutes back and whose earlier attempts are written into the log
 * as reconcile leaves them. What a real pg_cron clock and the real function make of it is
 * tests/clock/retry-*.test.ts's.
 */
import { Client } from "pg";
import { withClient } from "../support/db";
import { asCronRunner, FunctionStandIn, setSecret, vaultedFunctionStandIn } from "../support/trigger";
import { probeJob, removeProbeJob, resetRetrySettings } from "../support/series";
import { intervalSettings, retryLimitSetting } from "../../infra/sql/operations-names";

let endpoint: FunctionStandIn;
const probes: string[] = [];

beforeAll(() =>
  withClient(async (client) => {
    endpoint = await vaultedFunctionStandIn(client);
  }));

afterAll(() =>
  withClient(async (client) => {
    await resetRetrySettings(client);
    await endpoint.release(client);
    for (const name of probes) await removeProbeJob(client, name);
  }));

beforeEach(() => withClient((client) => resetRetrySettings(client)));

const minute = 60_000;

/** A probe job (tests/support/series.ts) whose occurrence `minutesAgo` back has run before it (it is not a fresh install). */
async function probe(client: Client, name: string, minutesAgo = 10): Promise<Date> {
  const occurrence = new Date(Math.floor(Date.now() / minute) * minute - minutesAgo * minute);
  probes.push(name);
  await probeJob(client, name, occurrence);
  return occurrence;
}

interface Attempt {
  attempt: number;
  status?: string;
  httpStatus?: number | null;
  requestId?: number | null;
  error?: string;
  /** Seconds after the occurrence it was triggered, and finished. */
  at: number;
  finishedAfter?: number;
}

/** Log rows as reconcile leaves a finished attempt. */
async function attempted(client: Client, name: string, occurrence: Date, attempts: Attempt[]): Promise<string[]> {
  const ids: string[] = [];
  for (const a of attempts) {
    const triggered = new Date(occurrence.getTime() + a.at * 1000);
    const { rows } = await client.query(
      `insert into public.cron_execution_log (job_name, status, triggered_at, finished_at, http_status, request_id, error_message, occurrence, attempt, reason)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'written by the test') returning id`,
      [
        name,
        a.status ?? "failed",
        triggered,
        new Date(triggered.getTime() + (a.finishedAfter ?? 1) * 1000),
        a.httpStatus === undefined ? 503 : a.httpStatus,
        a.requestId ?? null,
        a.error ?? "HTTP 503 from the reminder function: unavailable",
        occurrence,
        a.attempt,
      ],
    );
    ids.push(rows[0].id);
  }
  return ids;
}

interface Series {
  occurrence: Date | null;
  state: string;
  attempts: number | null;
  max_attempts: number | null;
  next_attempt_at: Date | null;
  deadline_at: Date | null;
  detail: string | null;
}

async function series(client: Client, name: string): Promise<Series> {
  const { rows } = await client.query("select * from public.reminder_run_series($1)", [name]);
  return rows[0];
}

const followUp = (client: Client, name: string) =>
  asCronRunner(client, async () => (await client.query("select public.catch_up_reminder_run($1) as id", [name])).rows[0].id as string | null);

async function row(client: Client, id: string) {
  const { rows } = await client.query("select status, occurrence, attempt, reason from public.cron_execution_log where id = $1", [id]);
  return rows[0];
}

const reconcile = (client: Client) => asCronRunner(client, () => client.query("select public.reconcile_reminder_runs()"));

test("a failed attempt is retried once its back-off has passed, as the next attempt of the same occurrence, and one success ends the series", () =>
  withClient(async (client) => {
    const occurrence = await probe(client, "retry-probe-due");
    await attempted(client, "retry-probe-due", occurrence, [{ attempt: 1, at: 0 }]);
    expect(await series(client, "retry-probe-due")).toMatchObject({
      occurrence,
      state: "retrying",
      attempts: 1,
      max_attempts: 6,
      // The default back-off: a minute after the failure was known.
      next_attempt_at: new Date(occurrence.getTime() + 61_000),
      deadline_at: new Date(occurrence.getTime() + 4 * 3_600_000),
    });
    const sent = endpoint.requests.length;
    const retry = await followUp(client, "retry-probe-due");
    expect(retry).not.toBeNull();
    expect(await row(client, retry!)).toEqual({
      status: "dispatched",
      occurrence,
      attempt: 2,
      reason: "retry 1 of 5: attempt 1 failed with HTTP 503: HTTP 503 from the reminder function: unavailable",
    });
    // Never two in flight: asked again before its answer is read, the catch-up job does nothing.
    expect(await followUp(client, "retry-probe-due")).toBeNull();
    await reconcile(client);
    expect(endpoint.requests.slice(sent).map((r) => JSON.parse(r.body).run_id)).toEqual([Number(retry)]);
    expect(await row(client, retry!)).toMatchObject({ status: "succeeded" });
    expect(await series(client, "retry-probe-due")).toMatchObject({ state: "succeeded", attempts: 2 });
    expect(await followUp(client, "retry-probe-due")).toBeNull();
    expect(endpoint.requests.length).toBe(sent + 1);
  }));

test("the wait doubles with each retry: after the third failure, four back-offs", () =>
  withClient(async (client) => {
    const occurrence = await probe(client, "retry-probe-backoff");
    await setSecret(client, intervalSettings.retryBackoff.secret, "10 seconds");
    // The third failure was known 10 s ago.
    const third = Math.floor((Date.now() - occurrence.getTime()) / 1000) - 15;
    await attempted(client, "retry-probe-backoff", occurrence, [
      { attempt: 1, at: 0 },
      { attempt: 2, at: 20 },
      { attempt: 3, at: third, finishedAfter: 5 },
    ]);
    const state = await series(client, "retry-probe-backoff");
    expect(state).toMatchObject({ state: "retrying", attempts: 3, next_attempt_at: new Date(occurrence.getTime() + (third + 5 + 40) * 1000) });
    // Not yet due (the wait is 40 s): nothing is dispatched.
    expect(await followUp(client, "retry-probe-backoff")).toBeNull();
  }));

test("after the last attempt the series is exhausted, and nothing more is dispatched", () =>
  withClient(async (client) => {
    const occurrence = await probe(client, "retry-probe-exhausted", 20);
    await setSecret(client, retryLimitSetting.secret, "2");
    await attempted(client, "retry-probe-exhausted", occurrence, [
      { attempt: 1, at: 0 },
      { attempt: 2, at: 70 },
      { attempt: 3, at: 200, httpStatus: 500, error: "HTTP 500 from the reminder function: the evaluation failed" },
    ]);
    expect(await series(client, "retry-probe-exhausted")).toMatchObject({
      state: "exhausted",
      attempts: 3,
      max_attempts: 3,
      detail: "attempt 3 failed with HTTP 500: HTTP 500 from the reminder function: the evaluation failed",
    });
    expect(await followUp(client, "retry-probe-exhausted")).toBeNull();
  }));

test("no retry would come after the deadline: the series is exhausted before its attempts are", () =>
  withClient(async (client) => {
    const occurrence = await probe(client, "retry-probe-deadline", 20);
    await setSecret(client, intervalSettings.retryDeadline.secret, "5 minutes");
    await attempted(client, "retry-probe-deadline", occurrence, [
      { attempt: 1, at: 0 },
      { attempt: 2, at: 70 },
      { attempt: 3, at: 200 },
    ]);
    const state = await series(client, "retry-probe-deadline");
    expect(state.state).toBe("exhausted");
    expect(state.detail).toMatch(/; the next retry, at \d\d:\d\d:\d\d UTC, would come after the deadline$/);
    expect(await followUp(client, "retry-probe-deadline")).toBeNull();
  }));

test("every failed answer is retried, a 4xx too: any role may write pg_net's answers, so none may stop the retries", () =>
  withClient(async (client) => {
    for (const [status, state] of [
      [401, "retrying"],
      [400, "retrying"],
      [403, "retrying"],
      [409, "retrying"],
      [429, "retrying"],
      [502, "retrying"],
    ] as const) {
      const name = `retry-probe-http-${status}`;
      const occurrence = await probe(client, name);
      await attempted(client, name, occurrence, [{ attempt: 1, at: 0, httpStatus: status, error: `HTTP ${status} from the reminder function` }]);
      expect({ status, state: (await series(client, name)).state }).toEqual({ status, state });
    }
    expect(await followUp(client, "retry-probe-http-401")).not.toBeNull();
    await reconcile(client);
  }));

test("an attempt whose request pg_net never answered is caught up at once, once; a second such loss waits for its retry", () =>
  withClient(async (client) => {
    const occurrence = await probe(client, "retry-probe-lost");
    const lost = { httpStatus: null, requestId: 2_000_000_000, error: "the request was lost before pg_net sent it" };
    await attempted(client, "retry-probe-lost", occurrence, [{ attempt: 1, at: 0, finishedAfter: 59, ...lost }]);
    const state = await series(client, "retry-probe-lost");
    expect(state).toMatchObject({ state: "catch-up", detail: "attempt 1's request never reached the function: the request was lost before pg_net sent it" });
    const caught = await followUp(client, "retry-probe-lost");
    expect(await row(client, caught!)).toEqual({
      status: "dispatched",
      occurrence,
      attempt: 2,
      reason: "catch-up: attempt 1's request never reached the function: the request was lost before pg_net sent it",
    });
    const { rows } = await client.query("select run_id from public.reminder_cron_catch_ups where job_name = $1", ["retry-probe-lost"]);
    expect(rows).toEqual([{ run_id: caught }]);
    // Lost again: caught up once only; now it waits for its back-off like any failure.
    await client.query("update public.cron_execution_log set status = 'failed', finished_at = now(), request_id = $2, error_message = 'lost again' where id = $1", [
      caught,
      2_000_000_001,
    ]);
    expect(await series(client, "retry-probe-lost")).toMatchObject({ state: "retrying", attempts: 2 });
  }));

test("a run by hand that succeeds since the occurrence ends its retries; one that fails does not", () =>
  withClient(async (client) => {
    const occurrence = await probe(client, "retry-probe-by-hand");
    await attempted(client, "retry-probe-by-hand", occurrence, [{ attempt: 1, at: 0 }]);
    const byHand = (status: string) =>
      client.query(
        "insert into public.cron_execution_log (job_name, status, triggered_at, finished_at, http_status, reason) values ($1, $2, now(), now(), 200, 'by hand, as postgres') returning id",
        ["retry-probe-by-hand", status],
      );
    await byHand("failed");
    expect((await series(client, "retry-probe-by-hand")).state).toBe("retrying");
    await byHand("succeeded");
    expect((await series(client, "retry-probe-by-hand")).state).toBe("succeeded");
    expect(await followUp(client, "retry-probe-by-hand")).toBeNull();
  }));

test("a dispatch by hand is no attempt of an occurrence, and says who ran it", () =>
  withClient(async (client) => {
    const name = "retry-probe-run-now";
    await probe(client, name);
    const { rows } = await client.query("select public.dispatch_reminder_run($1) as id", [name]);
    const { rows: who } = await client.query("select session_user as name");
    expect(await row(client, rows[0].id)).toEqual({ status: "dispatched", occurrence: null, attempt: null, reason: `by hand, as ${who[0].name}` });
    await reconcile(client);
  }));

test("cron_runner cannot append a row that claims an occurrence, an attempt or a reason", () =>
  withClient(async (client) => {
    for (const [column, value] of [
      ["occurrence", new Date()],
      ["attempt", 1],
      ["reason", "retry 1 of 5"],
    ] as const) {
      const error = await asCronRunner(client, () =>
        client.query(`insert into public.cron_execution_log (job_name, status, finished_at, ${column}) values ('retry-probe-forged', 'skipped', now(), $1)`, [value]),
      ).catch((e) => e);
      expect(error.message).toBe('new row violates row-level security policy for table "cron_execution_log"');
    }
  }));

describe("retry settings out of range are refused, naming the setting, the value and the fix, and nothing changes", () => {
  const defaultsFix = "select public.set_reminder_cron_retries(5, '1 minute', '4 hours');";
  test.each([
    [-1, "1 minute", "4 hours", `reminder_retry_limit is -1: give 0 (no retries) to 10. Fix: ${defaultsFix}`],
    [11, "1 minute", "4 hours", `reminder_retry_limit is 11: give 0 (no retries) to 10. Fix: ${defaultsFix}`],
    [5, "-1 minute", "4 hours", `reminder_retry_backoff is '-00:01:00': a wait cannot be negative. Fix: ${defaultsFix}`],
    [5, "1 minute", "-4 hours", `reminder_retry_deadline is '-04:00:00': a deadline cannot be negative. Fix: ${defaultsFix}`],
    [
      0,
      "1 minute",
      "4 hours",
      `reminder_retry_limit is 0 (no retries), yet reminder_retry_backoff is '00:01:00': a back-off with nothing to retry is a setting half-changed. Fix: to retry, ${defaultsFix} To never retry, select public.set_reminder_cron_retries(0, '0', '4 hours');`,
    ],
    [5, "1 minute", "30 seconds", `reminder_retry_deadline is '00:00:30': retries are looked for once a minute, so give at least 1 minute. Fix: ${defaultsFix}`],
    [5, "10 minutes", "5 minutes", `reminder_retry_deadline is '00:05:00', shorter than the first retry's wait (reminder_retry_backoff '00:10:00'), so no retry would ever run. Fix: ${defaultsFix}`],
    [
      5,
      "1 minute",
      "1 day",
      "reminder_retry_deadline is '1 day', which reaches the next occurrence: schedule '0 6 * * *' runs as little as 24:00:00 apart, and the retries of one occurrence would run into the next. Fix: keep it under 24:00:00, e.g. select public.set_reminder_cron_retries(5, '00:01:00', '04:00:00');",
    ],
  ])("%s retries, back-off %s, deadline %s", (retries, backoff, deadline, message) =>
    withClient(async (client) => {
      await client.query("select public.set_reminder_cron_retries(3, '2 minutes', '1 hour')");
      const error = await client.query("select public.set_reminder_cron_retries($1, $2::interval, $3::interval)", [retries, backoff, deadline]).catch((e) => e);
      expect(error.code).toBe("22023");
      expect(error.message).toBe(`Retry settings refused, nothing changed: ${message}`);
      expect((await client.query("select retries, backoff::text, deadline::text from public.reminder_cron_retry_policy()")).rows).toEqual([
        { retries: 3, backoff: "00:02:00", deadline: "01:00:00" },
      ]);
    }));

  test("a value put in Vault by hand that is out of range stops the retries, saying so in the same sentence, and not the catch-ups", () =>
    withClient(async (client) => {
      const policy = () => client.query("select * from public.reminder_cron_retry_policy()").catch((e) => e);
      await setSecret(client, retryLimitSetting.secret, "-2");
      const sentence = `Vault holds retry settings reminder-cron cannot use: reminder_retry_limit is -2: give 0 (no retries) to 10. Fix: ${defaultsFix}`;
      expect((await policy()).message).toBe(sentence);

      const failed = await probe(client, "retry-probe-bad-vault");
      await attempted(client, "retry-probe-bad-vault", failed, [{ attempt: 1, at: 0 }]);
      expect(await series(client, "retry-probe-bad-vault")).toMatchObject({
        state: "exhausted",
        detail: `attempt 1 failed with HTTP 503: HTTP 503 from the reminder function: unavailable; no retry: ${sentence}`,
      });
      expect(await followUp(client, "retry-probe-bad-vault")).toBeNull();

      // A missed occurrence is still caught up.
      await probe(client, "retry-probe-bad-vault-missed");
      const caught = await followUp(client, "retry-probe-bad-vault-missed");
      expect(caught).not.toBeNull();
      await reconcile(client);

      await setSecret(client, retryLimitSetting.secret, "five");
      const notNumber = await policy();
      expect(notNumber.message).toBe("Vault secret reminder_retry_limit holds 'five', which is not a whole number of retries");
      expect(notNumber.hint).toBe(`Set it with ${defaultsFix}`);
    }));
});

test("upgraded after a failed run that names no occurrence (logged before attempts were): caught up once, saying so", () =>
  withClient(async (client) => {
    const occurrence = await probe(client, "retry-probe-upgrade");
    const { rows } = await client.query(
      "insert into public.cron_execution_log (job_name, status, triggered_at, finished_at, http_status, error_message) values ($1, 'failed', $2, $2, 503, 'HTTP 503') returning id",
      ["retry-probe-upgrade", new Date(occurrence.getTime() + 1000)],
    );
    expect(await series(client, "retry-probe-upgrade")).toMatchObject({
      state: "catch-up",
      detail: `no attempt of it is recorded, and run ${rows[0].id} since it (by hand, or logged before attempts were) failed`,
    });
    const caught = await followUp(client, "retry-probe-upgrade");
    expect(await row(client, caught!)).toMatchObject({ attempt: 1, occurrence });
    await reconcile(client);
    expect((await series(client, "retry-probe-upgrade")).state).toBe("succeeded");
  }));
