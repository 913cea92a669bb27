/**
 * What to say when a job is not in cron.job as cron_runner. Each of our jobs comes from one migration, and
 * re-applying that one file restores it without losing data (it is idempotent), where a reset would throw
 * the log away; any other name is most likely a typo of --job, so the jobs that do exist are named.
 */
import { cronRunnerRole, defaultJobName, reconcileJobName } from "../infra/sql/names";
import { catchUpJobName, retentionJobName } from "../infra/sql/operations-names";
import { migrationFileName, migrations } from "../infra/sql/migrations";

const migrationFile = (name: string) => `supabase/migrations/${migrationFileName(migrations.find((m) => m.name === name)!)}`;

const registeredBy: Record<string, string> = {
  [defaultJobName]: migrationFile("register_reminder_cron"),
  [reconcileJobName]: migrationFile("register_reminder_cron"),
  [catchUpJobName]: migrationFile("reminder_cron_operations"),
  [retentionJobName]: migrationFile("reminder_cron_operations"),
};

/** How to bring back one of our jobs, or undefined for a name no migration registers. */
export function restoreHint(jobName: string): string | undefined {
  const file = registeredBy[jobName];
  if (!file) return undefined;
  return `restore it by applying its migration again (it is idempotent): npm run db:psql -- -f ${file} on the local stack, psql "$DATABASE_URL" -f ${file} on a project, or pulumi up`;
}

/** One line: the job named, and either how to restore it or which jobs cron_runner does have. */
export function jobMissingMessage(jobName: string, existing?: string[]): string {
  const restore = restoreHint(jobName);
  if (restore) return `Job ${jobName} is not registered in cron.job (as ${cronRunnerRole}), so nothing runs: ${restore}.`;
  const known = existing === undefined ? "" : existing.length === 0 ? `; ${cronRunnerRole} has no job at all` : `; ${cronRunnerRole}'s jobs are ${existing.join(", ")}`;
  return `Job ${jobName} is not registered in cron.job (as ${cronRunnerRole}): check --job${known}.`;
}
