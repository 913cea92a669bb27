/**
 * What keeps the trigger healthy over time, in SQL: a missed run caught up once, and a bounded history.
 * Rendered into supabase/migrations/20261128070000_reminder_cron_operations.sql; every statement is safe to
 * run again. It builds on the register_reminder_cron migration and changes nothing of it.
 */
import { attemptFunction, cronRunnerRole, defaultJobName, dispatchLockTable, logTable, qualified, scheduledLateMinutes, signedRequestsTable } from "./names";
import {
  alertThresholds,
  catchUpFunction,
  catchUpGraceMinutes,
  catchUpJobName,
  catchUpSchedule,
  catchUpTable,
  intervalSettings,
  maximumRetries,
  minimumRetention,
  occurrenceFunction,
  pausesTable,
  previousOccurrenceFunction,
  retryLimitSetting,
  retryPolicyFunction,
  retryProblemFunction,
  seriesFunction,
  setRetriesFunction,
  shortestGapFunction,
  pruneFunction,
  retentionFunction,
  retentionJobName,
  retentionSchedule,
  scheduleFieldsFunction,
  settingFunction,
} from "./operations-names";
import { renderOperationsGrants } from "./privileges";
import { refuseUnregisteredJob } from "./reminder-cron-migration";
import { RunbookEntry, runbookSql } from "./runbook";
import { sqlLiteral } from "./literal";

const lit = sqlLiteral;

/** How far the shortest gap between two runs of a schedule is looked for: weekdays and leap years repeat every 28 years. */
const gapSearchYears = 28;

export const catchUpCommand = (jobName: string) => `select ${qualified(catchUpFunction)}(${lit(jobName)})`;
export const pruneCommand = `select * from ${qualified(retentionFunction)}()`;

const setSecretSql = (name: string, value: string) =>
  `select vault.update_secret((select id from vault.secrets where name = ${lit(name)}), ${lit(value)}); ` +
  `-- or, the first time: select vault.create_secret(${lit(value)}, ${lit(name)});`;

