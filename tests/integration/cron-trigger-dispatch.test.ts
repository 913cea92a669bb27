/**
 * One invocation of the trigger, exactly as the job performs it (as cron_runner: dispatch, then the
 * reconcile pass), against a real HTTP endpoint through pg_net: every outcome lands in the log.
 */
import { Client } from "pg";
import { stack, withClient } from "../support/db";
import { asCronRunner, deleteSecret, dispatchAndReconcile, FunctionStandIn, lastLogId, logRowsAfter, setSecret, vaultedFunctionStandIn } from "../support/trigger";
import { freePort } from "../../stack/cluster";
import { refusedConnection } from "../support/http-server";
import { functionEndpoint } from "../../stack/edge-functions";
import { defaultJobName, signatureHeader, vaultSecrets } from "../../infra/sql/names";
import { signatureFor } from "../../supabase/functions/_shared/signature";

let endpoint: FunctionStandIn;
let client: Client;
/** The log's last id before this file: the failed runs it logs for the daily job are its own to remove. */
let startId: string;

beforeAll(async () => {
  await withClient(async (c) => {
    endpoint = await vaultedFunctionStandIn(c);
    startId = await lastLogId(c);
  });
});
afterAll(async () => {
  await withClient(async (c) => {
    // A later file on this lane (verify, status) reads the daily job's last run: it must not be one of these failures.
    await c.query("delete from public.cron_execution_log where id > $1", [startId]);
    await endpoint.release(c);
  });
});

const run = async (fn: (c: Client) => Promise<void>) =>
  withClient(async (c) => {
    client = c;
    await fn(c);
  });

test("a 2xx answer is logged as succeeded, after a POST signed with Vault's key over the JSON body's fields, with no bearer", () =>
  run(async () => {
    endpoint.reply({ status: 200, body: '{"created":3}' });
    const row = await dispatchAndReconcile(client);
    expect(row).toMatchObject({ job_name: defaultJobName, status: "succeeded", http_status: 200, error_message: null });
    expect(row.finished_at).not.toBeNull();
    const request = endpoint.requests.at(-1)!;
    expect(request.url).toBe("/functions/v1/reminder-scheduler");
    expect(request.headers.authorization).toBeUndefined();
    const body = JSON.parse(request.body);
    expect(body).toMatchObject({ job_name: defaultJobName, run_id: Number(row.id) });
    expect(new Date(body.triggered_at).getTime()).toBe(row.triggered_at.getTime());
    // The signature the SQL made equals the one the function computes from what it received.
    const t = Number(/^t=(\d+),/.exec(String(request.headers[signatureHeader]))![1]);
    const fields = { runId: body.run_id, triggeredAt: body.triggered_at, jobName: body.job_name };
    expect(request.headers[signatureHeader]).toBe(await signatureFor(functionEndpoint(stack()).signingKey, t, fields));
  }));

test.each([
  [500, "internal error"],
  [404, "no such function"],
  [401, '{"error":"unauthorized"}'],
])("an HTTP %i is logged as failed with its status and a body excerpt", (status, body) =>
  run(async () => {
    endpoint.reply({ status, body });
    const row = await dispatchAndReconcile(client);
    expect(row).toMatchObject({ status: "failed", http_status: status });
    expect(row.error_message).toBe(`HTTP ${status} from the reminder function: ${body}`);
  }));

test("an endpoint slower than the 5 s timeout is logged as failed with pg_net's timeout message", () =>
  run(async () => {
    endpoint.reply({ status: 200, delayMs: 6500 });
    const row = await dispatchAndReconcile(client);
    expect(row).toMatchObject({ status: "failed", http_status: null });
    expect(row.error_message).toMatch(/^Timeout of 5000 ms reached/);
    endpoint.reply({ status: 200 });
  }));

test("a refused connection is logged as failed with the connection error", () =>
  run(async () => {
    await setSecret(client, vaultSecrets.functionUrl, `http://127.0.0.1:${await freePort()}/functions/v1/reminder-scheduler`);
    try {
      const row = await dispatchAndReconcile(client);
      expect(row).toMatchObject({ status: "failed", http_status: null, error_message: expect.stringMatching(refusedConnection) });
    } finally {
      await setSecret(client, vaultSecrets.functionUrl, `${endpoint.url}/functions/v1/reminder-scheduler`);
    }
  }));

test.each([vaultSecrets.functionUrl, vaultSecrets.signingKey])("a missing Vault secret %s is a logged failure that names it", (name) =>
  run(async () => {
    const { rows } = await client.query("select decrypted_secret from vault.decrypted_secrets where name = $1", [name]);
    await deleteSecret(client, name);
    try {
      const before = endpoint.requests.length;
      const row = await dispatchAndReconcile(client);
      expect(row.status).toBe("failed");
      expect(row.error_message).toContain(`Vault secret ${name} is missing`);
      expect(row.error_message).toContain("vault.create_secret");
      expect(endpoint.requests.length).toBe(before);
    } finally {
      await setSecret(client, name, rows[0].decrypted_secret);
    }
  }));

