/**
 * The ReminderSchedulerService's data and SQL: the app's assignments, activities and notifications (created
 * only where missing, otherwise checked against appTableContracts and never changed), the run record that
 * doubles as the run lease, the trigger that keeps last_contact_date, the audited admin correction, and the
 * three functions the Edge Function calls. Rendered into supabase/migrations/20261128050000_reminder_data.sql;
 * every statement is safe to run again.
 */
import {
  appTableContracts,
  assignmentStatuses,
  contactDateSlackDays,
  contactTriggers,
  correctionFunction,
  followUpKind,
  registrationPaths,
  reminderTables,
  type ContractColumn,
  runFunctions,
  runLeaseMinutes,
} from "./reminder-data-names";
import { sqlLiteral } from "./literal";

const lit = sqlLiteral;
const list = (values: readonly string[]) => values.map(lit).join(", ");
const contracts = Object.values(appTableContracts);

/** The SQL that adds a missing contract column. */
const addColumnSql = (table: string, column: ContractColumn) => column.add ?? `alter table ${table} add column ${column.name} ${column.type};`;

/** The triggers that keep last_contact_date: on activities created here, and the app's opt-in for its own. */
export const keepLastContactTriggers = () =>
  contactTriggers
    .map(
      (trigger) => `create trigger ${trigger.name}
  after ${trigger.event} on public.activities
  referencing new table as changed
  for each statement execute function public.keep_last_contact_date();`,
    )
    .join("\n");

/** Takes every privilege Supabase's defaults gave a table created here; RLS on, no policy: the app adds its own. */
const lockedDown = (table: string) => `revoke all on table ${table} from public, anon, authenticated, service_role;
alter table ${table} enable row level security;`;

/**
 * A table of the app's, created with `ddl` (its indexes, triggers, RLS and grants) only when it is missing.
 * When it exists it is the app's (or ours from an earlier apply): the adoption check has vouched for it, and
 * nothing here touches it.
 */
function createdHereOnly(table: string, ddl: string): string {
  return `
-- ${table}: when it exists it is the app's (checked above) and left exactly as it is; else it is created here.
do $create$
begin
  if to_regclass(${lit(table)}) is not null then
    return;
  end if;
  execute $ddl$
${ddl}
$ddl$;
end
$create$;`;
}

const sqlArray = (values: readonly string[]) => `array[${values.map(lit).join(", ")}]::text[]`;

/**
 * The first statement: every app table that exists must already satisfy its contract, or the migration stops
 * with one error naming each missing piece and the SQL that adds it, before anything has changed.
 */
