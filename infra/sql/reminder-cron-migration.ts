/**
 * The trigger in SQL: cron_runner, the execution log, the dispatch and reconcile functions, their
 * privileges and the idempotent registration of both jobs. Rendered into
 * supabase/migrations/20261128060000_register_reminder_cron.sql; every statement is safe to run again.
 */
import {
  acceptSignedFunction,
  attemptFunction,
  lostRequestAfterSeconds,
  scheduledLateMinutes,
  cronRunnerRole,
  defaultCronExpression,
  defaultJobName,
  dispatchCommand,
  dispatchLockTable,
  lockSkipMessage,
  dispatchTimeoutMs,
  minimumSigningKeyLength,
  qualified,
  reconcileCommand,
  reconcileJobName,
  retiredVaultSecret,
  signatureFutureSkewSeconds,
  signatureHeader,
  signatureMaxAgeSeconds,
  signedRequestsTable,
  runOutcomeDeadlineSeconds,
  functionWallClockSeconds,
  vaultSecrets,
} from "./names";
import { renderGrants } from "./privileges";
import { runbook } from "./runbook";
import { sqlLiteral } from "./literal";

/** How long after its dispatch a run without a pg_net response is declared failed (and no longer blocks the next). */
export const responseDeadlineSeconds = 120;

/** How long one reconcile pass waits for same-minute dispatches to be answered: the timeout plus two seconds. */
export const reconcileWaitMs = dispatchTimeoutMs + 2000;

const lit = sqlLiteral;
const list = (values: readonly string[]) => values.map(lit).join(", ");

/** The log's statuses: dispatched and running are not final; reconcile ends both within a bounded time. */
export const logStatuses = ["dispatched", "running", "succeeded", "failed", "skipped"] as const;

function header(): string {
  const entries = runbook().flatMap((entry) => ["--", `-- ${entry.action}:`, `--   ${entry.sql}`]);
  return `-- Register the daily reminder trigger: pg_cron job ${lit(defaultJobName)} calls the ReminderSchedulerService
-- Edge Function through pg_net, as role ${cronRunnerRole}, reading its URL, signing key and schedule from Vault.
--
-- Vault secrets (create them before the first run; never put their values in a migration):
--   ${vaultSecrets.functionUrl}     the function's https URL, e.g. https://<ref>.supabase.co/functions/v1/reminder-scheduler
--   ${vaultSecrets.signingKey}      the HMAC key each request is signed with, at least ${minimumSigningKeyLength} characters
--   ${vaultSecrets.cronExpression}  optional; default ${lit(defaultCronExpression)} (06:00 UTC daily)
--   select vault.create_secret('<value>', '<name>');    -- or: pulumi up, which manages all three
--
-- The credential. pg_net's tables are readable by every role, so no long-lived secret is ever put in a
-- request. Each one carries "${signatureHeader}: t=<unix seconds>,v1=<hex>", HMAC-SHA256 under the
-- signing key of "<t>.<run_id>.<triggered_at>.<job_name>" (the body's fields, job_name last). The function
-- holds the same key (supabase secrets set REMINDER_SIGNING_KEY=<key>) and refuses with 401 a signature that
-- does not match, is older than ${signatureMaxAgeSeconds} s or more than ${signatureFutureSkewSeconds} s ahead, or names a run id it accepted
-- before (${qualified(signedRequestsTable)}). What a reader of pg_net's tables learns is worth one run,
-- once, for ${signatureMaxAgeSeconds} s: the run that was being sent anyway. Rotation: see the runbook entry below.
--
-- Upgrading from a release that sent "Authorization: Bearer <${retiredVaultSecret}>": that key sat in
-- pg_net's PUBLIC tables. This migration warns while the secret exists: delete it (pulumi up deletes it by
-- itself) and rotate the service-role key in the dashboard (Project Settings, API keys). supabase db push
-- does not apply an edited migration again: psql -f this file (it is idempotent), or pulumi up.
--
-- RUNBOOK (paste into the SQL editor as postgres)
${entries.join("\n")}
--
-- Every invocation writes one row to public.cron_execution_log: 'dispatched' at the call; once
-- ${lit(reconcileJobName)} reads pg_net's answer, 'succeeded' (200: the run finished and committed) or 'failed'
-- (HTTP status, timeout, connection error, missing or short secret). A 202 (the run carries on after answering) makes it
-- 'running' until the function's own record, public.reminder_runs, says how the run ended; a run with no
-- outcome ${runOutcomeDeadlineSeconds} s after its trigger (the Edge Function wall-clock limit is ${functionWallClockSeconds} s) is 'failed', and so is
-- its reminder_runs record, which frees the lease. 'skipped' when a run is already in flight. A failure
-- never stops the next run, and 'succeeded' always means the reminders were created.`;
}

