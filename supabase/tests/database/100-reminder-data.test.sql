-- The ReminderSchedulerService's database contract: structure first, then what each role may and may not
-- do, then the behaviour the Edge Function relies on. Runs as postgres, as `supabase test db` does; every
-- change is rolled back at the end.
begin;
select plan(42);

-- The five tables exist.
select is(
  (select array_agg(tablename::text order by tablename) from pg_tables
    where schemaname = 'public' and tablename in ('assignments', 'activities', 'notifications', 'reminder_runs', 'assignment_contact_corrections')),
  array['activities', 'assignment_contact_corrections', 'assignments', 'notifications', 'reminder_runs'],
  'the reminder data''s five tables exist');
select columns_are('public', 'assignments',
  array['id', 'peer_mentor_id', 'contact_id', 'status', 'follow_up_interval_days', 'assigned_on', 'last_contact_date', 'follow_up_due_on', 'created_at'],
  'assignments has the mentor, status, last contact and follow-up interval');
select columns_are('public', 'activities',
  array['id', 'assignment_id', 'registered_by', 'registration_path', 'occurred_on', 'created_at'],
  'activities records who registered a contact, how, and when it happened');
select columns_are('public', 'notifications',
  array['id', 'recipient_id', 'assignment_id', 'kind', 'dedupe_key', 'run_id', 'payload', 'created_at', 'dispatched_at'],
  'notifications has a recipient, an assignment, a kind and a dedupe key');
select col_is_unique('public', 'notifications', array['dedupe_key'], 'the dedupe key is unique: a reminder exists once');
select columns_are('public', 'reminder_runs',
  array['id', 'job_name', 'cron_run_id', 'triggered_at', 'as_of', 'status', 'started_at', 'lease_expires_at', 'finished_at',
        'evaluated', 'created', 'skipped', 'duration_ms', 'error_message'],
  'reminder_runs holds the lease and the summary of every run');
select columns_are('public', 'assignment_contact_corrections',
  array['id', 'assignment_id', 'previous_last_contact_date', 'new_last_contact_date', 'reason', 'corrected_by', 'via_role', 'corrected_at'],
  'the correction audit records before, after, why, who and through which role');
select has_index('public', 'assignments', 'assignments_follow_up_due_idx', array['follow_up_due_on'], 'the due day is indexed for the evaluation');
select has_index('public', 'reminder_runs', 'reminder_runs_one_running_idx', 'the lease index exists');
select is(
  (select array_agg(relname::text order by relname) from pg_class
    where relnamespace = 'public'::regnamespace and relkind = 'r' and relrowsecurity
      and relname in ('assignments', 'activities', 'notifications', 'reminder_runs', 'assignment_contact_corrections')),
  array['activities', 'assignment_contact_corrections', 'assignments', 'notifications', 'reminder_runs'],
  'row level security is on for all five tables');
select has_trigger('public', 'activities', 'activities_keep_last_contact_date_on_insert', 'inserting activities keeps last_contact_date');
select has_trigger('public', 'activities', 'activities_keep_last_contact_date_on_update', 'updating activities keeps last_contact_date');
-- Every function runs as its owner with search_path pinned to pg_catalog, pg_temp: an empty one still searches pg_temp first for types.
select is(
  (select array_agg(proname::text order by proname) from pg_proc
    where pronamespace = 'public'::regnamespace and prosecdef and proconfig = array['search_path=pg_catalog, pg_temp']
      and proname in ('keep_last_contact_date', 'correct_last_contact_date', 'begin_reminder_run', 'evaluate_reminder_run', 'fail_reminder_run')),
  array['begin_reminder_run', 'correct_last_contact_date', 'evaluate_reminder_run', 'fail_reminder_run', 'keep_last_contact_date'],
  'all five functions are SECURITY DEFINER with search_path pinned to pg_catalog, pg_temp');

-- What each role may do with each table.
select table_privs_are('public', 'assignments', 'service_role', array['SELECT', 'INSERT', 'DELETE'], 'service_role manages assignments');
select column_privs_are('public', 'assignments', 'last_contact_date', 'service_role', array['SELECT', 'INSERT'],
  'service_role cannot update last_contact_date: only activities and the audited correction move it');