function adoptionCheck(): string {
  const columnRows = contracts.flatMap((contract) =>
    contract.columns.map(
      (column) =>
        `(${lit(contract.table)}, ${lit(column.name)}, ${lit(column.type)}, ${sqlArray([column.type, ...(column.also ?? [])])}, ${lit(column.use)}, ${lit(addColumnSql(contract.table, column))}, ${contract === appTableContracts.activities})`,
    ),
  );
  const keyRows = contracts.flatMap((contract) =>
    contract.key ? [`(${lit(contract.table)}, ${lit(contract.key.column)}, ${lit(contract.key.why)}, ${lit(contract.key.add)})`] : [],
  );
  const insertRows = contracts.filter((contract) => contract.inserts).map((contract) => `(${lit(contract.table)}, ${sqlArray(contract.columns.map((c) => c.name))})`);
  const rows = (values: string[]) => values.join(",\n          ");
  return `
-- Adopting a live app: ${contracts.map((c) => c.table).join(", ")} may exist already, with the app's rows,
-- grants and policies. Before anything changes, each one that exists must have what the run needs; if any
-- lacks something, stop with every missing piece and the SQL that adds it. Nothing is changed until it passes.
do $check$
declare
  need     record;
  problems text[] := '{}';
  found_   text;
begin
  for need in
    select c.table_name, cl.relkind
      from (values ${contracts.map((c) => `(${lit(c.table)})`).join(", ")}) as c(table_name)
      join pg_catalog.pg_class cl on cl.oid = pg_catalog.to_regclass(c.table_name)
     where cl.relkind not in ('r', 'p')
  loop
    problems := problems || format('%s is not a table (pg_class.relkind %s); reminder-cron reads and writes it as one. Fix: rename it, and apply the migrations again to create the table.', need.table_name, need.relkind);
  end loop;

  -- activities' columns matter only where the app attached keep_last_contact_date to its own table.
  for need in
    select *
      from (values
          ${rows(columnRows)}
           ) as contract(table_name, column_name, column_type, accepted, use, fix, trigger_only)
     where pg_catalog.to_regclass(contract.table_name) is not null
       and (not contract.trigger_only
            or exists (select 1 from pg_catalog.pg_trigger t
                        where t.tgrelid = pg_catalog.to_regclass(contract.table_name)
                          and t.tgfoid = pg_catalog.to_regprocedure('public.keep_last_contact_date()')))
  loop
    select pg_catalog.format_type(a.atttypid, null) into found_
      from pg_catalog.pg_attribute a
     where a.attrelid = pg_catalog.to_regclass(need.table_name) and a.attname = need.column_name and a.attnum > 0 and not a.attisdropped;
    if found_ is null then
      problems := problems || format('%s has no column %s %s (%s). Fix: %s', need.table_name, need.column_name, need.column_type, need.use, need.fix);
    elsif not found_ = any (need.accepted) then
      problems := problems || format('%s.%s is %s, not %s (%s). Fix: alter table %s alter column %s type %s using %s::%s;',
                                     need.table_name, need.column_name, found_, need.column_type, need.use,
                                     need.table_name, need.column_name, need.column_type, need.column_name, need.column_type);
    end if;
  end loop;

  -- ON CONFLICT needs an immediate, non-partial unique index on exactly that column; a foreign key as well.
  for need in
    select *
      from (values
          ${rows(keyRows)}
           ) as k(table_name, column_name, why, fix)
     where pg_catalog.to_regclass(k.table_name) is not null
       and exists (select 1 from pg_catalog.pg_attribute a
                    where a.attrelid = pg_catalog.to_regclass(k.table_name) and a.attname = k.column_name and not a.attisdropped)
       and not exists (
             select 1
               from pg_catalog.pg_index i
               join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
              where i.indrelid = pg_catalog.to_regclass(k.table_name)
                and i.indisunique and i.indimmediate and i.indisvalid
                and i.indpred is null and i.indexprs is null and i.indnkeyatts = 1
                and a.attname = k.column_name)
  loop
    problems := problems || format('%s has no unique key on %s alone (immediate, not partial): %s. Fix: %s', need.table_name, need.column_name, need.why, need.fix);
  end loop;

  -- The run's insert fills only the contract's columns: any other NOT NULL column needs a default.
  for need in
    select w.table_name, a.attname
      from (values
          ${rows(insertRows)}
           ) as w(table_name, written)
      join pg_catalog.pg_attribute a on a.attrelid = pg_catalog.to_regclass(w.table_name)
     where a.attnum > 0 and not a.attisdropped and a.attnotnull and not a.atthasdef
       and a.attidentity = '' and a.attgenerated = ''
       and a.attname <> all (w.written)
  loop
    problems := problems || format('%s.%s is NOT NULL without a default, and the run''s insert does not set it. Fix: alter table %s alter column %I set default <a value that suits a reminder>; (or: drop not null)',
                                   need.table_name, need.attname, need.table_name, need.attname);
  end loop;

  if cardinality(problems) > 0 then
    raise exception using
      errcode = 'object_not_in_prerequisite_state',
      message = format(E'reminder-cron cannot adopt the app''s tables as they are, and this migration changed nothing:\n  - %s',
                       array_to_string(problems, E'\n  - ')),
      hint    = 'These tables are the app''s: review each fix as a change of the app''s schema, apply it, then apply the migrations again.';
  end if;

  -- Made explicit, not done: on the app's own activities, last_contact_date is the app's to keep. A warning,
  -- which psql and the Supabase CLI print, because reminders are due from that date.
  if pg_catalog.to_regclass(${lit(appTableContracts.activities.table)}) is not null
     and not exists (select 1 from pg_catalog.pg_trigger t
                      where t.tgrelid = pg_catalog.to_regclass(${lit(appTableContracts.activities.table)})
                        and t.tgfoid = pg_catalog.to_regprocedure('public.keep_last_contact_date()')) then
    raise warning using message =
      'public.activities is the app''s table: reminder-cron attaches no trigger to it, so the app keeps '
      || 'public.assignments.last_contact_date current (a follow-up is due from it). To have reminder-cron keep it from '
      || E'every activity instead, run after this migration:\n' || ${lit(keepLastContactTriggers())};
  end if;
  if pg_catalog.to_regclass(${lit(appTableContracts.assignments.table)}) is not null
     and not exists (select 1
                       from pg_catalog.pg_index i
                       join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                      where i.indrelid = pg_catalog.to_regclass(${lit(appTableContracts.assignments.table)})
                        and a.attname = 'follow_up_due_on') then
    raise notice using message =
      'public.assignments is the app''s table and has no index on follow_up_due_on, which the run filters on; '
      || 'reminder-cron adds none to the app''s tables. For large tables, run: '
      || 'create index concurrently assignments_follow_up_due_idx on public.assignments (follow_up_due_on) where status = ''active'';';
  end if;
end
$check$;`;
}

