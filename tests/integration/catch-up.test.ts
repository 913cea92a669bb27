/**
 * A missed run caught up on pg_cron's own clock: the daily job's occurrence passes while the database is
 * stopped; once it is back, the catch-up job (every minute) dispatches it, exactly once, and the ticks after
 * that do nothing. An occurrence that passes while the database is up is left alone. These tests wait for
 * real minute boundaries (pg_cron 1.4 has no seconds schedule), about four minutes in all.
 */
import { Client } from "pg";
import { waitFor, withClient } from "../support/db";
import { startEndpoint, TestEndpoint } from "../support/http-server";
import { alterJob, asCronRunner, dispatchAndReconcile, setSecret } from "../support/trigger";
import { startStack, stopStack } from "../../stack/stack";
import { defaultCronExpression, defaultJobName, dispatchCommand, vaultSecrets } from "../../infra/sql/names";

const minute = 60_000;
const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
const fields = (at: number) => `${new Date(at).getUTCMinutes()} ${new Date(at).getUTCHours()}`;
const upProbe = "catch-up-probe-while-up";
let endpoint: TestEndpoint;

beforeAll(async () => {
  endpoint = await startEndpoint();
  await withClient(async (client) => {
    await setSecret(client, vaultSecrets.functionUrl, `${endpoint.url}/functions/v1/reminder-scheduler`);
  });
});

afterAll(async () => {
  await withClient(async (client) => {
    await alterJob(client, { schedule: defaultCronExpression });
    await asCronRunner(client, () => client.query("select cron.unschedule(jobid) from cron.job where jobname = $1 and username = current_user", [upProbe]));
    await client.query("delete from public.cron_execution_log where job_name = $1", [upProbe]);
  });
  await endpoint.close();
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

  // Its next occurrence: the first minute boundary at least 20 s away, so the database is surely down then.
  const occurrence = Math.ceil((Date.now() + 20_000) / minute) * minute;
  await withClient((client) => alterJob(client, { schedule: `${fields(occurrence)} * * *` }));
  await stopStack();
  await sleepUntil(occurrence + 3000);
  await startStack();
  const sent = endpoint.requests.length;

  await withClient(async (client) => {
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
    const outcome = await waitFor(
      "the catch-up run's outcome",
      async () => (await runsSince(client, defaultJobName, occurrence)).find((run) => run.id === caught.run_id && run.status !== "dispatched"),
      70_000,
      500,
    );
    expect(outcome.status).toBe("succeeded");
    expect(endpoint.requests.slice(sent).map((request) => JSON.parse(request.body).run_id)).toEqual([Number(caught.run_id)]);

    // Two more ticks of the catch-up job: the occurrence stays caught up once, and nothing else ran.
    await sleepUntil(Math.floor(caught.caught_up_at.getTime() / minute) * minute + 2 * minute + 5000);
    expect(await runsSince(client, defaultJobName, occurrence)).toEqual([outcome]);
    const { rows } = await client.query("select count(*)::int as n from public.reminder_cron_catch_ups where job_name = $1 and occurrence = $2", [
      defaultJobName,
      new Date(occurrence),
    ]);
    expect(rows[0].n).toBe(1);
  });
}, 330_000);

test("an occurrence that passed while the database was up is left alone: pg_cron was there to run it", () =>
  withClient(async (client) => {
    const { rows } = await client.query("select extract(epoch from pg_postmaster_start_time()) * 1000 as started");
    // The first minute at least one minute after the database started, and at least a minute ago.
    const occurrence = Math.ceil((Number(rows[0].started) + minute) / minute) * minute;
    await sleepUntil(occurrence + minute + 1000);
    // A job created after that minute, so pg_cron never ran it, with a run the day before.
    await client.query("delete from public.cron_execution_log where job_name = $1", [upProbe]);
    await asCronRunner(client, () => client.query("select cron.schedule($1, $2, $3)", [upProbe, `${fields(occurrence)} * * *`, dispatchCommand(upProbe)]));
    await client.query("insert into public.cron_execution_log (job_name, status, triggered_at, finished_at) values ($1, 'succeeded', $2, $2)", [
      upProbe,
      new Date(occurrence - 86_400_000),
    ]);
    const caught = await asCronRunner(client, () => client.query("select public.catch_up_reminder_run($1, '1 hour') as id", [upProbe]));
    expect(caught.rows[0].id).toBeNull();
    expect(await runsSince(client, upProbe, occurrence)).toEqual([]);
  }), 180_000);