const role = () => `
-- cron_runner: LOGIN only because pg_cron starts jobs as a login role; no password, so nobody signs in as it.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = ${lit(cronRunnerRole)}) then
    create role ${cronRunnerRole} login noinherit;
  end if;
end
$$;
comment on role ${cronRunnerRole} is 'Runs the reminder-cron jobs; may only execute the dispatch and reconcile functions.';

-- postgres schedules, pauses and removes the jobs by acting as cron_runner, which pg_cron requires. This
-- grant is the only one of that membership, made again on every apply (Pulumi models none: on PostgreSQL 16+
-- creating the role already gave postgres an ADMIN-only membership, which cannot SET ROLE, and a model of
-- it read either one). Applying this file restores a membership revoked by hand.
grant ${cronRunnerRole} to postgres;`;

const logTable = () => `
create table if not exists public.cron_execution_log (
  id            bigint      generated always as identity primary key,
  job_name      text        not null,
  triggered_at  timestamptz not null default now(),
  status        text        not null,
  error_message text,
  http_status   integer,
  request_id    bigint,
  finished_at   timestamptz,
  constraint cron_execution_log_status_check
    check (status in (${list(logStatuses)}))
);
-- Replaced, not kept, so applying this again brings an earlier log table's statuses up to date.
alter table public.cron_execution_log drop constraint if exists cron_execution_log_status_check;
alter table public.cron_execution_log add constraint cron_execution_log_status_check check (status in (${list(logStatuses)}));

comment on table  public.cron_execution_log is 'One row per invocation of a reminder-cron job, with its outcome.';
comment on column public.cron_execution_log.status is
  'dispatched: request queued in pg_net, awaiting its answer; running: answered 2xx, its outcome read from the function''s own record (public.reminder_runs): a 202 carries on; succeeded: that record says the reminder run finished; failed: it did not (non-2xx, timeout, connection error, missing secret, the run failed or never finished); skipped: another run was in flight.';
comment on column public.cron_execution_log.http_status is 'The status the function answered with; null when no answer came.';
comment on column public.cron_execution_log.request_id is 'net.http_request_queue / net._http_response id of the call.';

create index if not exists cron_execution_log_triggered_at_idx on public.cron_execution_log (triggered_at);

-- Which occurrence of the schedule a run serves, its attempt at that occurrence, and why it was dispatched:
-- the catch-up and the retries of an occurrence are rows of their own, each naming it.
alter table public.cron_execution_log add column if not exists occurrence timestamptz;
alter table public.cron_execution_log add column if not exists attempt    integer;
alter table public.cron_execution_log add column if not exists reason     text;
comment on column public.cron_execution_log.occurrence is 'The scheduled time this run serves; null for a run by hand.';
comment on column public.cron_execution_log.attempt is 'Its attempt at that occurrence: 1 on schedule (or its catch-up), then each retry; null for a skip or a run by hand.';
comment on column public.cron_execution_log.reason is 'Why it was dispatched: on schedule, a catch-up and why, a retry and after what, or by hand.';
create index if not exists cron_execution_log_occurrence_idx on public.cron_execution_log (job_name, occurrence, attempt) where occurrence is not null;

-- An earlier release let any role append any row, so a log may hold rows dated ahead ('succeeded' in 2099
-- silenced every alert). Status, its alerts and the catch-up now ignore rows dated ahead; here each one is
-- marked failed, saying why, so nothing else that reads the log believes it either. Once marked, a row is
-- left alone: applying this again changes nothing.
update public.cron_execution_log l
   set status        = 'failed',
       error_message = format('dated %s UTC, ahead of the upgrade at %s UTC: no run; it was written before the log''s row level security '
                              'let ${cronRunnerRole} append only a skip dated now, and status, its alerts and the catch-up ignore it',
                              to_char(l.triggered_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS'), to_char(now() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS'))
 where l.triggered_at > now()
   and (l.status <> 'failed' or l.error_message is null or l.error_message not like 'dated % UTC, ahead of the upgrade at %');
create index if not exists cron_execution_log_job_triggered_at_idx on public.cron_execution_log (job_name, triggered_at desc);
create index if not exists cron_execution_log_dispatched_idx on public.cron_execution_log (request_id) where status = 'dispatched';
-- The catch-up job asks every minute whether a run of the job is in flight: a handful of rows in a log of any length.
create index if not exists cron_execution_log_in_flight_idx on public.cron_execution_log (job_name, triggered_at desc) where status in ('dispatched', 'running');
-- Reconcile reads the runs answered 202 every minute; these are a handful in a log of any length.
create index if not exists cron_execution_log_running_idx on public.cron_execution_log (id) where status = 'running';

-- RLS on, and one policy per role that may touch the table: a grant alone opens nothing.
alter table public.cron_execution_log enable row level security;
drop policy if exists cron_runner_appends on public.cron_execution_log;
-- status, its alerts, the in-flight check and the catch-up all believe this log, so what cron_runner appends
-- itself (its functions write as the owner) may claim no outcome, no run in flight and no other time than
-- now: a 'succeeded' row dated ahead would otherwise silence every alert for good.
create policy cron_runner_appends on public.cron_execution_log for insert to ${cronRunnerRole}
  with check (    status = 'skipped'
              and triggered_at = now()
              and (finished_at is null or finished_at between triggered_at and clock_timestamp())
              and http_status is null
              and request_id is null
              and occurrence is null
              and attempt is null
              and reason is null);
drop policy if exists service_role_reads on public.cron_execution_log;
create policy service_role_reads on public.cron_execution_log for select to service_role using (true);`;

