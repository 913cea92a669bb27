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

/** A column of an app table the reminder run reads or writes, and the SQL that adds it when it is missing. */
export interface ContractColumn {
  name: string;
  /** As format_type() spells it; `also` lists other types the run works with unchanged. */
  type: string;
  also?: readonly string[];
  use: string;
  /** Defaults to `alter table <table> add column <name> <type>;`. */
  add?: string;
}

/** A single-column unique key the run relies on: immediate (ON CONFLICT refuses deferrable ones), not partial. */
export interface ContractKey {
  column: string;
  why: string;
  add: string;
}

export interface AppTableContract {
  table: string;
  columns: readonly ContractColumn[];
  key?: ContractKey;
  /** The run inserts rows: any other NOT NULL column needs a default. */
  inserts: boolean;
}

/**
 * What reminder-cron needs of the app's tables, when the app created them before us. The migration creates
 * a table that is missing (with everything below and more); a table that exists is the app's, and is only
 * checked against this contract, never altered, granted, revoked or given policies, triggers or indexes.
 */
export const appTableContracts: Record<"assignments" | "notifications" | "activities", AppTableContract> = {
  assignments: {
    table: "public.assignments",
    inserts: false,
    columns: [
      { name: "id", type: "uuid", use: "reads: the assignment a reminder is for" },
      { name: "peer_mentor_id", type: "uuid", use: "reads: the reminder's recipient" },
      { name: "status", type: "text", also: ["character varying"], use: "reads: only 'active' assignments are reminded" },
      { name: "last_contact_date", type: "date", use: "reads: copied into the reminder's payload" },
      {
        name: "follow_up_due_on",
        type: "date",
        use: "reads: due when on or before the run's day",
        add: "alter table public.assignments add column follow_up_due_on date generated always as (coalesce(last_contact_date, assigned_on) + follow_up_interval_days) stored;",
      },
    ],
    key: {
      column: "id",
      why: "notifications.assignment_id and activities.assignment_id reference it",
      add: "alter table public.assignments add primary key (id);",
    },
  },
  notifications: {
    table: "public.notifications",
    inserts: true,
    columns: [
      { name: "recipient_id", type: "uuid", use: "writes: the mentor to remind" },
      { name: "assignment_id", type: "uuid", use: "writes: the assignment" },
      { name: "kind", type: "text", also: ["character varying"], use: `writes: '${followUpKind}'` },
      { name: "dedupe_key", type: "text", also: ["character varying"], use: `writes: '${followUpKind}:<assignment id>:<due day>'` },
      { name: "run_id", type: "bigint", use: "writes: the reminder_runs id of the run" },
      { name: "payload", type: "jsonb", use: "writes: {due_on, last_contact_date}" },
    ],
    key: {
      column: "dedupe_key",
      why: "the run inserts with on conflict (dedupe_key) do nothing, which is what makes a second run on the same day create nothing",
      add: "alter table public.notifications add constraint notifications_dedupe_key_key unique (dedupe_key);",
    },
  },
  activities: {
    table: "public.activities",
    inserts: false,
    // The run never reads activities. These two matter only where keep_last_contact_date is attached to it.
    columns: [
      { name: "assignment_id", type: "uuid", use: "read by the last_contact_date trigger, where attached" },
      { name: "occurred_on", type: "date", use: "read by the last_contact_date trigger, where attached" },
    ],
  },
};

/** The two triggers that keep last_contact_date, on a table the migration created (see keepLastContactTriggers). */
export const contactTriggers = [
  { name: "activities_keep_last_contact_date_on_insert", event: "insert" },
  { name: "activities_keep_last_contact_date_on_update", event: "update" },
] as const;
