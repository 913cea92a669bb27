/**
 * The role and the membership of `postgres` in cron_runner as the postgresql provider reads them on
 * refresh, on the major this lane runs (15, or 17 with REMINDER_CRON_PG=17), after the migrations applied.
 * The Go provider cannot run here, so its read queries run against the real catalog, copied from
 * cyrilgdn/terraform-provider-postgresql (postgresql/resource_postgresql_role.go, readRole, and
 * postgresql/resource_postgresql_grant_role.go, getGrantRoleQuery, which it runs through QueryRow: the
 * first row, in no order). Since PostgreSQL 16 CREATE ROLE by a non-superuser with CREATEROLE also
 * makes its creator a member, ADMIN only, so (postgres, cron_runner) has two rows there, and a
 * GrantRole could read back either: the program models no membership, and the migration's grant is the
 * one that lets postgres act as cron_runner.
 */
import type { Client } from "pg";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cronRunnerRoleArgs } from "../../infra/reminder-cron";
import { migrationFileName, migrations } from "../../infra/sql/migrations";
import { cronRunnerRole } from "../../infra/sql/names";
import { migrationsDir } from "../../stack/paths";
import { withClient } from "../support/db";

/** readRole's query, with the columns it adds on every supported server (replication, RLS). */
const providerRoleQuery = `SELECT ARRAY(
			SELECT pg_get_userbyid(roleid) FROM pg_catalog.pg_auth_members members WHERE member = pg_roles.oid
		), rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolconnlimit, COALESCE(rolvaliduntil::TEXT, 'infinity'), rolconfig, rolreplication, rolbypassrls
		FROM pg_catalog.pg_roles WHERE rolname=$1`;

/** getGrantRoleQuery, as the provider runs it. */
const providerGrantRoleQuery = `
SELECT
  pg_get_userbyid(member) as role,
  pg_get_userbyid(roleid) as grant_role,
  admin_option
FROM
  pg_auth_members
WHERE
  pg_get_userbyid(member) = $1 AND
  pg_get_userbyid(roleid) = $2;
`;

/**
 * What refresh writes back for postgresql.Role: the read's columns under the provider's attribute names
 * (readRole's d.Set calls), rolconfig parsed as it parses it. The password is not read: superuser false.
 */
async function providerReadsRole(client: Client, name: string) {
  const { rows } = await client.query({ text: providerRoleQuery, values: [name], rowMode: "array" });
  const [roles, rolname, superuser, inherit, createRole, createDatabase, login, connectionLimit, validUntil, config, replication, bypassRowLevelSecurity] = rows[0];
  const settings = (config as string[] | null) ?? [];
  const setting = (key: string) => settings.find((entry) => entry.startsWith(`${key}=`))?.slice(key.length + 1);
  return {
    name: rolname,
    superuser,
    inherit,
    createRole,
    createDatabase,
    login,
    connectionLimit,
    validUntil,
    replication,
    bypassRowLevelSecurity,
    // name[]: node-postgres hands it over as its text form.
    roles: typeof roles === "string" ? roles.replace(/^\{|\}$/g, "").split(",").filter(Boolean) : roles,
    searchPaths: setting("search_path")?.split(", ") ?? [],
    statementTimeout: Number(setting("statement_timeout") ?? 0),
    idleInTransactionSessionTimeout: Number(setting("idle_in_transaction_session_timeout") ?? 0),
    assumeRole: setting("role") ?? "",
  };
}

/** The provider's defaults for every postgresql.Role argument the program leaves out (its schema). */
const roleDefaults = {
  superuser: false,
  inherit: true,
  createRole: false,
  createDatabase: false,
  login: false,
  connectionLimit: -1,
  validUntil: "infinity",
  replication: false,
  bypassRowLevelSecurity: false,
  roles: [],
  searchPaths: [],
  statementTimeout: 0,
  idleInTransactionSessionTimeout: 0,
  assumeRole: "",
};

const serverVersion = () => withClient(async (client) => Number((await client.query<{ v: number }>("select current_setting('server_version_num')::int as v")).rows[0].v));

