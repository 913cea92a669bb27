-- The cron trigger's database contract: structure first, then what each role may and may not do.
-- Runs as postgres (Supabase's non-superuser), as `supabase test db` does.
begin;
select plan(36);

-- The execution log exists with the task card's columns and the outcome columns.
select has_table('public', 'cron_execution_log', 'the execution log table exists');
select columns_are('public', 'cron_execution_log',
  array['id', 'job_name', 'triggered_at', 'status', 'error_message', 'http_status', 'request_id', 'finished_at', 'occurrence', 'attempt', 'reason'],
  'the execution log has exactly the documented columns');
select col_not_null('public', 'cron_execution_log', 'job_name', 'job_name is required');
select col_not_null('public', 'cron_execution_log', 'triggered_at', 'triggered_at is required');
select col_is_null('public', 'cron_execution_log', 'error_message', 'error_message is nullable');
select col_type_is('public', 'cron_execution_log', 'triggered_at', 'timestamp with time zone', 'triggered_at is a timestamptz');
-- The index the on-call queries need.
select has_index('public', 'cron_execution_log', 'cron_execution_log_triggered_at_idx', array['triggered_at'], 'triggered_at is indexed');
select is((select relrowsecurity from pg_class where oid = 'public.cron_execution_log'::regclass), true, 'row level security is on');
-- Status is a constrained set.
select throws_ok($$insert into public.cron_execution_log (job_name, status) values ('pgtap', 'done')$$,
  '23514', null, 'a status outside the documented set is refused');
-- Running, the status of a run answered 202, is one of them, and reconcile finds those rows by an index.
select lives_ok($$insert into public.cron_execution_log (job_name, status, http_status) values ('pgtap', 'running', 202)$$,
  'running (answered 202, the run carries on) is a status the log accepts');
select has_index('public', 'cron_execution_log', 'cron_execution_log_running_idx', array['id'], 'running runs are indexed for reconcile');

-- The dispatch function is SECURITY DEFINER with a pinned search_path.
select is_definer('public', 'dispatch_reminder_run', array['text'], 'dispatch runs as its owner');
select is((select proconfig from pg_proc where oid = 'public.dispatch_reminder_run(text)'::regprocedure),
  array['search_path=pg_catalog, pg_temp'], 'dispatch pins search_path to pg_catalog, then pg_temp last');
select function_returns('public', 'dispatch_reminder_run', array['text'], 'bigint', 'dispatch returns the log row id');
select is_definer('public', 'reconcile_reminder_runs', array[]::text[], 'reconcile runs as its owner');
select is((select proconfig from pg_proc where oid = 'public.reconcile_reminder_runs()'::regprocedure),
  array['search_path=pg_catalog, pg_temp', 'lock_timeout=5s'], 'reconcile pins search_path to pg_catalog, then pg_temp last, and waits for no lock over 5 s');

-- The job, as the task card states it.
select results_eq(
  $$select schedule, command, active, username from cron.job where jobname = 'daily-reminder-eval'$$,
  $$values ('0 6 * * *'::text, 'select public.dispatch_reminder_run(''daily-reminder-eval'')'::text, true, 'cron_runner'::text)$$,
  'daily-reminder-eval runs the dispatch daily at 06:00 UTC as cron_runner');
select is((select count(*)::int from cron.job where jobname = 'daily-reminder-eval'), 1, 'exactly one job of that name');
select results_eq(
  $$select schedule, username from cron.job where jobname = 'reminder-eval-reconcile'$$,
  $$values ('* * * * *'::text, 'cron_runner'::text)$$,
  'the reconcile job runs every minute as cron_runner');

-- Cron_runner's table privileges: append only.
select table_privs_are('public', 'cron_execution_log', 'cron_runner', array['INSERT'], 'cron_runner may only insert into the log');
select table_privs_are('public', 'cron_execution_log', 'service_role', array['SELECT'], 'service_role may only read the log');
select table_privs_are('public', 'cron_execution_log', 'anon', array[]::text[], 'anon has nothing on the log');
select table_privs_are('public', 'cron_execution_log', 'authenticated', array[]::text[], 'authenticated has nothing on the log');
select function_privs_are('public', 'dispatch_reminder_run', array['text'], 'cron_runner', array['EXECUTE'], 'cron_runner may run the dispatch');
select function_privs_are('public', 'dispatch_reminder_run', array['text'], 'anon', array[]::text[], 'anon may not run the dispatch');
select function_privs_are('public', 'dispatch_reminder_run', array['text'], 'authenticated', array[]::text[], 'authenticated may not run the dispatch');
select function_privs_are('public', 'dispatch_reminder_run', array['text'], 'service_role', array[]::text[], 'service_role may not run the dispatch');

-- The role behind the job.
select is((select rolcanlogin and not rolsuper and not rolbypassrls and not rolcreaterole from pg_roles where rolname = 'cron_runner'),
  true, 'cron_runner logs in (pg_cron needs it) and has no other attribute');

-- Each role's actions, as that role. pgTAP lives in `extensions`, which cron_runner may not use,
-- so the role switch happens inside the statement under test (and is undone with it).
select throws_ok('set local role cron_runner; select count(*) from public.cron_execution_log', '42501', null,
  'cron_runner cannot read the log');
select throws_ok('set local role cron_runner; delete from public.cron_execution_log', '42501', null,
  'cron_runner cannot delete from the log');
select throws_ok('set local role cron_runner; select decrypted_secret from vault.decrypted_secrets', '42501', null,
  'cron_runner cannot read Vault');
select lives_ok($$set local role cron_runner; insert into public.cron_execution_log (job_name, status) values ('pgtap', 'skipped'); reset role$$,
  'cron_runner can append to the log');
select throws_ok('set local role service_role; delete from public.cron_execution_log', '42501', null,
  'service_role cannot delete from the log');
select throws_ok($$set local role anon; select public.dispatch_reminder_run('pgtap')$$, '42501', null,
  'anon cannot trigger a run');

-- Reconcile tells a request still queued (pg_net's worker is down) from one lost from the queue. Both rows
-- are uncommitted here, so the worker never sees the queued one; reconcile, in this transaction, does.
reset role;
insert into net.http_request_queue (id, method, url, headers, body, timeout_milliseconds)
values (-4201, 'POST', 'http://127.0.0.1:9/', '{}', null, 5000);
insert into public.cron_execution_log (job_name, status, request_id, triggered_at)
values ('pgtap-queued', 'dispatched', -4201, now() - interval '3 minutes'),
       ('pgtap-lost',   'dispatched', -4202, now() - interval '3 minutes');
select public.reconcile_reminder_runs();
select results_eq(
  $$select job_name, status, left(error_message, 43) from public.cron_execution_log where job_name in ('pgtap-queued', 'pgtap-lost') order by job_name$$,
  $$values ('pgtap-lost'::text, 'failed'::text, 'the request was lost before pg_net sent it:'::text),
           ('pgtap-queued', 'failed', 'no answer recorded by pg_net within 120 s; ')$$,
  'a request still queued fails as unanswered after 120 s, one neither queued nor answered as lost');
select is_empty($$select 1 from net.http_request_queue where id = -4201$$,
  'the request failed as unanswered is taken off the queue: sent later, its signature would be too old to run');

select * from finish();
rollback;
