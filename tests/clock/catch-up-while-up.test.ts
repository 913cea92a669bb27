/**
 * The catch-up's other half, on pg_cron's clock: an occurrence that passed while the database was up, with no
 * run logged for it (pg_cron's launcher missed it, or the job was not there to run), is dispatched once, and
 * its row says why. The reason needs a database up for over two minutes, so this file runs on a lane of its
 * own, beside catch-up.test.ts, and waits for that.
 */
import { Client } from "pg";
import { withClient } from "../support/db";
import { asCronRunner } from "../support/trigger";
import { dispatchCommand } from "../../infra/sql/names";

const minute = 60_000;
const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
const fields = (at: number) => `${new Date(at).getUTCMinutes()} ${new Date(at).getUTCHours()}`;
const upProbe = "catch-up-probe-while-up";

async function runsSince(client: Client, jobName: string, since: number): Promise<{ id: string; status: string }[]> {
  const { rows } = await client.query("select id, status from public.cron_execution_log where job_name = $1 and triggered_at >= $2 order by id", [
    jobName,
    new Date(since),
  ]);
  return rows;
}

afterAll(() =>
  withClient(async (client) => {
    await asCronRunner(client, () => client.query("select cron.unschedule(jobid) from cron.job where jobname = $1 and username = current_user", [upProbe]));
    await client.query("delete from public.cron_execution_log where job_name = $1", [upProbe]);
    await client.query("delete from public.reminder_cron_catch_ups where job_name = $1", [upProbe]);
    await client.query("select public.reconcile_reminder_runs()");
  }));

test("an occurrence that pg_cron did not run while the database was up is caught up once, saying why", () =>
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
    const caught = await asCronRunner(client, () => client.query("select public.catch_up_reminder_run($1) as id", [upProbe]));
    expect(caught.rows[0].id).not.toBeNull();
    const { rows: logged } = await client.query("select occurrence, attempt, reason from public.cron_execution_log where id = $1", [caught.rows[0].id]);
    expect(logged).toEqual([{ occurrence: new Date(occurrence), attempt: 1, reason: "catch-up: pg_cron started no run of it (its launcher missed the minute)" }]);
    // Once: the next minute's follow-up finds the run.
    const again = await asCronRunner(client, () => client.query("select public.catch_up_reminder_run($1) as id", [upProbe]));
    expect(again.rows[0].id).toBeNull();
    expect(await runsSince(client, upProbe, occurrence)).toHaveLength(1);
  }), 240_000);