function contractLines(): string {
  return contracts
    .map((contract) => {
      const key = contract.key ? [`--     unique key (${contract.key.column}): ${contract.key.why}`] : [];
      const columns = contract.columns.map((column) => `--     ${column.name.padEnd(18)} ${column.type.padEnd(6)}  ${column.use}`);
      return [`--   ${contract.table}`, ...columns, ...key].join("\n");
    })
    .join("\n");
}

function header(): string {
  return `-- The data the ReminderSchedulerService Edge Function reads and writes, and the SQL it runs.
--
-- What this migration OWNS (creates, and locks down: RLS on, every default grant revoked, then its own grants):
--   ${reminderTables.runs}                   one row per run: its lease while running, then its summary
--   ${reminderTables.corrections}  the audit of every manual change of last_contact_date
--   the functions below, and keep_last_contact_date()
--
-- The APP's tables. ${contracts.map((c) => c.table).join(", ")} belong to the peer-mentoring app.
-- When one is missing (a new project, the local stack) it is created here, with its indexes, RLS, grants and,
-- for activities, the triggers that keep last_contact_date. When one exists it is the app's: the migration
-- first checks it has what the run needs (below) and otherwise stops with every missing piece and the SQL
-- that adds it, having changed nothing; it never alters, grants, revokes, enables RLS on, or adds or drops
-- a policy, trigger or index of a table it did not create. Applied again, it changes nothing.
--
-- What the run needs of them (columns it reads and writes; other columns are left alone):
${contractLines()}
--
-- last_contact_date: on activities created here, the triggers keep it (every registration path:
-- ${registrationPaths.join(", ")}) and service_role cannot update it directly; the audited correction
-- function changes it. On the app's own activities, the app keeps it: the migration attaches nothing there
-- and says so (a warning with the two create trigger statements that hand the job to reminder-cron).
--
-- The Edge Function's contract (it connects as postgres, through SUPABASE_DB_URL):
--   select * from ${runFunctions.begin.name}(job_name, cron_run_id, triggered_at);
--       takes the run lease and returns outcome 'running', or records a 'skipped' run and names the holder
--   select * from ${runFunctions.evaluate.name}(run_id);
--       one set-based pass: a '${followUpKind}' notification per due assignment, then the run summary
--   select ${runFunctions.fail.name}(run_id, error_message);
--       records a failed run and releases its lease
--
-- Admin correction (service_role only; writes an audit row):
--   select ${correctionFunction.name}(assignment_id => '<uuid>', last_contact_date => '2026-11-20',
--                                          reason => 'ticket 123: contact logged on the wrong assignment',
--                                          corrected_by => 'ops@example.org');
--
-- RUNBOOK (as postgres)
--   Runs of the last week:   select id, status, as_of, evaluated, created, skipped, duration_ms, error_message
--                              from ${reminderTables.runs} where started_at > now() - interval '7 days' order by id desc;
--   Free a stuck lease:      select ${runFunctions.fail.name}(<id of the running run>, 'freed by on-call: <why>');
--   Undo a day's reminders:  delete from ${reminderTables.notifications} where run_id = <run id> and dispatched_at is null;`;
}

