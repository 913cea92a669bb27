/** Writing a Vault secret by name, whether or not it exists yet; the value never leaves this call. */
import { Client } from "pg";

export async function ensureSecret(client: Client, name: string, value: string): Promise<void> {
  const { rows } = await client.query("select id from vault.secrets where name = $1", [name]);
  if (rows[0]) await client.query("select vault.update_secret($1, $2)", [rows[0].id, value]);
  else await client.query("select vault.create_secret($1, $2)", [value, name]);
}
