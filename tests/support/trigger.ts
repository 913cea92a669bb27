/**
 * Helpers for tests of the cron trigger: Vault secrets by name, the job row, acting as cron_runner, and
 * the execution log. They use only the SQL surface production has.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { migrationsDir } from "../../stack/paths";
import { cronRunnerRole, defaultJobName, logTable, qualified, vaultSecrets } from "../../infra/sql/names";
import { migrationFileName, migrations } from "../../infra/sql/migrations";
import type { JobRow } from "../../cli/queries";
import { waitFor, withClient } from "./db";
import { RecordedRequest, Reply, startEndpoint, TestEndpoint } from "./http-server";

export interface LogRow {
  id: string;
  job_name: string;
  status: "dispatched" | "succeeded" | "failed" | "skipped";
  error_message: string | null;
  http_status: number | null;
  request_id: string | null;
  triggered_at: Date;
  finished_at: Date | null;
}

/** A row of cron.job as the on-call CLI reads it. */
export type { JobRow } from "../../cli/queries";

export async function setSecret(client: Client, name: string, value: string): Promise<void> {
  const { rows } = await client.query("select id from vault.secrets where name = $1", [name]);
  if (rows[0]) await client.query("select vault.update_secret($1, $2)", [rows[0].id, value]);
  else await client.query("select vault.create_secret($1, $2)", [value, name]);
}

export async function deleteSecret(client: Client, name: string): Promise<void> {
  await client.query("delete from vault.secrets where name = $1", [name]);
}

/**
 * Points Vault's function URL at `url` for a test file and returns what puts it back as this file found it
 * (call it in afterAll): a later file on the same lane must not inherit an endpoint that closed with this one.
 */
export async function pointVaultAt(client: Client, url: string): Promise<(client: Client) => Promise<void>> {
  const { rows } = await client.query("select decrypted_secret from vault.decrypted_secrets where name = $1", [vaultSecrets.functionUrl]);
  const saved: string | undefined = rows[0]?.decrypted_secret;
  await setSecret(client, vaultSecrets.functionUrl, url);
  return async (later: Client) => {
    if (saved === undefined) await deleteSecret(later, vaultSecrets.functionUrl);
    else await setSecret(later, vaultSecrets.functionUrl, saved);
  };
}

export async function jobRows(client: Client, jobName = defaultJobName): Promise<JobRow[]> {
  const { rows } = await client.query<JobRow>(
    "select jobid, jobname, schedule, command, username, active from cron.job where jobname = $1 order by jobid",
    [jobName],
  );
  return rows;
}

/** Runs statements as cron_runner, as pg_cron runs the job and as the runbook tells on-call to. */
export async function asCronRunner<T>(client: Client, fn: () => Promise<T>): Promise<T> {
  await client.query(`set role ${cronRunnerRole}`);
  try {
    return await fn();
  } finally {
    await client.query("reset role");
  }
}

export async function alterJob(client: Client, changes: { schedule?: string; active?: boolean }, jobName = defaultJobName): Promise<void> {
  await asCronRunner(client, () =>
    client.query(
      `select cron.alter_job((select jobid from cron.job where jobname = $1 and username = current_user),
                             schedule := $2, active := $3)`,
      [jobName, changes.schedule ?? null, changes.active ?? null],
    ),
  );
}

export async function logRowsAfter(client: Client, afterId: string | number, jobName = defaultJobName): Promise<LogRow[]> {
  const { rows } = await client.query<LogRow>(`select * from ${qualified(logTable)} where id > $1 and job_name = $2 order by id`, [afterId, jobName]);
  return rows;
}

export async function lastLogId(client: Client): Promise<string> {
  const { rows } = await client.query(`select coalesce(max(id), 0) as id from ${qualified(logTable)}`);
  return rows[0].id;
}

/** What the job does at a tick, done now: dispatch as cron_runner, then reconcile (which waits for the answer). */
export async function dispatchAndReconcile(client: Client, jobName = defaultJobName): Promise<LogRow> {
  const runId = await asCronRunner(client, async () => {
    const { rows } = await client.query("select public.dispatch_reminder_run($1) as id", [jobName]);
    await client.query("select public.reconcile_reminder_runs()");
    return rows[0].id as string;
  });
  const { rows } = await client.query<LogRow>(`select * from ${qualified(logTable)} where id = $1`, [runId]);
  return rows[0];
}

/**
 * pg_net.batch_size for the whole server (null: its default again), read by pg_net's worker on reload: 0
 * holds the worker, real or stand-in, as if it were down, and null lets it send what was queued meanwhile.
 */
export const setPgNetBatchSize = (size: string | null) =>
  withClient(async (admin) => {
    await admin.query(size === null ? "alter system reset pg_net.batch_size" : `alter system set pg_net.batch_size = ${Number(size)}`);
    await admin.query("select pg_reload_conf()");
    // The reload reaches the worker asynchronously; wait until this server reports the new value.
    await waitFor("pg_net.batch_size to take effect", async () => {
      const { rows } = await admin.query("select coalesce(nullif(current_setting('pg_net.batch_size', true), ''), '200') as size");
      return rows[0].size === (size ?? "200") ? true : undefined;
    });
    // pg_net's worker (a background worker, or the stand-in's process) re-reads it on its next turn.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }, { admin: true });

export function cronMigrationSql(): string {
  const migration = migrations.find((m) => m.name === "register_reminder_cron");
  if (!migration) throw new Error("the register_reminder_cron migration is not in infra/sql/migrations.ts");
  return readFileSync(join(migrationsDir, migrationFileName(migration)), "utf8");
}

/**
 * A test endpoint in the reminder function's place that keeps its contract: before a 2xx answer to a request
 * that names a run (run_id), the run's succeeded record is in public.reminder_runs, as the real function
 * commits it before it answers 200. Reconcile believes that record, not the answer (pg_net's tables are
 * every role's), so without it a 200 would never be a success.
 */
function startFunctionStandIn(initial?: Reply): Promise<TestEndpoint> {
  return startEndpoint(initial, async (request: RecordedRequest, reply: Reply) => {
    if (reply.status < 200 || reply.status > 299) return;
    let body: { job_name?: string; run_id?: number; triggered_at?: string };
    try {
      body = JSON.parse(request.body);
    } catch {
      return;
    }
    if (typeof body.run_id !== "number") return;
    await withClient((client) =>
      client.query(
        `insert into public.reminder_runs (job_name, cron_run_id, triggered_at, as_of, status, finished_at, evaluated, created, skipped, duration_ms)
         values ($1, $2, $3::timestamptz, ($3::timestamptz at time zone 'UTC')::date, 'succeeded', clock_timestamp(), 0, 0, 0, 0)`,
        [body.job_name ?? defaultJobName, body.run_id, body.triggered_at ?? new Date().toISOString()],
      ),
    );
  });
}

/** A function stand-in with Vault's reminder_function_url pointed at it; `release` puts Vault back and closes it. */
export interface FunctionStandIn extends TestEndpoint {
  release: (client: Client) => Promise<void>;
}

/** For a test file whose dispatches must reach a function stand-in: call in beforeAll, `release` in afterAll. */
export async function vaultedFunctionStandIn(client: Client, initial?: Reply): Promise<FunctionStandIn> {
  const endpoint = await startFunctionStandIn(initial);
  const restoreVault = await pointVaultAt(client, `${endpoint.url}/functions/v1/reminder-scheduler`);
  return {
    ...endpoint,
    release: async (later: Client) => {
      await restoreVault(later);
      await endpoint.close();
    },
  };
}
