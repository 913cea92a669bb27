/**
 * The privilege matrix of issue 3: for each role and action, exactly the allowed cells succeed. Every
 * probe runs in a rolled-back transaction, as the role itself (set role), never as a superuser.
 */
import { Client } from "pg";
import { asRole, withClient } from "../support/db";

type Action = "select log" | "insert log" | "update log" | "delete log" | "truncate log" | "execute dispatch" | "read vault";

const probes: Record<Action, string> = {
  "select log": "select count(*) from public.cron_execution_log",
  "insert log": "insert into public.cron_execution_log (job_name, status) values ('privilege-probe', 'skipped')",
  "update log": "update public.cron_execution_log set status = 'failed' where job_name = 'privilege-probe'",
  "delete log": "delete from public.cron_execution_log where job_name = 'privilege-probe'",
  "truncate log": "truncate public.cron_execution_log",
  "execute dispatch": "select public.dispatch_reminder_run('privilege-probe')",
  "read vault": "select count(*) from vault.decrypted_secrets",
};

const allowed: Record<string, Action[]> = {
  cron_runner: ["insert log", "execute dispatch"],
  service_role: ["select log"],
  anon: [],
  authenticated: [],
  // postgres owns the log and the function (and reads Vault, as on Supabase); nobody else may change the log.
  postgres: ["select log", "insert log", "update log", "delete log", "truncate log", "execute dispatch", "read vault"],
};

const cells = Object.entries(allowed).flatMap(([role, ok]) =>
  (Object.keys(probes) as Action[]).map((action) => [role, action, ok.includes(action) ? "allowed" : "denied"] as const),
);

async function outcome(client: Client, role: string, action: Action): Promise<"allowed" | "denied"> {
  return asRole(client, role, async () => {
    try {
      await client.query(probes[action]);
      return "allowed";
    } catch (error) {
      if ((error as { code?: string }).code === "42501") return "denied";
      // The dispatch ran, and refused the probe's name as no job of cron_runner's: the privilege is there.
      if (action === "execute dispatch" && /is not a pg_cron job of cron_runner/.test((error as Error).message)) return "allowed";
      throw error;
    }
  });
}

test.each(cells)("%s: %s is %s", (role, action, expected) =>
  withClient(async (client) => {
    expect(await outcome(client, role, action)).toBe(expected);
  }),
);

test("cron_runner is a login role without password, superuser, bypassrls or role creation", () =>
  withClient(
    async (admin) => {
      const { rows } = await admin.query(
        "select rolcanlogin, rolpassword is null as no_password, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_authid where rolname = 'cron_runner'",
      );
      expect(rows[0]).toEqual({ rolcanlogin: true, no_password: true, rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false });
    },
    { admin: true },
  ));

test("cron_runner can change its own job but no job of another role", () =>
  withClient(async (client) => {
    await client.query("begin");
    const { rows } = await client.query("select cron.schedule('privilege-probe-other', '0 1 * * *', 'select 1') as jobid");
    await client.query("set local role cron_runner");
    const error = await client.query("select cron.alter_job($1, active := false)", [rows[0].jobid]).catch((e) => e);
    await client.query("rollback");
    expect(error.message).toMatch(/does not exist or you don't own it/);
  }));
