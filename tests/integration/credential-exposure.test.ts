/**
 * The attacker's view of the signed dispatch, on the local stack with the real function. pg_net's tables are
 * PUBLIC: whatever a request carries, every role reads. So: read them as cron_runner, anon, authenticated and
 * service_role after a dispatch (inside the dispatching transaction, and committed while pg_net's worker is
 * down) and find no value of any Vault secret or function secret; then replay, age, date ahead and alter
 * what was read, and get 401s that create nothing.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { withClient } from "../support/db";
import { callFunction, endpoint } from "../support/reminder-scheduler";
import { asCronRunner, cronMigrationSql, deleteSecret, dispatchAndReconcile, pointVaultAt, setPgNetBatchSize, setSecret } from "../support/trigger";
import { functionSecrets } from "../../stack/edge-functions";
import { logDir } from "../../stack/paths";
import { cronRunnerRole, signatureHeader, signedRequestsTable, qualified } from "../../infra/sql/names";
import { signatureFor } from "../../supabase/functions/_shared/signature";

const readers = [cronRunnerRole, "anon", "authenticated", "service_role"];
let restoreVault: (client: Client) => Promise<void>;

/** Every secret an attacker must not learn: each Vault value (one planted too), and the function's own. */
async function secrets(client: Client): Promise<string[]> {
  const { rows } = await client.query<{ value: string }>("select decrypted_secret as value from vault.decrypted_secrets where coalesce(decrypted_secret, '') <> ''");
  const own = functionSecrets();
  // The URL is no secret (it is a stack output); everything else in Vault is treated as one.
  return [...rows.map((row) => row.value).filter((value) => value !== endpoint().url), own.serviceRoleKey, own.sharedSecret, own.signingKey];
}

interface Queued {
  /** The whole row as text, the body decoded: what the secrets are looked for in. */
  text: string;
  runId: number | undefined;
}

/** Both pg_net tables, whole rows as text, read as `role`. */
async function netTablesAs(client: Client, role: string): Promise<{ queue: Queued[]; responses: string[] }> {
  await client.query(`set role ${role}`);
  try {
    const queue = await client.query("select q.id, q.url, q.headers, convert_from(q.body, 'UTF8') as body from net.http_request_queue q");
    const responses = await client.query("select row_to_json(r)::text as row from net._http_response r");
    return {
      queue: queue.rows.map((row) => ({ text: JSON.stringify(row), runId: row.body ? JSON.parse(row.body).run_id : undefined })),
      responses: responses.rows.map((row) => row.row),
    };
  } finally {
    await client.query("reset role");
  }
}

const counts = (client: Client) =>
  client
    .query(
      `select (select count(*) from public.reminder_runs)::int as runs, (select count(*) from public.notifications)::int as notifications,
              (select count(*) from ${qualified(signedRequestsTable)})::int as signed`,
    )
    .then((result) => result.rows[0]);

/** A signed POST as pg_net sends it: the signature header and the JSON body, nothing else. */
const sendSigned = (signature: string, body: object) =>
  callFunction({ headers: { [signatureHeader]: signature, "Content-Type": "application/json" }, rawBody: JSON.stringify(body) });

beforeAll(() =>
  withClient(async (client) => {
    restoreVault = await pointVaultAt(client, endpoint().url);
    // What an upgraded project may still hold: the attacker must not find it in pg_net's tables either.
    await setSecret(client, "reminder_service_role_key", functionSecrets().serviceRoleKey);
  }));

afterAll(() =>
  withClient(async (client) => {
    await deleteSecret(client, "reminder_service_role_key");
    await restoreVault(client);
  }));

