-- What Supabase's pg_cron event trigger gives `postgres` once supabase_admin has created the extension:
-- the cron schema with grant option, every table and function in it, but only SELECT on cron.job
-- (jobs are changed through cron.schedule / cron.alter_job / cron.unschedule, never by hand).

grant usage on schema cron to postgres with grant option;
grant all on all tables    in schema cron to postgres with grant option;
grant all on all sequences in schema cron to postgres with grant option;
grant all on all functions in schema cron to postgres with grant option;
revoke all on table cron.job from postgres;
grant select on table cron.job to postgres with grant option;