const assignments = () =>
  createdHereOnly(
    appTableContracts.assignments.table,
    `create table public.assignments (
  id                      uuid        primary key default gen_random_uuid(),
  peer_mentor_id          uuid        not null,
  contact_id              uuid        not null,
  status                  text        not null default 'active',
  follow_up_interval_days integer     not null default 14,
  assigned_on             date        not null default current_date,
  last_contact_date       date,
  -- Stored, so the evaluation reads one indexed column instead of computing a date per row.
  follow_up_due_on        date        generated always as (coalesce(last_contact_date, assigned_on) + follow_up_interval_days) stored,
  created_at              timestamptz not null default now(),
  constraint assignments_status_check check (status in (${list(assignmentStatuses)})),
  constraint assignments_follow_up_interval_days_check check (follow_up_interval_days between 1 and 365)
);

comment on table  public.assignments is 'A peer mentor''s assignment to a contact; an active one whose follow-up is due gets a reminder.';
comment on column public.assignments.last_contact_date is
  'Kept by the database: the latest activity of any registration path, or an audited correction. Never updated directly.';
comment on column public.assignments.follow_up_due_on is
  'The day a follow-up is due: last contact (or the assignment day when there was none) plus the interval.';

create index assignments_follow_up_due_idx on public.assignments (follow_up_due_on) where status = 'active';
create index assignments_peer_mentor_idx   on public.assignments (peer_mentor_id);

${lockedDown("public.assignments")}
-- The app's backend (service_role) manages assignments but cannot write last_contact_date: only activities
-- and the audited correction move it.
grant select, insert, delete on table public.assignments to service_role;
grant update (peer_mentor_id, contact_id, status, follow_up_interval_days, assigned_on) on table public.assignments to service_role;

-- Every writer, service_role included, is refused a date ahead (see refuse_future_assignment_dates).
create trigger assignments_refuse_future_dates
  before insert or update of assigned_on, last_contact_date on public.assignments
  for each row execute function public.refuse_future_assignment_dates();`,
  );

const activities = () =>
  createdHereOnly(
    appTableContracts.activities.table,
    `create table public.activities (
  id                uuid        primary key default gen_random_uuid(),
  assignment_id     uuid        not null references public.assignments (id) on delete cascade,
  registered_by     uuid        not null,
  registration_path text        not null,
  occurred_on       date        not null default current_date,
  created_at        timestamptz not null default now(),
  constraint activities_registration_path_check check (registration_path in (${list(registrationPaths)}))
);

comment on table  public.activities is 'A contact between a peer mentor and the assignment''s contact, however it was registered.';
comment on column public.activities.registration_path is
  'direct: the mentor; proxy: someone on the mentor''s behalf; bulk: many in one statement; coordinator_proxy: a coordinator on the mentor''s behalf.';

create index activities_assignment_idx on public.activities (assignment_id, occurred_on desc);

-- One trigger per event, because a trigger with a transition table may name only one event.
${keepLastContactTriggers()}

${lockedDown("public.activities")}
grant select, insert, update on table public.activities to service_role;`,
  );

