/**
 * settleLane() (tests/support/lane-settle.ts), which runs before every file of a lane: each case leaves what
 * an earlier file can leave behind, settles the lane as the next file's start does, and shows the next
 * dispatch behave as on a lane of its own. On both pg_net kinds: requests are held and answered late by
 * the means each has (pg_net.batch_size = 0, a slow endpoint).
 */
import { Client } from "pg";
import { withClient } from "../support/db";
import { settleLane } from "../support/lane-settle";
import { startEndpoint } from "../support/http-server";
import { callFunction, createAssignment, notificationsFor, pointVaultAtFunction } from "../support/reminder-scheduler";
import { asCronRunner, dispatchAndReconcile, pointVaultAt, setPgNetBatchSize, vaultedFunctionStandIn } from "../support/trigger";
import { defaultJobName, logTable, qualified, signedRequestsTable } from "../../infra/sql/names";

/** The id the log hands out next. */
async function nextLogId(client: Client): Promise<number> {
  const { rows } = await client.query("select last_value, is_called from public.cron_execution_log_id_seq");
  return Number(rows[0].last_value) + (rows[0].is_called ? 1 : 0);
}

async function dispatchOnly(client: Client): Promise<string> {
  return asCronRunner(client, async () => (await client.query("select public.dispatch_reminder_run($1) as id", [defaultJobName])).rows[0].id);
}

async function logRow(client: Client, id: string) {
  const { rows } = await client.query(`select status, http_status, error_message from ${qualified(logTable)} where id = $1`, [id]);
  return rows[0];
}

test("a run id an earlier file made up names no later log row: a 200 without the function's record stays running", () =>
  withClient(async (client) => {
    const madeUp = await nextLogId(client);
    // A manual call naming the log id that comes next: the function ignores its run_id (only a signed request
    // binds a run to a log row), so its succeeded record names none.
    const manual = await callFunction({ body: { job_name: defaultJobName, run_id: madeUp } });
    expect(manual.status).toBe(200);
    const { rows } = await client.query("select cron_run_id from public.reminder_runs where id = $1", [manual.body.run_id]);
    expect(rows[0].cron_run_id).toBeNull();

    await settleLane();

    // An answer that is only a claim (no record of the function follows): reconcile must not find one to believe.
    const claim = await startEndpoint({ status: 200, body: '{"status":"succeeded"}' });
    const restoreVault = await pointVaultAt(client, `${claim.url}/functions/v1/reminder-scheduler`);
    try {
      const logged = await dispatchAndReconcile(client);
      expect(Number(logged.id)).toBeGreaterThanOrEqual(madeUp);
      expect(logged).toMatchObject({ status: "running", http_status: 200, finished_at: null });
    } finally {
      await restoreVault(client);
      await claim.close();
    }
  }));

test("a signed run id an earlier file made up is no replay of a later dispatch: it runs and succeeds", () =>
  withClient(async (client) => {
    const madeUp = await nextLogId(client);
    await client.query(`insert into ${qualified(signedRequestsTable)} (run_id, job_name, signed_at) values ($1, $2, now())`, [madeUp, defaultJobName]);

    await settleLane();

    const restoreVault = await pointVaultAtFunction(client);
    try {
      const logged = await dispatchAndReconcile(client);
      expect(logged).toMatchObject({ status: "succeeded", http_status: 200 });
    } finally {
      await restoreVault(client);
    }
  }));

test("an answer still on its way, a run holding the lease: settled, the next dispatch runs and reminds once", () =>
  withClient(async (client) => {
    const assignment = await createAssignment(client);
    // The earlier file: its last dispatch answered slowly, its function's run still holds the lease.
    const slow = await vaultedFunctionStandIn(client, { status: 200, delayMs: 2500 });
    let leftover: string;
    try {
      leftover = await dispatchOnly(client);
      await client.query(
        `insert into public.reminder_runs (job_name, triggered_at, as_of, status, lease_expires_at)
         values ('earlier-file', now(), current_date, 'running', now() + interval '10 minutes')`,
      );

      await settleLane();
      expect(slow.requests.map((request) => JSON.parse(request.body).run_id)).toEqual([Number(leftover)]);
    } finally {
      await slow.release(client);
    }
    // Settled means no longer in flight. Which final status depends on the clock: the answer comes (with the
    // stand-in's record) while settleLane waits, and pg_cron's every-minute reconcile may settle the row
    // `succeeded` from that record before settleLane marks what is left in flight `failed`.
    expect(["failed", "succeeded"]).toContain((await logRow(client, leftover)).status);
    const { rows: running } = await client.query("select id from public.reminder_runs where status = 'running'");
    expect(running).toEqual([]);

    const restoreVault = await pointVaultAtFunction(client);
    try {
      const next = await dispatchAndReconcile(client);
      expect(next).toMatchObject({ status: "succeeded", http_status: 200 });
      expect(await notificationsFor(client, assignment.id)).toHaveLength(1);
    } finally {
      await restoreVault(client);
    }
  }), 60_000);

test("a request pg_net never took is gone, and is a replay should it still be sent: the next dispatch is not skipped behind it", () =>
  withClient(async (client) => {
    const endpoint = await startEndpoint({ status: 200 });
    const restoreVault = await pointVaultAt(client, `${endpoint.url}/functions/v1/reminder-scheduler`);
    let leftover: string;
    await setPgNetBatchSize("0");
    try {
      leftover = await dispatchOnly(client);
      await settleLane();
    } finally {
      await setPgNetBatchSize(null);
      await client.query("select net.wake()");
    }
    try {
      const { rows: queued } = await client.query("select id from net.http_request_queue");
      expect(queued).toEqual([]);
      const { rows: replay } = await client.query(`select run_id from ${qualified(signedRequestsTable)} where run_id = $1`, [leftover]);
      expect(replay).toHaveLength(1);
      expect(await logRow(client, leftover)).toMatchObject({ status: "failed", http_status: null });

      const next = await dispatchAndReconcile(client);
      expect(next).toMatchObject({ status: "running", http_status: 200 });
      expect(endpoint.requests.map((request) => JSON.parse(request.body).run_id)).toEqual([Number(next.id)]);
    } finally {
      await restoreVault(client);
      await endpoint.close();
    }
  }), 60_000);