select column_privs_are('public', 'assignments', 'status', 'service_role', array['SELECT', 'INSERT', 'UPDATE'], 'service_role may change an assignment''s status');
select table_privs_are('public', 'activities', 'service_role', array['SELECT', 'INSERT', 'UPDATE'], 'service_role registers activities');
select table_privs_are('public', 'notifications', 'service_role', array['SELECT'], 'service_role reads notifications and creates none');
select column_privs_are('public', 'notifications', 'dispatched_at', 'service_role', array['SELECT', 'UPDATE'], 'service_role marks notifications dispatched');
select table_privs_are('public', 'reminder_runs', 'service_role', array['SELECT'], 'service_role only reads the runs');
select table_privs_are('public', 'assignment_contact_corrections', 'service_role', array['SELECT'], 'service_role only reads the audit');
-- Anon and authenticated have nothing on any of the five (the app adds its own policies and grants).
select is(
  (select count(*)::int from unnest(array['anon', 'authenticated']) as r(role),
                             unnest(array['assignments', 'activities', 'notifications', 'reminder_runs', 'assignment_contact_corrections']) as t(name),
                             unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) as p(privilege)
    where has_table_privilege(r.role, 'public.' || t.name, p.privilege)),
  0, 'anon and authenticated have no privilege on the reminder tables');
select function_privs_are('public', 'correct_last_contact_date', array['uuid', 'date', 'text', 'text'], 'service_role', array['EXECUTE'],
  'service_role may correct last_contact_date');
select is(
  (select count(*)::int from unnest(array['anon', 'authenticated']) as r(role)
    where has_function_privilege(r.role, 'public.correct_last_contact_date(uuid, date, text, text)', 'EXECUTE')),
  0, 'anon and authenticated may not correct last_contact_date');
select is(
  (select count(*)::int from unnest(array['public', 'anon', 'authenticated', 'service_role']) as r(role),
                             unnest(array['public.begin_reminder_run(text, bigint, timestamptz)', 'public.evaluate_reminder_run(bigint)',
                                          'public.fail_reminder_run(bigint, text)', 'public.keep_last_contact_date()']) as f(signature)
    where (r.role = 'public' and exists (select 1 from pg_proc p, aclexplode(p.proacl) a
                                          where p.oid = f.signature::regprocedure and a.grantee = 0 and a.privilege_type = 'EXECUTE'))
       or (r.role <> 'public' and has_function_privilege(r.role, f.signature, 'EXECUTE'))),
  0, 'no API role and not PUBLIC may execute the run functions or the trigger function');
select function_privs_are('public', 'evaluate_reminder_run', array['bigint'], 'postgres', array['EXECUTE'],
  'postgres, the Edge Function''s role, may run an evaluation');

-- Behaviour. The fixtures: four assignments due long ago and one paused.
insert into public.assignments (id, peer_mentor_id, contact_id, assigned_on, follow_up_interval_days, status)
select ('00000000-0000-4000-8000-00000000010' || n)::uuid, ('00000000-0000-4000-8000-00000000020' || n)::uuid, gen_random_uuid(),
       current_date - 60, 14, case when n = 5 then 'paused' else 'active' end
  from generate_series(1, 5) as n;

-- Each registration path moves last_contact_date to the contact's day.
insert into public.activities (assignment_id, registered_by, registration_path, occurred_on) values
  ('00000000-0000-4000-8000-000000000101', '00000000-0000-4000-8000-000000000201', 'direct',            current_date - 1),
  ('00000000-0000-4000-8000-000000000102', gen_random_uuid(),                      'proxy',             current_date - 2),
  ('00000000-0000-4000-8000-000000000103', gen_random_uuid(),                      'coordinator_proxy', current_date - 3);
insert into public.activities (assignment_id, registered_by, registration_path, occurred_on)
select '00000000-0000-4000-8000-000000000104', gen_random_uuid(), 'bulk', current_date - d from generate_series(4, 9) as d;
select results_eq(
  $$select id::text, last_contact_date from public.assignments where id::text like '00000000-0000-4000-8000-00000000010%' and status = 'active' order by id$$,
  $$values ('00000000-0000-4000-8000-000000000101', current_date - 1), ('00000000-0000-4000-8000-000000000102', current_date - 2),
           ('00000000-0000-4000-8000-000000000103', current_date - 3), ('00000000-0000-4000-8000-000000000104', current_date - 4)$$,
  'direct, proxy, coordinator_proxy and bulk registrations each set last_contact_date (bulk: the latest of its rows)');
