/**
 * Turns a bare cluster into what a Supabase project's database looks like to our code: Supabase's roles and
 * default privileges, pg_cron created by supabase_admin with Supabase's grants to `postgres`, pgcrypto and
 * pgTAP in `extensions`, and pg_net / supabase_vault: the real extensions where installed, else the stand-ins.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import type { SupabaseExtension } from "./install";
import { standInSqlDir } from "./paths";

const sqlFile = (name: string) => readFileSync(join(standInSqlDir, name), "utf8");

/** One of Supabase's C extensions for which the stack installed its stand-in. */
export type StandIn = SupabaseExtension;

async function has(client: Client, query: string, params: unknown[] = []): Promise<boolean> {
  const { rowCount } = await client.query(query, params);
  return (rowCount ?? 0) > 0;
}

const extensionAvailable = (client: Client, name: string) =>
  has(client, "select 1 from pg_available_extensions where name = $1", [name]);
const schemaExists = (client: Client, name: string) => has(client, "select 1 from pg_namespace where nspname = $1", [name]);

/** The Vault stand-in's key: 32 random bytes in a file of the data directory, written once, never in a table. */
async function ensureVaultKey(client: Client): Promise<void> {
  await client.query(`
    do $$
    begin
      if pg_stat_file('vault_stand_in.key', true) is null then
        execute format('copy (select encode(extensions.gen_random_bytes(32), %L)) to %L',
                       'hex', current_setting('data_directory') || '/vault_stand_in.key');
      end if;
    end
    $$`);
}

async function ensureVault(client: Client): Promise<StandIn[]> {
  if (await schemaExists(client, "vault")) return [];
  if (await extensionAvailable(client, "supabase_vault")) {
    await client.query("create extension supabase_vault cascade");
    await client.query(sqlFile("supabase_vault-after-create.sql"));
    return [];
  }
  await ensureVaultKey(client);
  await client.query(sqlFile("supabase_vault-stand-in.sql"));
  return ["supabase_vault"];
}

async function ensureNet(client: Client): Promise<StandIn[]> {
  if (await schemaExists(client, "net")) {
    const real = await has(client, "select 1 from pg_extension where extname = 'pg_net'");
    return real ? [] : ["pg_net"];
  }
  if (await extensionAvailable(client, "pg_net")) {
    await client.query("create extension pg_net schema extensions");
    await client.query(sqlFile("pg_net-after-create.sql"));
    return [];
  }
  await client.query(sqlFile("pg_net-stand-in.sql"));
  return ["pg_net"];
}

async function requireSuperuser(client: Client, what: string): Promise<void> {
  const { rows } = await client.query("select rolsuper from pg_roles where rolname = current_user");
  if (!rows[0]?.rolsuper) {
    throw new Error(`DATABASE_URL's database has no ${what}, and its user is not a superuser who could install the local stand-in. Connect as a superuser, or use a database (such as \`supabase start\`) that has ${what}.`);
  }
}

/** A fresh local cluster: everything, as supabase_admin. Returns the stand-ins it installed. */
export async function bootstrapLocal(adminUrl: string): Promise<StandIn[]> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sqlFile("supabase-roles.sql"));
    await client.query("create extension pgcrypto schema extensions");
    await client.query("create extension pgtap schema extensions");
    await client.query("create extension pg_cron");
    await client.query(sqlFile("pg_cron-grants.sql"));
    return [...(await ensureVault(client)), ...(await ensureNet(client))];
  } finally {
    await client.end();
  }
}

/** An existing database (DATABASE_URL): add only what it lacks, and say what cannot be added. */
export async function bootstrapExternal(databaseUrl: string): Promise<StandIn[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    if (!(await has(client, "select 1 from pg_extension where extname = 'pg_cron'"))) {
      throw new Error("DATABASE_URL's database has no pg_cron extension. Enable it (Supabase: Database > Extensions > pg_cron) and try again.");
    }
    const standIns: StandIn[] = [];
    if (!(await schemaExists(client, "vault")) && !(await extensionAvailable(client, "supabase_vault"))) {
      await requireSuperuser(client, "supabase_vault");
    }
    standIns.push(...(await ensureVault(client)));
    if (!(await schemaExists(client, "net")) && !(await extensionAvailable(client, "pg_net"))) {
      await requireSuperuser(client, "pg_net");
    }
    standIns.push(...(await ensureNet(client)));
    if (!(await schemaExists(client, "extensions"))) await client.query("create schema extensions");
    if (await extensionAvailable(client, "pgtap")) await client.query("create extension if not exists pgtap schema extensions");
    return standIns;
  } finally {
    await client.end();
  }
}
