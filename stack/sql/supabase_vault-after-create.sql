-- What Supabase's platform runs after `create extension supabase_vault` (supabase/postgres,
-- ansible/files/postgresql_extension_custom_scripts/supabase_vault/after-create.sql): the extension grants
-- nothing itself, so without this `postgres` cannot store or read a secret. The stand-in grants the same.
grant usage on schema vault to postgres with grant option;
grant select, delete on vault.secrets, vault.decrypted_secrets to postgres with grant option;
grant execute on function vault.create_secret,
                          vault.update_secret,
                          vault._crypto_aead_det_decrypt
   to postgres with grant option;
