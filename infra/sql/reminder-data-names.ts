/**
 * The names of the ReminderSchedulerService's data and SQL: its migration, the pgTAP and jest tests, the
 * benchmark and the seed agree on them through this module. The Edge Function (Deno, deployed without this
 * folder) spells the three run functions out itself; its integration tests prove the spellings match.
 */

/** Every way an activity can be registered; the trigger that keeps last_contact_date fires for all of them. */
export const registrationPaths = ["direct", "proxy", "bulk", "coordinator_proxy"] as const;
export type RegistrationPath = (typeof registrationPaths)[number];

/** Only `active` assignments get reminders. */
export const assignmentStatuses = ["active", "paused", "completed", "cancelled"] as const;

/** The notification kind a due follow-up creates, and the first part of its dedupe key. */
export const followUpKind = "follow_up_reminder";

/**
 * How long a run's lease lasts when nothing renews it. It matters only when a run dies between taking the
 * lease and starting its evaluation (an evaluation in flight keeps its run row locked, and a locked lease is
 * never taken over), so it is short enough to free the next day's run and long enough never to race one.
 */
export const runLeaseMinutes = 10;

/**
 * A contact dated up to this many days after the database's current_date (UTC) is accepted: a mentor east
 * of UTC logging "today" just after local midnight is already a day ahead.
 */
export const contactDateSlackDays = 1;

export const reminderTables = {
  assignments: "public.assignments",
  activities: "public.activities",
  notifications: "public.notifications",
  runs: "public.reminder_runs",
  corrections: "public.assignment_contact_corrections",
} as const;

/** The functions the Edge Function calls, connected as `postgres` (SUPABASE_DB_URL). */
export const runFunctions = {
  begin: { name: "public.begin_reminder_run", signature: "text, bigint, timestamp with time zone" },
  evaluate: { name: "public.evaluate_reminder_run", signature: "bigint" },
  fail: { name: "public.fail_reminder_run", signature: "bigint, text" },
} as const;

/** The admin-only correction of last_contact_date; service_role may execute it, nobody else. */
export const correctionFunction = { name: "public.correct_last_contact_date", signature: "uuid, date, text, text" } as const;

/** The statement-level trigger function behind both activities triggers. */
export const contactTriggerFunction = { name: "public.keep_last_contact_date", signature: "" } as const;
