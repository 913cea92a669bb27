/**
 * What the operations cost: the catch-up check pg_cron runs every minute (when nothing was missed, its
 * usual case), and `reminder-cron status` and `logs` over a long history (a million log rows, two years at
 * one a minute), where the indexes keep them flat. Run by `npm run bench` (bench/run.ts), or alone:
 * `npx tsx bench/operations.ts`.
 */
import { Client } from "pg";
import { logs } from "../cli/commands/logs";
import { status } from "../cli/commands/status";
import { startStack } from "../stack/stack";
import { runStandalone, spread } from "./run";
import { defaultJobName, logTable, qualified } from "../infra/sql/names";

const historyRows = 1_000_000;
const probe = "bench-operations";

/** Server-side time of one catch-up check as its job runs it, in a transaction rolled back so nothing is sent. */
async function catchUpCosts(client: Client, calls: number): Promise<number[]> {
  const costs: number[] = [];
  for (let i = 0; i < calls; i++) {
    await client.query("begin");
    await client.query("set local role cron_runner");
    const { rows } = await client.query("explain (analyze, format json) select public.catch_up_reminder_run($1)", [defaultJobName]);
    await client.query("rollback");
    costs.push(rows[0]["QUERY PLAN"][0]["Execution Time"]);
  }
  return costs;
}

async function timed(calls: number, fn: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return times;
}

export async function run(): Promise<Record<string, unknown>> {
  const state = await startStack();
  const client = new Client({ connectionString: state.postgresUrl });
  await client.connect();
  try {
    const catchUp = spread(await catchUpCosts(client, 200));
    await client.query(`set time zone 'UTC'`);
    await client.query(
      `insert into ${qualified(logTable)} (job_name, status, triggered_at, finished_at, http_status)
       select $1, case when g % 50 = 0 then 'failed' else 'succeeded' end, now() - (g || ' minutes')::interval,
              now() - (g || ' minutes')::interval + interval '300 milliseconds', case when g % 50 = 0 then 503 else 200 end
         from generate_series(1, $2) g`,
      [probe, historyRows],
    );
    await client.query(`analyze ${qualified(logTable)}`);
    try {
      const statusMs = spread(await timed(20, () => status(client, probe)));
      const logsMs = spread(await timed(20, () => logs(client, probe, new Date(Date.now() - 86_400_000))));
      return {
        catchUpCheckMs: catchUp,
        statusMs: { ...statusMs, historyRows },
        logs24hMs: { ...logsMs, historyRows, rowsListed: 1440 },
        note: "catch-up: server-side execution time of the every-minute check; status and logs: client-side, one connection, over a million rows",
      };
    } finally {
      await client.query(`delete from ${qualified(logTable)} where job_name = $1`, [probe]);
      await client.query(`analyze ${qualified(logTable)}`);
    }
  } finally {
    await client.end();
  }
}

if (require.main === module) runStandalone("operations", run);
