/**
 * What keeps the trigger healthy over time, in SQL: a missed run caught up once, and a bounded history.
 * Rendered into supabase/migrations/20261128070000_reminder_cron_operations.sql; every statement is safe to
 * run again. It builds on the register_reminder_cron migration and changes nothing of it.
 */
import { cronRunnerRole, defaultJobName, logTable, qualified } from "./names";
import {
  alertThresholds,
  catchUpFunction,
  catchUpGraceMinutes,
  catchUpJobName,
  catchUpSchedule,
  catchUpTable,
  intervalSettings,
  minimumRetention,
  previousOccurrenceFunction,
  pruneFunction,
  retentionJobName,
  retentionSchedule,
  scheduleFieldsFunction,
  settingFunction,
} from "./operations-names";
import { renderOperationsGrants } from "./privileges";
import { RunbookEntry, runbookSql } from "./runbook";
import { sqlLiteral } from "./literal";

const lit = sqlLiteral;

export const catchUpCommand = (jobName: string) => `select ${qualified(catchUpFunction)}(${lit(jobName)})`;
export const pruneCommand = `select * from ${qualified(pruneFunction)}()`;

const setSecretSql = (name: string, value: string) =>
  `select vault.update_secret((select id from vault.secrets where name = ${lit(name)}), ${lit(value)}); ` +
  `-- or, the first time: select vault.create_secret(${lit(value)}, ${lit(name)});`;

/** The on-call entries for the catch-up and the retention, as exact SQL; pause and resume are the main runbook's, for another job. */
export function operationsRunbook(): RunbookEntry[] {
  const { catchUpWindow, logRetention, runDetailsRetention } = intervalSettings;
  return [
    {
      action: "See the caught-up runs",
      sql: `select c.occurrence, c.caught_up_at, l.status, l.http_status, l.error_message from ${qualified(catchUpTable)} c join ${qualified(logTable)} l on l.id = c.run_id order by c.occurrence desc limit 20;`,
    },
    { action: `Change the catch-up window (default ${catchUpWindow.default})`, sql: setSecretSql(catchUpWindow.secret, "3 hours") },
    { action: "Stop catching up missed runs", sql: runbookSql(catchUpJobName, "Emergency pause") },
    { action: "Catch up missed runs again", sql: runbookSql(catchUpJobName, "Resume") },
    { action: `Change how long the execution log is kept (default ${logRetention.default})`, sql: setSecretSql(logRetention.secret, "180 days") },
    { action: `Change how long pg_cron's run history is kept (default ${runDetailsRetention.default})`, sql: setSecretSql(runDetailsRetention.secret, "30 days") },
    { action: "Prune now", sql: `${pruneCommand};` },
  ];
}

function header(): string {
  const entries = operationsRunbook().flatMap((e) => ["--", `-- ${e.action}:`, `--   ${e.sql}`]);
  const { catchUpWindow, logRetention, runDetailsRetention } = intervalSettings;
  return `-- Operations of the daily reminder trigger: catch up a run missed while the database was down, once, and
-- keep the run history bounded. Both run as pg_cron jobs of role ${cronRunnerRole}.
--
-- ${qualified(catchUpFunction)}(job_name text default ${lit(defaultJobName)}, catch_up_window interval default null)
--   Job ${lit(catchUpJobName)}, every minute. Dispatches the job once, exactly as its schedule would, when its
--   last occurrence (its cron.job schedule, in pg_cron's time zone) was at least ${catchUpGraceMinutes} minute and at most
--   catch_up_window ago, the database started after that occurrence (it was down then), the job is active, no
--   run of it but a skipped one was logged since the occurrence, and one was logged before it (a fresh install
--   misses nothing). A catch-up skipped because a run is still in flight is not recorded, and tried again.
--   Each catch-up is recorded in ${qualified(catchUpTable)}, whose primary key (job_name, occurrence)
--   forbids a second. Returns the cron_execution_log id of the run, or null when nothing was missed.
--
-- ${qualified(pruneFunction)}(log_older_than interval default null, run_details_older_than interval default null)
--   Job ${lit(retentionJobName)}, daily at ${retentionSchedule} (UTC). Deletes cron_execution_log rows (and their
--   catch-up records) and cron.job_run_details rows of ${cronRunnerRole}'s jobs older than the given ages, through indexes.
--   Refuses ages under ${minimumRetention}: the ${alertThresholds.noSuccessHours}-hour alert reads those rows. Returns the numbers deleted.
--
-- Settings (optional Vault secrets, read at each run; none is secret, Vault is where the schedule lives too):
--   ${catchUpWindow.secret}        default ${lit(catchUpWindow.default)}
--   ${logRetention.secret}          default ${lit(logRetention.default)}
--   ${runDetailsRetention.secret}  default ${lit(runDetailsRetention.default)}
--
-- RUNBOOK (paste into the SQL editor as postgres; the trigger's own runbook heads the register_reminder_cron migration)
${entries.join("\n")}`;
}

