/**
 * A test file's world of its own. The files of a lane run one after another on one database, and what a
 * file leaves there outlives it: a request pg_net has not answered yet (the real pg_net's worker is a
 * background worker in the server, and answers when it gets to it), a run that answered 202 and works on,
 * a lease, log rows still in flight, and records that name ids the lane hands out later. Any of them
 * changes the outcome of the next file's dispatch: it is skipped behind the run in flight, the function
 * answers 409 to it, or reconcile settles it from a record another test made up. settleLane() is run
 * before every file (tests/support/lane-stack.ts) and ends each of those, so no file sees another's.
 */
import { Client } from "pg";
import { withClient, waitFor } from "./db";
import { dispatchTimeoutMs, logTable, qualified, signedRequestsTable } from "../../infra/sql/names";

/** How long pending requests get to be answered: each has dispatchTimeoutMs once taken, plus the worker's turn. */
export const pendingAnswerWaitMs = 3 * dispatchTimeoutMs;

const leftBehind = "left in flight by an earlier test file; settled before the next one started";

async function exists(client: Client, relation: string): Promise<boolean> {
  const { rows } = await client.query("select to_regclass($1) is not null as present", [relation]);
  return rows[0].present;
}

/** Requests still queued, and dispatched runs whose request has no answer yet. */
async function pendingRequests(client: Client, withLog: boolean): Promise<{ queued: number; unanswered: number }> {
  const { rows } = await client.query(
    `select (select count(*) from net.http_request_queue)::int as queued,
            ${withLog ? `(select count(*) from ${qualified(logTable)} l
                           where l.status = 'dispatched' and l.request_id is not null
                             and not exists (select 1 from net._http_response r where r.id = l.request_id))::int` : "0"} as unanswered`,
  );
  return rows[0];
}

/** Moves `sequence` past `floor`, so the next id it hands out is greater than every id already named. */
async function advancePast(client: Client, sequence: string, floor: string | null): Promise<void> {
  if (floor === null) return;
  await client.query(
    `select setval($1::regclass, $2::bigint) from pg_sequences
      where format('%I.%I', schemaname, sequencename)::regclass = $1::regclass and coalesce(last_value, 0) < $2::bigint`,
    [sequence, floor],
  );
}

export async function settleLane(): Promise<void> {
  await withClient(
    async (client) => {
      const net = await exists(client, "net.http_request_queue");
      const log = await exists(client, qualified(logTable));
      const runs = await exists(client, "public.reminder_runs");
      const signed = await exists(client, qualified(signedRequestsTable));

      // 1. pg_net: what the last file queued is answered, or gone. An answer that arrived during this file
      //    would have settled, or (to the real function) started, a run of the last file inside this one.
      if (net) {
        try {
          await waitFor("the last test file's pg_net requests to be answered", async () => {
            const pending = await pendingRequests(client, log);
            return pending.queued === 0 && pending.unanswered === 0 ? true : undefined;
          }, pendingAnswerWaitMs, 100);
        } catch {
          // A worker held (pg_net.batch_size = 0) or an endpoint that never answers: what is still queued goes.
          await client.query("delete from net.http_request_queue");
        }
      }
      // What may still be in flight after that reaches the real function as a replay (401) and starts nothing.
      if (log && signed) {
        await client.query(
          `insert into ${qualified(signedRequestsTable)} (run_id, job_name, signed_at)
           select l.id, l.job_name, l.triggered_at from ${qualified(logTable)} l where l.status = 'dispatched'
               on conflict do nothing`,
        );
      }

      // 2. The function's runs: none holds the lease. fail_reminder_run waits for an evaluation that still
      //    holds its row (a run answered 202) and then changes nothing; a run nobody works on is failed.
      if (runs) {
        await client.query("set statement_timeout = '120s'");
        await client.query(`select public.fail_reminder_run(r.id, $1) from public.reminder_runs r where r.status = 'running'`, [leftBehind]);
        await client.query("reset statement_timeout");
      }

      // 3. The log: nothing in flight (the next dispatch would be skipped behind it) and nothing dated ahead
      //    (status would read it as the latest run).
      if (log) {
        await client.query(`delete from ${qualified(logTable)} where triggered_at > clock_timestamp()`);
        await client.query(
          `update ${qualified(logTable)} set status = 'failed', finished_at = clock_timestamp(), error_message = $1 where status in ('dispatched', 'running')`,
          [leftBehind],
        );
      }

      // 4. Ids: a test that made up a run id (a manual call's run_id, a signed request's) left a record that
      //    names a log id not handed out yet. The log row that later gets it would be settled from that record,
      //    or refused as a replay; so the log's ids start past every id named. Likewise pg_net's request ids
      //    past every answer in net._http_response.
      if (log) {
        const { rows } = await client.query(
          `select greatest(${runs ? "(select max(cron_run_id) from public.reminder_runs)" : "null"},
                           ${signed ? `(select max(run_id) from ${qualified(signedRequestsTable)})` : "null"})::text as named,
                  pg_get_serial_sequence($1, 'id') as sequence`,
          [qualified(logTable)],
        );
        await advancePast(client, rows[0].sequence, rows[0].named);
      }
      if (net) {
        const { rows } = await client.query("select max(id)::text as answered from net._http_response");
        await advancePast(client, "net.http_request_queue_id_seq", rows[0].answered);
      }
    },
    { admin: true },
  );
}
