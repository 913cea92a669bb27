-- Stand-in for supabase_vault 0.3.1, installed by supabase_admin only where the real extension is absent.
-- It has the real extension's SQL surface (see ../shared/reference/supabase_vault-0.3-api.md): the same
-- table, view, functions, argument names and defaults, unique-name behaviour and Supabase's grants, so
-- nothing of ours can depend on a difference. Secrets are encrypted at rest with pgcrypto (AES-256 with an
-- HMAC-SHA256 tag over the ciphertext and the secret id); the key lives in a file in the data directory,
-- outside every table, readable only through a superuser-owned function nobody else may execute. Each
-- function pins search_path to pg_catalog, pg_temp: an empty one still looks up types in the caller's
-- pg_temp first, where a domain's check would run as supabase_admin.

create schema vault;

create function vault._stand_in_key(context bytea, key_id bigint)
returns bytea
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select extensions.hmac(context || convert_to(key_id::text, 'utf8'),
                         decode(trim(both e'\n' from pg_catalog.pg_read_file('vault_stand_in.key')), 'hex'),
                         'sha256')
$$;
revoke all on function vault._stand_in_key(bytea, bigint) from public;

create function vault._crypto_aead_det_noncegen()
returns bytea
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$ select extensions.gen_random_bytes(16) $$;

create function vault._crypto_aead_det_encrypt(message bytea, additional bytea, key_id bigint,
                                               context bytea default '\x7067736f6469756d'::bytea,
                                               nonce bytea default null::bytea)
returns bytea
language plpgsql
immutable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  k          bytea := vault._stand_in_key(context, key_id);
  iv         bytea := substr(coalesce(nonce, extensions.hmac(additional || message, k, 'sha256')), 1, 16);
  ciphertext bytea := extensions.encrypt_iv(message, k, iv, 'aes');
begin
  return iv || substr(extensions.hmac(iv || additional || ciphertext, k, 'sha256'), 1, 16) || ciphertext;
end
$$;

create function vault._crypto_aead_det_decrypt(message bytea, additional bytea, key_id bigint,
                                               context bytea default '\x7067736f6469756d'::bytea,
                                               nonce bytea default null::bytea)
returns bytea
language plpgsql
immutable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  k          bytea := vault._stand_in_key(context, key_id);
  iv         bytea := substr(message, 1, 16);
  tag        bytea := substr(message, 17, 16);
  ciphertext bytea := substr(message, 33);
begin
  if tag is distinct from substr(extensions.hmac(iv || additional || ciphertext, k, 'sha256'), 1, 16) then
    raise exception 'vault: the secret does not authenticate with its key and id (it was altered or moved)';
  end if;
  return extensions.decrypt_iv(ciphertext, k, iv, 'aes');
end
$$;

create table vault.secrets (
  id          uuid        not null default gen_random_uuid() primary key,
  name        text,
  description text        not null default '',
  secret      text        not null,
  key_id      uuid,
  nonce       bytea       default vault._crypto_aead_det_noncegen(),
  created_at  timestamptz not null default current_timestamp,
  updated_at  timestamptz not null default current_timestamp
);
create unique index secrets_name_idx on vault.secrets (name) where name is not null;

create view vault.decrypted_secrets as
select s.id,
       s.name,
       s.description,
       s.secret,
       convert_from(vault._crypto_aead_det_decrypt(message    => decode(s.secret, 'base64'),
                                                   additional => convert_to(s.id::text, 'utf8'),
                                                   key_id     => 0,
                                                   context    => '\x7067736f6469756d'::bytea,
                                                   nonce      => s.nonce),
                    'utf8') collate "C" as decrypted_secret,
       s.key_id,
       s.nonce,
       s.created_at,
       s.updated_at
  from vault.secrets s;

create function vault.create_secret(new_secret text, new_name text default null::text,
                                    new_description text default ''::text, new_key_id uuid default null::uuid)
returns uuid
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  rec record;
begin
  insert into vault.secrets (secret, name, description)
  values (new_secret, new_name, new_description)
  returning * into rec;

  update vault.secrets s
     set secret = encode(vault._crypto_aead_det_encrypt(message    => convert_to(rec.secret, 'utf8'),
                                                        additional => convert_to(s.id::text, 'utf8'),
                                                        key_id     => 0,
                                                        context    => 'pgsodium'::bytea,
                                                        nonce      => rec.nonce), 'base64')
   where id = rec.id;

  return rec.id;
end
$$;

create function vault.update_secret(secret_id uuid, new_secret text default null::text, new_name text default null::text,
                                    new_description text default null::text, new_key_id uuid default null::uuid)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  update vault.secrets s
     set secret      = case when new_secret is null then s.secret
                            else encode(vault._crypto_aead_det_encrypt(message    => convert_to(new_secret, 'utf8'),
                                                                       additional => convert_to(s.id::text, 'utf8'),
                                                                       key_id     => 0,
                                                                       context    => 'pgsodium'::bytea,
                                                                       nonce      => s.nonce), 'base64')
                       end,
         name        = coalesce(new_name, s.name),
         description = coalesce(new_description, s.description),
         updated_at  = now()
   where s.id = secret_id;
end
$$;

-- Supabase's grants: postgres may read and delete secrets and call the two entry points; nobody else may.
revoke all on all functions in schema vault from public;
grant usage on schema vault to postgres with grant option;
grant select, delete on vault.secrets, vault.decrypted_secrets to postgres with grant option;
grant execute on function vault.create_secret(text, text, text, uuid),
                          vault.update_secret(uuid, text, text, text, uuid),
                          vault._crypto_aead_det_decrypt(bytea, bytea, bigint, bytea, bytea),
                          vault._crypto_aead_det_noncegen()
  to postgres with grant option;