const catchUpLog = () => `
create table if not exists ${qualified(catchUpTable)} (
  job_name      text        not null,
  occurrence    timestamptz not null,
  -- No foreign key: the log stays truncatable by its owner, and the pruning removes both alike.
  run_id        bigint      not null,
  caught_up_at  timestamptz not null default now(),
  constraint reminder_cron_catch_ups_pkey primary key (job_name, occurrence)
);

comment on table  ${qualified(catchUpTable)} is 'One row per missed occurrence of a job that was caught up; the key allows one catch-up per occurrence.';
comment on column ${qualified(catchUpTable)}.occurrence is 'The scheduled time that was missed.';
comment on column ${qualified(catchUpTable)}.run_id is 'The cron_execution_log id of the catch-up run; pruned with the log.';

-- status and logs join each run to its catch-up record through this.
create index if not exists reminder_cron_catch_ups_run_id_idx on ${qualified(catchUpTable)} (run_id);

alter table ${qualified(catchUpTable)} enable row level security;
drop policy if exists service_role_reads on ${qualified(catchUpTable)};
create policy service_role_reads on ${qualified(catchUpTable)} for select to service_role using (true);`;

const setting = () => `
create or replace function ${qualified(settingFunction)}(secret_name text, fallback text)
returns interval
language plpgsql
stable
set search_path = ''
as $$
declare
  raw text;
begin
  select nullif(trim(s.decrypted_secret), '') into raw
    from vault.decrypted_secrets s
   where s.name = secret_name;
  if raw is null then
    return fallback::interval;
  end if;
  begin
    return raw::interval;
  exception when invalid_datetime_format or datetime_field_overflow or interval_field_overflow then
    raise exception 'Vault secret % holds %, which is not an interval', secret_name, quote_literal(raw)
      using errcode = 'invalid_parameter_value',
            hint    = format('Set one such as %L: select vault.update_secret((select id from vault.secrets where name = %L), %L);', fallback, secret_name, fallback);
  end;
end
$$;

comment on function ${qualified(settingFunction)}(text, text) is
  'An interval setting of reminder-cron: the Vault secret of that name when set, else the fallback. Runs as its caller, who must read Vault.';`;

/**
 * pg_cron's own grammar (vixie cron's entry.c): lists of numbers, ranges and steps after a range or '*',
 * month and weekday names, 7 as Sunday, the @ macros, '$' for the last day of the month (pg_cron 1.5+).
 * Like pg_cron, a day of month and a day of week that are both restricted match when either does.
 */
