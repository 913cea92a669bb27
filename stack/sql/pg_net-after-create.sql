-- What Supabase's platform runs after `create extension pg_net` (supabase/postgres, the event trigger
-- extensions.grant_pg_net_access() of migrations/db/migrations/20250220051611_pg_net_perms_fix.sql): usage on
-- schema net for postgres and the API roles. pg_net 0.12+ itself grants its tables to PUBLIC.
grant usage on schema net to postgres, anon, authenticated, service_role;