describe("reading pg_net's tables after a dispatch", () => {
  test("inside the dispatching transaction (then rolled back), no role finds a secret in the queued request", () =>
    withClient(async (client) => {
      const hidden = await secrets(client);
      await client.query("begin");
      try {
        // A dispatch is for a job of cron_runner's only: the probe is registered as one, rolled back with the rest.
        await asCronRunner(client, () => client.query("select cron.schedule('attacker-probe', '0 0 1 1 *', 'select 1')"));
        const { rows } = await asCronRunner(client, () => client.query("select public.dispatch_reminder_run('attacker-probe') as id"));
        for (const role of readers) {
          const { queue, responses } = await netTablesAs(client, role);
          // The request is there to be read: the probe would prove nothing otherwise.
          const request = queue.find((row) => row.runId === Number(rows[0].id))?.text;
          expect([role, request]).toEqual([role, expect.stringContaining(signatureHeader)]);
          expect([role, request]).toEqual([role, expect.not.stringContaining("Authorization")]);
          for (const secret of hidden) {
            expect([role, queue.some((row) => row.text.includes(secret)), responses.some((row) => row.includes(secret))]).toEqual([role, false, false]);
          }
        }
      } finally {
        await client.query("rollback");
      }
    }));

  test("committed while pg_net's worker is down, then answered: no role finds a secret, and what it read replays to a 401 that creates nothing", () =>
    withClient(async (client) => {
      const hidden = await secrets(client);
      // Hold pg_net's worker, real or stand-in, as if it were down: with a batch size of 0 it takes nothing.
      await setPgNetBatchSize("0");
      let runId: string;
      let stolen: { headers: Record<string, string>; body: string };
      try {
        runId = (await asCronRunner(client, () => client.query("select public.dispatch_reminder_run() as id"))).rows[0].id;
        for (const role of readers) {
          const { queue } = await netTablesAs(client, role);
          const request = queue.find((row) => row.runId === Number(runId))?.text;
          expect([role, request]).toEqual([role, expect.stringContaining(signatureHeader)]);
          for (const secret of hidden) expect([role, queue.some((row) => row.text.includes(secret))]).toEqual([role, false]);
        }
        const { rows } = await client.query("select headers, convert_from(body, 'UTF8') as body from net.http_request_queue where convert_from(body, 'UTF8')::jsonb ->> 'run_id' = $1", [runId]);
        stolen = rows[0];
      } finally {
        await setPgNetBatchSize(null); // the worker comes back and sends the queued request
        await client.query("select net.wake()");
      }
      await asCronRunner(client, () => client.query("select public.reconcile_reminder_runs()"));
      const { rows: logged } = await client.query("select status, http_status, request_id from public.cron_execution_log where id = $1", [runId]);
      expect(logged[0]).toMatchObject({ status: "succeeded", http_status: 200 });
      for (const role of readers) {
        const { responses } = await netTablesAs(client, role);
        expect([role, responses.some((row) => row.includes(`"id":${logged[0].request_id},`))]).toEqual([role, true]);
        for (const secret of hidden) expect([role, responses.some((row) => row.includes(secret))]).toEqual([role, false]);
      }

      // The attacker sends what it read: the run already happened, so this is a replay.
      const before = await counts(client);
      const replay = await callFunction({ headers: { ...stolen.headers }, rawBody: stolen.body });
      expect(replay.status).toBe(401);
      expect(replay.body).toEqual({ error: `Run ${runId} was already started by a signed request: this one is a replay, and starts nothing.`, reason: "replayed" });
      expect(await counts(client)).toEqual(before);
    }), 60000);
});


