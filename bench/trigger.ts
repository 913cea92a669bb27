/**
 * Benchmarks of the trigger itself (issue 3): the dispatch function's own cost, and the time from pg_cron's
 * tick (the minute boundary) to the request arriving at the endpoint. Run by `npm run bench` (bench/run.ts),
 * or alone: `npx tsx bench/trigger.ts`. BENCH_TICKS sets how many minute ticks to observe (default 5).
 */
import { Client } from "pg";
import { startStack } from "../stack/stack";
import { alterJob, asCronRunner, vaultedFunctionStandIn } from "../tests/support/trigger";
import { defaultCronExpression } from "../infra/sql/names";
import { runStandalone, spread } from "./run";


/** Server-side execution time of one dispatch (EXPLAIN ANALYZE), in a transaction rolled back so nothing is sent. */
async function dispatchCosts(client: Client, calls: number): Promise<number[]> {
  const costs: number[] = [];
  for (let i = 0; i < calls; i++) {
    await client.query("begin");
    await client.query("set local role cron_runner");
    const { rows } = await client.query("explain (analyze, format json) select public.dispatch_reminder_run()");
    await client.query("rollback");
    costs.push(rows[0]["QUERY PLAN"][0]["Execution Time"]);
  }
  return costs;
}

async function tickLatencies(client: Client, ticks: number): Promise<number[]> {
  const endpoint = await vaultedFunctionStandIn(client, { status: 200, body: "{}" });
  try {
    await alterJob(client, { schedule: "* * * * *" });
    const latencies: number[] = [];
    while (latencies.length < ticks) {
      const seen = endpoint.requests.length;
      while (endpoint.requests.length === seen) await new Promise((r) => setTimeout(r, 20));
      const arrived = endpoint.requests[seen].receivedAt;
      const tick = Math.floor(arrived / 60000) * 60000;
      latencies.push(arrived - tick);
      process.stderr.write(`bench trigger: tick ${latencies.length}/${ticks}: request ${arrived - tick} ms after the minute\n`);
    }
    return latencies;
  } finally {
    await alterJob(client, { schedule: defaultCronExpression });
    await endpoint.release(client);
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const state = await startStack();
  const client = new Client({ connectionString: state.postgresUrl });
  await client.connect();
  try {
    const costs = await dispatchCosts(client, 1000);
    const ticks = Number(process.env.BENCH_TICKS ?? 5);
    const latencies = await tickLatencies(client, ticks);
    // Clear what the measurement queued so the log shows only real runs.
    await asCronRunner(client, () => client.query("select public.reconcile_reminder_runs()"));
    return {
      dispatchCostMs: spread(costs),
      tickToRequestMs: { ...spread(latencies), max: Math.max(...latencies) },
      requirement: "tick to request under 5000 ms; goal under 1000 ms",
    };
  } finally {
    await client.end();
  }
}

if (require.main === module) runStandalone("trigger", run);
