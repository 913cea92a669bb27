/**
 * The trigger on pg_cron's own clock, two jobs on one schedule so each tick proves two things: with a
 * one-minute schedule the job fires and its outcome is logged within the minute; a failing tick is logged
 * with its HTTP status and does not stop the next one. pg_cron 1.4 has no seconds schedule, so these wait
 * for real minute boundaries (two ticks); they run on a lane of their own beside the rest of the suite.
 */
import { Client } from "pg";
import { waitFor, withClient } from "../support/db";
import { alterJob, asCronRunner, FunctionStandIn, lastLogId, LogRow, logRowsAfter, vaultedFunctionStandIn } from "../support/trigger";
import { defaultCronExpression, defaultJobName, dispatchCommand, signatureHeader } from "../../infra/sql/names";

/** A second job of cron_runner on the same schedule, the one whose endpoint fails first. */
const probe = "trigger-ticks-probe";
const withinAMinute = 70_000;
let endpoint: FunctionStandIn;
let probeFails = true;
/** The log's last id before the schedules changed: every tick this file waits for comes after it. */
let startId: string;

/** Waits for the next finished row of `jobName` after `afterId`: the outcome of its next tick. */
const nextOutcome = (client: Client, afterId: string, jobName: string): Promise<LogRow> =>
  waitFor(
    `the next tick's outcome of ${jobName} in cron_execution_log`,
    async () => (await logRowsAfter(client, afterId, jobName)).find((row) => row.status !== "dispatched"),
    withinAMinute,
    500,
  );

beforeAll(async () => {
  await withClient(async (client) => {
    startId = await lastLogId(client);
    endpoint = await vaultedFunctionStandIn(client);
    endpoint.reply((request) => (JSON.parse(request.body).job_name === probe && probeFails ? { status: 503, body: "maintenance" } : { status: 200, body: '{"ok":true}' }));
    await alterJob(client, { schedule: "* * * * *" });
    await asCronRunner(client, () => client.query("select cron.schedule($1, '* * * * *', $2)", [probe, dispatchCommand(probe)]));
  });
});

afterAll(async () => {
  await withClient(async (client) => {
    await alterJob(client, { schedule: defaultCronExpression });
    await asCronRunner(client, () => client.query("select cron.unschedule($1)", [probe]));
    // Settle what the last ticks dispatched, then drop the probe's rows: the next file on this lane reads a quiet log.
    await asCronRunner(client, () => client.query("select public.reconcile_reminder_runs()"));
    await client.query("delete from public.cron_execution_log where job_name = $1", [probe]);
    await endpoint.release(client);
  });
});

test("with a one-minute schedule, a succeeded row appears within 70 s and the endpoint got a signed request", () =>
  withClient(async (client) => {
    const row = await nextOutcome(client, startId, defaultJobName);
    expect(row).toMatchObject({ status: "succeeded", http_status: 200 });
    const request = endpoint.requests.find((r) => JSON.parse(r.body).run_id === Number(row.id));
    expect(request?.headers[signatureHeader]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(request?.headers.authorization).toBeUndefined();
  }), 90_000);

test("a failing tick is logged with its HTTP status, and the next tick still fires and is logged", () =>
  withClient(async (client) => {
    const failed = await nextOutcome(client, startId, probe);
    expect(failed).toMatchObject({ status: "failed", http_status: 503, error_message: "HTTP 503 from the reminder function: maintenance" });
    probeFails = false;
    const next = await nextOutcome(client, failed.id, probe);
    expect(next).toMatchObject({ status: "succeeded", http_status: 200 });
    expect(next.triggered_at.getTime() - failed.triggered_at.getTime()).toBeGreaterThanOrEqual(55_000);
  }), 160_000);
