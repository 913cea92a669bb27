/**
 * `reminder-cron verify`: after a deploy, checks the deployed project through Supabase's Management API
 * (no database password needed): the four jobs, owned by cron_runner and active, with their schedules and
 * commands; cron_runner no superuser; the Vault secrets present (names only, never a value); the last
 * outcome of the daily job; and the privilege matrix of infra/sql/privileges.ts, both what is granted and
 * what must not be. Exit 0 when all holds, 1 naming every difference, 2 for bad input, 3 when unreachable.
 */
import { projectRefPattern } from "../../infra/providers/management-api";
import { normalizeSchedule, parseSchedule } from "../../infra/providers/pg-cron-schedule";
import { sqlLiteral as lit } from "../../infra/sql/literal";
import {
  cronRunnerRole,
  defaultCronExpression,
  defaultJobName,
  dispatchCommand,
  logTable,
  qualified,
  reconcileCommand,
  reconcileJobName,
  vaultSecrets,
  retiredVaultSecret,
} from "../../infra/sql/names";
import { catchUpCommand, pruneCommand } from "../../infra/sql/operations-migration";
import { alertThresholds, catchUpJobName, catchUpSchedule, retentionJobName, retentionSchedule } from "../../infra/sql/operations-names";
import { apiRoles, Grant, grants, operationsGrants, operationsObjects, ownObjects, TablePrivilege } from "../../infra/sql/privileges";
import { cliError, exitCodes } from "../exit-codes";
import { defaultApiUrl, ManagementTarget, managementQuery } from "../management-api";
import { Outcome } from "../output";

export interface VerifyOptions {
  target: ManagementTarget;
  jobName: string;
  /** The schedule the daily job should have (the stack's `schedule` output); default 0 6 * * *. */
  schedule: string;
}

export interface Check {
  check: string;
  ok: boolean;
  expected: string;
  actual: string;
}

interface ExpectedJob {
  name: string;
  schedule: string;
  command: string;
}

interface JobRow {
  jobname: string;
  username: string;
  schedule: string;
  command: string;
  active: boolean;
}

/** Every privilege verify checks: the matrix's grants must hold, and nothing else for PUBLIC's heirs and the API roles. */
function privilegeChecks(): { name: string; expected: boolean; sql: string }[] {
  const tablePrivileges: TablePrivilege[] = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"];
  const matrix = [...grants, ...operationsGrants];
  const fnName = (g: Extract<Grant, { kind: "function" }>) => `${g.schema}.${g.function}(${g.signature})`;
  const checks: { name: string; expected: boolean; sql: string }[] = [];
  const guard = (exists: string, role: string, test: string) =>
    `case when ${exists} is null or not exists (select 1 from pg_catalog.pg_roles where rolname = ${lit(role)}) then null else ${test} end`;
  for (const g of matrix) {
    if (g.kind === "function") {
      const fn = fnName(g);
      checks.push({ name: `${g.role} may execute ${fn}`, expected: true, sql: guard(`pg_catalog.to_regprocedure(${lit(fn)})`, g.role, `pg_catalog.has_function_privilege(${lit(g.role)}, ${lit(fn)}, 'EXECUTE')`) });
    } else if (g.kind === "table") {
      const table = `${g.schema}.${g.table}`;
      for (const privilege of g.privileges) {
        checks.push({ name: `${g.role} has ${privilege} on ${table}`, expected: true, sql: guard(`pg_catalog.to_regclass(${lit(table)})`, g.role, `pg_catalog.has_table_privilege(${lit(g.role)}, ${lit(table)}, ${lit(privilege)})`) });
      }
    } else {
      for (const privilege of g.privileges) {
        checks.push({ name: `${g.role} has ${privilege} on schema ${g.schema}`, expected: true, sql: guard(`pg_catalog.to_regnamespace(${lit(g.schema)})`, g.role, `pg_catalog.has_schema_privilege(${lit(g.role)}, ${lit(g.schema)}, ${lit(privilege)})`) });
      }
    }
  }
  // The API roles inherit PUBLIC's privileges, so checking them covers PUBLIC too.
  for (const role of apiRoles) {
    for (const fn of [...ownObjects.functions, ...operationsObjects.functions]) {
      checks.push({ name: `${role} may not execute ${fn}`, expected: false, sql: guard(`pg_catalog.to_regprocedure(${lit(fn)})`, role, `pg_catalog.has_function_privilege(${lit(role)}, ${lit(fn)}, 'EXECUTE')`) });
    }
    for (const table of [...ownObjects.tables, ...operationsObjects.tables]) {
      for (const privilege of tablePrivileges) {
        const granted = matrix.some((g) => g.kind === "table" && g.role === role && `${g.schema}.${g.table}` === table && g.privileges.includes(privilege));
        if (granted) continue;
        checks.push({ name: `${role} has no ${privilege} on ${table}`, expected: false, sql: guard(`pg_catalog.to_regclass(${lit(table)})`, role, `pg_catalog.has_table_privilege(${lit(role)}, ${lit(table)}, ${lit(privilege)})`) });
      }
    }
  }
  return checks;
}