/** Whether postgres may SET ROLE cron_runner now; never commits. */
async function canSetRole(client: Client): Promise<boolean> {
  await client.query("savepoint probe");
  try {
    await client.query(`set local role ${cronRunnerRole}`);
    await client.query("reset role");
    return true;
  } catch (error) {
    if ((error as { code?: string }).code !== "42501") throw error;
    return false;
  } finally {
    await client.query("rollback to savepoint probe");
  }
}

/** The migration's own grant of the membership, read from the committed file. */
function migrationGrant(): string {
  const register = migrations.find((migration) => migration.name === "register_reminder_cron")!;
  const sql = readFileSync(join(migrationsDir, migrationFileName(register)), "utf8");
  const grant = sql.split("\n").find((line) => line === `grant ${cronRunnerRole} to postgres;`);
  if (!grant) throw new Error("The register_reminder_cron migration no longer grants cron_runner to postgres.");
  return grant;
}

test("refresh reads cron_runner back exactly as the program declares it, on this major", async () => {
  const read = await withClient((client) => providerReadsRole(client, cronRunnerRole));
  expect(read).toEqual({ ...roleDefaults, ...cronRunnerRoleArgs });
});

test("postgres may set role cron_runner after the migrations, through the membership the migration granted", async () => {
  const version = await serverVersion();
  await withClient(async (client) => {
    await client.query("begin");
    try {
      expect(await canSetRole(client)).toBe(true);
    } finally {
      await client.query("rollback");
    }
    const { rows } = await client.query(
      version >= 160000
        ? `select g.rolname as grantor, m.admin_option, m.inherit_option, m.set_option
             from pg_auth_members m join pg_roles g on g.oid = m.grantor
            where m.member = 'postgres'::regrole and m.roleid = $1::regrole order by m.admin_option desc`
        : `select g.rolname as grantor, m.admin_option
             from pg_auth_members m join pg_roles g on g.oid = m.grantor
            where m.member = 'postgres'::regrole and m.roleid = $1::regrole`,
      [cronRunnerRole],
    );
    const bootstrap = (await client.query<{ rolname: string }>("select rolname from pg_roles where oid = 10")).rows[0].rolname;
    if (version >= 160000) {
      // CREATE ROLE's own grant to its creator (ADMIN, no INHERIT, no SET), then the migration's.
      expect(rows).toEqual([
        { grantor: bootstrap, admin_option: true, inherit_option: false, set_option: false },
        { grantor: "postgres", admin_option: false, inherit_option: true, set_option: true },
      ]);
    } else {
      // One row per (member, role) before 16: the grant, whoever made it, without ADMIN.
      expect(rows).toEqual([{ grantor: expect.any(String), admin_option: false }]);
    }
  });
});

test("the provider's GrantRole read finds what a GrantRole of postgres in cron_runner declares on 15, and two answers that differ on 16+", async () => {
  const version = await serverVersion();
  const { rows } = await withClient((client) => client.query(providerGrantRoleQuery, ["postgres", cronRunnerRole]));
  const declared = { role: "postgres", grant_role: cronRunnerRole, admin_option: false };
  if (version >= 160000) {
    // QueryRow takes the first of these, in no order: with_admin_option reads true or false, and it
    // forces a replacement. Why no GrantRole models this membership (the retired one ignores it).
    expect([...rows].sort((a, b) => Number(a.admin_option) - Number(b.admin_option))).toEqual([declared, { ...declared, admin_option: true }]);
  } else {
    expect(rows).toEqual([declared]);
  }
});

test("the GrantRole's delete (REVOKE cron_runner FROM postgres) would leave postgres unable to set role cron_runner on this major; the migration's grant restores it", async () => {
  await withClient(async (client) => {
    await client.query("begin");
    try {
      // As the provider's delete runs it (createRevokeRoleQuery), as postgres: what retainOnDelete spares.
      await client.query(`REVOKE "${cronRunnerRole}" FROM "postgres"`);
      expect(await canSetRole(client)).toBe(false);
      await client.query(migrationGrant());
      expect(await canSetRole(client)).toBe(true);
    } finally {
      // Never committed: other tests run as cron_runner through this membership.
      await client.query("rollback");
    }
  });
});
