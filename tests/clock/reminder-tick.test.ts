/**
 * The whole path on pg_cron's own clock: the tick, the dispatch as cron_runner, pg_net's request signed with the
 * Vault signing key, the function's run, the notification, and a succeeded log row. One real minute, on a
 * lane of its own.
 */
import { Client } from "pg";
import { withClient, waitFor } from "../support/db";
import { createAssignment, notificationsFor, pointVaultAtFunction, runRow } from "../support/reminder-scheduler";
import { alterJob, asCronRunner, lastLogId, logRowsAfter } from "../support/trigger";
import { defaultCronExpression } from "../../infra/sql/names";

let restoreVault: (client: Client) => Promise<void>;

beforeAll(() => withClient(async (client) => (restoreVault = await pointVaultAtFunction(client))));

afterAll(() => withClient((client) => restoreVault(client)));

test("on pg_cron's own clock: the tick, the request, the run, the notification, and a succeeded log row", () =>
  withClient(async (client) => {
    const assignment = await createAssignment(client);
    const before = await lastLogId(client);
    await alterJob(client, { schedule: "* * * * *" });
    try {
      const logged = await waitFor(
        "the next tick's outcome in cron_execution_log",
        async () => (await logRowsAfter(client, before)).find((row) => row.status !== "dispatched"),
        70000,
        500,
      );
      expect(logged).toMatchObject({ status: "succeeded", http_status: 200 });
      const { rows } = await client.query("select id from public.reminder_runs where cron_run_id = $1", [logged.id]);
      expect(rows).toHaveLength(1);
      const run = await runRow(client, rows[0].id);
      const notifications = await notificationsFor(client, assignment.id);
      expect(notifications).toHaveLength(1);
      expect(notifications[0].run_id).toBe(run.id);
    } finally {
      await alterJob(client, { schedule: defaultCronExpression });
      // A tick that fired meanwhile is settled before the next file on this lane reads the log.
      await asCronRunner(client, () => client.query("select public.reconcile_reminder_runs()"));
    }
  }),
  90000);