const contactTrigger = () => `
-- Statement-level, over the transition table: a bulk registration of thousands of activities is one
-- grouped update, not one update per row. SECURITY DEFINER, because the roles that register activities
-- may not update last_contact_date themselves.
create or replace function public.keep_last_contact_date()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  early record;
begin
  select c.assignment_id, c.occurred_on into early
    from changed c
   where c.occurred_on > current_date + ${contactDateSlackDays}
   limit 1;
  if found then
    -- A contact dated ahead would silence the assignment's reminders until that day.
    raise exception 'activity for assignment % is dated %, which is in the future', early.assignment_id, early.occurred_on
      using errcode = 'check_violation',
            hint    = 'Set occurred_on to the day the contact happened (today at the latest).';
  end if;

  update public.assignments a
     set last_contact_date = latest.occurred_on
    from (select c.assignment_id, max(c.occurred_on) as occurred_on
            from changed c
           group by c.assignment_id) latest
   where a.id = latest.assignment_id
     and (a.last_contact_date is null or a.last_contact_date < latest.occurred_on);
  return null;
end
$$;

comment on function public.keep_last_contact_date() is
  'Moves assignments.last_contact_date forward to the latest activity inserted or updated, whatever its registration path.';
`;

/**
 * A follow-up is due from assigned_on or last_contact_date: either dated ahead pushes the assignment's
 * reminders out, with no audit row, although the audited correction refuses a future date. On an assignments
 * table created here every writer is refused the same way; an app's own table is the app's and left alone.
 */
const futureDates = () => `
create or replace function public.refuse_future_assignment_dates()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if new.assigned_on > current_date + ${contactDateSlackDays} or new.last_contact_date > current_date + ${contactDateSlackDays} then
    raise exception 'assignment % is dated % (%), which is in the future', new.id,
          case when new.assigned_on > current_date + ${contactDateSlackDays} then new.assigned_on else new.last_contact_date end,
          case when new.assigned_on > current_date + ${contactDateSlackDays} then 'assigned_on' else 'last_contact_date' end
      using errcode = 'check_violation',
            hint    = 'A date ahead would silence the assignment''s reminders until then: give the day it happened (today at the latest).';
  end if;
  return new;
end
$$;

comment on function public.refuse_future_assignment_dates() is
  'Trigger of an assignments table created by reminder-cron: refuses assigned_on or last_contact_date dated ahead, from every writer.';
`;

const corrections = () => `
create table if not exists public.assignment_contact_corrections (
  id                         bigint      generated always as identity primary key,
  -- No foreign key: the audit outlives the assignment it is about.
  assignment_id              uuid        not null,
  previous_last_contact_date date,
  new_last_contact_date      date,
  reason                     text        not null,
  corrected_by               text        not null,
  -- The role the caller acted as (service_role through the API), which corrected_by cannot vouch for.
  via_role                   text        not null,
  corrected_at               timestamptz not null default now()
);

comment on table public.assignment_contact_corrections is 'Audit of every manual correction of assignments.last_contact_date.';

create index if not exists assignment_contact_corrections_assignment_idx
  on public.assignment_contact_corrections (assignment_id, corrected_at desc);

create or replace function public.correct_last_contact_date(
  assignment_id     uuid,
  last_contact_date date,
  reason            text,
  corrected_by      text
)
returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  previous date;
  audit_id bigint;
begin
  if coalesce(trim(correct_last_contact_date.reason), '') = '' then
    raise exception 'a correction of last_contact_date needs a reason'
      using errcode = 'invalid_parameter_value',
            hint    = 'Pass reason => ''<why the date was wrong, e.g. a ticket number>''.';
  end if;
  if coalesce(trim(correct_last_contact_date.corrected_by), '') = '' then
    raise exception 'a correction of last_contact_date needs corrected_by'
      using errcode = 'invalid_parameter_value',
            hint    = 'Pass corrected_by => ''<who asked for it, e.g. an e-mail address>''.';
  end if;
  if correct_last_contact_date.last_contact_date > current_date + ${contactDateSlackDays} then
    raise exception 'last_contact_date % is in the future', correct_last_contact_date.last_contact_date
      using errcode = 'invalid_parameter_value',
            hint    = 'Pass the day of the last real contact (today at the latest), or null for none.';
  end if;

  select a.last_contact_date into previous
    from public.assignments a
   where a.id = correct_last_contact_date.assignment_id
     for update;
  if not found then
    raise exception 'assignment % does not exist', correct_last_contact_date.assignment_id
      using errcode = 'no_data_found',
            hint    = 'Look the id up: select id, last_contact_date from public.assignments where peer_mentor_id = ''<mentor uuid>'';';
  end if;

  update public.assignments a
     set last_contact_date = correct_last_contact_date.last_contact_date
   where a.id = correct_last_contact_date.assignment_id;

  insert into public.assignment_contact_corrections
         (assignment_id, previous_last_contact_date, new_last_contact_date, reason, corrected_by, via_role)
  values (correct_last_contact_date.assignment_id, previous, correct_last_contact_date.last_contact_date,
          trim(correct_last_contact_date.reason), trim(correct_last_contact_date.corrected_by),
          -- SECURITY DEFINER changes current_user, not the role the session set; 'none' means it set none.
          coalesce(nullif(current_setting('role'), 'none'), session_user))
  returning id into audit_id;
  return audit_id;
end
$$;

comment on function public.correct_last_contact_date(uuid, date, text, text) is
  'Admin only (service_role): sets an assignment''s last_contact_date, e.g. when an activity was logged on the wrong one, and writes an audit row. Returns the audit row id.';`;