/** The per-job lock: a row per job, locked by the dispatch; RLS on and no grant, so only the owner locks it. */
const dispatchLocks = () => `
create table if not exists ${qualified(dispatchLockTable)} (
  job_name text primary key
);

comment on table ${qualified(dispatchLockTable)} is
  'The per-job dispatch lock: dispatch_reminder_run locks its job''s row (for update skip locked), so a second dispatch of the job is skipped. No role but the owner may lock a row here.';

-- RLS on and no policy: only the owner, through dispatch_reminder_run, reads or locks a row.
alter table ${qualified(dispatchLockTable)} enable row level security;`;

/** The refusal of a job name that is no job of cron_runner's, for a function whose argument is `jobName`. */
export const refuseUnregisteredJob = (jobName: string, what: string) => `  if not exists (select 1 from cron.job j where j.jobname = ${jobName} and j.username = ${lit(cronRunnerRole)}) then
    raise exception '% is not a pg_cron job of ${cronRunnerRole}: only a registered job is ${what}', quote_literal(${jobName})
      using errcode = 'invalid_parameter_value',
            hint    = 'Name a job of select jobname from cron.job where username = ''${cronRunnerRole}''; e.g. ${lit(defaultJobName).replace(/'/g, "''")}.';
  end if;`;

const dispatch = () => `
create or replace function ${qualified(attemptFunction)}(job_name text, occurrence_at timestamptz, dispatch_reason text)
returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set lock_timeout = '5s'
as $$
declare
  run_id           bigint;
  in_flight        bigint;
  in_flight_status text;
  in_flight_http   integer;
  url              text;
  signing_key      text;
  problem          text;
  triggered        timestamptz;
  trigger_at       text;
  signed_at        bigint;
  attempt_no       integer;
begin
  -- Only a job ${cronRunnerRole} runs is dispatched: the lock and the in-flight check are per job name, so
  -- any other name ('${defaultJobName} ', 'x') would run the function beside the real job's run.
${refuseUnregisteredJob("dispatch_reminder_attempt.job_name", "dispatched")}

  -- Two dispatches of one job never overlap: the second is recorded as skipped, not queued behind the first.
  -- The lock is the job's row in ${qualified(dispatchLockTable)}, which no role but the owner may lock (an
  -- advisory key, which any role may take, let anyone turn every dispatch into a skip).
  insert into ${qualified(dispatchLockTable)} as k (job_name) values (dispatch_reminder_attempt.job_name)
      on conflict on constraint ${dispatchLockTable.name}_pkey do nothing;
  perform 1 from ${qualified(dispatchLockTable)} k where k.job_name = dispatch_reminder_attempt.job_name for update skip locked;
  if not found then
    insert into public.cron_execution_log (job_name, status, error_message, finished_at, occurrence, reason)
    values (job_name, 'skipped', ${lit(lockSkipMessage)}, now(), occurrence_at, dispatch_reason)
    returning id into run_id;
    return run_id;
  end if;

  -- In flight: awaiting pg_net's answer, or answered 202 and still running. Each for a bounded time only
  -- (reconcile fails either by then), so a run that never finishes cannot block the next for good.
  select l.id, l.status, l.http_status into in_flight, in_flight_status, in_flight_http
    from public.cron_execution_log l
   where l.job_name = dispatch_reminder_attempt.job_name
     and (   (l.status = 'dispatched' and l.triggered_at > now() - interval '${responseDeadlineSeconds} seconds')
          or (l.status = 'running'    and l.triggered_at > now() - interval '${runOutcomeDeadlineSeconds} seconds'))
     -- A row dated ahead (cron_runner may insert any) is no run in flight: it must not block every later one.
     and l.triggered_at <= now()
   order by l.triggered_at desc
   limit 1;
  if in_flight is not null then
    insert into public.cron_execution_log (job_name, status, error_message, finished_at, occurrence, reason)
    values (job_name, 'skipped',
            case in_flight_status
              -- The status it was answered with, as recorded: a 200 also waits here until its record settles it.
              when 'running' then format('run %s is still running in the reminder function (answered %s)', in_flight, in_flight_http)
              else format('run %s is still awaiting its answer', in_flight)
            end,
            now(), occurrence_at, dispatch_reason)
    returning id into run_id;
    return run_id;
  end if;

  -- Under the lock, so two attempts of one occurrence cannot take the same number. Skips are no attempts.
  if occurrence_at is not null then
    select coalesce(max(l.attempt), 0) + 1 into attempt_no
      from public.cron_execution_log l
     where l.job_name = dispatch_reminder_attempt.job_name
       and l.occurrence = occurrence_at
       and l.attempt is not null;
  end if;

  select decrypted_secret into url         from vault.decrypted_secrets where name = ${lit(vaultSecrets.functionUrl)};
  select decrypted_secret into signing_key from vault.decrypted_secrets where name = ${lit(vaultSecrets.signingKey)};
  problem := case
    when coalesce(url, '') = '' then
      format('Vault secret %s is missing or empty: create it with select vault.create_secret(''<value>'', %L); (or pulumi up)', ${lit(vaultSecrets.functionUrl)}, ${lit(vaultSecrets.functionUrl)})
    when coalesce(signing_key, '') = '' or length(signing_key) < ${minimumSigningKeyLength} then
      format('Vault secret %s is missing or empty or shorter than ${minimumSigningKeyLength} characters: make a key with openssl rand -hex 32, '
             'store it with select vault.create_secret(''<key>'', %L); and give the function the same one with '
             'supabase secrets set REMINDER_SIGNING_KEY=<key> (or pulumi up with reminder-cron:signingKey)',
             ${lit(vaultSecrets.signingKey)}, ${lit(vaultSecrets.signingKey)})
  end;
  if problem is not null then
    insert into public.cron_execution_log (job_name, status, error_message, finished_at, occurrence, attempt, reason)
    values (job_name, 'failed', problem, now(), occurrence_at, attempt_no, dispatch_reason)
    returning id into run_id;
    return run_id;
  end if;

  insert into public.cron_execution_log (job_name, status, occurrence, attempt, reason)
  values (job_name, 'dispatched', occurrence_at, attempt_no, dispatch_reason)
  returning id, triggered_at into run_id, triggered;

  -- The body carries triggered_at as a JSON string made here, so what is signed is the very text the
  -- function reads back, however pg_net serialises the rest. The signing key never leaves this function.
  trigger_at := to_jsonb(triggered) #>> '{}';
  signed_at  := floor(extract(epoch from clock_timestamp()))::bigint;
  begin
    update public.cron_execution_log
       set request_id = net.http_post(
             url                  => url,
             body                 => jsonb_build_object('job_name', dispatch_reminder_attempt.job_name, 'run_id', run_id, 'triggered_at', trigger_at),
             headers              => jsonb_build_object(
                                       'Content-Type', 'application/json',
                                       ${lit(signatureHeader)}, format('t=%s,v1=%s', signed_at, encode(extensions.hmac(
                                         convert_to(format('%s.%s.%s.%s', signed_at, run_id, trigger_at, dispatch_reminder_attempt.job_name), 'UTF8'),
                                         convert_to(signing_key, 'UTF8'),
                                         'sha256'), 'hex'))),
             timeout_milliseconds => ${dispatchTimeoutMs})
     where id = run_id;
  exception when others then
    -- pg_net refused the request (not installed, bad URL): the run is over, and says why.
    update public.cron_execution_log
       set status = 'failed', finished_at = now(), error_message = format('pg_net did not accept the request: %s', sqlerrm)
     where id = run_id;
  end;
  return run_id;
end
$$;

comment on function ${qualified(attemptFunction)}(text, timestamptz, text) is
  'Queues one signed call of the ReminderSchedulerService through pg_net and logs it as the next attempt at occurrence_at (none when null), saying dispatch_reason; returns the cron_execution_log id. Returns in milliseconds: the answer is read later by reconcile_reminder_runs(). The owner''s: dispatch_reminder_run and the catch-up call it.';

create or replace function public.dispatch_reminder_run(job_name text default ${lit(defaultJobName)})
returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  occurrence_at timestamptz;
begin
  -- pg_cron starts a job in a session of the job's owner; nobody else logs in as ${cronRunnerRole} (it has no
  -- password, and SET ROLE leaves session_user as it was). Such a call is the schedule's: it serves the
  -- occurrence that has just come, and is its first attempt. Any other call is a run by hand.
  if session_user = ${lit(cronRunnerRole)} then
    -- The operations migration, applied with this one, defines the schedule's reading.
    occurrence_at := public.reminder_cron_occurrence(dispatch_reminder_run.job_name, now(), interval '${scheduledLateMinutes} minutes');
    return ${qualified(attemptFunction)}(job_name, occurrence_at, 'on schedule');
  end if;
  return ${qualified(attemptFunction)}(job_name, null, format('by hand, as %s', session_user));
end
$$;

comment on function public.dispatch_reminder_run(text) is
  'Dispatches the job: called by pg_cron, as the first attempt at the occurrence that has just come; called by anyone else (run-now), as a run by hand. Returns the cron_execution_log id.';`;