const scheduleFields = () => `
create or replace function ${qualified(scheduleFieldsFunction)}(
  schedule           text,
  out minutes        integer[],
  out hours          integer[],
  out days_of_month  integer[],
  out months         integer[],
  out days_of_week   integer[],
  out dom_star       boolean,
  out dow_star       boolean)
language plpgsql
immutable
set search_path = ''
as $$
declare
  expanded    text := case trim(schedule)
                        when '@yearly'   then '0 0 1 1 *'
                        when '@annually' then '0 0 1 1 *'
                        when '@monthly'  then '0 0 1 * *'
                        when '@weekly'   then '0 0 * * 0'
                        when '@daily'    then '0 0 * * *'
                        when '@midnight' then '0 0 * * *'
                        when '@hourly'   then '0 * * * *'
                        else trim(schedule)
                      end;
  fields      text[] := pg_catalog.regexp_split_to_array(expanded, '[[:space:]]+');
  field_names text[] := array['minute', 'hour', 'day of month', 'month', 'day of week'];
  lows        integer[] := array[0, 0, 1, 1, 0];
  highs       integer[] := array[59, 23, 31, 12, 7];
  month_names text[] := array['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
  day_names   text[] := array['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
  fix         text := 'Give five fields in UTC: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or jan-dec), day of week (0-7 or sun-sat), e.g. ''0 6 * * *'' for 06:00 every day.';
  found_      integer[];
  part        text;
  parts       text[];
  bound       text;
  bounds      integer[];
  step        integer;
  i           integer;
  j           integer;
begin
  if coalesce(array_length(fields, 1), 0) <> 5 or expanded = '' then
    raise exception 'cron schedule % has % field(s); pg_cron needs five', quote_literal(schedule), case when expanded = '' then 0 else array_length(fields, 1) end
      using errcode = 'invalid_parameter_value', hint = fix;
  end if;

  for i in 1..5 loop
    found_ := '{}';
    foreach part in array pg_catalog.string_to_array(fields[i], ',') loop
      if i = 3 and part = '$' then
        found_ := found_ || -1;               -- the last day of the month
        continue;
      end if;
      -- '*' or a number or name, optionally '-' another, then optionally '/' a step; a step needs a range.
      parts := pg_catalog.regexp_match(part, '^(?:(\\*)|([[:alnum:]]+)(?:-([[:alnum:]]+))?)(?:/([0-9]+))?$');
      if parts is null or (parts[2] is not null and parts[3] is null and parts[4] is not null) then
        raise exception 'cron schedule %: % field % is not a number, range, list or step pg_cron accepts', quote_literal(schedule), field_names[i], quote_literal(fields[i])
          using errcode = 'invalid_parameter_value', hint = fix;
      end if;
      if parts[1] is not null then
        bounds := array[lows[i], highs[i]];
      else
        bounds := '{}';
        foreach bound in array array[parts[2], coalesce(parts[3], parts[2])] loop
          j := case
                 when bound ~ '^[0-9]{1,4}$' then bound::integer
                 when i = 4 then pg_catalog.array_position(month_names, lower(bound)) - 1 + lows[i]
                 when i = 5 then pg_catalog.array_position(day_names, lower(bound)) - 1 + lows[i]
               end;
          if j is null then
            raise exception 'cron schedule %: % % is not a number%', quote_literal(schedule), field_names[i], quote_literal(bound),
                            case i when 4 then ' or a month name (jan-dec)' when 5 then ' or a weekday name (sun-sat)' else '' end
              using errcode = 'invalid_parameter_value', hint = fix;
          end if;
          if j < lows[i] or j > highs[i] then
            raise exception 'cron schedule %: % % is outside %-%', quote_literal(schedule), field_names[i], quote_literal(bound), lows[i], highs[i]
              using errcode = 'invalid_parameter_value', hint = fix;
          end if;
          bounds := bounds || j;
        end loop;
      end if;
      step := coalesce(parts[4]::integer, 1);
      if step < 1 then
        raise exception 'cron schedule %: % step % must be 1 or more', quote_literal(schedule), field_names[i], parts[4]
          using errcode = 'invalid_parameter_value', hint = fix;
      end if;
      -- A reversed range (30-10) is accepted by pg_cron and matches nothing, as here.
      found_ := found_ || array(select pg_catalog.generate_series(bounds[1], bounds[2], step));
    end loop;
    case i
      when 1 then minutes := found_;
      when 2 then hours := found_;
      when 3 then days_of_month := found_;
      when 4 then months := found_;
      when 5 then days_of_week := found_ || case when 7 = any(found_) then array[0] else '{}'::integer[] end;
    end case;
  end loop;
  -- vixie cron: a field that starts with '*' is unrestricted, even with a step.
  dom_star := left(fields[3], 1) = '*';
  dow_star := left(fields[5], 1) = '*';
end
$$;

comment on function ${qualified(scheduleFieldsFunction)}(text) is
  'The minutes, hours, days, months and weekdays a five-field pg_cron schedule matches; raises invalid_parameter_value, naming the field, for what pg_cron would refuse.';

create or replace function ${qualified(previousOccurrenceFunction)}(
  schedule      text,
  at_or_before  timestamptz,
  horizon       interval,
  time_zone     text default 'GMT')
returns timestamptz
language plpgsql
stable
set search_path = ''
as $$
declare
  f record;
begin
  -- Start-up and seconds schedules have no minute occurrences to miss.
  if schedule ~* '^[[:space:]]*(@reboot|@restart|[0-9]+[[:space:]]*seconds?)[[:space:]]*$' then
    return null;
  end if;
  select * into f from ${qualified(scheduleFieldsFunction)}(schedule);
  -- Walk back minute by minute over the horizon: a catch-up window is hours, so this is a few hundred rows.
  return (
    select m.minute
      from pg_catalog.generate_series(pg_catalog.date_trunc('minute', at_or_before), at_or_before - horizon, interval '-1 minute') as m(minute)
     cross join lateral (select m.minute at time zone time_zone as wall) w
     cross join lateral (
       select extract(day from w.wall)::integer = any(f.days_of_month)
                or (-1 = any(f.days_of_month) and extract(day from w.wall + interval '1 day') = 1) as dom_ok,
              extract(dow from w.wall)::integer = any(f.days_of_week) as dow_ok) d
     where extract(minute from w.wall)::integer = any(f.minutes)
       and extract(hour from w.wall)::integer = any(f.hours)
       and extract(month from w.wall)::integer = any(f.months)
       and case when f.dom_star or f.dow_star then d.dom_ok and d.dow_ok else d.dom_ok or d.dow_ok end
     order by m.minute desc
     limit 1);
end
$$;

comment on function ${qualified(previousOccurrenceFunction)}(text, timestamptz, interval, text) is
  'The latest minute in [at_or_before - horizon, at_or_before] at which pg_cron runs a job with this schedule, in time_zone; null when none.';`;

