/**
 * The runbook's SQL, as the CLI runs it: pause, resume, run now and reschedule do exactly what an on-call
 * person would paste from the migration header (infra/sql/runbook.ts), never a second version of it.
 */
import { sqlLiteral } from "../infra/sql/literal";
import { runbookSql as runbookEntrySql } from "../infra/sql/runbook";

export type RunbookAction = "Emergency pause" | "Resume" | "Run now" | "Reschedule";

/** The runbook entry the CLI runs for `action`, typed so only the entries it relies on can be named. */
export const runbookSql = (jobName: string, action: RunbookAction): string => runbookEntrySql(jobName, action);

/** The runbook writes its reschedule entry with this example schedule: in the Vault create, the Vault update and alter_job. */
const exampleSchedule = "'30 5 * * *'";

/** The reschedule entry with the example replaced by `expression`, which the caller has validated. */
export function rescheduleSql(jobName: string, expression: string): string {
  const sql = runbookSql(jobName, "Reschedule");
  const uses = sql.split(exampleSchedule).length - 1;
  if (uses !== 3) {
    throw new Error(`The runbook's reschedule entry no longer uses ${exampleSchedule} three times (Vault create, Vault update, alter_job); update cli/runbook-sql.ts to match it.`);
  }
  return sql.split(exampleSchedule).join(sqlLiteral(expression));
}