const inventorySql = `select (select e.extversion from pg_catalog.pg_extension e where e.extname = 'pg_cron') as pg_cron,
       pg_catalog.to_regclass('vault.secrets') is not null as vault,
       pg_catalog.to_regclass(${lit(qualified(logTable))}) is not null as log_table,
       (select pg_catalog.json_build_object('superuser', r.rolsuper, 'bypassrls', r.rolbypassrls)
          from pg_catalog.pg_roles r where r.rolname = ${lit(cronRunnerRole)}) as runner`;

const show = (value: unknown) => (value === null || value === undefined ? "none" : typeof value === "string" ? `'${value}'` : String(value));

export async function verify(options: VerifyOptions): Promise<Outcome> {
  const { target, jobName } = options;
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, expected: string, actual: string) => checks.push({ check: name, ok, expected, actual });

  const [inventory] = await managementQuery<{ pg_cron: string | null; vault: boolean; log_table: boolean; runner: { superuser: boolean; bypassrls: boolean } | null }>(target, inventorySql);
  check("pg_cron is installed", inventory.pg_cron !== null, "installed", inventory.pg_cron ? `version ${inventory.pg_cron}` : "not installed");
  check(`role ${cronRunnerRole} exists`, inventory.runner !== null, "exists", inventory.runner ? "exists" : "missing");
  if (inventory.runner) {
    check(`${cronRunnerRole} is not a superuser and does not bypass RLS`, !inventory.runner.superuser && !inventory.runner.bypassrls, "neither", [inventory.runner.superuser && "superuser", inventory.runner.bypassrls && "bypassrls"].filter(Boolean).join(", ") || "neither");
  }

  if (inventory.pg_cron !== null) {
    const expected: ExpectedJob[] = [
      { name: jobName, schedule: options.schedule, command: dispatchCommand(jobName) },
      { name: reconcileJobName, schedule: "* * * * *", command: reconcileCommand },
      { name: catchUpJobName, schedule: catchUpSchedule, command: catchUpCommand(defaultJobName) },
      { name: retentionJobName, schedule: retentionSchedule, command: pruneCommand },
    ];
    const jobs = await managementQuery<JobRow>(
      target,
      `select j.jobname, j.username, j.schedule, j.command, j.active from cron.job j where j.jobname in (${expected.map((e) => lit(e.name)).join(", ")}) order by j.jobid`,
    );
    for (const want of expected) {
      const ours = jobs.find((j) => j.jobname === want.name && j.username === cronRunnerRole);
      const others = jobs.filter((j) => j.jobname === want.name && j.username !== cronRunnerRole);
      check(`job ${want.name} is registered for ${cronRunnerRole}`, ours !== undefined, `owner ${cronRunnerRole}`, ours ? `owner ${ours.username}` : others.length ? `only owned by ${others.map((o) => o.username).join(", ")}` : "missing");
      if (others.length > 0 && ours) check(`no other role has a job ${want.name}`, false, "none", others.map((o) => o.username).join(", "));
      if (!ours) continue;
      check(`job ${want.name} is active`, ours.active, "active", ours.active ? "active" : "paused");
      check(`job ${want.name} runs at its schedule`, ours.schedule === want.schedule, show(want.schedule), show(ours.schedule));
      check(`job ${want.name} runs its command`, ours.command === want.command, show(want.command), show(ours.command));
      if (want.name === jobName && ours.schedule !== want.schedule) {
        // Say whether what it runs now is even a schedule this stack would set.
        const reading = parseSchedule(ours.schedule, inventory.pg_cron);
        if ("problem" in reading) check(`job ${want.name}'s schedule is one the stack would set`, false, "a schedule pg_cron runs as written", reading.problem);
      }
    }
  }

  if (inventory.vault) {
    const rows = await managementQuery<{ name: string }>(
      target,
      `select s.name from vault.secrets s where s.name in (${[...Object.values(vaultSecrets), retiredVaultSecret].map(lit).join(", ")})`,
    );
    for (const name of [vaultSecrets.functionUrl, vaultSecrets.signingKey]) {
      const present = rows.some((row) => row.name === name);
      check(`Vault secret ${name} is present`, present, "present", present ? "present" : "missing");
    }
    // Earlier releases kept the service-role key here, where every dispatch copied it into pg_net's tables.
    const retired = rows.some((row) => row.name === retiredVaultSecret);
    check(`Vault holds no ${retiredVaultSecret} (delete it and rotate that key)`, !retired, "absent", retired ? "present" : "absent");
  } else {
    check("Vault (supabase_vault) is installed", false, "installed", "not installed");
  }

  if (inventory.log_table) {
    const [last] = await managementQuery<{ status: string; triggered_at: string; http_status: number | null; error_message: string | null; stuck: boolean }>(
      target,
      `select l.status, l.triggered_at, l.http_status, l.error_message,
              l.status = 'dispatched' and l.triggered_at < now() - interval '${alertThresholds.stuckAfterMinutes} minutes' as stuck
         from ${qualified(logTable)} l where l.job_name = ${lit(jobName)} and l.triggered_at <= now() order by l.triggered_at desc limit 1`,
    );
    if (last) {
      const detail = `${last.status} at ${new Date(last.triggered_at).toISOString()}${last.http_status ? ` (HTTP ${last.http_status})` : ""}${last.error_message ? `: ${last.error_message.slice(0, 160)}` : ""}`;
      check(`the last run of ${jobName} did not fail`, last.status !== "failed" && !last.stuck, "succeeded, skipped or just dispatched", last.stuck ? `stuck: ${detail}` : detail);
    } else {
      // A fresh deploy has no run yet: that is not drift.
      check(`the last run of ${jobName} did not fail`, true, "succeeded, skipped or just dispatched", "no run yet");
    }
  } else {
    check(`table ${qualified(logTable)} exists`, false, "exists", "missing");
  }

  const privileges = privilegeChecks();
  const [actual] = await managementQuery<Record<string, boolean | null>>(target, `select ${privileges.map((p, i) => `${p.sql} as p${i}`).join(",\n       ")}`);
  privileges.forEach((p, i) => {
    const value = actual[`p${i}`];
    check(p.name, value === p.expected, p.expected ? "granted" : "not granted", value === null ? "object or role missing" : value ? "granted" : "not granted");
  });

  const differences = checks.filter((c) => !c.ok);
  const lines = [
    `project ${target.projectRef}: ${checks.length} checks, ${differences.length === 0 ? "all hold" : `${differences.length} DIFFER`}`,
    ...differences.map((d) => `DRIFT ${d.check}: expected ${d.expected}, found ${d.actual}`),
  ];
  if (differences.length === 0) lines.push("job, schedule, owner, Vault secrets, last outcome and privileges are as deployed");
  return {
    exitCode: differences.length === 0 ? exitCodes.ok : exitCodes.alert,
    json: { projectRef: target.projectRef, ok: differences.length === 0, differences: differences.map(({ ok: _ok, ...d }) => d), checks },
    text: lines.join("\n"),
  };
}

