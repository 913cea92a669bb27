/**
 * A restart loses nothing: the job registered by the migration is still there after the database stops and
 * starts, unchanged, and pg_cron fires it at the next minute. On a lane of its own, one tick.
 */
import { waitFor, withClient } from "../support/db";
import { alterJob, FunctionStandIn, jobRows, lastLogId, logRowsAfter, vaultedFunctionStandIn } from "../support/trigger";
import { startStack, stopStack } from "../../stack/stack";
import { defaultCronExpression } from "../../infra/sql/names";

let endpoint: FunctionStandIn;

beforeAll(async () => {
  await withClient(async (client) => {
    endpoint = await vaultedFunctionStandIn(client);
    await alterJob(client, { schedule: "* * * * *" });
  });
});

afterAll(async () => {
  await withClient(async (client) => {
    await alterJob(client, { schedule: defaultCronExpression });
    await endpoint.release(client);
  });
});

test("after a database restart the job is still registered, unchanged, and fires", async () => {
  const before = await withClient(async (client) => ({ jobs: await jobRows(client), lastId: await lastLogId(client) }));
  expect(before.jobs).toHaveLength(1);
  await stopStack();
  await startStack();
  await withClient(async (client) => {
    expect(await jobRows(client)).toEqual(before.jobs);
    const row = await waitFor(
      "the first tick's outcome after the restart",
      async () => (await logRowsAfter(client, before.lastId)).find((r) => r.status !== "dispatched"),
      70_000,
      500,
    );
    expect(row.status).toBe("succeeded");
    expect(endpoint.requests.some((request) => JSON.parse(request.body).run_id === Number(row.id))).toBe(true);
  });
}, 120_000);
