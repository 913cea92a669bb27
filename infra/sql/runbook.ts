/**
 * The on-call runbook as exact SQL, one source for the migration header, the Pulumi stack outputs, the
 * README and the CLI. Every statement runs as `postgres` (Supabase's SQL editor or psql); the job belongs
 * to cron_runner, so changing it means acting as that role for one statement.
 */
import { sqlLiteral } from "./literal";
import { cronRunnerRole, defaultCronExpression, defaultJobName, dispatchCommand, qualified, logTable, retiredVaultSecret, vaultSecrets } from "./names";

export interface RunbookEntry {
  /** What the on-call person wants to do, as the header of the entry. */
  action: string;
  sql: string;
}

const lit = sqlLiteral;
const asRunner = (statement: string) => `set role ${cronRunnerRole}; ${statement} reset role;`;
const jobId = (jobName: string) => `(select jobid from cron.job where jobname = ${lit(jobName)} and username = ${lit(cronRunnerRole)})`;

export function runbook(jobName: string = defaultJobName): RunbookEntry[] {
  return [
    { action: "See the job", sql: `select jobid, jobname, schedule, active, username from cron.job where jobname = ${lit(jobName)};` },
    { action: "Emergency pause (keeps the job, stops its runs)", sql: asRunner(`select cron.alter_job(${jobId(jobName)}, active := false);`) },
    { action: "Resume", sql: asRunner(`select cron.alter_job(${jobId(jobName)}, active := true);`) },
    {
      action: "Reschedule (UTC; keep the Vault secret in step so a redeploy keeps it)",
      sql:
        `select vault.create_secret(${lit("30 5 * * *")}, ${lit(vaultSecrets.cronExpression)}) where not exists (select 1 from vault.secrets where name = ${lit(vaultSecrets.cronExpression)}); ` +
        `select vault.update_secret(id, ${lit("30 5 * * *")}) from vault.secrets where name = ${lit(vaultSecrets.cronExpression)}; ` +
        asRunner(`select cron.alter_job(${jobId(jobName)}, schedule := ${lit("30 5 * * *")});`),
    },
    { action: "Run now (outside the schedule)", sql: `${dispatchCommand(jobName)};` },
    {
      // The function accepts both keys while the two halves change, so no signed request in flight is refused.
      action:
        "Rotate the signing key (first: supabase secrets set REMINDER_SIGNING_KEY_PREVIOUS=<current key> REMINDER_SIGNING_KEY=<new key>; " +
        "then this, or pulumi up with the new reminder-cron:signingKey; ten minutes later: supabase secrets unset REMINDER_SIGNING_KEY_PREVIOUS)",
      sql: `select vault.update_secret(id, ${lit("<new key>")}) from vault.secrets where name = ${lit(vaultSecrets.signingKey)};`,
    },
    {
      action: "Delete the service-role key earlier releases kept in Vault (then rotate that key: pg_net's tables showed it to every role)",
      sql: `delete from vault.secrets where name = ${lit(retiredVaultSecret)};`,
    },
    {
      action: "Read the log (last 24 hours)",
      sql: `select triggered_at, status, http_status, error_message, finished_at from ${qualified(logTable)} where job_name = ${lit(jobName)} and triggered_at > now() - interval '24 hours' order by triggered_at desc;`,
    },
    // Every job cron_runner owns is reminder-cron's: the trigger, its reconcile, catch-up and retention jobs.
    { action: "Remove the jobs for good", sql: asRunner("select cron.unschedule(jobid) from cron.job where username = current_user;") },
    {
      action: "Restore a removed job",
      sql: `re-apply this migration with psql (psql "$DATABASE_URL" --file <this file>; on the local stack npm run db:psql -- --file <this file>), or pulumi up; it schedules ${lit(jobName)} at reminder_cron_expression, default ${lit(defaultCronExpression)}`,
    },
  ];
}

/** The SQL of the entry whose action starts with `action`: what the CLI and the operations runbook reuse verbatim. */
export function runbookSql(jobName: string, action: string): string {
  const entry = runbook(jobName).find((candidate) => candidate.action.startsWith(action));
  if (!entry) throw new Error(`infra/sql/runbook.ts has no entry starting "${action}", which is reused elsewhere; restore it.`);
  return entry.sql;
}
