/**
 * The names of what keeps the trigger healthy over time: the missed-run catch-up and the history retention,
 * their settings and the thresholds the operator CLI alerts on. The operations migration, the privilege
 * matrix, the CLI and the tests import them from here (names.ts holds the trigger's own names).
 */
import { runOutcomeDeadlineSeconds } from "./names";

/**
 * Every minute, follows up the daily job's latest occurrence: dispatches it once if no run of it reached the
 * function (missed, or its request lost), and retries it with back-off while it has failed.
 */
export const catchUpJobName = "reminder-eval-catch-up";
export const catchUpSchedule = "* * * * *";

/** Once a day, at a quiet minute away from 06:00, prunes the execution log and pg_cron's run history. */
export const retentionJobName = "reminder-eval-retention";
export const retentionSchedule = "17 3 * * *";

export const catchUpFunction = { schema: "public", name: "catch_up_reminder_run", signature: "text" } as const;
/** The state of a job's latest occurrence: what the catch-up job acts on and `status` shows. */
export const seriesFunction = { schema: "public", name: "reminder_run_series", signature: "text" } as const;
/** The retry settings as they apply, read from Vault and checked; raises when one is out of range. */
export const retryPolicyFunction = { schema: "public", name: "reminder_cron_retry_policy", signature: "" } as const;
/** Why a retry policy cannot hold for a schedule, or null: the one check of the SQL side. */
export const retryProblemFunction = { schema: "public", name: "reminder_cron_retry_problem", signature: "integer, interval, interval, text" } as const;
/** The owner's way to change the retry settings: checked first, then stored in Vault. */
export const setRetriesFunction = { schema: "public", name: "set_reminder_cron_retries", signature: "integer, interval, interval" } as const;
export const occurrenceFunction = { schema: "public", name: "reminder_cron_occurrence", signature: "text, timestamp with time zone, interval" } as const;
export const shortestGapFunction = { schema: "public", name: "cron_shortest_gap", signature: "text, text" } as const;
export const pruneFunction = { schema: "public", name: "prune_reminder_cron_history", signature: "interval, interval" } as const;
/** The retention job's entry point: the configured ages only, so cron_runner cannot choose its own cut-offs. */
export const retentionFunction = { schema: "public", name: "apply_reminder_cron_retention", signature: "" } as const;
export const settingFunction = { schema: "public", name: "reminder_cron_interval_setting", signature: "text, text" } as const;
export const scheduleFieldsFunction = { schema: "public", name: "cron_schedule_fields", signature: "text, text" } as const;
export const previousOccurrenceFunction = { schema: "public", name: "cron_previous_occurrence", signature: "text, timestamp with time zone, interval, text" } as const;

/** One row per caught-up occurrence; its primary key is what makes a second catch-up impossible. */
export const catchUpTable = { schema: "public", name: "reminder_cron_catch_ups" } as const;
/**
 * When the catch-up job last saw a job paused: an occurrence that came while it was paused is not run on
 * resume (pg_cron keeps no record of a pause, and a paused job's occurrence looks missed).
 */
export const pausesTable = { schema: "public", name: "reminder_cron_pauses" } as const;

/**
 * Settings, kept in Vault beside reminder_cron_expression so one mechanism (and `pulumi up`) configures
 * everything. None is secret; each is optional, with the default below.
 */
export const intervalSettings = {
  catchUpWindow: { secret: "reminder_catch_up_window", default: "6 hours" },
  logRetention: { secret: "reminder_log_retention", default: "90 days" },
  runDetailsRetention: { secret: "reminder_run_details_retention", default: "14 days" },
  /** The wait before the first retry; each later one waits twice as long as the one before. */
  retryBackoff: { secret: "reminder_retry_backoff", default: "1 minute" },
  /** No attempt of an occurrence is dispatched later than this after it. */
  retryDeadline: { secret: "reminder_retry_deadline", default: "4 hours" },
} as const;

/**
 * Retries of one occurrence after its first attempt failed. With the defaults above they come about 1, 2,
 * 4, 8 and 16 minutes after each failure, 6 attempts in all, the last about half an hour after the first.
 */
export const retryLimitSetting = { secret: "reminder_retry_limit", default: 5 } as const;
/** More would wait longer than a day between the last two: the deadline stops them well before. */
export const maximumRetries = 10;


/**
 * An occurrence is left to pg_cron for this long: it starts a job within its minute, so a run not logged a
 * minute later was missed. Catching up sooner could race the scheduled run itself.
 */
export const catchUpGraceMinutes = 1;

/** Retention shorter than this would delete the runs the 26-hour alert and the 7-day success rate read. */
export const minimumRetention = "2 days";

/** The alerts of `reminder-cron status`. */
export const alertThresholds = {
  /** Reconcile fails an unanswered run after 120 s and runs every minute: 5 minutes without an outcome means it is not running. */
  stuckAfterMinutes: 5,
  /** Reconcile fails a run still `running` (answered 202) runOutcomeDeadlineSeconds after its trigger; three minutes more means it is not running. */
  stuckRunningAfterMinutes: Math.ceil(runOutcomeDeadlineSeconds / 60) + 3,
  /** The task card's risk mitigation: alert if any run exceeds 30 minutes. */
  longRunMinutes: 30,
  /** One daily run plus two hours of slack. */
  noSuccessHours: 26,
} as const;

/** The period `status` reports the success rate over. */
export const successRateDays = 7;
