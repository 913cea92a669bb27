/**
 * What a caller's own session can do to the functions that run as their owner. An empty search_path still
 * searches pg_temp first for types, so a domain named pg_temp.text with a check of the caller's would run
 * with the owner's rights inside every function; and a lock any role may take on pg_net's tables would hold
 * every minute's job until pg_cron's slots ran out.
 */
import { Client } from "pg";
import { withClient } from "../support/db";
import { asCronRunner } from "../support/trigger";
import { defaultJobName } from "../../infra/sql/names";

/** As cron_runner, shadows the types the functions name with domains whose check runs the caller's code. */
async function shadowTypes(client: Client): Promise<void> {
  await client.query(`create function pg_temp.probe(v anyelement) returns boolean language plpgsql as $$
    begin raise exception 'temporary code ran as %', current_user; end $$`);
  // integer, bigint and boolean are keywords, never looked up; these are names, found on the search_path.
  for (const type of ["text", "timestamptz", "interval", "date", "jsonb", "bytea"]) {
    await client.query(`create domain pg_temp.${type} as pg_catalog.${type} check (pg_temp.probe(value))`);
  }
}

test("a domain in pg_temp named like a built-in type runs none of its caller's code inside the owner's functions", () =>
  withClient(async (client) => {
    await asCronRunner(client, async () => {
      await shadowTypes(client);
      for (const call of [
        "select public.catch_up_reminder_run($1)",
        "select public.dispatch_reminder_run($1)",
        "select public.reconcile_reminder_runs() where $1::pg_catalog.text is not null",
      ]) {
        const outcome = await client.query(call, [defaultJobName]).then(
          () => "ran",
          (error: Error) => error.message,
        );
        expect({ call, outcome }).toEqual({ call, outcome: "ran" });
      }
    });
  }));

test("a lock held on pg_net's queue fails the dispatch after 5 s, saying so, instead of holding the job", () =>
  withClient((holder) =>
    withClient(async (client) => {
      await holder.query("begin");
      await holder.query("lock table net.http_request_queue in access exclusive mode");
      try {
        const { rows } = await asCronRunner(client, () => client.query("select public.dispatch_reminder_run($1) as id", [defaultJobName]));
        const { rows: logged } = await client.query("select status, error_message from public.cron_execution_log where id = $1", [rows[0].id]);
        expect(logged[0]).toEqual({ status: "failed", error_message: "pg_net did not accept the request: canceling statement due to lock timeout" });
      } finally {
        await holder.query("rollback");
      }
    }),
  ));