test("a signing key shorter than 32 characters is a logged failure that names the secret and the fix, and sends nothing", () =>
  run(async () => {
    const { rows } = await client.query("select decrypted_secret from vault.decrypted_secrets where name = $1", [vaultSecrets.signingKey]);
    await setSecret(client, vaultSecrets.signingKey, "short-key");
    try {
      const before = endpoint.requests.length;
      const row = await dispatchAndReconcile(client);
      expect(row.status).toBe("failed");
      expect(row.error_message).toBe(
        "Vault secret reminder_signing_key is missing or empty or shorter than 32 characters: make a key with openssl rand -hex 32, " +
          "store it with select vault.create_secret('<key>', 'reminder_signing_key'); and give the function the same one with " +
          "supabase secrets set REMINDER_SIGNING_KEY=<key> (or pulumi up with reminder-cron:signingKey)",
      );
      expect(row.error_message).not.toContain("short-key");
      expect(endpoint.requests.length).toBe(before);
    } finally {
      await setSecret(client, vaultSecrets.signingKey, rows[0].decrypted_secret);
    }
  }));

test("a dispatched row dated in the future does not hold back the next dispatch", () =>
  run(async () => {
    // cron_runner may no longer append one (cron-runner-forgery.test.ts); the owner, or a clock set wrong, still could.
    await client.query(`insert into public.cron_execution_log (job_name, status, triggered_at) values ($1, 'dispatched', now() + interval '10 years')`, [defaultJobName]);
    try {
      const next = await dispatchAndReconcile(client);
      expect(next.status).toBe("succeeded");
    } finally {
      await client.query("delete from public.cron_execution_log where triggered_at > now() + interval '1 year'");
    }
  }));

test("a dispatch while the previous one awaits its answer is logged as skipped and sends nothing", () =>
  run(async () => {
    endpoint.reply({ status: 200, delayMs: 1500 });
    const before = await lastLogId(client);
    const sent = endpoint.requests.length;
    await asCronRunner(client, async () => {
      await client.query("select public.dispatch_reminder_run()");
      await client.query("select public.dispatch_reminder_run()");
      await client.query("select public.reconcile_reminder_runs()");
    });
    const rows = await logRowsAfter(client, before);
    expect(rows.map((r) => r.status)).toEqual(["succeeded", "skipped"]);
    expect(rows[1].error_message).toBe(`run ${rows[0].id} is still awaiting its answer`);
    expect(endpoint.requests.length).toBe(sent + 1);
    endpoint.reply({ status: 200 });
  }));

test("a second dispatch while the first still holds the job's lock is skipped", () =>
  withClient(async (first) =>
    withClient(async (second) => {
      await first.query("begin");
      await first.query("select public.dispatch_reminder_run()");
      const { rows } = await second.query("select public.dispatch_reminder_run() as id");
      await first.query("rollback");
      const { rows: skipped } = await second.query("select status, error_message from public.cron_execution_log where id = $1", [rows[0].id]);
      expect(skipped[0]).toEqual({ status: "skipped", error_message: "another dispatch of this job was starting at the same moment" });
    }),
  ));

test("a run whose request pg_net lost (neither queued nor answered) is failed, and the next dispatch goes out", () =>
  run(async () => {
    const before = await lastLogId(client);
    // A request lost from the queue (a crash empties it) looks like this: dispatched, not queued, no response, old.
    await client.query(
      `insert into public.cron_execution_log (job_name, status, request_id, triggered_at)
       values ($1, 'dispatched', -42, now() - interval '3 minutes')`,
      [defaultJobName],
    );
    const next = await dispatchAndReconcile(client);
    const rows = await logRowsAfter(client, before);
    expect(rows[0].status).toBe("failed");
    expect(rows[0].error_message).toMatch(/^the request was lost before pg_net sent it: it is neither queued in net.http_request_queue nor answered in net._http_response 30 s after its dispatch/);
    expect(next.status).toBe("succeeded");
  }));

test("the dispatch returns in milliseconds: it queues the call and does not wait for the answer", () =>
  run(async () => {
    endpoint.reply({ status: 200, delayMs: 2000 });
    const runId = await asCronRunner(client, async () => (await client.query("select public.dispatch_reminder_run() as id")).rows[0].id);
    // Back before the endpoint could answer: the row says dispatched and pg_net holds no answer yet.
    // (How fast it returns is measured by `npm run bench`, not asserted here.)
    const { rows } = await client.query(
      `select l.status, (select count(*)::int from net._http_response r where r.id = l.request_id) as answers
         from public.cron_execution_log l where l.id = $1`,
      [runId],
    );
    expect(rows[0]).toEqual({ status: "dispatched", answers: 0 });
    await asCronRunner(client, () => client.query("select public.reconcile_reminder_runs()"));
    endpoint.reply({ status: 200 });
  }));
