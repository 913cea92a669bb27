/**
 * A missed run caught up on pg_cron's own clock: the daily job's occurrence passes while the database is
 * stopped; once it is back, the catch-up job (every minute) dispatches it, exactly once. This waits for real
 * minute boundaries (pg_cron 1.4 has no seconds schedule), one to two minutes, on a lane of its own; an
 * occurrence that passes while the database is up is catch-up-while-up.test.ts's.
 */
import { Client } from "pg";
import { waitFor, withClient } from "../support/db";
import { alterJob, asCronRunner, dispatchAndReconcile, FunctionStandIn, vaultedFunctionStandIn } from "../support/trigger";
import { nextOccurrence, scheduleDailyAt } from "../support/series";
import { startStack, stopStack } from "../../stack/stack";
import { defaultCronExpression, defaultJobName, reconcileCommand } from "../../infra/sql/names";
import { catchUpCommand } from "../../infra/sql/operations-migration";

const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
let endpoint: FunctionStandIn;

beforeAll(async () => {
  await withClient(async (client) => {
    endpoint = await vaultedFunctionStandIn(client);
  });
});

afterAll(async () => {
  await withClient(async (client) => {
    await alterJob(client, { schedule: defaultCronExpression });
    await endpoint.release(client);
  });
});

async function runsSince(client: Client, jobName: string, since: number): Promise<{ id: string; status: string }[]> {
  const { rows } = await client.query("select id, status from public.cron_execution_log where job_name = $1 and triggered_at >= $2 order by id", [
    jobName,
    new Date(since),
  ]);
  return rows;
}

test("the daily run missed while the database was down is run once when it is back, and not again", async () => {
  // As on every earlier day, the job has run before.
  await withClient((client) => dispatchAndReconcile(client));

  // Its next occurrence: the first minute boundary at least 10 s away; the database stops well before it.
  const occurrence = nextOccurrence().getTime();
  await withClient((client) => scheduleDailyAt(client, new Date(occurrence)));
  await stopStack();
  await sleepUntil(occurrence + 3000);
  await startStack();
  const sent = endpoint.requests.length;

  await withClient(async (client) => {
    // The premise, checked: the server that runs now started after the occurrence, so pg_cron missed it.
    const { rows: started } = await client.query("select pg_postmaster_start_time() as at");
    expect(started[0].at.getTime()).toBeGreaterThan(occurrence);
    const caught = await waitFor(
      "the catch-up of the missed occurrence",
      async () => {
        const { rows } = await client.query("select run_id, caught_up_at from public.reminder_cron_catch_ups where job_name = $1 and occurrence = $2", [
          defaultJobName,
          new Date(occurrence),
        ]);
        return rows[0] as { run_id: string; caught_up_at: Date } | undefined;
      },
      130_000,
      500,
    );
    // Settle it now as the reconcile job would at its next tick (trigger-ticks.test.ts proves that job on the clock).
    await asCronRunner(client, () => client.query(reconcileCommand));
    const [outcome] = (await runsSince(client, defaultJobName, occurrence)).filter((run) => run.id === caught.run_id);
    expect(outcome.status).toBe("succeeded");
    expect(endpoint.requests.slice(sent).map((request) => JSON.parse(request.body).run_id)).toEqual([Number(caught.run_id)]);

    // The catch-up job's own command, run again now as cron_runner, still sees the missed occurrence and
    // leaves it: caught up once. (Races between two callers are catch-up-rules.test.ts's.)
    const again = await asCronRunner(client, () => client.query(`${catchUpCommand(defaultJobName)} as id`));
    expect(again.rows[0].id).toBeNull();
    expect(await runsSince(client, defaultJobName, occurrence)).toEqual([outcome]);
    const { rows } = await client.query("select count(*)::int as n from public.reminder_cron_catch_ups where job_name = $1 and occurrence = $2", [
      defaultJobName,
      new Date(occurrence),
    ]);
    expect(rows[0].n).toBe(1);
  });
}, 240_000);
