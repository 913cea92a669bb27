/**
 * What the dynamic-provider tests share: the stack config the engine would hand `configure()` for the
 * local stack, clean-up of the jobs and secrets they make, and the probe names they use (never the real
 * job's or secrets' names, which other tests rely on).
 */
import { Client } from "pg";
import { identifierPattern, projectName } from "../../infra/providers/db";
import { stack, withClient } from "./db";

/** Jobs and secrets made by these tests start with these, so clean-up can find every one. */
export const probeJobPrefix = "pulumi-test-";
export const probeSecretPrefix = "pulumi_test_";

/** The stack config for the local stack, as the engine passes it: namespaced keys, string values. */
export function localStackConfigValues(): Record<string, string> {
  const url = new URL(stack().postgresUrl);
  return {
    [`${projectName}:dbHost`]: url.hostname,
    [`${projectName}:dbPort`]: url.port,
    [`${projectName}:dbName`]: url.pathname.replace(/^\//, ""),
    [`${projectName}:dbUser`]: decodeURIComponent(url.username),
    [`${projectName}:dbSslMode`]: "disable",
  };
}

/** A ConfigSource over plain values, like the SDK's dynamic-provider Config. */
export const configOf = (values: Record<string, string>) => ({ get: (key: string) => values[key] });

export async function secretsNamed(client: Client, name: string): Promise<{ id: string; value: string; description: string }[]> {
  const { rows } = await client.query("select id, decrypted_secret as value, description from vault.decrypted_secrets where name = $1", [name]);
  return rows;
}

/** Schedules a job by hand as `role` (the superuser connection can act as any role), as someone outside Pulumi would. */
export async function scheduleByHand(role: string, jobName: string, schedule: string, command: string): Promise<string> {
  return withClient(
    async (client) => {
      await client.query("select set_config('role', $1, false)", [role]);
      const { rows } = await client.query("select cron.schedule($1, $2, $3) as jobid", [jobName, schedule, command]);
      return String(rows[0].jobid);
    },
    { admin: true },
  );
}

/** Alters a job by hand as its owner, as the runbook does. */
export async function alterByHand(jobid: string, role: string, changes: { schedule?: string; active?: boolean }): Promise<void> {
  await withClient(
    async (client) => {
      await client.query("select set_config('role', $1, false)", [role]);
      await client.query("select cron.alter_job($1::bigint, schedule := $2, active := $3)", [jobid, changes.schedule ?? null, changes.active ?? null]);
    },
    { admin: true },
  );
}

/** Removes every probe job and secret (as the superuser, whoever owns them). */
export async function removeProbes(): Promise<void> {
  await withClient(
    async (client) => {
      await client.query("select cron.unschedule(jobid) from cron.job where jobname like $1", [`${probeJobPrefix}%`]);
      await client.query("delete from vault.secrets where name like $1", [`${probeSecretPrefix}%`]);
    },
    { admin: true },
  );
}

/** A role like cron_runner (LOGIN, postgres a member unless `member` is false), for moving a job to a new owner. */
export async function ensureProbeRole(role: string, member = true): Promise<void> {
  if (!identifierPattern.test(role)) throw new Error(`${role} is not a plain role name`);
  await withClient(async (client) => {
    await client.query(`do $$ begin
      if not exists (select 1 from pg_roles where rolname = '${role}') then
        execute 'create role ${role} login noinherit';
      end if;
    end $$`);
    if (member) await client.query(`grant ${role} to postgres`);
    await client.query(`grant usage on schema cron to ${role}`);
    await client.query(`grant execute on function cron.alter_job(bigint, text, text, text, text, boolean) to ${role}`);
  });
}

/** Drops the probe roles again (their jobs first), so the shared database keeps only the roles it ships with. */
export async function dropProbeRoles(roles: string[]): Promise<void> {
  await removeProbes();
  await withClient(async (client) => {
    for (const role of roles) {
      if (!identifierPattern.test(role)) throw new Error(`${role} is not a plain role name`);
      const { rows } = await client.query("select 1 from pg_roles where rolname = $1", [role]);
      if (rows.length === 0) continue;
      await client.query(`revoke usage on schema cron from ${role}`);
      await client.query(`revoke execute on function cron.alter_job(bigint, text, text, text, text, boolean) from ${role}`);
      await client.query(`drop role ${role}`);
    }
  });
}