describe("what a signed request is worth once read", () => {
  const key = () => functionSecrets().signingKey;
  const now = () => Math.floor(Date.now() / 1000);
  /** A body as the dispatch sends it, for a run id no dispatch used. */
  const body = (runId: number) => ({ job_name: "daily-reminder-eval", run_id: runId, triggered_at: new Date().toISOString() });
  const fieldsOf = (b: ReturnType<typeof body>) => ({ runId: b.run_id, triggeredAt: b.triggered_at, jobName: b.job_name });
  let nextRunId = 900_000_000 + Math.floor(Math.random() * 1_000_000);

  test("a fresh signature under the stack's key starts the run once; the same request again is a replay: 401, nothing created", () =>
    withClient(async (client) => {
      const signed = body(nextRunId++);
      const signature = await signatureFor(key(), now(), fieldsOf(signed));
      const first = await sendSigned(signature, signed);
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ status: "succeeded" });
      const before = await counts(client);
      const again = await sendSigned(signature, signed);
      expect(again.status).toBe(401);
      expect(again.body.reason).toBe("replayed");
      expect(await counts(client)).toEqual(before);
    }));

  test.each([
    ["stale", -125, "stale", /^The signature was made 12\d s ago, more than the 120 s a signed request is valid/],
    ["future-dated", 90, "future", /^The signature is dated (89|90|91) s ahead of this function's clock, more than the 30 s of skew allowed/],
  ])("a %s signature is answered 401 naming the reason, creates nothing, and the function logs it", (_what, offset, reason, error) =>
    withClient(async (client) => {
      const signed = body(nextRunId++);
      const before = await counts(client);
      const answer = await sendSigned(await signatureFor(key(), now() + offset, fieldsOf(signed)), signed);
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ reason });
      expect(answer.body.error).toMatch(error);
      expect(await counts(client)).toEqual(before);
      const log = readFileSync(join(logDir, "functions.log"), "utf8");
      expect(log).toContain(`"event":"signature_refused","reason":"${reason}","run_id":${signed.run_id}`);
    }));

  test.each([
    ["another run id in the body", (signed: ReturnType<typeof body>) => ({ ...signed, run_id: signed.run_id + 1 })],
    ["another job name in the body", (signed: ReturnType<typeof body>) => ({ ...signed, job_name: "daily-reminder-eval-x" })],
    ["another trigger time in the body", (signed: ReturnType<typeof body>) => ({ ...signed, triggered_at: "2026-01-01T06:00:00Z" })],
  ])("a tampered request (%s) is answered 401 as a mismatch and creates nothing", (_what, tamper) =>
    withClient(async (client) => {
      const signed = body(nextRunId++);
      const signature = await signatureFor(key(), now(), fieldsOf(signed));
      const before = await counts(client);
      const answer = await sendSigned(signature, tamper(signed));
      expect(answer.status).toBe(401);
      expect(answer.body.reason).toBe("mismatch");
      expect(await counts(client)).toEqual(before);
    }));

  test("a signature under any other key, a malformed one, and the signing key as a bearer token are all refused", () =>
    withClient(async (client) => {
      const signed = body(nextRunId++);
      const before = await counts(client);
      const otherKey = await sendSigned(await signatureFor("x".repeat(64), now(), fieldsOf(signed)), signed);
      const malformed = await sendSigned("t=1,v1=nope", signed);
      const bearer = await callFunction({ headers: { Authorization: `Bearer ${key()}` }, body: signed });
      expect([otherKey.status, otherKey.body.reason, malformed.status, malformed.body.reason, bearer.status]).toEqual([401, "mismatch", 401, "malformed", 401]);
      expect(await counts(client)).toEqual(before);
      for (const answer of [otherKey, malformed, bearer]) expect(answer.text).not.toContain(key());
    }));
});

test("the job's own signed request runs, end to end, with the key the stack gave Vault and the function", () =>
  withClient(async (client) => {
    const logged = await dispatchAndReconcile(client);
    expect(logged).toMatchObject({ status: "succeeded", http_status: 200 });
    const { rows } = await client.query(`select job_name from ${qualified(signedRequestsTable)} where run_id = $1`, [logged.id]);
    expect(rows).toEqual([{ job_name: "daily-reminder-eval" }]);
  }));

test("applying the migration while Vault still holds the retired service-role key warns to delete it and rotate the key", () =>
  withClient(async (client) => {
    const notices: { severity?: string; message?: string; hint?: string }[] = [];
    client.on("notice", (notice) => notices.push(notice));
    await client.query("begin");
    try {
      await client.query(cronMigrationSql());
    } finally {
      await client.query("rollback");
    }
    expect(notices.filter((notice) => notice.severity === "WARNING")).toEqual([
      expect.objectContaining({
        message:
          "Vault secret reminder_service_role_key is no longer used: requests are signed with reminder_signing_key now. The key it holds was readable by every role in pg_net's tables, so treat it as exposed.",
        hint: "Delete it: delete from vault.secrets where name = 'reminder_service_role_key'; then rotate the service-role key (dashboard: Project Settings, API keys) and update whatever else uses it.",
      }),
    ]);
  }));
