-- The signed dispatch's database contract, and the smaller holes closed beside it: the replay record and
-- its function, what the queued request carries, the log's sequence, a forged future row, the interval
-- setting's reach, and the index behind notifications.run_id. Runs as postgres, as `supabase test db` does.
begin;
select plan(24);

-- Setup, rolled back with the rest: a URL nothing listens on and a signing key, whatever Vault held.
select vault.create_secret('http://127.0.0.1:9/functions/v1/reminder-scheduler', 'reminder_function_url')
 where not exists (select 1 from vault.secrets where name = 'reminder_function_url');
select vault.update_secret(id, 'http://127.0.0.1:9/functions/v1/reminder-scheduler') from vault.secrets where name = 'reminder_function_url';
select vault.create_secret(repeat('k', 64), 'reminder_signing_key')
 where not exists (select 1 from vault.secrets where name = 'reminder_signing_key');
select vault.update_secret(id, repeat('k', 64)) from vault.secrets where name = 'reminder_signing_key';
-- A dispatch is for a job of cron_runner's only: the two this file dispatches are registered as its (rolled back).
set local role cron_runner;
select cron.schedule('pgtap-signed', '0 0 1 1 *', 'select 1');
select cron.schedule('pgtap-future', '0 0 1 1 *', 'select 1');
reset role;
select throws_ok($$select public.dispatch_reminder_run('pgtap-not-a-job')$$, '22023',
  '''pgtap-not-a-job'' is not a pg_cron job of cron_runner: only a registered job is dispatched',
  'a name that is no job of cron_runner''s is not dispatched: it would sidestep the per-job lock and in-flight check');

-- The record of accepted signed run ids, one row per run id.
select has_table('public', 'reminder_signed_requests', 'the replay record exists');
select col_is_pk('public', 'reminder_signed_requests', array['run_id'], 'a run id is accepted once');
select is((select relrowsecurity from pg_class where oid = 'public.reminder_signed_requests'::regclass), true, 'row level security is on');
select table_privs_are('public', 'reminder_signed_requests', 'anon', array[]::text[], 'anon has nothing on the replay record');
select table_privs_are('public', 'reminder_signed_requests', 'service_role', array[]::text[], 'service_role has nothing on the replay record');
select table_privs_are('public', 'reminder_signed_requests', 'cron_runner', array[]::text[], 'cron_runner has nothing on the replay record');

-- The function the Edge Function calls: its owner's, pinned, and no API role's.
select is_definer('public', 'accept_signed_reminder_request', array['bigint', 'text', 'timestamp with time zone'], 'the replay check runs as its owner');
select is((select proconfig from pg_proc where oid = 'public.accept_signed_reminder_request(bigint, text, timestamptz)'::regprocedure),
  array['search_path=pg_catalog, pg_temp'], 'the replay check pins search_path to pg_catalog, then pg_temp last');
select function_privs_are('public', 'accept_signed_reminder_request', array['bigint', 'text', 'timestamp with time zone'], 'anon', array[]::text[],
  'anon may not call the replay check (PostgREST would expose it)');
select function_privs_are('public', 'accept_signed_reminder_request', array['bigint', 'text', 'timestamp with time zone'], 'service_role', array[]::text[],
  'service_role may not call the replay check');
-- The first use of a run id is accepted, the second is a replay.
select is(public.accept_signed_reminder_request(-7, 'pgtap', now()), true, 'a run id is accepted the first time');
select is(public.accept_signed_reminder_request(-7, 'pgtap', now()), false, 'the same run id again is refused');

-- The request a dispatch queues is signed, and carries no Authorization header.
select public.dispatch_reminder_run('pgtap-signed') as pgtap_run \gset
select matches(
  (select headers ->> 'x-reminder-signature' from net.http_request_queue
    where convert_from(body, 'UTF8')::jsonb ->> 'run_id' = :'pgtap_run'),
  '^t=[0-9]+,v1=[0-9a-f]{64}$', 'the queued request carries x-reminder-signature: t=<seconds>,v1=<hex>');
select is(
  (select headers ? 'Authorization' from net.http_request_queue where convert_from(body, 'UTF8')::jsonb ->> 'run_id' = :'pgtap_run'),
  false, 'the queued request carries no Authorization header');
-- The signature is HMAC-SHA256 of t.run_id.triggered_at.job_name under Vault's key.
select is(
  (select headers ->> 'x-reminder-signature' from net.http_request_queue where convert_from(body, 'UTF8')::jsonb ->> 'run_id' = :'pgtap_run'),
  (select format('t=%s,v1=%s', t, encode(extensions.hmac(convert_to(format('%s.%s.%s.%s', t, b ->> 'run_id', b ->> 'triggered_at', b ->> 'job_name'), 'UTF8'),
                                                      convert_to(repeat('k', 64), 'UTF8'), 'sha256'), 'hex'))
     from (select convert_from(body, 'UTF8')::jsonb as b,
                  substring(headers ->> 'x-reminder-signature' from '^t=([0-9]+),') as t
             from net.http_request_queue where convert_from(body, 'UTF8')::jsonb ->> 'run_id' = :'pgtap_run') q),
  'v1 is the HMAC-SHA256 of "<t>.<run_id>.<triggered_at>.<job_name>" under reminder_signing_key');

-- cron_runner may not append a row dated ahead (nor any outcome: RLS lets it append only a skip of now).
select throws_ok($$set local role cron_runner;
  insert into public.cron_execution_log (job_name, status, triggered_at) values ('pgtap-future', 'dispatched', now() + interval '10 years')$$,
  '42501', null, 'cron_runner cannot append a row dated ahead');
-- And one there all the same (written by the owner, or by a clock set wrong) does not make the next dispatch a skip.
insert into public.cron_execution_log (job_name, status, triggered_at) values ('pgtap-future', 'dispatched', now() + interval '10 years');
select public.dispatch_reminder_run('pgtap-future') as future_run \gset
select is((select status from public.cron_execution_log where id = :'future_run'), 'dispatched',
  'the next dispatch goes out, not skipped behind the forged row');

-- Supabase's default grants on the log's identity sequence are taken back.
select sequence_privs_are('public', 'cron_execution_log_id_seq', 'anon', array[]::text[], 'anon has nothing on the log''s sequence');
select sequence_privs_are('public', 'cron_execution_log_id_seq', 'authenticated', array[]::text[], 'authenticated has nothing on the log''s sequence');
select sequence_privs_are('public', 'cron_execution_log_id_seq', 'service_role', array[]::text[], 'service_role has nothing on the log''s sequence');

-- The interval setting reads only its own settings (Vault holds the signing key too) and never
-- quotes a value.
select throws_ok($$select public.reminder_cron_interval_setting('reminder_signing_key', '1 day')$$,
  '22023', '''reminder_signing_key'' is not a reminder-cron interval setting', 'another Vault secret cannot be read through the setting');

select vault.create_secret('not an interval', 'reminder_catch_up_window')
 where not exists (select 1 from vault.secrets where name = 'reminder_catch_up_window');
select vault.update_secret(id, 'not an interval') from vault.secrets where name = 'reminder_catch_up_window';
select throws_ok($$select public.reminder_cron_interval_setting('reminder_catch_up_window', '6 hours')$$,
  '22023', 'Vault secret reminder_catch_up_window does not hold an interval', 'a bad setting is named, its value is not quoted');

-- The foreign key notifications.run_id has an index (deleting a run must not scan every notification).
select has_index('public', 'notifications', 'notifications_run_id_idx', array['run_id'], 'notifications.run_id is indexed');

select * from finish();
rollback;
