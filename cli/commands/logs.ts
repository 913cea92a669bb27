/**
 * `reminder-cron logs --since <when>`: the job's execution log since then, newest first, and any run pg_cron
 * itself recorded as failed for cron_runner's jobs (those write nothing to the execution log).
 */
import { Client } from "pg";
import { exitCodes } from "../exit-codes";
import { runsTable, table, utc } from "../format";
import { Outcome } from "../output";
import { logTable, qualified } from "../../infra/sql/names";
import { cronFailures, functionRunsSince, jobRow, runsSince } from "../queries";
import { requireJob } from "./control";
import { byLogRun, runView } from "../views";

export const defaultSince = "24h";

export async function logs(client: Client, jobName: string, since: Date): Promise<Outcome> {
  // The log outlives a removed job, so its history is still shown; a name neither registered nor ever
  // logged is a typo of --job, and an empty listing would hide that.
  if (!(await jobRow(client, jobName))) {
    // The newest row, not exists(): the (job_name, triggered_at desc) index answers it with one read, where
    // for a busy job the planner takes exists() as a sequential scan.
    const { rowCount } = await client.query(`select triggered_at from ${qualified(logTable)} where job_name = $1 order by triggered_at desc limit 1`, [jobName]);
    if (rowCount === 0) await requireJob(client, jobName);
  }
  const runs = await runsSince(client, jobName, since);
  const failures = await cronFailures(client, since);
  const reminders = byLogRun(await functionRunsSince(client, jobName, since));
  const lines = [`${jobName}: ${runs.length} run(s) since ${utc(since)}`, runsTable(runs, reminders)];
  if (failures.length > 0) {
    lines.push(
      `pg_cron recorded ${failures.length} failed job run(s) of cron_runner since then:`,
      table(
        ["job", "started (UTC)", "message"],
        failures.map((f) => [f.jobname, utc(f.start_time ?? f.end_time).replace(" UTC", ""), (f.return_message ?? "").replace(/\s+/g, " ").trim()]),
      )
        .split("\n")
        .map((line) => `  ${line}`)
        .join("\n"),
    );
  }
  return {
    exitCode: exitCodes.ok,
    json: {
      job: jobName,
      since: since.toISOString(),
      runs: runs.map((run) => runView(run, reminders.get(run.id))),
      cronFailures: failures.map((f) => ({
        job: f.jobname,
        runId: Number(f.runid),
        startedAt: f.start_time ? new Date(f.start_time).toISOString() : null,
        endedAt: f.end_time ? new Date(f.end_time).toISOString() : null,
        message: f.return_message,
      })),
    },
    text: lines.join("\n"),
  };
}
