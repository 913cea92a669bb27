-- Stand-in for pg_net 0.20.4, installed by supabase_admin only where the real extension is absent.
-- The SQL surface is the real one (see ../shared/reference/pg_net-0.20-api.md): schema, types, unlogged
-- tables, function names, argument names, defaults and grants. The C background worker is replaced by
-- stack/net-worker.ts, which consumes net.http_request_queue after the enqueuing transaction commits and
-- writes net._http_response exactly as pg_net's worker does.

create schema net;

create domain net.http_method as text
  check (value ilike 'get' or value ilike 'post' or value ilike 'delete');

create type net.request_status as enum ('PENDING', 'SUCCESS', 'ERROR');
create type net.http_response as (status_code integer, headers jsonb, body text);
create type net.http_response_result as (status net.request_status, message text, response net.http_response);

create unlogged table net.http_request_queue (
  id                   bigserial       not null,
  method               net.http_method not null,
  url                  text            not null,
  headers              jsonb,
  body                 bytea,
  timeout_milliseconds integer         not null
);

create unlogged table net._http_response (
  id           bigint,
  status_code  integer,
  content_type text,
  headers      jsonb,
  content      text,
  timed_out    boolean,
  error_msg    text,
  created      timestamptz not null default now()
);
create index _http_response_created_idx on net._http_response (created);

-- The worker LISTENs on this channel; NOTIFY is delivered only at commit, so a rolled-back request is never sent.
create function net.wake()
returns void
language sql
volatile
as $$ select pg_notify('pg_net_stand_in', '') $$;

create function net.check_worker_is_up()
returns void
language plpgsql
as $$
begin
  if not exists (select 1 from pg_stat_activity where application_name = 'pg_net stand-in worker') then
    raise exception 'the pg_net background worker is not up'
      using hint = 'Start the local stack (npm run db:start); it starts the worker with the database.';
  end if;
end
$$;

create function net.wait_until_running()
returns void
language plpgsql
as $$
begin
  for i in 1..100 loop
    if exists (select 1 from pg_stat_activity where application_name = 'pg_net stand-in worker') then
      return;
    end if;
    perform pg_sleep(0.1);
    -- pg_stat_activity is read once per transaction unless the snapshot is cleared.
    perform pg_stat_clear_snapshot();
  end loop;
  perform net.check_worker_is_up();
end
$$;

create function net.worker_restart()
returns boolean
language sql
as $$
  select coalesce(bool_or(pg_terminate_backend(pid)), false)
    from pg_stat_activity
   where application_name = 'pg_net stand-in worker'
$$;

create function net._urlencode_string(string character varying)
returns text
language plpgsql
immutable
as $$
declare
  result text := '';
  ch     text;
begin
  foreach ch in array regexp_split_to_array(string::text, '') loop
    if ch ~ '[A-Za-z0-9._~-]' then
      result := result || ch;
    else
      result := result || upper(regexp_replace(encode(convert_to(ch, 'utf8'), 'hex'), '(..)', '%\1', 'g'));
    end if;
  end loop;
  return result;
end
$$;

create function net._encode_url_with_params_array(url text, params_array text[])
returns text
language sql
immutable
as $$
  select case when coalesce(array_length(params_array, 1), 0) = 0 then url
              else url || case when url like '%?%' then '&' else '?' end || array_to_string(params_array, '&')
         end
$$;

-- The three request functions share one body: encode the params into the url, enqueue, wake the worker.
-- It is repeated rather than factored into a helper so the schema has exactly pg_net's functions.
create function net.http_get(url text, params jsonb default '{}'::jsonb, headers jsonb default '{}'::jsonb,
                             timeout_milliseconds integer default 5000)
returns bigint
language plpgsql
volatile
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('GET',
          net._encode_url_with_params_array(url, (select array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value))
                                                    from jsonb_each_text(coalesce(params, '{}'::jsonb)))),
          headers, null, timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

create function net.http_post(url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
                              headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
                              timeout_milliseconds integer default 5000)
returns bigint
language plpgsql
volatile
as $$
declare
  request_id   bigint;
  content_type text;
begin
  select value into content_type
    from jsonb_each_text(coalesce(headers, '{}'::jsonb))
   where lower(key) = 'content-type'
   limit 1;
  if content_type is null then
    headers := coalesce(headers, '{}'::jsonb) || '{"Content-Type": "application/json"}'::jsonb;
  elsif content_type <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST',
          net._encode_url_with_params_array(url, (select array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value))
                                                    from jsonb_each_text(coalesce(params, '{}'::jsonb)))),
          headers, convert_to(body::text, 'utf8'), timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

create function net.http_delete(url text, params jsonb default '{}'::jsonb, headers jsonb default '{}'::jsonb,
                                timeout_milliseconds integer default 5000, body jsonb default null::jsonb)
returns bigint
language plpgsql
volatile
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('DELETE',
          net._encode_url_with_params_array(url, (select array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value))
                                                    from jsonb_each_text(coalesce(params, '{}'::jsonb)))),
          headers, convert_to(body::text, 'utf8'), timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

create function net._await_response(request_id bigint)
returns boolean
language plpgsql
volatile
as $$
begin
  loop
    if exists (select 1 from net._http_response r where r.id = request_id) then
      return true;
    end if;
    perform pg_sleep(0.05);
  end loop;
end
$$;

create function net._http_collect_response(request_id bigint, async boolean default true)
returns net.http_response_result
language plpgsql
volatile
as $$
declare
  rec net._http_response;
begin
  if not async then
    perform net._await_response(request_id);
  end if;
  select * into rec from net._http_response r where r.id = request_id;
  if rec.id is null then
    return ('PENDING', 'request is pending', null)::net.http_response_result;
  elsif rec.error_msg is not null then
    return ('ERROR', rec.error_msg, null)::net.http_response_result;
  end if;
  return ('SUCCESS', 'ok', (rec.status_code, rec.headers, rec.content)::net.http_response)::net.http_response_result;
end
$$;

create function net.http_collect_response(request_id bigint, async boolean default true)
returns net.http_response_result
language sql
volatile
as $$ select net._http_collect_response(request_id, async) $$;

-- pg_net's ownership and grants, as the reference records them.
alter schema net owner to postgres;
alter table net.http_request_queue owner to postgres;
alter table net._http_response owner to postgres;
grant usage on schema net to public;
grant all on net.http_request_queue, net._http_response to public;
grant all on sequence net.http_request_queue_id_seq to public;
