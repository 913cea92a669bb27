/**
 * Issue 16's catch-up with the database up, on pg_cron's own clock: the day's request is deleted from pg_net's
 * queue before its worker sent it (the worker is held by a slow request meanwhile, as pg_net's is, one batch
 * at a time). Reconcile finds the request lost; the catch-up job dispatches the occurrence again, once, with
 * the reason in its row; the reminder is created once. About two to three minutes, on a lane of its own.
 */
import { Client } from "pg";
import { waitFor, withClient } from "../support/db";
import { startEndpoint, TestEndpoint } from "../support/http-server";
import { createAssignment, notificationsFor, pointVaultAtFunction } from "../support/reminder-scheduler";
import { alterJob, asCronRunner } from "../support/trigger";
import { attemptsOf, nextOccurrence, scheduleDailyAt, seriesReaches } from "../support/series";
import { defaultCronExpression, defaultJobName, reconcileCommand } from "../../infra/sql/names";

let slow: TestEndpoint;
let restoreVault: (client: Client) => Promise<void>;

beforeAll(() =>
  withClient(async (client) => {
    slow = await startEndpoint({ status: 200, body: "{}", delayMs: 20_000 });
    restoreVault = await pointVaultAtFunction(client);
  }));

afterAll(() =>
  withClient(async (client) => {
    await alterJob(client, { schedule: defaultCronExpression });
    await restoreVault(client);
    await slow.close();
    await asCronRunner(client, () => client.query(reconcileCommand));
  }));

test("a request deleted from pg_net's queue before it was sent is found lost, and its occurrence caught up once", () =>
  withClient(async (client) => {
    const assignment = await createAssignment(client);
    const occurrence = nextOccurrence();
    await scheduleDailyAt(client, occurrence);

    // The worker is busy with a slow request from 3 s before the occurrence until well after it.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, occurrence.getTime() - 3000 - Date.now())));
    await client.query("select net.http_post(url => $1, body => '{}'::jsonb, timeout_milliseconds => 25000)", [slow.url]);
    const first = await waitFor(
      "the occurrence's first attempt, queued",
      async () => (await attemptsOf(client, occurrence)).find((a) => a.attempt === 1),
      30_000,
      50,
    );
    const { rows: request } = await client.query("select request_id from public.cron_execution_log where id = $1", [first.id]);
    const deleted = await client.query("delete from net.http_request_queue where id = $1", [request[0].request_id]);
    expect(deleted.rowCount).toBe(1);

    const series = await seriesReaches(client, occurrence, ["succeeded", "exhausted", "missed"], 270_000);
    expect(series.state).toBe("succeeded");
    const attempts = await attemptsOf(client, occurrence);
    expect(attempts.map(({ attempt, status }) => ({ attempt, status }))).toEqual([
      { attempt: 1, status: "failed" },
      { attempt: 2, status: "succeeded" },
    ]);
    expect(attempts[0].error_message).toMatch(/^the request was lost before pg_net sent it: /);
    expect(attempts[1].reason).toMatch(/^catch-up: attempt 1's request never reached the function: the request was lost before pg_net sent it: /);
    const { rows: caught } = await client.query("select run_id from public.reminder_cron_catch_ups where job_name = $1 and occurrence = $2", [defaultJobName, occurrence]);
    expect(caught).toEqual([{ run_id: attempts[1].id }]);
    expect(await notificationsFor(client, assignment.id)).toHaveLength(1);
  }),
  330_000);
