/**
 * The trigger on pg_cron's own clock: with a one-minute schedule the job fires, its outcome is logged
 * within the minute, a failure does not stop the next tick, and a database restart loses nothing.
 * These tests wait for real minute boundaries (pg_cron 1.4 has no seconds schedule).
 */
import { Client } from "pg";
import { waitFor, withClient } from "../support/db";
import { startEndpoint, TestEndpoint } from "../support/http-server";
import { alterJob, jobRows, lastLogId, LogRow, logRowsAfter, setSecret } from "../support/trigger";
import { startStack, stopStack } from "../../stack/stack";
import { defaultCronExpression, signatureHeader, vaultSecrets } from "../../infra/sql/names";

const withinAMinute = 70000;
let endpoint: TestEndpoint;

/** Waits for the next finished row of the job after `afterId`: the outcome of the next tick. */
async function nextOutcome(client: Client, afterId: string): Promise<LogRow> {
  return waitFor(
    "the next tick's outcome in cron_execution_log",
    async () => (await logRowsAfter(client, afterId)).find((row) => row.status !== "dispatched"),
    withinAMinute,
    500,
  );
}

beforeAll(async () => {
  endpoint = await startEndpoint();
  await withClient(async (client) => {
    await setSecret(client, vaultSecrets.functionUrl, `${endpoint.url}/functions/v1/reminder-scheduler`);
    await alterJob(client, { schedule: "* * * * *" });
  });
});

afterAll(async () => {
  await withClient((client) => alterJob(client, { schedule: defaultCronExpression }));
  await endpoint.close();
});

test("with a one-minute schedule, a succeeded row appears within 70 s and the endpoint got a signed request", () =>
  withClient(async (client) => {
    endpoint.reply({ status: 200, body: '{"ok":true}' });
    const row = await nextOutcome(client, await lastLogId(client));
    expect(row).toMatchObject({ status: "succeeded", http_status: 200 });
    const request = endpoint.requests.find((r) => JSON.parse(r.body).run_id === Number(row.id));
    expect(request?.headers[signatureHeader]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(request?.headers.authorization).toBeUndefined();
  }), 90000);

test("a failing tick is logged with its HTTP status, and the next tick still fires and is logged", () =>
  withClient(async (client) => {
    endpoint.reply({ status: 503, body: "maintenance" });
    const failed = await nextOutcome(client, await lastLogId(client));
    expect(failed).toMatchObject({ status: "failed", http_status: 503, error_message: "HTTP 503 from the reminder function: maintenance" });
    endpoint.reply({ status: 200 });
    const next = await nextOutcome(client, failed.id);
    expect(next).toMatchObject({ status: "succeeded", http_status: 200 });
  }), 160000);

test("after a database restart the job is still registered, and fires", async () => {
  const before = await withClient(async (client) => ({ jobs: await jobRows(client), lastId: await lastLogId(client) }));
  await stopStack();
  await startStack();
  await withClient(async (client) => {
    expect(await jobRows(client)).toEqual(before.jobs);
    const row = await nextOutcome(client, before.lastId);
    expect(row.status).toBe("succeeded");
  });
}, 120000);