/** The function's durable memory of signed run ids it accepted: a replay finds its id here and gets 401. */
const signedRequests = () => `
create table if not exists ${qualified(signedRequestsTable)} (
  run_id      bigint      primary key,
  job_name    text        not null,
  signed_at   timestamptz not null,
  accepted_at timestamptz not null default now()
);

comment on table ${qualified(signedRequestsTable)} is
  'One row per signed dispatch the ReminderSchedulerService accepted (run_id is the cron_execution_log id): a second request with the same run id is a replay.';

-- RLS on and no policy: only the owner, the function connected as postgres, reads or writes it.
alter table ${qualified(signedRequestsTable)} enable row level security;

create or replace function ${qualified(acceptSignedFunction)}(run_id bigint, job_name text, signed_at timestamptz)
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  -- A day is ample: the function refuses a signature older than ${signatureMaxAgeSeconds} s before it asks here.
  delete from ${qualified(signedRequestsTable)} r where r.accepted_at < now() - interval '1 day';
  insert into ${qualified(signedRequestsTable)} (run_id, job_name, signed_at)
  values (accept_signed_reminder_request.run_id, accept_signed_reminder_request.job_name, accept_signed_reminder_request.signed_at)
      on conflict on constraint ${signedRequestsTable.name}_pkey do nothing;
  return found;
end
$$;

comment on function ${qualified(acceptSignedFunction)}(bigint, text, timestamptz) is
  'Records a signed run id as used and returns true, or returns false when it was used before (a replay). Called by the ReminderSchedulerService after the signature checked out.';`;

