/**
 * The trigger and the function together on the local stack, end to end: pg_cron's tick, the dispatch as
 * cron_runner, pg_net's request with the Vault credential, the function's run, the notifications, and the
 * execution log's verdict. Vault points at the real function for this file and is put back afterwards.
 * The same path on pg_cron's own clock is tests/clock/reminder-tick.test.ts.
 */
import { Client } from "pg";
import { withClient } from "../support/db";
import { createAssignment, endpoint, notificationsFor, runRow, whileLeaseHeld } from "../support/reminder-scheduler";
import { deleteSecret, dispatchAndReconcile, setSecret } from "../support/trigger";
import { defaultJobName, vaultSecrets } from "../../infra/sql/names";

const saved = new Map<string, string | undefined>();

/** The run the function recorded for a cron_execution_log row. */
async function runOf(client: Client, logId: string) {
  const { rows } = await client.query("select id from public.reminder_runs where cron_run_id = $1", [logId]);
  expect(rows).toHaveLength(1);
  return runRow(client, rows[0].id);
}

beforeAll(() =>
  withClient(async (client) => {
    for (const name of [vaultSecrets.functionUrl, vaultSecrets.serviceRoleKey]) {
      const { rows } = await client.query("select decrypted_secret from vault.decrypted_secrets where name = $1", [name]);
      saved.set(name, rows[0]?.decrypted_secret);
    }
    const { url, credential } = endpoint();
    await setSecret(client, vaultSecrets.functionUrl, url);
    await setSecret(client, vaultSecrets.serviceRoleKey, credential);
  }));

afterAll(() =>
  withClient(async (client) => {
    for (const [name, value] of saved) {
      if (value === undefined) await deleteSecret(client, name);
      else await setSecret(client, name, value);
    }
  }));

test("a dispatch as the job makes it reaches the function, which reminds the due assignment; the log says succeeded", () =>
  withClient(async (client) => {
    const assignment = await createAssignment(client);
    const logged = await dispatchAndReconcile(client);
    expect(logged).toMatchObject({ job_name: defaultJobName, status: "succeeded", http_status: 200, error_message: null });
    const run = await runOf(client, logged.id);
    expect(run).toMatchObject({ job_name: defaultJobName, status: "succeeded" });
    const notifications = await notificationsFor(client, assignment.id);
    expect(notifications).toHaveLength(1);
    expect(notifications[0].run_id).toBe(run.id);
  }));

test("two triggers on the same day: both succeed, and the second creates no duplicate", () =>
  withClient(async (client) => {
    const assignment = await createAssignment(client);
    const first = await dispatchAndReconcile(client);
    const second = await dispatchAndReconcile(client);
    expect([first.status, second.status]).toEqual(["succeeded", "succeeded"]);
    expect((await runOf(client, second.id)).created).toBe(0);
    expect(await notificationsFor(client, assignment.id)).toHaveLength(1);
  }));

test("a trigger while a run holds the lease is answered 409, logged as failed with that status, and recorded as skipped", () =>
  withClient(async (client) => {
    await whileLeaseHeld(client, async (holderId) => {
      const logged = await dispatchAndReconcile(client);
      expect(logged).toMatchObject({ status: "failed", http_status: 409 });
      expect(logged.error_message).toMatch(new RegExp(`^HTTP 409 from the reminder function: \\{"error":"Run ${holderId} has been running since `));
      const skipped = await runOf(client, logged.id);
      expect(skipped.status).toBe("skipped");
    });
  }));