const localHost = (host: string) => ["localhost", "127.0.0.1", "[::1]"].includes(host);

/**
 * The target and expectations from the command line and the environment, refused (exit 2, before any
 * request) when incomplete or malformed. The token is only ever checked for presence.
 */
export function verifyOptions(input: { projectRef?: string; schedule?: string; job: string }, env: Record<string, string | undefined>): VerifyOptions {
  const usage = (message: string) => cliError(exitCodes.usage, message);
  const accessToken = env.SUPABASE_ACCESS_TOKEN?.trim();
  if (!accessToken) {
    throw usage("SUPABASE_ACCESS_TOKEN is not set: verify reads the project through Supabase's Management API. Fix: export SUPABASE_ACCESS_TOKEN=<a personal access token from supabase.com/dashboard/account/tokens>.");
  }
  const projectRef = (input.projectRef ?? env.SUPABASE_PROJECT_REF ?? "").trim();
  if (projectRef === "") throw usage("No project to verify: pass --project-ref <ref> or set SUPABASE_PROJECT_REF, the <ref> of https://<ref>.supabase.co.");
  // The Supabase CLI's own pattern for a ref; anything else is refused here, before a request is sent.
  if (!projectRefPattern.test(projectRef)) {
    throw usage(
      `Project ref '${projectRef}' (${input.projectRef !== undefined ? "--project-ref" : "SUPABASE_PROJECT_REF"}) is not a Supabase project ref, which is 20 lower-case letters: ` +
        "use the <ref> of https://<ref>.supabase.co (Project Settings > General). Nothing was sent.",
    );
  }
  const apiUrl = (env.SUPABASE_API_URL ?? "").trim() || defaultApiUrl;
  let parsed: URL | undefined;
  try {
    parsed = new URL(apiUrl);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !(parsed.protocol === "https:" || (parsed.protocol === "http:" && localHost(parsed.hostname))) || parsed.username || parsed.password) {
    throw usage(`SUPABASE_API_URL = '${apiUrl}' is not an https URL (http only for localhost) without credentials. Fix: unset it to use ${defaultApiUrl}.`);
  }
  const schedule = normalizeSchedule(input.schedule ?? defaultCronExpression);
  const reading = parseSchedule(schedule, "1.6");
  if ("problem" in reading) {
    throw usage(`--schedule '${input.schedule}' is not a schedule the stack sets: ${reading.problem}. Fix: pass the stack's schedule, e.g. --schedule "$(pulumi stack output schedule)".`);
  }
  return { target: { apiUrl: parsed.toString().replace(/\/$/, ""), projectRef, accessToken }, jobName: input.job, schedule };
}