const catchUp = () => `
create or replace function ${qualified(catchUpFunction)}(
  job_name        text     default ${lit(defaultJobName)},
  catch_up_window interval default null)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  job         record;
  zone        text;
  window_size interval;
  occurrence  timestamptz;
  run_id      bigint;
begin
  -- One catch-up of a job at a time: a second caller waits here, then finds the first one's run below.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('reminder-cron-catch-up'), pg_catalog.hashtext(job_name));

  window_size := coalesce(catch_up_window, ${qualified(settingFunction)}(${lit(intervalSettings.catchUpWindow.secret)}, ${lit(intervalSettings.catchUpWindow.default)}));

  select j.schedule, j.active into job
    from cron.job j
   where j.jobname = catch_up_reminder_run.job_name
     and j.username = ${lit(cronRunnerRole)};
  -- A removed or paused job misses nothing: pausing means no runs, catch-ups included.
  if not found or not job.active then
    return null;
  end if;

  -- pg_cron 1.5+ reads schedules in cron.timezone (GMT unless set); 1.4 always in GMT.
  begin
    zone := coalesce(nullif(pg_catalog.current_setting('cron.timezone', true), ''), 'GMT');
  exception when insufficient_privilege then
    zone := 'GMT';
  end;

  occurrence := ${qualified(previousOccurrenceFunction)}(job.schedule, now(), window_size, zone);
  if occurrence is null                                                                     -- none within the window
     or occurrence > now() - interval '${catchUpGraceMinutes} minute'                        -- pg_cron is starting it now
     or pg_catalog.pg_postmaster_start_time() < occurrence - interval '${catchUpGraceMinutes} minute' -- the database was up then
  then
    return null;
  end if;

  -- It ran since (on schedule, by hand, or caught up already; whatever that run's outcome, and a run refused
  -- as skipped does not count), or it never ran before (a fresh install).
  if exists (select 1 from ${qualified(logTable)} l where l.job_name = catch_up_reminder_run.job_name and l.triggered_at >= occurrence and l.status <> 'skipped')
     or not exists (select 1 from ${qualified(logTable)} l where l.job_name = catch_up_reminder_run.job_name and l.triggered_at < occurrence)
  then
    return null;
  end if;

  run_id := public.dispatch_reminder_run(job_name);
  -- Skipped: an earlier run is still in flight, for a bounded time (reconcile ends it). The occurrence is not
  -- recorded as caught up, so a later minute's catch-up dispatches it once that run is over.
  if exists (select 1 from ${qualified(logTable)} l where l.id = run_id and l.status = 'skipped') then
    return run_id;
  end if;
  insert into ${qualified(catchUpTable)} (job_name, occurrence, run_id)
  values (job_name, occurrence, run_id);
  return run_id;
end
$$;

comment on function ${qualified(catchUpFunction)}(text, interval) is
  'Dispatches a job once when its last occurrence was missed while the database was down, within catch_up_window (default: Vault ${intervalSettings.catchUpWindow.secret}, else ${intervalSettings.catchUpWindow.default}). Returns the run''s log id, or null. Runs every minute as job ${catchUpJobName}.';`;

