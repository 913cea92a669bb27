-- Supabase's role model, reproduced on the throwaway cluster so every test meets the privileges production has.
-- The cluster's bootstrap superuser is supabase_admin (initdb -U supabase_admin), as on Supabase.
-- `postgres` logs in but is not a superuser; it owns the database and may create roles, bypass RLS
-- and switch to the API roles, and nothing more.

create role postgres      login createrole createdb replication bypassrls;
create role anon          nologin noinherit;
create role authenticated nologin noinherit;
create role service_role  nologin noinherit bypassrls;
create role authenticator login noinherit;

grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;

alter database postgres owner to postgres;

create schema extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
alter database postgres set search_path = "$user", public, extensions;

grant usage on schema public to postgres, anon, authenticated, service_role;

-- Supabase's default privileges: every table, sequence and function that postgres or supabase_admin creates
-- in public is granted to the API roles. Our migrations must revoke what they do not want exposed.
alter default privileges for role postgres in schema public grant all on tables    to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on tables    to anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on functions to anon, authenticated, service_role;
