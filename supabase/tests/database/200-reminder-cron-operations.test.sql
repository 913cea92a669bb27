-- The operations migration's contract: the catch-up and retention functions, the catch-up record, their
-- two jobs, and what each role may do with them. Runs as postgres, as `supabase test db` does.
begin;
select plan(34);

-- The catch-up record, keyed so an occurrence is caught up once.
select has_table('public', 'reminder_cron_catch_ups', 'the catch-up record exists');
select columns_are('public', 'reminder_cron_catch_ups', array['job_name', 'occurrence', 'run_id', 'caught_up_at'],
  'the catch-up record has exactly the documented columns');
select col_is_pk('public', 'reminder_cron_catch_ups', array['job_name', 'occurrence'], 'one row per job and missed occurrence');
select has_index('public', 'reminder_cron_catch_ups', 'reminder_cron_catch_ups_run_id_idx', array['run_id'], 'a run finds its catch-up record through an index');
select is((select relrowsecurity from pg_class where oid = 'public.reminder_cron_catch_ups'::regclass), true, 'row level security is on');

-- Both functions the jobs call run as their owner with a pinned search_path.
select is_definer('public', 'catch_up_reminder_run', array['text'], 'the catch-up runs as its owner');
select is((select proconfig from pg_proc where oid = 'public.catch_up_reminder_run(text)'::regprocedure),
  array['search_path=pg_catalog, pg_temp', 'lock_timeout=5s'], 'the catch-up pins search_path to pg_catalog, then pg_temp last, and waits for no lock over 5 s');
select is_definer('public', 'prune_reminder_cron_history', array['interval', 'interval'], 'the pruning runs as its owner');
select is((select proconfig from pg_proc where oid = 'public.prune_reminder_cron_history(interval, interval)'::regprocedure),
  array['search_path=pg_catalog, pg_temp'], 'the pruning pins search_path to pg_catalog, then pg_temp last');
select is_definer('public', 'apply_reminder_cron_retention', array[]::text[], 'the retention job''s entry point runs as its owner');
select is((select proconfig from pg_proc where oid = 'public.apply_reminder_cron_retention()'::regprocedure),
  array['search_path=pg_catalog, pg_temp'], 'the retention job''s entry point pins search_path to pg_catalog, then pg_temp last');
select function_returns('public', 'catch_up_reminder_run', array['text'], 'bigint', 'the catch-up returns the run''s log id');

-- The two jobs, as cron_runner.
select results_eq(
  $$select schedule, command, active, username from cron.job where jobname = 'reminder-eval-catch-up'$$,
  $$values ('* * * * *'::text, 'select public.catch_up_reminder_run(''daily-reminder-eval'')'::text, true, 'cron_runner'::text)$$,
  'the catch-up job checks the daily job every minute as cron_runner');
select results_eq(
  $$select schedule, command, active, username from cron.job where jobname = 'reminder-eval-retention'$$,
  $$values ('17 3 * * *'::text, 'select * from public.apply_reminder_cron_retention()'::text, true, 'cron_runner'::text)$$,
  'the retention job prunes daily at 03:17 UTC as cron_runner');

-- Cron_runner may run the two functions its jobs call, and nothing else of this migration.
select function_privs_are('public', 'catch_up_reminder_run', array['text'], 'cron_runner', array['EXECUTE'], 'cron_runner may run the catch-up');
select function_privs_are('public', 'apply_reminder_cron_retention', array[]::text[], 'cron_runner', array['EXECUTE'], 'cron_runner may prune as configured');
select function_privs_are('public', 'prune_reminder_cron_history', array['interval', 'interval'], 'cron_runner', array[]::text[],
  'cron_runner may not prune with ages of its choosing');
select function_privs_are('public', 'cron_previous_occurrence', array['text', 'timestamp with time zone', 'interval', 'text'], 'cron_runner', array[]::text[],
  'cron_runner may not call the schedule reader directly');
select function_privs_are('public', 'reminder_cron_interval_setting', array['text', 'text'], 'cron_runner', array[]::text[],
  'cron_runner may not read settings from Vault');

-- The API roles get nothing (Supabase's default privileges would have given them everything).
select function_privs_are('public', 'catch_up_reminder_run', array['text'], 'anon', array[]::text[], 'anon may not run the catch-up');
select function_privs_are('public', 'prune_reminder_cron_history', array['interval', 'interval'], 'authenticated', array[]::text[], 'authenticated may not prune');
select function_privs_are('public', 'prune_reminder_cron_history', array['interval', 'interval'], 'service_role', array[]::text[], 'service_role may not prune');
select table_privs_are('public', 'reminder_cron_catch_ups', 'service_role', array['SELECT'], 'service_role may only read the catch-up record');
select table_privs_are('public', 'reminder_cron_catch_ups', 'anon', array[]::text[], 'anon has nothing on the catch-up record');
select table_privs_are('public', 'reminder_cron_catch_ups', 'cron_runner', array[]::text[], 'cron_runner writes the record only through the catch-up');

-- The pruning refuses an age that would blind the alerts, naming the fix.
select throws_ok($$select * from public.prune_reminder_cron_history(interval '1 day', interval '14 days')$$,
  '22023', null, 'a retention under 2 days is refused');
-- A job that is not registered (removed, or never scheduled) is never caught up or retried: it is refused, named.
select throws_ok($$select public.catch_up_reminder_run('pgtap-never-scheduled')$$,
  '22023', '''pgtap-never-scheduled'' is not a pg_cron job of cron_runner: only a registered job is caught up or retried',
  'a job that is not registered is refused');
-- cron_runner may not choose its own catch-up window, nor reach the retry settings, the series or the attempt.
select hasnt_function('public', 'catch_up_reminder_run', array['text', 'interval'], 'the catch-up takes no window from its caller');
select function_privs_are('public', 'reminder_run_series', array['text'], 'cron_runner', array[]::text[], 'cron_runner may not read the series directly');
select function_privs_are('public', 'set_reminder_cron_retries', array['integer', 'interval', 'interval'], 'cron_runner', array[]::text[],
  'cron_runner may not change the retry settings');
select function_privs_are('public', 'set_reminder_cron_retries', array['integer', 'interval', 'interval'], 'service_role', array[]::text[],
  'service_role may not change the retry settings');
select function_privs_are('public', 'dispatch_reminder_attempt', array['text', 'timestamp with time zone', 'text'], 'cron_runner', array[]::text[],
  'cron_runner may not dispatch an attempt of an occurrence of its choosing');
select is_definer('public', 'reminder_run_series', array['text'], 'the series runs as its owner');
select is((select proconfig from pg_proc where oid = 'public.reminder_run_series(text)'::regprocedure),
  array['search_path=pg_catalog, pg_temp'], 'the series pins search_path to pg_catalog, then pg_temp last');

select * from finish();
rollback;
