/**
 * The names every part of reminder-cron agrees on: the migration, the Pulumi component, the CLI and the
 * tests import them from here, so a rename is one edit and nothing can drift.
 */
import { sqlLiteral } from "./literal";

/** The pg_cron job that triggers the daily reminder run. */
export const defaultJobName = "daily-reminder-eval";

/** 06:00 UTC every day: pg_cron evaluates schedules in UTC unless cron.timezone (1.5+) says otherwise. */
export const defaultCronExpression = "0 6 * * *";

/** The companion job that turns pg_net responses into final log outcomes. */
export const reconcileJobName = "reminder-eval-reconcile";

/** The least-privileged role both jobs run as. */
export const cronRunnerRole = "cron_runner";

export const logTable = { schema: "public", name: "cron_execution_log" } as const;

/**
 * One row per dispatched job, locked by the dispatch while it runs: the per-job lock. A row lock, not an
 * advisory key: any role may take any advisory key (a held one made every dispatch a silent skip), and none
 * but the owner may lock a row of a table it has no privilege on.
 */
export const dispatchLockTable = { schema: "public", name: "reminder_cron_dispatch_locks" } as const;

/** What a dispatch records when its job's lock is held; `status` alerts on one with no dispatch beside it. */
export const lockSkipMessage = "another dispatch of this job was starting at the same moment";

export const dispatchFunction = { schema: "public", name: "dispatch_reminder_run", signature: "text" } as const;
/** What dispatches one attempt of an occurrence: the schedule's through dispatch_reminder_run, a catch-up's or a retry's. Owner only. */
export const attemptFunction = { schema: "public", name: "dispatch_reminder_attempt", signature: "text, timestamp with time zone, text" } as const;
export const reconcileFunction = { schema: "public", name: "reconcile_reminder_runs", signature: "" } as const;

/** Supabase Vault secret names. The task card's REMINDER_FUNCTION_URL and REMINDER_CRON_EXPRESSION land here. */
export const vaultSecrets = {
  functionUrl: "reminder_function_url",
  /** The HMAC key each dispatch signs with; the function holds the same key as REMINDER_SIGNING_KEY. */
  signingKey: "reminder_signing_key",
  cronExpression: "reminder_cron_expression",
} as const;

/**
 * What releases before the signed dispatch kept in Vault and sent as a bearer token, which pg_net's
 * PUBLIC tables then showed to every role: the migration and `status` ask to delete it and rotate the key.
 */
export const retiredVaultSecret = "reminder_service_role_key";

/**
 * The signed dispatch (Stripe's and Slack's webhook scheme): `x-reminder-signature: t=<unix seconds>,v1=<hex>`,
 * v1 = HMAC-SHA256(signing key, "<t>.<run_id>.<triggered_at>.<job_name>"), each field as the JSON body carries
 * it. job_name comes last, so a dot in it cannot shift another field. The Edge Function spells these out
 * itself (it is deployed without this folder); tests/unit/reminder-signature.test.ts proves they match.
 */
export const signatureHeader = "x-reminder-signature";
export const signedFields = ["t", "run_id", "triggered_at", "job_name"] as const;

/**
 * A signature older than this is refused. No longer than reconcile's deadline for an answer
 * (responseDeadlineSeconds), so a request pg_net sends after its run was failed as unanswered never runs.
 */
export const signatureMaxAgeSeconds = 120;
/** A signature dated ahead of the function's clock by more than this is refused: clocks drift, not by minutes. */
export const signatureFutureSkewSeconds = 30;

/** A signing key shorter than this is refused on both ends: 32 random hex characters are 128 bits. */
export const minimumSigningKeyLength = 32;

/** Each signed run id the function accepted, so a replayed request is refused; see accept_signed_reminder_request. */
export const signedRequestsTable = { schema: "public", name: "reminder_signed_requests" } as const;
export const acceptSignedFunction = { schema: "public", name: "accept_signed_reminder_request", signature: "bigint, text, timestamp with time zone" } as const;

/**
 * Supabase Edge Functions stop a worker at this wall-clock limit (400 s on paid plans, 150 s on the free
 * plan): a run still evaluating then never records its outcome. See docs.supabase.com, Edge Functions limits.
 */
export const functionWallClockSeconds = 400;

/**
 * How long after its trigger a run answered 202 may stay `running` before reconcile fails it (and its
 * reminder_runs record, freeing the lease): the wall-clock limit plus a minute, by which time the function's
 * evaluation (statement_timeout under the limit) has ended in the database as well.
 */
export const runOutcomeDeadlineSeconds = functionWallClockSeconds + 60;

/** pg_net's request timeout for the trigger call: the task card's 5 s budget, and pg_net's default. */
export const dispatchTimeoutMs = 5000;

/**
 * pg_net's worker takes a request off its queue, sends it and records the answer within the timeout. A request
 * neither queued nor answered this long after its dispatch was lost (the queue is UNLOGGED: a crash or a
 * delete empties it): reconcile fails it then, rather than at responseDeadlineSeconds.
 */
export const lostRequestAfterSeconds = dispatchTimeoutMs / 1000 + 25;

/** A run pg_cron starts this long after its minute still counts as that occurrence's (a busy launcher is late). */
export const scheduledLateMinutes = 5;

export const qualified = (object: { schema: string; name: string }) => `${object.schema}.${object.name}`;

/** The SQL a job runs: the dispatch function, named with the job so one function serves any job name. */
export const dispatchCommand = (jobName: string) => `select public.dispatch_reminder_run(${sqlLiteral(jobName)})`;
export const reconcileCommand = "select public.reconcile_reminder_runs()";