/** Releases before the signed dispatch stored the service-role key in Vault; say what to do about it. */
const retiredSecretWarning = () => `
do $$
begin
  if exists (select 1 from vault.secrets where name = ${lit(retiredVaultSecret)}) then
    raise warning 'Vault secret ${retiredVaultSecret} is no longer used: requests are signed with ${vaultSecrets.signingKey} now. The key it holds was readable by every role in pg_net''s tables, so treat it as exposed.'
      using hint = 'Delete it: delete from vault.secrets where name = ''${retiredVaultSecret}''; then rotate the service-role key (dashboard: Project Settings, API keys) and update whatever else uses it.';
  end if;
end
$$;`;

const reconcile = () => `
create or replace function public.reconcile_reminder_runs()
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set lock_timeout = '5s'
as $$
declare
  settled  integer := 0;
  changed  integer;
  started  timestamptz := clock_timestamp();
begin
  loop
    -- Every dispatched run whose answer pg_net has recorded gets its outcome. A 2xx is only 'running': pg_net's
    -- tables are PUBLIC, so any role may have written that answer, and only the function's own record
    -- (public.reminder_runs, which no such role can write) says the run succeeded. A 200 comes after that
    -- record committed, and the next statement settles it in this same pass; a 202 carries on until it says more.
    update public.cron_execution_log l
       set status        = case when r.status_code between 200 and 299 then 'running' else 'failed' end,
           http_status   = r.status_code,
           -- Every role may write pg_net's table, so its time is held between the dispatch and now: the back-off
           -- of a retry counts from it, and a forged 2099 would otherwise push every retry past the deadline.
           finished_at   = case when r.status_code between 200 and 299 then null else greatest(l.triggered_at, least(r.created, clock_timestamp())) end,
           error_message = case
                             when r.status_code between 200 and 299 then null
                             when r.status_code is not null then
                               -- Control characters go too: the text reaches an on-call terminal, and any role may write it.
                               format('HTTP %s from the reminder function: %s', r.status_code, coalesce(left(regexp_replace(r.content, '[[:space:][:cntrl:]]+', ' ', 'g'), 200), '(empty body)'))
                             else coalesce(left(regexp_replace(r.error_msg, '[[:space:][:cntrl:]]+', ' ', 'g'), 200), 'pg_net recorded neither a status nor an error')
                           end
      from net._http_response r
     where r.id = l.request_id
       and l.status = 'dispatched';
    get diagnostics changed = row_count;
    settled := settled + changed;

    -- A run ends as the function's own record (public.reminder_runs) says. The record is the run's only if
    -- it names the run's id, job and trigger time: the function stores a run id from a signed request alone,
    -- and what was signed is those three. And the record is believed over pg_net's table, which every role
    -- may write (a forged 500, or pg_net's own 'replayed' 401 when someone sent the queued request first):
    -- a run failed by such an answer within the outcome deadline succeeded if its record says so.
    update public.cron_execution_log l
       set status        = case when r.status = 'succeeded' then 'succeeded' else 'failed' end,
           finished_at   = coalesce(r.finished_at, clock_timestamp()),
           error_message = case when r.status = 'succeeded' then null
                                else format('the reminder function answered %s, then its run %s ended %s: %s', l.http_status, r.id, r.status, coalesce(r.error_message, '(no reason recorded)'))
                           end
      from public.reminder_runs r
     where r.cron_run_id  = l.id
       and r.job_name     = l.job_name
       -- To the millisecond: a function before this release stored the signed time through a JavaScript Date.
       and date_trunc('milliseconds', r.triggered_at) = date_trunc('milliseconds', l.triggered_at)
       and r.status      <> 'running'
       and (   l.status = 'running'
            or (    l.status = 'failed'
                and r.status = 'succeeded'
                and l.request_id is not null
                and l.triggered_at > clock_timestamp() - interval '${runOutcomeDeadlineSeconds} seconds'));
    get diagnostics changed = row_count;
    settled := settled + changed;

    -- A run that never finishes (its worker stopped at the ${functionWallClockSeconds} s wall-clock limit, a lost connection)
    -- is failed, its record first, which frees the lease for the next trigger; a record an evaluation still
    -- holds is left to its lease.
    update public.reminder_runs r
       set status           = 'failed',
           finished_at      = clock_timestamp(),
           lease_expires_at = null,
           duration_ms      = (extract(epoch from clock_timestamp() - r.started_at) * 1000)::integer,
           error_message    = format('no outcome %s s after its trigger (the Edge Function wall-clock limit is ${functionWallClockSeconds} s): its worker was stopped or lost its connection', ${runOutcomeDeadlineSeconds})
     where r.id in (select s.id
                      from public.reminder_runs s
                      join public.cron_execution_log l on l.id = s.cron_run_id and l.job_name = s.job_name
                                                     and date_trunc('milliseconds', l.triggered_at) = date_trunc('milliseconds', s.triggered_at)
                     where l.status = 'running'
                       and l.triggered_at < clock_timestamp() - interval '${runOutcomeDeadlineSeconds} seconds'
                       and s.status = 'running'
                       for update of s skip locked);
    update public.cron_execution_log l
       set status        = 'failed',
           finished_at   = clock_timestamp(),
           error_message = case when l.http_status = 202
                                then 'the reminder function answered 202 but its run recorded no outcome within ${runOutcomeDeadlineSeconds} s '
                                     || '(the Edge Function wall-clock limit is ${functionWallClockSeconds} s): its worker was stopped or lost its database connection; '
                                else format('an HTTP %s answer was recorded in net._http_response, but the reminder function recorded no run for it in public.reminder_runs within ${runOutcomeDeadlineSeconds} s: '
                                            'the answer did not come from the function (pg_net''s tables are writable by every role that reaches schema net), or it lost its record; ', l.http_status)
                           end
                           || 'the next trigger runs again, or now: select public.dispatch_reminder_run(' || quote_literal(l.job_name) || ');'
     where l.status = 'running'
       and l.triggered_at < clock_timestamp() - interval '${runOutcomeDeadlineSeconds} seconds';
    get diagnostics changed = row_count;
    settled := settled + changed;

    -- A request neither queued nor answered ${lostRequestAfterSeconds} s after its dispatch was lost before pg_net sent it: its
    -- worker takes a request off the queue, sends it and records the answer within the ${dispatchTimeoutMs / 1000} s timeout, and the
    -- queue is UNLOGGED (a crash empties it) and writable by every role that reaches schema net. The catch-up
    -- dispatches the occurrence again.
    update public.cron_execution_log l
       set status        = 'failed',
           finished_at   = clock_timestamp(),
           error_message = 'the request was lost before pg_net sent it: it is neither queued in net.http_request_queue nor answered in net._http_response ${lostRequestAfterSeconds} s after its dispatch '
                           '(the queue is UNLOGGED, so a crash empties it, and any role that reaches schema net may delete from it)'
     where l.status = 'dispatched'
       and l.request_id is not null
       and l.triggered_at < clock_timestamp() - interval '${lostRequestAfterSeconds} seconds'
       and not exists (select 1 from net.http_request_queue q where q.id = l.request_id)
       and not exists (select 1 from net._http_response r where r.id = l.request_id);
    get diagnostics changed = row_count;
    settled := settled + changed;

    -- A run pg_net never answered is failed, so it neither hangs as dispatched nor blocks the next run. Its
    -- request, still queued (the worker is down), is taken off the queue: sent later, its signature would be
    -- too old to run, and a catch-up goes out in its place.
    delete from net.http_request_queue q
     using public.cron_execution_log l
     where q.id = l.request_id
       and l.status = 'dispatched'
       and l.triggered_at < clock_timestamp() - interval '${responseDeadlineSeconds} seconds';
    update public.cron_execution_log l
       set status        = 'failed',
           finished_at   = clock_timestamp(),
           error_message = 'no answer recorded by pg_net within ${responseDeadlineSeconds} s; a request still queued was taken off the queue: check select net.check_worker_is_up();'
     where l.status = 'dispatched'
       and l.triggered_at < clock_timestamp() - interval '${responseDeadlineSeconds} seconds';
    get diagnostics changed = row_count;
    settled := settled + changed;

    -- Wait (a second at least, for a dispatch starting in the same minute) while calls are in flight, up to their timeout.
    exit when clock_timestamp() - started > interval '${reconcileWaitMs} milliseconds';
    exit when clock_timestamp() - started > interval '1 second'
          and not exists (select 1 from public.cron_execution_log where status = 'dispatched');
    perform pg_catalog.pg_sleep(0.2);
  end loop;
  return settled;
end
$$;

comment on function public.reconcile_reminder_runs() is
  'Settles dispatched runs from net._http_response (2xx running, else failed), running ones from public.reminder_runs (so succeeded only by the function''s own record), and fails runs unanswered after ${responseDeadlineSeconds} s or still running ${runOutcomeDeadlineSeconds} s after their trigger. Runs every minute as job ${reconcileJobName}.';`;

