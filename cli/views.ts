/** The --json shapes: camelCase, ISO timestamps in UTC, numbers for ids and durations. */
import { runDurationMs } from "./format";
import { JobRow, RunRow } from "./queries";

export interface RunView {
  id: number;
  jobName: string;
  triggeredAt: string;
  status: RunRow["status"];
  httpStatus: number | null;
  finishedAt: string | null;
  durationMs: number | null;
  error: string | null;
  catchUpOf: string | null;
}

const iso = (at: Date | null) => (at === null ? null : new Date(at).toISOString());

export function runView(run: RunRow): RunView {
  return {
    id: Number(run.id),
    jobName: run.job_name,
    triggeredAt: new Date(run.triggered_at).toISOString(),
    status: run.status,
    httpStatus: run.http_status,
    finishedAt: iso(run.finished_at),
    durationMs: runDurationMs(run),
    error: run.error_message,
    catchUpOf: iso(run.catch_up_of),
  };
}

export interface JobView {
  id: number;
  name: string;
  schedule: string;
  active: boolean;
  owner: string;
}

export const jobView = (job: JobRow): JobView => ({ id: Number(job.jobid), name: job.jobname, schedule: job.schedule, active: job.active, owner: job.username });