const retention = () => `
create or replace function ${qualified(pruneFunction)}(
  log_older_than          interval default null,
  run_details_older_than  interval default null,
  out log_rows            integer,
  out run_detail_rows     integer)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  log_age     interval := coalesce(log_older_than, ${qualified(settingFunction)}(${lit(intervalSettings.logRetention.secret)}, ${lit(intervalSettings.logRetention.default)}));
  details_age interval := coalesce(run_details_older_than, ${qualified(settingFunction)}(${lit(intervalSettings.runDetailsRetention.secret)}, ${lit(intervalSettings.runDetailsRetention.default)}));
  keep_from   bigint;
begin
  if log_age < interval ${lit(minimumRetention)} or details_age < interval ${lit(minimumRetention)} then
    raise exception 'Keeping the execution log % and pg_cron''s run history % is too short: the ${alertThresholds.noSuccessHours}-hour alert reads those rows', log_age, details_age
      using errcode = 'invalid_parameter_value',
            hint    = 'Keep ${minimumRetention} or more of each, e.g. select * from ${qualified(pruneFunction)}(interval ''${intervalSettings.logRetention.default}'', interval ''${intervalSettings.runDetailsRetention.default}'');';
  end if;

  delete from ${qualified(logTable)} l
   where l.triggered_at < now() - log_age;
  get diagnostics log_rows = row_count;
  -- A catch-up runs within hours of its occurrence: its record goes when its run's row does.
  delete from ${qualified(catchUpTable)} c
   where c.occurrence < now() - log_age;

  -- cron.job_run_details has one index, its primary key runid, which grows as runs start: find the oldest
  -- run to keep through it, then delete below it, so the work follows the rows deleted, not the table.
  -- With none to keep, everything is older than the cutoff (or just starting, which pg_cron tolerates).
  select d.runid into keep_from
    from cron.job_run_details d
   where d.start_time >= now() - details_age
   order by d.runid
   limit 1;
  delete from cron.job_run_details d
   where d.username = ${lit(cronRunnerRole)}
     and d.runid < coalesce(keep_from, (select max(r.runid) + 1 from cron.job_run_details r));
  get diagnostics run_detail_rows = row_count;
end
$$;

comment on function ${qualified(pruneFunction)}(interval, interval) is
  'Deletes cron_execution_log rows older than log_older_than (default: Vault ${intervalSettings.logRetention.secret}, else ${intervalSettings.logRetention.default}) and ${cronRunnerRole}''s cron.job_run_details rows older than run_details_older_than (default: Vault ${intervalSettings.runDetailsRetention.secret}, else ${intervalSettings.runDetailsRetention.default}). Runs daily as job ${retentionJobName}.';`;

const registration = () => `
-- Both jobs belong to ${cronRunnerRole}. cron.schedule upserts on (job name, owner), so running this again
-- changes nothing; a same-named job of another owner would run beside ours, so it is refused.
do $$
declare
  other record;
begin
  for other in
    select jobid, jobname, username from cron.job
     where jobname in (${lit(catchUpJobName)}, ${lit(retentionJobName)}) and username <> ${lit(cronRunnerRole)}
  loop
    raise exception 'pg_cron job % (id %) already exists for role %, and would run beside ours', other.jobname, other.jobid, other.username
      using hint = format('As %s or a superuser, run: select cron.unschedule(%s); then apply this migration again.', other.username, other.jobid);
  end loop;

  execute 'set local role ${cronRunnerRole}';
  perform cron.schedule(${lit(catchUpJobName)}, ${lit(catchUpSchedule)}, ${lit(catchUpCommand(defaultJobName))});
  perform cron.schedule(${lit(retentionJobName)}, ${lit(retentionSchedule)}, ${lit(pruneCommand)});
  execute 'reset role';
end
$$;`;

export function renderOperationsMigration(): string {
  return [header(), catchUpLog(), setting(), scheduleFields(), catchUp(), retention(), `\n${renderOperationsGrants()}`, registration()].join("\n");
}
