/**
 * The database side of a reminder run: three calls of the functions the reminder_data migration defines
 * (begin_reminder_run, evaluate_reminder_run, fail_reminder_run), so every rule of a run lives in SQL once,
 * and the replay check of a signed request (accept_signed_reminder_request, the register_reminder_cron
 * migration's).
 */
import postgres from "npm:postgres@3.4.9";
import type { RunRequest } from "./request.ts";

export type Sql = ReturnType<typeof postgres>;

export type Started =
  | { outcome: "running"; runId: number; asOf: string }
  | { outcome: "skipped"; runId: number; asOf: string; holderRunId: number; holderStartedAt: string };

export interface Summary {
  run_id: number;
  status: "succeeded";
  as_of: string;
  evaluated: number;
  created: number;
  skipped: number;
  duration_ms: number;
}

/**
 * Longer than any run we measured (a million assignments: well under a minute), and shorter than the Edge
 * Function wall-clock limit (400 s): an evaluation whose worker is stopped at the limit has then ended in the
 * database too (rolled back, its lease free), before reconcile_reminder_runs fails the run 460 s after its
 * trigger (runOutcomeDeadlineSeconds in infra/sql/names.ts).
 */
const evaluationTimeout = "380s";

export function connect(databaseUrl: string): Sql {
  return postgres(databaseUrl, {
    // One connection evaluates while another can answer a concurrent request with its 409.
    max: 3,
    // Supabase's transaction pooler (port 6543) cannot keep prepared statements.
    prepare: false,
    connect_timeout: 5,
    idle_timeout: 30,
    connection: { application_name: "reminder-scheduler" },
    onnotice: () => undefined,
  });
}

/** True the first time a signed run id is presented, false for a replay: the memory is the database's, so it outlives this worker. */
export async function acceptSignedRun(sql: Sql, runId: number, jobName: string, signedAt: number): Promise<boolean> {
  const [row] = await sql`
    select public.accept_signed_reminder_request(${runId}::bigint, ${jobName}::text, to_timestamp(${signedAt}::bigint)) as accepted`;
  return row.accepted === true;
}

/**
 * triggered_at goes as text: a timestamptz parameter passes through a JavaScript Date and loses its
 * microseconds, and reconcile matches the record to its log row by the signed trigger time.
 */
export async function beginRun(sql: Sql, request: RunRequest): Promise<Started> {
  const [row] = await sql`
    select run_id, outcome, as_of::text as as_of, holder_run_id, holder_started_at::text as holder_started_at
      from public.begin_reminder_run(${request.jobName}::text, ${request.cronRunId}::bigint, ${request.triggeredAt}::text::timestamptz)`;
  if (row.outcome === "skipped") {
    return { outcome: "skipped", runId: Number(row.run_id), asOf: row.as_of, holderRunId: Number(row.holder_run_id), holderStartedAt: row.holder_started_at };
  }
  return { outcome: "running", runId: Number(row.run_id), asOf: row.as_of };
}

export async function evaluateRun(sql: Sql, runId: number): Promise<Summary> {
  const [row] = await sql.begin(async (tx) => {
    await tx.unsafe(`set local statement_timeout = '${evaluationTimeout}'`);
    return await tx`
      select status, as_of::text as as_of, evaluated, created, skipped, duration_ms
        from public.evaluate_reminder_run(${runId}::bigint)`;
  });
  return {
    run_id: runId,
    status: "succeeded",
    as_of: row.as_of,
    evaluated: row.evaluated,
    created: row.created,
    skipped: row.skipped,
    duration_ms: row.duration_ms,
  };
}

export async function failRun(sql: Sql, runId: number, message: string): Promise<void> {
  await sql`select public.fail_reminder_run(${runId}::bigint, ${message}::text)`;
}
