-- What the API roles reach of ours through PostgREST: every function in public that anon or authenticated
-- may EXECUTE is POST /rest/v1/rpc/<name>, and PostgreSQL grants EXECUTE to PUBLIC on every new function,
-- Supabase's default privileges to the API roles on every new function, table and sequence. So: none of
-- our functions, tables or sequences is anon's, authenticated's or PUBLIC's; every SECURITY DEFINER one pins
-- its search_path. Only our objects, by name: a live app's own functions in public are the app's.
begin;
select plan(6);

create temporary table ours_functions on commit drop as
  select p.oid, p.oid::regprocedure::text as signature, p.prosecdef, p.proconfig, p.proacl
    from pg_proc p
   where p.pronamespace = 'public'::regnamespace
     and p.proname in ('keep_last_contact_date', 'refuse_future_assignment_dates', 'correct_last_contact_date', 'begin_reminder_run', 'evaluate_reminder_run',
                       'fail_reminder_run', 'accept_signed_reminder_request', 'dispatch_reminder_run', 'reconcile_reminder_runs',
                       'reminder_cron_interval_setting', 'cron_schedule_fields', 'cron_previous_occurrence',
                       'catch_up_reminder_run', 'prune_reminder_cron_history', 'apply_reminder_cron_retention',
                       'dispatch_reminder_attempt', 'reminder_cron_occurrence', 'cron_shortest_gap', 'reminder_cron_retry_problem',
                       'reminder_cron_retry_policy', 'set_reminder_cron_retries', 'reminder_run_series');
create temporary table ours_relations on commit drop as
  select c.oid, c.relname::text as name, c.relkind, c.relrowsecurity
    from pg_class c
   where c.relnamespace = 'public'::regnamespace
     and c.relname in ('reminder_runs', 'reminder_runs_id_seq', 'assignment_contact_corrections', 'assignment_contact_corrections_id_seq',
                       'cron_execution_log', 'cron_execution_log_id_seq', 'reminder_signed_requests', 'reminder_cron_catch_ups',
                       'reminder_cron_dispatch_locks', 'reminder_cron_pauses');

-- the twenty-two functions and the ten tables and sequences are there, so the tests below look at something:
-- a renamed one would otherwise drop out of them unseen.
select is((select count(*)::int from ours_functions), 22, 'all twenty-two functions of reminder-cron are in public');
select is((select count(*)::int from ours_relations), 10, 'all ten tables and sequences of reminder-cron are in public');

select is_empty($$
  select f.signature || ' ' || r.role
    from ours_functions f
   cross join (values ('anon'), ('authenticated')) r(role)
   where has_function_privilege(r.role, f.oid, 'execute')$$,
  'anon and authenticated may execute none of our functions: none is an RPC endpoint');

-- PUBLIC, read off the ACL (a NULL ACL is the default, which grants EXECUTE to PUBLIC).
select is_empty($$
  select f.signature
    from ours_functions f
   where f.proacl is null
      or exists (select 1 from aclexplode(f.proacl) a where a.grantee = 0 and a.privilege_type = 'EXECUTE')$$,
  'PUBLIC may execute none of our functions');

select is_empty($$
  select f.signature from ours_functions f
   where f.prosecdef and coalesce(f.proconfig[1], '') <> 'search_path=pg_catalog, pg_temp'$$,
  'every SECURITY DEFINER function of ours pins search_path to pg_catalog, pg_temp (temporary types last)');

-- tables and sequences, for the API roles and PUBLIC (grantee 0); RLS on every table.
select is_empty($$
  select c.name || ' ' || coalesce(nullif(a.grantee::regrole::text, '-'), 'PUBLIC') || ' ' || a.privilege_type
    from ours_relations c
    join pg_class k on k.oid = c.oid
   cross join lateral aclexplode(coalesce(k.relacl, acldefault(case when c.relkind = 'S' then 's'::"char" else 'r'::"char" end, k.relowner))) a
   where a.grantee = 0 or a.grantee in (select oid from pg_roles where rolname in ('anon', 'authenticated'))
  union all
  select c.name || ' has no row level security' from ours_relations c where c.relkind = 'r' and not c.relrowsecurity$$,
  'anon, authenticated and PUBLIC hold nothing on our tables and sequences, and every table has RLS on');

select * from finish();
rollback;