/** The on-call entries for the catch-up and the retention, as exact SQL; pause and resume are the main runbook's, for another job. */
export function operationsRunbook(): RunbookEntry[] {
  const { catchUpWindow, logRetention, runDetailsRetention } = intervalSettings;
  return [
    {
      action: "See the caught-up and retried runs",
      sql: `select l.occurrence, l.attempt, l.triggered_at, l.status, l.http_status, l.reason, l.error_message from ${qualified(logTable)} l where l.job_name = ${lit(defaultJobName)} and l.occurrence is not null order by l.occurrence desc, l.attempt desc limit 20;`,
    },
    { action: `Change the catch-up window (default ${catchUpWindow.default})`, sql: setSecretSql(catchUpWindow.secret, "3 hours") },
    {
      action: `Change the retries (default ${retryLimitSetting.default}, the first ${intervalSettings.retryBackoff.default} after a failure, doubling, none later than ${intervalSettings.retryDeadline.default} after the occurrence)`,
      sql: `select ${qualified(setRetriesFunction)}(${retryLimitSetting.default}, ${lit(intervalSettings.retryBackoff.default)}, ${lit(intervalSettings.retryDeadline.default)});`,
    },
    {
      action: "See where today's occurrence stands (retrying, exhausted, caught up, ...)",
      sql: `select * from ${qualified(seriesFunction)}(${lit(defaultJobName)});`,
    },
    { action: "Stop catching up and retrying missed and failed runs", sql: runbookSql(catchUpJobName, "Emergency pause") },
    { action: "Catch up and retry again", sql: runbookSql(catchUpJobName, "Resume") },
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
-- ${qualified(catchUpFunction)}(job_name text default ${lit(defaultJobName)})
--   Job ${lit(catchUpJobName)}, every minute. Follows up the job's latest occurrence (its cron.job schedule, in
--   pg_cron's time zone) as ${qualified(seriesFunction)}(job_name) reads it:
--   - catch-up: no attempt of it reached the function (none was logged: the database was down, or pg_cron's
--     launcher missed the minute; or the last one's request was never answered by pg_net: lost from its
--     UNLOGGED queue, or its worker was down), it is ${catchUpGraceMinutes} minute to catch_up_window old, the job is active and
--     ran before it (a fresh install misses nothing): dispatched at once, once (${qualified(catchUpTable)}'s
--     key (job_name, occurrence) forbids a second);
--   - retrying: the last attempt failed (whatever pg_net recorded: every role may write it), attempts are left and the
--     back-off has passed: the next attempt is dispatched, none later than the deadline after the occurrence.
--   Never while a run is in flight; one success since the occurrence ends it. Each attempt is its own log row
--   naming its occurrence, its attempt number and its reason. Only a registered job of ${cronRunnerRole} is
--   followed up; the window and the retry settings come from Vault, never from the caller.
--
-- ${qualified(setRetriesFunction)}(retries integer, backoff interval, deadline interval)
--   The owner's: checks the retry settings against the job's schedule (${qualified(retryProblemFunction)}),
--   then stores all three in Vault, or refuses, changing nothing, naming the setting, its value and the fix.
--
-- ${qualified(pruneFunction)}(log_older_than interval default null, run_details_older_than interval default null)
--   Job ${lit(retentionJobName)}, daily at ${retentionSchedule} (UTC). Deletes cron_execution_log rows (and their
--   catch-up records) and cron.job_run_details rows of ${cronRunnerRole}'s jobs older than the given ages, through indexes.
--   Refuses ages under ${minimumRetention}: the ${alertThresholds.noSuccessHours}-hour alert reads those rows. Returns the numbers deleted.
--   The owner's (postgres) only: with ages of its choosing, a caller could empty the log down to the floor.
--
-- ${qualified(retentionFunction)}()
--   What job ${lit(retentionJobName)} runs as ${cronRunnerRole}: the function above with the configured ages, no argument.
--
-- Settings (optional Vault secrets, read at each run; none is secret, Vault is where the schedule lives too):
--   ${catchUpWindow.secret}        default ${lit(catchUpWindow.default)}
--   ${retryLimitSetting.secret}            default ${retryLimitSetting.default} (retries after the first attempt, 0 to ${maximumRetries})
--   ${intervalSettings.retryBackoff.secret}          default ${lit(intervalSettings.retryBackoff.default)} (the first retry's wait; each later one waits twice as long)
--   ${intervalSettings.retryDeadline.secret}         default ${lit(intervalSettings.retryDeadline.default)} (no attempt later than this after the occurrence)
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

create table if not exists ${qualified(pausesTable)} (
  job_name text        primary key,
  seen_at  timestamptz not null
);

comment on table ${qualified(pausesTable)} is
  'The last time the catch-up job saw each job paused: an occurrence at or before it came while the job was paused, and is not run on resume.';

-- RLS on and no policy: only the owner, through the catch-up, reads or writes it.
alter table ${qualified(pausesTable)} enable row level security;
drop policy if exists service_role_reads on ${qualified(catchUpTable)};
create policy service_role_reads on ${qualified(catchUpTable)} for select to service_role using (true);`;

const setting = () => `
create or replace function ${qualified(settingFunction)}(secret_name text, fallback text)
returns interval
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  raw text;
begin
  -- Only its own settings: Vault holds the signing key too, and no caller may reach it through here.
  if secret_name is null or secret_name <> all (array[${Object.values(intervalSettings).map((s) => lit(s.secret)).join(", ")}]) then
    raise exception '% is not a reminder-cron interval setting', coalesce(quote_literal(secret_name), 'null')
      using errcode = 'invalid_parameter_value',
            hint    = 'Read one of ${Object.values(intervalSettings).map((s) => s.secret).join(", ")}.';
  end if;
  select nullif(trim(s.decrypted_secret), '') into raw
    from vault.decrypted_secrets s
   where s.name = secret_name;
  if raw is null then
    return fallback::interval;
  end if;
  begin
    return raw::interval;
  exception when invalid_datetime_format or datetime_field_overflow or interval_field_overflow then
    -- The value stays out of the message: an error travels to logs and to pg_cron's run history.
    raise exception 'Vault secret % does not hold an interval', secret_name
      using errcode = 'invalid_parameter_value',
            hint    = format('Set one such as %L: select vault.update_secret((select id from vault.secrets where name = %L), %L);', fallback, secret_name, fallback);
  end;
end
$$;

comment on function ${qualified(settingFunction)}(text, text) is
  'An interval setting of reminder-cron: the Vault secret of that name when set, else the fallback. Runs as its caller, who must read Vault.';`;

/**
 * pg_cron's parser, ported character for character from src/entry.c and misc.c (and job_metadata.c's
 * TryParseInterval), as infra/providers/pg-cron-schedule.ts ports it to TypeScript: the catch-up reads
 * the schedule pg_cron stored, so it must read every schedule pg_cron accepts, exactly as pg_cron does
 * (numbers as atoi reads them, skipped characters, the '*' prefix of the day fields, '$', the 1.4 and 1.6
 * @ names and ranges). tests/integration/schedule-corpus.test.ts holds the three readings against each other.
 */
const scheduleFields = () => `
-- The one-argument form of earlier releases; its reading was not pg_cron's (5-digit numbers raised).
drop function if exists ${qualified(scheduleFieldsFunction)}(text);

create or replace function ${qualified(scheduleFieldsFunction)}(
  schedule           text,
  pg_cron_version    text default null,
  out minutes        integer[],
  out hours          integer[],
  out days_of_month  integer[],
  out months         integer[],
  out days_of_week   integer[],
  out dom_star       boolean,
  out dow_star       boolean,
  out dom_last       boolean,
  out reboot         boolean,
  out seconds        integer)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  version     text := coalesce(pg_cron_version, (select e.extversion from pg_catalog.pg_extension e where e.extname = 'pg_cron'), '1.6');
  numbers     integer[] := array(select coalesce(substring(p from '^[0-9]{1,6}'), '0')::integer
                                   from pg_catalog.unnest(pg_catalog.string_to_array(pg_catalog.split_part(version, '-', 1), '.')) with ordinality u(p, o)
                                  order by o) || array[0, 0, 0];
  v15         boolean := numbers[1] > 1 or (numbers[1] = 1 and numbers[2] >= 5);
  v16         boolean := numbers[1] > 1 or (numbers[1] = 1 and numbers[2] >= 6);
  v165        boolean := numbers[1] > 1 or (numbers[1] = 1 and (numbers[2] > 6 or (numbers[2] = 6 and numbers[3] >= 5)));
  -- misc.c get_char: the characters, one NUL (0), then EOF (-1).
  codes       integer[] := array(select pg_catalog.ascii(c) from pg_catalog.string_to_table(schedule, null) with ordinality t(c, n) order by n) || 0;
  pos         integer := 0;
  ch          integer;
  field_names text[] := array['minute', 'hour', 'day of month', 'month', 'day of week'];
  lows        integer[] := array[0, 0, 1, 1, 0];
  highs       integer[] := array[59, 23, 31, 12, 7];
  -- entry.c MonthNames and DowNames, compared with strcasecmp.
  month_names text[] := array['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
  day_names   text[] := array['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
  fix         text := 'Give five fields in UTC: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or jan-dec), day of week (0-7 or sun-sat), e.g. ''0 6 * * *'' for 06:00 every day.';
  at_field    integer := 1;
  low         integer;
  high        integer;
  bits        boolean[];
  found_      integer[];
  token       text;
  num         bigint[];
  k           integer;
  single      boolean;
  i           bigint;
  mask        integer;
  byte_       integer;
  m           text[];
  n           numeric;
begin
  dom_star := false; dow_star := false; dom_last := false; reboot := false;
  if pg_catalog.octet_length(schedule) >= 1000 then
    raise exception 'pg_cron refuses the schedule %: it is 1000 bytes or longer', pg_catalog.left(schedule, 40) || '...'
      using errcode = 'invalid_parameter_value', hint = fix;
  end if;

  <<cron_entry>>
  begin
    -- skip_comments: blank lines and '#' lines before the entry are skipped.
    loop
      pos := pos + 1; ch := coalesce(codes[pos], -1);
      exit when ch = -1;
      while ch in (32, 9) loop pos := pos + 1; ch := coalesce(codes[pos], -1); end loop;
      exit when ch = -1 or ch not in (10, 35);
      while ch not in (10, -1) loop pos := pos + 1; ch := coalesce(codes[pos], -1); end loop;
    end loop;
    exit cron_entry when ch = -1;

    if ch = 64 then                                           -- '@' and a name, matched case-sensitively
      token := '';
      loop
        pos := pos + 1; ch := coalesce(codes[pos], -1);
        exit when ch in (-1, 0, 9, 10, 32);
        token := token || pg_catalog.chr(ch);
      end loop;
      minutes := '{0}'; hours := '{0}'; days_of_month := array(select pg_catalog.generate_series(1, 31));
      months := array(select pg_catalog.generate_series(1, 12)); days_of_week := '{0,1,2,3,4,5,6,7}';
      case
        when token in ('reboot', 'restart') then
          reboot := true; minutes := '{}'; hours := '{}'; days_of_month := '{}'; months := '{}'; days_of_week := '{}';
        when token in ('yearly', 'annually') then
          -- 1.6 sets the month with FIRST_MINUTE (0), which set_element refuses: no month, it never runs.
          days_of_month := '{1}'; months := case when v16 then '{}'::integer[] else '{1}'::integer[] end; dow_star := true;
        when token = 'monthly' then days_of_month := '{1}'; dow_star := true;
        when token = 'weekly' then
          days_of_week := '{0,7}'; dom_star := not v16; dow_star := v16;
        when token in ('daily', 'midnight') then null;
        when token = 'hourly' then hours := array(select pg_catalog.generate_series(0, 23));
        else exit cron_entry;
      end case;
      return;
    end if;

    for field in 1..5 loop
      at_field := field;
      low := lows[field];
      high := highs[field];
      if field = 3 and v16 and ch = 36 then                   -- '$', the last day of the month (1.6+)
        pos := pos + 1; ch := coalesce(codes[pos], -1);
        exit cron_entry when ch not in (9, 32);
        while ch in (9, 32) loop pos := pos + 1; ch := coalesce(codes[pos], -1); end loop;
        dom_last := true;
        days_of_month := '{}';
        continue;
      end if;
      if field = 3 then dom_star := ch = 42; end if;
      if field = 5 then dow_star := ch = 42; end if;
      bits := pg_catalog.array_fill(false, array[64]);         -- bits[value - low + 1]
      loop                                                     -- get_list: ranges separated by ','
        -- get_range: '*' or a number, then '-' a number, then '/' a step; a step needs '*' or a range.
        num := array[null, null, 1]::bigint[];
        single := false;
        if ch = 42 then
          num[1] := low; num[2] := high;
          pos := pos + 1; ch := coalesce(codes[pos], -1);
          exit cron_entry when ch = -1;
          k := 3;
        else
          k := 1;
        end if;
        while k <= 3 loop
          if k = 3 then
            exit when ch <> 47;
            pos := pos + 1; ch := coalesce(codes[pos], -1);
            exit cron_entry when ch = -1;
          end if;
          -- get_number: an alphanumeric run; a name, else all digits read as glibc's atoi reads them.
          token := '';
          while ch between 48 and 57 or ch between 65 and 90 or ch between 97 and 122 loop
            token := token || pg_catalog.chr(ch);
            pos := pos + 1; ch := coalesce(codes[pos], -1);
          end loop;
          if k < 3 and field = 4 and pg_catalog.lower(token) = any(month_names) then
            num[k] := pg_catalog.array_position(month_names, pg_catalog.lower(token)) - 1 + low;
          elsif k < 3 and field = 5 and pg_catalog.lower(token) = any(day_names) then
            num[k] := pg_catalog.array_position(day_names, pg_catalog.lower(token)) - 1 + low;
          elsif token ~ '^[0-9]+$' then
            n := least(token::numeric, 9223372036854775807);        -- strtol saturates
            n := pg_catalog.mod(n, 4294967296);                                 -- then (int): the low 32 bits
            num[k] := case when n >= 2147483648 then n - 4294967296 else n end;
          else
            exit cron_entry;
          end if;
          if k = 1 then
            if ch = 45 then
              pos := pos + 1; ch := coalesce(codes[pos], -1);
              exit cron_entry when ch = -1;
              k := 2;
              continue;
            end if;
            exit cron_entry when ch = 47;
            single := true;
            exit;
          end if;
          exit cron_entry when k = 3 and num[3] <= 0;
          k := k + 1;
        end loop;

        if single then
          exit cron_entry when num[1] < low or num[1] > high;
          bits[num[1] - low + 1] := true;
        else
          exit cron_entry when num[1] < low or num[1] > high or num[2] < low or num[2] > high or (v165 and num[3] > high);
          if not v16 then
            -- 1.4/1.5: for (i = num1; i <= num2; i += num3) set_element(...), wrapping as C with -fwrapv does.
            i := num[1];
            while i <= num[2] loop
              exit cron_entry when i < low or i > high;
              bits[i - low + 1] := true;
              i := i + num[3];
              if i > 2147483647 then i := i - 4294967296; end if;
            end loop;
          elsif num[3] = 1 then
            -- 1.6 bit_nset, byte by byte: a reversed range sets the tail of one byte and the head of another.
            for byte_ in ((num[1] - low) / 8)::integer..((num[2] - low) / 8)::integer loop
              mask := 255;
              if byte_ = (num[1] - low) / 8 then mask := mask & ((255 << ((num[1] - low) % 8)::integer) & 255); end if;
              if byte_ = (num[2] - low) / 8 then mask := mask & (255 >> (7 - ((num[2] - low) % 8)::integer)); end if;
              for k in 0..7 loop
                if mask & (1 << k) <> 0 then bits[byte_ * 8 + k + 1] := true; end if;
              end loop;
            end loop;
            if (num[1] - low) / 8 > (num[2] - low) / 8 then
              mask := (255 << ((num[1] - low) % 8)::integer) & 255;
              for k in 0..7 loop
                if mask & (1 << k) <> 0 then bits[((num[1] - low) / 8) * 8 + k + 1] := true; end if;
              end loop;
              mask := 255 >> (7 - ((num[2] - low) % 8)::integer);
              for k in 0..7 loop
                if mask & (1 << k) <> 0 then bits[((num[2] - low) / 8) * 8 + k + 1] := true; end if;
              end loop;
            end if;
          else
            i := num[1] - low;
            while i <= num[2] - low loop
              -- 1.6.0-1.6.4 would wrap to a negative index here and write outside the field.
              exit cron_entry when i + num[3] > 2147483647 and i + num[3] - 4294967296 <= num[2] - low;
              bits[i + 1] := true;
              i := i + num[3];
            end loop;
          end if;
        end if;
        exit when ch <> 44;
        pos := pos + 1; ch := coalesce(codes[pos], -1);
      end loop;
      exit cron_entry when ch = -1;
      -- Whatever follows the list up to a blank is skipped, then the blanks.
      while ch not in (9, 32, 10, -1, 0) loop pos := pos + 1; ch := coalesce(codes[pos], -1); end loop;
      while ch in (9, 32) loop pos := pos + 1; ch := coalesce(codes[pos], -1); end loop;
      found_ := array(select v from pg_catalog.generate_series(low, high) v where bits[v - low + 1]);
      case field
        when 1 then minutes := found_;
        when 2 then hours := found_;
        when 3 then days_of_month := found_;
        when 4 then months := found_;
        else
          days_of_week := case when 0 = any(found_) or 7 = any(found_) then array(select distinct d from pg_catalog.unnest(found_ || array[0, 7]) d order by d) else found_ end;
      end case;
    end loop;
    return;
  end;

  -- Not a cron entry: pg_cron 1.5+ then tries sscanf(lower(schedule), " %u secon%c%c %c") and 0 < n < 60.
  m := pg_catalog.regexp_match(pg_catalog.lower(schedule),
         '^[ \\t\\n\\v\\f\\r]*([+-]?)([0-9]+)[ \\t\\n\\v\\f\\r]*secon(.)(.)?(?:[ \\t\\n\\v\\f\\r]*([^ \\t\\n\\v\\f\\r]))?');
  if v15 and m is not null and m[3] = 'd' and (m[4] is null or (m[4] = 's' and m[5] is null)) then
    n := least(m[2]::numeric, 18446744073709551615);
    if m[1] = '-' then n := pg_catalog.mod(18446744073709551616 - n, 18446744073709551616); end if;
    n := pg_catalog.mod(n, 4294967296);
    if n > 0 and n < 60 then
      minutes := null; hours := null; days_of_month := null; months := null; days_of_week := null;
      seconds := n;
      return;
    end if;
  end if;
  raise exception 'pg_cron % refuses the schedule %: it cannot read its % field', version, quote_literal(schedule), field_names[at_field]
    using errcode = 'invalid_parameter_value', hint = fix;
end
$$;

comment on function ${qualified(scheduleFieldsFunction)}(text, text) is
  'What pg_cron (pg_cron_version, default the installed one) makes of a schedule, read as its parser reads it: the minutes, hours, days, months and weekdays, its day-field flags, or its seconds; raises invalid_parameter_value for what pg_cron refuses.';

create or replace function ${qualified(previousOccurrenceFunction)}(
  schedule      text,
  at_or_before  timestamptz,
  horizon       interval,
  time_zone     text default 'GMT')
returns timestamptz
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  f         record;
  wall      timestamp := pg_catalog.date_trunc('minute', at_or_before at time zone time_zone);
  earliest  timestamptz := at_or_before - horizon;
  day_      date;
  dom_ok    boolean;
  dow_ok    boolean;
  h         integer;
  m         integer;
  local_    timestamp;
  candidate timestamptz;
begin
  select * into f from ${qualified(scheduleFieldsFunction)}(schedule);
  -- Start-up and seconds schedules have no minute occurrences to miss.
  if f.reboot or f.seconds is not null then
    return null;
  end if;
  -- pg_cron's ShouldRunTask, walked back one local day at a time, newest minute first.
  day_ := wall::date;
  while (day_ + 1)::timestamp at time zone time_zone > earliest loop
    dom_ok := extract(day from day_)::integer = any(f.days_of_month) or (f.dom_last and extract(day from day_ + 1) = 1);
    dow_ok := extract(dow from day_)::integer = any(f.days_of_week);
    if extract(month from day_)::integer = any(f.months)
       and (case when f.dom_star or f.dow_star then dom_ok and dow_ok else dom_ok or dow_ok end)
    then
      foreach h in array array(select x from pg_catalog.unnest(f.hours) x order by x desc) loop
        continue when day_ + pg_catalog.make_interval(hours => h) > wall;
        foreach m in array array(select x from pg_catalog.unnest(f.minutes) x order by x desc) loop
          local_ := day_ + pg_catalog.make_interval(hours => h, mins => m);
          continue when local_ > wall;
          candidate := local_ at time zone time_zone;
          if candidate < earliest then
            return null;
          end if;
          -- A wall-clock minute skipped by a daylight-saving change never comes.
          if candidate <= at_or_before and (candidate at time zone time_zone) = local_ then
            return candidate;
          end if;
        end loop;
      end loop;
    end if;
    day_ := day_ - 1;
  end loop;
  return null;
end
$$;

comment on function ${qualified(previousOccurrenceFunction)}(text, timestamptz, interval, text) is
  'The latest minute in [at_or_before - horizon, at_or_before] at which pg_cron runs a job with this schedule, in time_zone; null when none.';`;

/** The occurrence a job's run serves, in pg_cron's time zone: what dispatch_reminder_run and the series read. */
const occurrence = () => `
create or replace function ${qualified(occurrenceFunction)}(job_name text, at_or_before timestamptz, horizon interval)
returns timestamptz
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  schedule text;
  zone     text;
begin
  select j.schedule into schedule from cron.job j where j.jobname = reminder_cron_occurrence.job_name and j.username = ${lit(cronRunnerRole)};
  if schedule is null then
    return null;
  end if;
  -- pg_cron 1.5+ reads schedules in cron.timezone (GMT unless set); 1.4 always in GMT.
  begin
    zone := coalesce(nullif(pg_catalog.current_setting('cron.timezone', true), ''), 'GMT');
  exception when insufficient_privilege then
    zone := 'GMT';
  end;
  return ${qualified(previousOccurrenceFunction)}(schedule, at_or_before, horizon, zone);
end
$$;

comment on function ${qualified(occurrenceFunction)}(text, timestamptz, interval) is
  'The latest occurrence of cron_runner''s job job_name in [at_or_before - horizon, at_or_before], read in pg_cron''s time zone; null when none or no such job.';`;

/** The shortest time between two runs of a schedule, day by day as pg_cron matches days; the retry deadline must stay under it. */
const shortestGap = () => `
create or replace function ${qualified(shortestGapFunction)}(schedule text, pg_cron_version text default null)
returns interval
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  f        record;
  times    integer[];
  best     integer;
  last_day date;
  day_     date := current_date;
  dom_ok   boolean;
  dow_ok   boolean;
begin
  select * into f from ${qualified(scheduleFieldsFunction)}(schedule, pg_cron_version);
  if f.seconds is not null then
    return pg_catalog.make_interval(secs => f.seconds);
  end if;
  -- Minutes of the day it runs at, in order; then the least step between two of them, and between the last of
  -- one matching day and the first of the next, over ${gapSearchYears} years (weekdays and leap years repeat every 28).
  times := array(select distinct h * 60 + m from pg_catalog.unnest(f.hours) h, pg_catalog.unnest(f.minutes) m order by 1);
  if f.reboot or coalesce(pg_catalog.array_length(times, 1), 0) = 0 then
    return null;
  end if;
  select min(t.next_ - t.this_) into best
    from (select x as this_, lead(x) over (order by x) as next_ from pg_catalog.unnest(times) x) t;
  for i in 0..${gapSearchYears} * 366 loop
    exit when best = 1;
    dom_ok := extract(day from day_)::integer = any(f.days_of_month) or (f.dom_last and extract(day from day_ + 1) = 1);
    dow_ok := extract(dow from day_)::integer = any(f.days_of_week);
    if extract(month from day_)::integer = any(f.months)
       and (case when f.dom_star or f.dow_star then dom_ok and dow_ok else dom_ok or dow_ok end)
    then
      if last_day is not null then
        best := least(coalesce(best, 2147483647), (day_ - last_day) * 1440 + times[1] - times[pg_catalog.array_length(times, 1)]);
      end if;
      last_day := day_;
    end if;
    day_ := day_ + 1;
  end loop;
  return pg_catalog.make_interval(mins => best);
end
$$;

comment on function ${qualified(shortestGapFunction)}(text, text) is
  'The shortest time between two consecutive runs of a pg_cron schedule; null when it runs once or never.';`;

const retryPolicy = () => {
  const { retryBackoff, retryDeadline } = intervalSettings;
  const setter = (retries: number | string, backoff: string, deadline: string) => `select ${qualified(setRetriesFunction)}(${retries}, ${lit(backoff)}, ${lit(deadline)});`;
  const defaults = setter(retryLimitSetting.default, retryBackoff.default, retryDeadline.default);
  return `
create or replace function ${qualified(retryProblemFunction)}(retries integer, backoff interval, deadline interval, schedule text default null)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  gap interval;
begin
  -- Compared as cut-offs from now, not as intervals: '-1 mons 40 days' is positive as an interval.
  if retries is null or retries < 0 or retries > ${maximumRetries} then
    return format('${retryLimitSetting.secret} is %s: give 0 (no retries) to ${maximumRetries}. Fix: %s', coalesce(retries::text, 'null'), ${lit(defaults)});
  elsif backoff is null or now() + backoff < now() then
    return format('${retryBackoff.secret} is %L: a wait cannot be negative. Fix: %s', backoff, ${lit(defaults)});
  elsif deadline is null or now() + deadline < now() then
    return format('${retryDeadline.secret} is %L: a deadline cannot be negative. Fix: %s', deadline, ${lit(defaults)});
  elsif retries = 0 and now() + backoff > now() then
    return format('${retryLimitSetting.secret} is 0 (no retries), yet ${retryBackoff.secret} is %L: a back-off with nothing to retry is a setting half-changed. '
                  'Fix: to retry, %s To never retry, %s', backoff, ${lit(defaults)}, ${lit(setter(0, "0", retryDeadline.default))});
  elsif retries > 0 and now() + deadline < now() + interval '1 minute' then
    return format('${retryDeadline.secret} is %L: retries are looked for once a minute, so give at least 1 minute. Fix: %s', deadline, ${lit(defaults)});
  elsif retries > 0 and now() + deadline < now() + backoff then
    return format('${retryDeadline.secret} is %L, shorter than the first retry''s wait (${retryBackoff.secret} %L), so no retry would ever run. Fix: %s', deadline, backoff, ${lit(defaults)});
  end if;
  if retries > 0 and schedule is not null then
    gap := ${qualified(shortestGapFunction)}(schedule);
    if gap is not null and now() + deadline >= now() + gap then
      return format('${retryDeadline.secret} is %L, which reaches the next occurrence: schedule %L runs as little as %s apart, and the retries of one occurrence would run into the next. '
                    'Fix: keep it under %s, e.g. %s', deadline, schedule, gap, gap,
                    format('select ${qualified(setRetriesFunction)}(%s, %L, %L);', retries, backoff, least(interval ${lit(retryDeadline.default)}, gap / 2)));
    end if;
  end if;
  return null;
end
$$;

comment on function ${qualified(retryProblemFunction)}(integer, interval, interval, text) is
  'Why these retry settings cannot hold (for this schedule, when given), as a sentence naming the setting, its value and the fix; null when they can.';

create or replace function ${qualified(retryPolicyFunction)}(out retries integer, out backoff interval, out deadline interval)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  raw     text;
  problem text;
begin
  select nullif(trim(s.decrypted_secret), '') into raw
    from vault.decrypted_secrets s
   where s.name = ${lit(retryLimitSetting.secret)};
  if raw is null then
    retries := ${retryLimitSetting.default};
  elsif raw ~ '^[+-]?[0-9]{1,9}$' then
    retries := raw::integer;
  else
    raise exception 'Vault secret ${retryLimitSetting.secret} holds %, which is not a whole number of retries', quote_literal(raw)
      using errcode = 'invalid_parameter_value', hint = ${lit(`Set it with ${defaults}`)};
  end if;
  backoff  := ${qualified(settingFunction)}(${lit(retryBackoff.secret)}, ${lit(retryBackoff.default)});
  deadline := ${qualified(settingFunction)}(${lit(retryDeadline.secret)}, ${lit(retryDeadline.default)});
  problem  := ${qualified(retryProblemFunction)}(retries, backoff, deadline);
  if problem is not null then
    raise exception 'Vault holds retry settings reminder-cron cannot use: %', problem using errcode = 'invalid_parameter_value';
  end if;
end
$$;

comment on function ${qualified(retryPolicyFunction)}() is
  'The retry settings as they apply: Vault ${retryLimitSetting.secret} (default ${retryLimitSetting.default}), ${retryBackoff.secret} (${retryBackoff.default}) and ${retryDeadline.secret} (${retryDeadline.default}); raises, naming the setting, its value and the fix, when they cannot hold.';

create or replace function ${qualified(setRetriesFunction)}(retries integer, backoff interval, deadline interval)
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  schedule text;
  problem  text;
  setting  record;
begin
  -- Checked against the job's schedule as pg_cron holds it, and nothing is stored unless all three hold.
  select j.schedule into schedule from cron.job j where j.jobname = ${lit(defaultJobName)} and j.username = ${lit(cronRunnerRole)};
  problem := ${qualified(retryProblemFunction)}(retries, backoff, deadline, schedule);
  if problem is not null then
    raise exception 'Retry settings refused, nothing changed: %', problem using errcode = 'invalid_parameter_value';
  end if;
  for setting in select * from (values (${lit(retryLimitSetting.secret)}, retries::text), (${lit(retryBackoff.secret)}, backoff::text), (${lit(retryDeadline.secret)}, deadline::text)) v(name, value) loop
    if exists (select 1 from vault.secrets s where s.name = setting.name) then
      perform vault.update_secret((select s.id from vault.secrets s where s.name = setting.name), setting.value);
    else
      perform vault.create_secret(setting.value, setting.name);
    end if;
  end loop;
end
$$;

comment on function ${qualified(setRetriesFunction)}(integer, interval, interval) is
  'Sets the retry settings in Vault after checking them against ${defaultJobName}''s schedule; refuses, changing nothing, with the setting, its value and the fix.';`;
};

/**
 * Where the job's latest occurrence stands, from the log alone: the catch-up job acts on it (a catch-up or a
 * retry due now) and status shows it. One reading, so what status says is what the job does.
 */
const series = () => `
create or replace function ${qualified(seriesFunction)}(
  job_name            text,
  out occurrence      timestamptz,
  out state           text,
  out attempts        integer,
  out max_attempts    integer,
  out next_attempt_at timestamptz,
  out deadline_at     timestamptz,
  out last_run_id     bigint,
  out detail          text)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  job         record;
  policy      record;
  window_size interval;
  last_run    record;
  later       timestamptz;
  started     timestamptz := pg_catalog.pg_postmaster_start_time();
  cron_note   text;
  settings_problem text;
  other_run   bigint;
begin
  select j.schedule, j.active into job
    from cron.job j
   where j.jobname = reminder_run_series.job_name
     and j.username = ${lit(cronRunnerRole)};
  if not found then
    state := 'no-job';
    return;
  end if;
  -- Retry settings Vault holds that cannot be used stop the retries, not the catch-ups: the run goes without
  -- retries, and detail says why (status alerts on it).
  begin
    select * into policy from ${qualified(retryPolicyFunction)}();
  exception when invalid_parameter_value then
    select 0 as retries, interval '0' as backoff, interval '0' as deadline into policy;
    settings_problem := sqlerrm;
  end;
  window_size  := ${qualified(settingFunction)}(${lit(intervalSettings.catchUpWindow.secret)}, ${lit(intervalSettings.catchUpWindow.default)});
  max_attempts := 1 + policy.retries;
  -- A paused job misses nothing: pausing means no runs, catch-ups and retries included.
  if not job.active then
    state := 'paused';
    return;
  end if;
  occurrence := ${qualified(occurrenceFunction)}(job_name, now(), greatest(window_size, policy.deadline));
  if occurrence is null then
    state := 'idle';
    return;
  end if;
  deadline_at := occurrence + policy.deadline;

  -- Rows dated ahead are no runs (an earlier release let any role append one): every read stops at now().
  select count(*)::integer, max(l.id) into attempts, last_run_id
    from ${qualified(logTable)} l
   where l.job_name = reminder_run_series.job_name
     and l.occurrence = reminder_run_series.occurrence
     and l.attempt is not null
     and l.triggered_at <= now();

  -- One success since the occurrence ends it, whichever run it was (on schedule, a retry, by hand).
  select l.id into last_run_id
    from ${qualified(logTable)} l
   where l.job_name = reminder_run_series.job_name and l.status = 'succeeded'
     and l.triggered_at >= reminder_run_series.occurrence and l.triggered_at <= now()
   order by l.triggered_at desc
   limit 1;
  if found then
    state := 'succeeded';
    return;
  end if;
  select l.id into last_run_id
    from ${qualified(logTable)} l
   where l.job_name = reminder_run_series.job_name and l.status in ('dispatched', 'running')
     and l.triggered_at <= now()
   order by l.triggered_at desc
   limit 1;
  if found then
    state := 'in-flight';
    return;
  end if;

  if attempts = 0 then
    if occurrence > now() - interval '${catchUpGraceMinutes} minute' then
      state := 'due';                                                     -- pg_cron is starting it now
    elsif not exists (select 1 from ${qualified(logTable)} l where l.job_name = reminder_run_series.job_name and l.triggered_at < reminder_run_series.occurrence) then
      state := 'idle';                                                    -- a fresh install misses nothing
    elsif occurrence < now() - window_size then
      state := 'missed';
      detail := format('no run of it was dispatched, and the catch-up window (%s) has passed', window_size);
    elsif exists (select 1 from ${qualified(pausesTable)} p where p.job_name = reminder_run_series.job_name and p.seen_at >= reminder_run_series.occurrence) then
      state := 'missed';
      detail := 'the job was paused at the occurrence: resuming does not run it (reminder-cron run-now does)';
    else
      state := 'catch-up';
      next_attempt_at := now();
      -- A run since it that names no occurrence (by hand, or logged before this release) and failed.
      select l.id into other_run
        from ${qualified(logTable)} l
       where l.job_name = reminder_run_series.job_name and l.status = 'failed'
         and l.triggered_at >= reminder_run_series.occurrence and l.triggered_at <= now()
       order by l.triggered_at desc
       limit 1;
      if other_run is not null then
        detail := format('no attempt of it is recorded, and run %s since it (by hand, or logged before attempts were) failed', other_run);
      elsif started > occurrence - interval '${catchUpGraceMinutes} minute' then
        detail := format('the database was down at the occurrence; it started at %s', to_char(started at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'));
      else
        select d.return_message into cron_note
          from cron.job_run_details d
          join cron.job j on j.jobid = d.jobid
         where j.jobname = reminder_run_series.job_name and j.username = ${lit(cronRunnerRole)}
           and d.status = 'failed'
           and coalesce(d.start_time, d.end_time) between occurrence - interval '1 minute' and occurrence + interval '${scheduledLateMinutes} minutes'
         order by d.runid desc
         limit 1;
        -- format() reads a null as '', so the absence of a note is asked for, not coalesced.
        detail := case when cron_note is null then 'pg_cron started no run of it (its launcher missed the minute)'
                       else format('pg_cron did not run it: %s', cron_note) end;
      end if;
    end if;
    return;
  end if;

  select l.id, l.attempt, l.status, l.http_status, l.request_id, l.error_message, coalesce(l.finished_at, l.triggered_at) as failed_at into last_run
    from ${qualified(logTable)} l
   where l.job_name = reminder_run_series.job_name
     and l.occurrence = reminder_run_series.occurrence
     and l.attempt is not null
     and l.triggered_at <= now()
   order by l.attempt desc, l.id desc
   limit 1;
  last_run_id := last_run.id;
  if last_run.status <> 'failed' then
    state := 'in-flight';                                                 -- settled since the read above
    return;
  end if;

  -- A request that never reached the function (lost from pg_net's queue, or its worker was down and reconcile
  -- took it off) leaves the occurrence without a run: it is dispatched again at once, once, within the deadline.
  -- Reached is the function's own word (${qualified(signedRequestsTable)}, which only the owner writes); pg_net's
  -- tables, which every role may write, only say it is neither queued nor answered.
  if last_run.http_status is null and last_run.request_id is not null
     and not exists (select 1 from ${qualified(signedRequestsTable)} a where a.run_id = last_run.id)
     and not exists (select 1 from net.http_request_queue q where q.id = last_run.request_id)
     and not exists (select 1 from net._http_response r where r.id = last_run.request_id)
     and not exists (select 1 from ${qualified(catchUpTable)} c where c.job_name = reminder_run_series.job_name and c.occurrence = reminder_run_series.occurrence)
     and occurrence >= now() - window_size
     and now() <= deadline_at
  then
    state := 'catch-up';
    next_attempt_at := now();
    detail := format('attempt %s''s request never reached the function: %s', last_run.attempt, coalesce(last_run.error_message, 'pg_net recorded no answer'));
    return;
  end if;

  -- Every failure is retried, a 4xx too: any role may write pg_net's answer, so no answer may stop the retries.
  detail := format('attempt %s failed%s: %s', last_run.attempt,
                   case when last_run.http_status is null then '' else format(' with HTTP %s', last_run.http_status) end,
                   coalesce(left(last_run.error_message, 300), '(no reason recorded)'));
  if settings_problem is not null then
    state := 'exhausted';
    detail := detail || format('; no retry: %s', settings_problem);
    return;
  end if;
  if attempts >= max_attempts then
    state := 'exhausted';
    return;
  end if;
  -- The wait doubles with each retry: backoff after the first failure, twice that after the second, ...
  next_attempt_at := last_run.failed_at + policy.backoff * pg_catalog.power(2, attempts - 1);
  if next_attempt_at > deadline_at then
    state := 'exhausted';
    detail := detail || format('; the next retry, at %s, would come after the deadline', to_char(next_attempt_at at time zone 'UTC', 'HH24:MI:SS "UTC"'));
    return;
  end if;
  -- Retries of one occurrence never reach the next: Vault may hold a deadline the schedule has outgrown.
  later := ${qualified(occurrenceFunction)}(job_name, deadline_at, policy.deadline);
  if later is distinct from occurrence then
    state := 'exhausted';
    detail := detail || format('; no retry: Vault secret ${intervalSettings.retryDeadline.secret} (%s) reaches the next occurrence, at %s. Fix: select ${qualified(setRetriesFunction)}(%s, %L, %L);',
                               policy.deadline, to_char(later at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'), policy.retries, policy.backoff, later - occurrence - interval '1 minute');
    return;
  end if;
  state := 'retrying';
end
$$;

comment on function ${qualified(seriesFunction)}(text) is
  'Where cron_runner''s job stands with its latest occurrence: idle, due, in-flight, succeeded, catch-up (due now, detail says why), retrying (next_attempt_at), exhausted, missed, paused, no-job; attempts so far of max_attempts.';`;

const catchUp = () => `
-- The two-argument form of earlier releases let ${cronRunnerRole} choose its own window.
drop function if exists ${qualified(catchUpFunction)}(text, interval);

create or replace function ${qualified(catchUpFunction)}(job_name text default ${lit(defaultJobName)})
returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set lock_timeout = '5s'
as $$
declare
  s      record;
  run_id bigint;
begin
${refuseUnregisteredJob("catch_up_reminder_run.job_name", "caught up or retried")}
  -- pg_cron keeps no record of a pause: noted here each minute, so an occurrence that came while the job was
  -- paused is not taken for a missed one once it is resumed.
  if exists (select 1 from cron.job j where j.jobname = catch_up_reminder_run.job_name and j.username = ${lit(cronRunnerRole)} and not j.active) then
    insert into ${qualified(pausesTable)} as p (job_name, seen_at) values (catch_up_reminder_run.job_name, now())
        on conflict on constraint ${pausesTable.name}_pkey do update set seen_at = excluded.seen_at;
    return null;
  end if;

  -- Decided first, without the lock: pg_cron starts this job in the same minute as the daily one, and a lock
  -- held while deciding would make that dispatch a skip. Only a follow-up due now takes it.
  select * into s from ${qualified(seriesFunction)}(job_name);
  if not (s.state = 'catch-up' or (s.state = 'retrying' and s.next_attempt_at <= now())) then
    return null;
  end if;

  -- The job's row of the dispatch lock, which no role but the owner may lock. Held: a dispatch of the job
  -- (the schedule's, or another caller's follow-up) is starting now; the next minute sees its run. Taken: the
  -- series is read again, since another caller may have dispatched between the two reads. The dispatch below
  -- takes the same lock again in this transaction.
  insert into ${qualified(dispatchLockTable)} as k (job_name) values (catch_up_reminder_run.job_name)
      on conflict on constraint ${dispatchLockTable.name}_pkey do nothing;
  perform 1 from ${qualified(dispatchLockTable)} k where k.job_name = catch_up_reminder_run.job_name for update skip locked;
  if not found then
    return null;
  end if;
  select * into s from ${qualified(seriesFunction)}(job_name);
  if s.state = 'catch-up' then
    run_id := ${qualified(attemptFunction)}(job_name, s.occurrence, format('catch-up: %s', s.detail));
  elsif s.state = 'retrying' and s.next_attempt_at <= now() then
    run_id := ${qualified(attemptFunction)}(job_name, s.occurrence, format('retry %s of %s: %s', s.attempts, s.max_attempts - 1, s.detail));
    return run_id;
  else
    return null;
  end if;
  -- Skipped: an earlier run is still in flight, for a bounded time (reconcile ends it). The occurrence is not
  -- recorded as caught up, so a later minute's catch-up dispatches it once that run is over.
  if exists (select 1 from ${qualified(logTable)} l where l.id = run_id and l.status = 'skipped') then
    return run_id;
  end if;
  insert into ${qualified(catchUpTable)} (job_name, occurrence, run_id)
  values (job_name, s.occurrence, run_id)
      on conflict on constraint reminder_cron_catch_ups_pkey do nothing;
  return run_id;
end
$$;

comment on function ${qualified(catchUpFunction)}(text) is
  'Follows up the job''s latest occurrence (see ${qualified(seriesFunction)}): dispatches it once when no run of it reached the function within the catch-up window (Vault ${intervalSettings.catchUpWindow.secret}, else ${intervalSettings.catchUpWindow.default}), or retries it when due. Returns the run''s log id, or null. Runs every minute as job ${catchUpJobName}.';`;

const retention = () => `
create or replace function ${qualified(pruneFunction)}(
  log_older_than          interval default null,
  run_details_older_than  interval default null,
  out log_rows            integer,
  out run_detail_rows     integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  log_age     interval := coalesce(log_older_than, ${qualified(settingFunction)}(${lit(intervalSettings.logRetention.secret)}, ${lit(intervalSettings.logRetention.default)}));
  details_age interval := coalesce(run_details_older_than, ${qualified(settingFunction)}(${lit(intervalSettings.runDetailsRetention.secret)}, ${lit(intervalSettings.runDetailsRetention.default)}));
  keep_from   bigint;
begin
  -- The cut-offs are compared, not the ages: as an interval '-12 mons 362 days' equals 2 days, yet
  -- now() minus it lies days ahead, and every row would go.
  if now() - log_age > now() - interval ${lit(minimumRetention)} or now() - details_age > now() - interval ${lit(minimumRetention)} then
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

-- The job's entry point takes no argument: cron_runner may prune only as configured, never with ages of its
-- own choosing (any at or above the floor would otherwise empty most of the log).
create or replace function ${qualified(retentionFunction)}(out log_rows integer, out run_detail_rows integer)
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
  select p.log_rows, p.run_detail_rows from ${qualified(pruneFunction)}() p;
$$;

comment on function ${qualified(retentionFunction)}() is
  'Prunes as configured (${qualified(pruneFunction)} with its default ages); what job ${retentionJobName} runs as ${cronRunnerRole}, who may not choose the ages.';

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
  return [
    header(),
    catchUpLog(),
    setting(),
    scheduleFields(),
    occurrence(),
    shortestGap(),
    retryPolicy(),
    series(),
    catchUp(),
    retention(),
    `\n${renderOperationsGrants()}`,
    registration(),
  ].join("\n");
}