const registration = () => `
-- Register both jobs as cron_runner. cron.schedule upserts on (job name, owner) and keeps the job id, so
-- running this again changes nothing; a same-named job of another owner would run twice, so it is refused.
do $$
declare
  expression text;
  other      record;
begin
  select nullif(trim(decrypted_secret), '') into expression
    from vault.decrypted_secrets
   where name = ${lit(vaultSecrets.cronExpression)};
  expression := coalesce(expression, ${lit(defaultCronExpression)});

  for other in
    select jobid, jobname, username from cron.job
     where jobname in (${lit(defaultJobName)}, ${lit(reconcileJobName)}) and username <> ${lit(cronRunnerRole)}
  loop
    if other.username = current_user then
      perform cron.unschedule(other.jobid);
    else
      raise exception 'pg_cron job % (id %) already exists for role %, and would run beside ours', other.jobname, other.jobid, other.username
        using hint = format('As %s or a superuser, run: select cron.unschedule(%s); then apply this migration again.', other.username, other.jobid);
    end if;
  end loop;

  execute 'set local role ${cronRunnerRole}';
  begin
    perform cron.schedule(${lit(defaultJobName)}, expression, ${lit(dispatchCommand(defaultJobName))});
  exception when invalid_parameter_value then
    raise exception 'Vault secret ${vaultSecrets.cronExpression} holds %, which pg_cron does not accept as a schedule', quote_literal(expression)
      using hint = 'Set a five-field cron expression in UTC, e.g. select vault.update_secret((select id from vault.secrets where name = ''${vaultSecrets.cronExpression}''), ''${defaultCronExpression}'');';
  end;
  perform cron.schedule(${lit(reconcileJobName)}, '* * * * *', ${lit(reconcileCommand)});
  execute 'reset role';
end
$$;`;

export function renderReminderCronMigration(): string {
  return [header(), role(), logTable(), signedRequests(), dispatchLocks(), dispatch(), reconcile(), `\n${renderGrants()}`, registration(), retiredSecretWarning()].join("\n");
}