const runs = () => `
create table if not exists public.reminder_runs (
  id               bigint      generated always as identity primary key,
  job_name         text        not null,
  -- public.cron_execution_log.id when the cron job triggered the run; null for a manual invoke.
  cron_run_id      bigint,
  triggered_at     timestamptz not null,
  as_of            date        not null,
  status           text        not null,
  started_at       timestamptz not null default clock_timestamp(),
  lease_expires_at timestamptz,
  finished_at      timestamptz,
  evaluated        integer,
  created          integer,
  skipped          integer,
  duration_ms      integer,
  error_message    text,
  constraint reminder_runs_status_check check (status in ('running', 'succeeded', 'failed', 'skipped')),
  constraint reminder_runs_lease_check check ((status = 'running') = (lease_expires_at is not null))
);

comment on table  public.reminder_runs is 'One row per reminder run: the lease while it runs, then its summary. Skipped rows are runs refused because another held the lease.';
comment on column public.reminder_runs.as_of is 'The UTC day the run evaluated: assignments due on or before it get a reminder.';
comment on column public.reminder_runs.evaluated is 'Active assignments due as of as_of.';
comment on column public.reminder_runs.created is 'Notifications this run created.';
comment on column public.reminder_runs.skipped is 'Due assignments already reminded for this follow-up (by an earlier run): no second notification.';
comment on column public.reminder_runs.duration_ms is 'From taking the lease to recording the outcome.';

-- The lease: at most one running run, enforced by the index, so two concurrent starts cannot both win.
create unique index if not exists reminder_runs_one_running_idx on public.reminder_runs ((true)) where status = 'running';
create index if not exists reminder_runs_started_at_idx on public.reminder_runs (started_at desc);
-- reconcile_reminder_runs settles a run answered 202 from its record, found by the log row that triggered it.
create index if not exists reminder_runs_cron_run_id_idx on public.reminder_runs (cron_run_id) where cron_run_id is not null;`;

const notifications = () =>
  createdHereOnly(
    appTableContracts.notifications.table,
    `create table public.notifications (
  id            bigint      generated always as identity primary key,
  recipient_id  uuid        not null,
  assignment_id uuid        references public.assignments (id) on delete cascade,
  kind          text        not null,
  dedupe_key    text        not null,
  run_id        bigint      references public.reminder_runs (id) on delete set null,
  payload       jsonb       not null default '{}'::jsonb,
  created_at    timestamptz not null default now(),
  dispatched_at timestamptz,
  constraint notifications_dedupe_key_key unique (dedupe_key)
);

comment on table  public.notifications is 'Reminders and other notices to app users; the ReminderDispatchService sends those not yet dispatched.';
comment on column public.notifications.dedupe_key is
  'Unique. For a follow-up reminder: ''${followUpKind}:<assignment id>:<due day>'', so one reminder per due follow-up however often the run fires.';

create index notifications_recipient_idx  on public.notifications (recipient_id, created_at desc);
create index notifications_assignment_idx on public.notifications (assignment_id);
create index notifications_pending_idx    on public.notifications (created_at) where dispatched_at is null;
-- The foreign key to reminder_runs: deleting a run (retention) must not scan every notification.
create index notifications_run_id_idx     on public.notifications (run_id);

${lockedDown("public.notifications")}
revoke all on sequence public.notifications_id_seq from public, anon, authenticated, service_role;
-- The ReminderDispatchService reads notifications and marks them sent; only the run creates them.
grant select on table public.notifications to service_role;
grant update (dispatched_at) on table public.notifications to service_role;`,
  );