insert into public.activities (assignment_id, registered_by, registration_path, occurred_on)
values ('00000000-0000-4000-8000-000000000101', gen_random_uuid(), 'proxy', current_date - 30);
select is((select last_contact_date from public.assignments where id = '00000000-0000-4000-8000-000000000101'), current_date - 1,
  'an older activity registered late does not move last_contact_date back');
select throws_ok(
  $$insert into public.activities (assignment_id, registered_by, registration_path, occurred_on)
    values ('00000000-0000-4000-8000-000000000101', gen_random_uuid(), 'direct', current_date + 3)$$,
  '23514',
  format('activity for assignment 00000000-0000-4000-8000-000000000101 is dated %s, which is in the future', current_date + 3),
  'a contact dated days ahead is refused with the assignment and the date');
select throws_ok(
  $$insert into public.activities (assignment_id, registered_by, registration_path) values ('00000000-0000-4000-8000-000000000101', gen_random_uuid(), 'sms')$$,
  '23514', null, 'an unknown registration path is refused');
select throws_ok(
  $$set local role service_role; update public.assignments set last_contact_date = current_date where id = '00000000-0000-4000-8000-000000000101'$$,
  '42501', null, 'service_role cannot write last_contact_date directly');
select lives_ok(
  $$set local role service_role;
    insert into public.activities (assignment_id, registered_by, registration_path) values ('00000000-0000-4000-8000-000000000102', gen_random_uuid(), 'direct');
    reset role$$,
  'service_role registers an activity, and the trigger updates what it may not');
select is((select last_contact_date from public.assignments where id = '00000000-0000-4000-8000-000000000102'), current_date,
  'the activity service_role registered moved last_contact_date to today');

-- The admin correction, as service_role, with its audit row.
select lives_ok(
  $$set local role service_role;
    select public.correct_last_contact_date(assignment_id => '00000000-0000-4000-8000-000000000103', last_contact_date => current_date - 40,
                                            reason => 'ticket 17: logged on the wrong assignment', corrected_by => 'ops@example.org');
    reset role$$,
  'service_role corrects last_contact_date');
select results_eq(
  $$select previous_last_contact_date, new_last_contact_date, reason, corrected_by, via_role
      from public.assignment_contact_corrections where assignment_id = '00000000-0000-4000-8000-000000000103'$$,
  $$values (current_date - 3, current_date - 40, 'ticket 17: logged on the wrong assignment', 'ops@example.org', 'service_role')$$,
  'the correction is audited with before, after, reason, who and the role it came through');
select throws_ok(
  $$set local role authenticated; select public.correct_last_contact_date('00000000-0000-4000-8000-000000000103', current_date, 'x', 'y')$$,
  '42501', null, 'authenticated may not correct last_contact_date');
select throws_ok(
  $$set local role anon; select public.correct_last_contact_date('00000000-0000-4000-8000-000000000103', current_date, 'x', 'y')$$,
  '42501', null, 'anon may not correct last_contact_date');
select throws_ok(
  $$select public.correct_last_contact_date('00000000-0000-4000-8000-0000000001ff', current_date, 'ticket 18', 'ops@example.org')$$,
  'P0002', 'assignment 00000000-0000-4000-8000-0000000001ff does not exist', 'a correction of an unknown assignment names it');

-- One run: the lease, then one reminder per due assignment. Of the fixtures, only 103 is due now
-- (its contact was corrected to 40 days ago); 101, 102 and 104 had fresh contact and 105 is paused.
create temporary table run_ids as select run_id, outcome from public.begin_reminder_run('pgtap', null, null);
select is((select outcome from public.begin_reminder_run('pgtap', null, null)), 'skipped', 'a second run while the first holds the lease is skipped');
select is((select status from public.evaluate_reminder_run((select run_id from run_ids))), 'succeeded', 'the run that holds the lease evaluates');
select results_eq(
  $$select assignment_id::text, dedupe_key from public.notifications
     where run_id = (select run_id from run_ids) and assignment_id::text like '00000000-0000-4000-8000-00000000010%'$$,
  $$values ('00000000-0000-4000-8000-000000000103',
            'follow_up_reminder:00000000-0000-4000-8000-000000000103:' || to_char(current_date - 26, 'YYYY-MM-DD'))$$,
  'the run reminds the one due fixture, keyed by its due day, and none of the others');
select is(
  (select created from public.begin_reminder_run('pgtap', null, null) as b, public.evaluate_reminder_run(b.run_id)),
  0, 'a second run the same day creates nothing');

select * from finish();
rollback;