const beginRun = () => `
create or replace function public.begin_reminder_run(
  job_name     text        default 'manual',
  cron_run_id  bigint      default null,
  triggered_at timestamptz default null
)
returns table (run_id bigint, outcome text, as_of date, holder_run_id bigint, holder_started_at timestamptz)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  moment timestamptz := coalesce(begin_reminder_run.triggered_at, now());
  holder record;
begin
  -- A run that died before finishing keeps its lease until it expires. Take an expired one over, unless its
  -- evaluation is still in flight: that keeps its row locked, and skip locked leaves it alone.
  update public.reminder_runs r
     set status           = 'failed',
         finished_at      = clock_timestamp(),
         lease_expires_at = null,
         error_message    = format('its lease expired at %s before it finished; a later run took the lease over', r.lease_expires_at)
   where r.id in (select s.id
                    from public.reminder_runs s
                   where s.status = 'running'
                     and s.lease_expires_at < clock_timestamp()
                     for update skip locked);

  begin
    insert into public.reminder_runs as r (job_name, cron_run_id, triggered_at, as_of, status, lease_expires_at)
    values (begin_reminder_run.job_name, begin_reminder_run.cron_run_id, moment, (moment at time zone 'UTC')::date,
            'running', clock_timestamp() + interval '${runLeaseMinutes} minutes')
    returning r.id, r.as_of into run_id, as_of;
    outcome := 'running';
    return next;
    return;
  exception when unique_violation then
    -- Another run holds the lease: this one is recorded as skipped, below.
  end;

  select r.id, r.started_at into holder
    from public.reminder_runs r
   where r.status = 'running';
  insert into public.reminder_runs as r (job_name, cron_run_id, triggered_at, as_of, status, finished_at, duration_ms, error_message)
  values (begin_reminder_run.job_name, begin_reminder_run.cron_run_id, moment, (moment at time zone 'UTC')::date,
          'skipped', clock_timestamp(), 0,
          format('run %s has held the lease since %s; a second run at the same time could only duplicate its work', holder.id, holder.started_at))
  returning r.id, r.as_of into run_id, as_of;
  outcome := 'skipped';
  holder_run_id := holder.id;
  holder_started_at := holder.started_at;
  return next;
end
$$;

comment on function public.begin_reminder_run(text, bigint, timestamptz) is
  'Takes the reminder run lease (outcome running) or, while another run holds it, records a skipped run (outcome skipped, naming the holder). as_of is the UTC day of triggered_at (default now()).';`;

const evaluateRun = () => `
create or replace function public.evaluate_reminder_run(run_id bigint)
returns table (status text, as_of date, evaluated integer, created integer, skipped integer, duration_ms integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  run       record;
  due_count integer;
  new_count integer;
begin
  -- The row lock is what keeps this lease from being taken over for as long as the evaluation runs.
  select r.id, r.status, r.as_of, r.started_at into run
    from public.reminder_runs r
   where r.id = evaluate_reminder_run.run_id
     for update;
  if not found then
    raise exception 'reminder run % does not exist', evaluate_reminder_run.run_id
      using hint = 'Start a run with select * from public.begin_reminder_run(); and evaluate the run_id it returns.';
  end if;
  if run.status <> 'running' then
    raise exception 'reminder run % is %, so it no longer holds the lease and may not create reminders', run.id, run.status
      using hint = 'Start a new run with select * from public.begin_reminder_run();';
  end if;

  -- One statement for the whole run. on conflict do nothing on the unique dedupe key is what makes a second
  -- run (the same day, or a double trigger) create nothing; the day is formatted explicitly so DateStyle
  -- cannot change a key.
  with due as materialized (
    select a.id, a.peer_mentor_id, a.follow_up_due_on, a.last_contact_date
      from public.assignments a
     where a.status = 'active'
       and a.follow_up_due_on <= run.as_of
  ),
  made as (
    insert into public.notifications (recipient_id, assignment_id, kind, dedupe_key, run_id, payload)
    select d.peer_mentor_id,
           d.id,
           ${lit(followUpKind)},
           ${lit(followUpKind + ":")} || d.id::text || ':' || to_char(d.follow_up_due_on, 'YYYY-MM-DD'),
           run.id,
           jsonb_build_object('due_on', d.follow_up_due_on, 'last_contact_date', d.last_contact_date)
      from due d
        on conflict (dedupe_key) do nothing
    returning 1
  )
  select (select count(*) from due), (select count(*) from made)
    into due_count, new_count;

  return query
  update public.reminder_runs r
     set status           = 'succeeded',
         finished_at      = clock_timestamp(),
         lease_expires_at = null,
         evaluated        = due_count,
         created          = new_count,
         skipped          = due_count - new_count,
         duration_ms      = (extract(epoch from clock_timestamp() - r.started_at) * 1000)::integer
   where r.id = run.id
  returning r.status, r.as_of, r.evaluated, r.created, r.skipped, r.duration_ms;
end
$$;

comment on function public.evaluate_reminder_run(bigint) is
  'Creates one ${followUpKind} notification per active assignment due as of the run''s day, none twice, and records the run''s summary. The run must hold the lease (begin_reminder_run).';`;

const failRun = () => `
create or replace function public.fail_reminder_run(run_id bigint, error_message text)
returns void
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
  update public.reminder_runs r
     set status           = 'failed',
         finished_at      = clock_timestamp(),
         lease_expires_at = null,
         duration_ms      = (extract(epoch from clock_timestamp() - r.started_at) * 1000)::integer,
         error_message    = left(fail_reminder_run.error_message, 2000)
   where r.id = fail_reminder_run.run_id
     and r.status = 'running';
$$;

comment on function public.fail_reminder_run(bigint, text) is
  'Records a running reminder run as failed, with the reason, and releases its lease. Does nothing to a run that is not running.';`;

const grants = () => `
-- reminder-cron's own tables and functions. Supabase's default privileges gave every object above to anon,
-- authenticated and service_role: take it all back, then grant exactly what each role needs.
revoke all on table public.reminder_runs, public.assignment_contact_corrections
  from public, anon, authenticated, service_role;
revoke all on sequence public.reminder_runs_id_seq, public.assignment_contact_corrections_id_seq
  from public, anon, authenticated, service_role;
revoke all on function public.keep_last_contact_date(),
                       public.refuse_future_assignment_dates(),
                       public.correct_last_contact_date(uuid, date, text, text),
                       public.begin_reminder_run(text, bigint, timestamptz),
                       public.evaluate_reminder_run(bigint),
                       public.fail_reminder_run(bigint, text)
  from public, anon, authenticated, service_role;

alter table public.reminder_runs                  enable row level security;
alter table public.assignment_contact_corrections enable row level security;

grant select on table public.reminder_runs, public.assignment_contact_corrections to service_role;

grant execute on function public.correct_last_contact_date(uuid, date, text, text) to service_role;
-- The Edge Function connects as postgres (SUPABASE_DB_URL), the owner; stated so the matrix reads complete.
grant execute on function public.begin_reminder_run(text, bigint, timestamptz),
                          public.evaluate_reminder_run(bigint),
                          public.fail_reminder_run(bigint, text)
  to postgres;`;

export function renderReminderDataMigration(): string {
  return [
    header(),
    adoptionCheck(),
    contactTrigger(),
    futureDates(),
    assignments(),
    activities(),
    corrections(),
    runs(),
    notifications(),
    beginRun(),
    evaluateRun(),
    failRun(),
    grants(),
  ].join("\n");
}
