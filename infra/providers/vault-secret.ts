/**
 * A Supabase Vault secret as a Pulumi resource: upserted by name with vault.create_secret /
 * vault.update_secret, and read back from vault.decrypted_secrets so `pulumi refresh` sees a value changed
 * outside Pulumi (a secret is compared by value, not by its ciphertext, which changes on every write).
 *
 * The value is a secret input and a secret output (`additionalSecretOutputs`): state holds it encrypted,
 * and no other output repeats it; `read` returns the live secret as the inputs too, for an exact preview
 * after a refresh. The id is Vault's uuid of the secret.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Client } from "pg";
import { ConfigSource, DbConnection, connectionFromConfig, inTransaction, providerCodeChanged, unknownValue } from "./db";

interface Inputs {
  /** vault.secrets.name: what the SQL reads it by. */
  name: string;
  /** The plaintext. */
  value: string;
  description: string;
}

type Outputs = Inputs;

export type VaultSecretProviderInputs = Inputs;
export type VaultSecretProviderOutputs = Outputs;

export interface VaultSecretInputs {
  name: pulumi.Input<Inputs["name"]>;
  /** Pass a secret (pulumi.secret or config.requireSecret) for a credential; it stays secret either way. */
  value: pulumi.Input<Inputs["value"]>;
  /** Default: "managed by Pulumi (reminder-cron)". */
  description?: pulumi.Input<Inputs["description"]>;
}

export interface VaultSecret {
  readonly name: pulumi.Output<Outputs["name"]>;
  readonly value: pulumi.Output<Outputs["value"]>;
  readonly description: pulumi.Output<Outputs["description"]>;
}

export const vaultSecretNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;
const defaultDescription = "managed by Pulumi (reminder-cron)";

interface SecretRow {
  id: string;
  name: string;
  description: string;
  value: string;
}

async function secretWhere(client: Client, column: "id" | "name", key: string): Promise<SecretRow | undefined> {
  const { rows } = await client.query<SecretRow>(
    `select id, name, description, decrypted_secret as value from vault.decrypted_secrets where ${column === "id" ? "id = $1::uuid" : "name = $1"}`,
    [key],
  );
  return rows[0];
}

const isUuid = (id: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);

const outputsOf = (row: SecretRow): Outputs => ({ name: row.name, value: row.value, description: row.description });

/** The fields that differ; a new name replaces the secret (names are unique in Vault, and SQL reads by name). */
export function changedFields(current: Inputs, wanted: Inputs): (keyof Inputs)[] {
  return (["name", "value", "description"] as const).filter((field) => current[field] !== wanted[field]);
}

/** Exported for the tests that drive it directly; programs use the VaultSecret resource. */
export const vaultSecretProvider = {
  connection: undefined as DbConnection | undefined,

  async configure(request: { config: ConfigSource }): Promise<void> {
    this.connection = connectionFromConfig(request.config);
  },

  async check(_olds: Partial<Inputs>, news: Inputs): Promise<{ inputs: Inputs; failures: pulumi.dynamic.CheckFailure[] }> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const known = (value: unknown) => value !== unknownValue;
    if (known(news.name) && !(typeof news.name === "string" && vaultSecretNamePattern.test(news.name))) {
      failures.push({ property: "name", reason: `'${news.name}' is not a Vault secret name we use: lower-case letters, digits and '_'` });
    }
    // Never quote the value in a failure: it may be a credential.
    if (known(news.value) && !(typeof news.value === "string" && news.value !== "")) {
      failures.push({ property: "value", reason: "the secret's value is empty; the SQL that reads it treats empty as missing" });
    }
    return { inputs: { ...news, description: news.description ?? defaultDescription }, failures };
  },

  async diff(_id: string, olds: Outputs, news: Inputs): Promise<pulumi.dynamic.DiffResult> {
    const changed = changedFields(olds, news);
    if (changed.includes("name")) return { changes: true, replaces: ["name"], deleteBeforeReplace: true };
    return { changes: changed.length > 0 || providerCodeChanged(olds, news) };
  },

  async create(inputs: Inputs): Promise<{ id: string; outs: Outputs }> {
    return inTransaction(this.connection, async (client) => {
      // Upsert by name: a secret created by hand (the migration's instructions) is adopted, not duplicated.
      const existing = await secretWhere(client, "name", inputs.name);
      let id: string;
      if (existing) {
        id = existing.id;
        await client.query("select vault.update_secret($1::uuid, $2, null, $3)", [id, inputs.value, inputs.description]);
      } else {
        const { rows } = await client.query<{ id: string }>("select vault.create_secret($1, $2, $3) as id", [inputs.value, inputs.name, inputs.description]);
        id = rows[0].id;
      }
      return { id, outs: outputsOf((await secretWhere(client, "id", id))!) };
    });
  },

  async read(id: string, props?: Outputs): Promise<{ id: string; props?: Outputs; inputs?: Inputs }> {
    return inTransaction(this.connection, async (client) => {
      // By id; if that secret was deleted and re-created by hand under the same name, follow the name.
      const row = (isUuid(id) ? await secretWhere(client, "id", id) : undefined) ?? (props?.name ? await secretWhere(client, "name", props.name) : undefined);
      if (!row) return { id: "" };
      // The live secret is also the inputs, so the preview after a refresh names what drifted (without
      // them the engine keeps the old inputs, equal to the program's, and shows an update with no property
      // line). A secret value stays secret: for a provider that takes no secrets the engine marks each
      // returned input secret whose same-named old input was (pulumi/pulumi provider_plugin.go, Read).
      const live = outputsOf(row);
      return { id: row.id, props: live, inputs: live };
    });
  },

  async update(id: string, _olds: Outputs, news: Inputs): Promise<{ outs: Outputs }> {
    return inTransaction(this.connection, async (client) => {
      if (!(await secretWhere(client, "id", id))) {
        throw new Error(`Vault secret ${news.name} (id ${id}) no longer exists. Fix: pulumi refresh, then pulumi up creates it again.`);
      }
      await client.query("select vault.update_secret($1::uuid, $2, null, $3)", [id, news.value, news.description]);
      return { outs: outputsOf((await secretWhere(client, "id", id))!) };
    });
  },

  async delete(id: string, _props?: Outputs): Promise<void> {
    await inTransaction(this.connection, async (client) => {
      // Deleting a secret already gone deletes nothing, which is the wanted end state.
      if (isUuid(id)) await client.query("delete from vault.secrets where id = $1::uuid", [id]);
    });
  },
} satisfies pulumi.dynamic.ResourceProvider<Inputs, Outputs> & { connection: DbConnection | undefined };

/**
 * A Supabase Vault secret, upserted by name.
 *
 * @example
 * new VaultSecret("signing-key", { name: "reminder_signing_key", value: config.requireSecret("signingKey") });
 */
export class VaultSecret extends pulumi.dynamic.Resource {
  constructor(name: string, args: VaultSecretInputs, opts?: pulumi.CustomResourceOptions) {
    // The value is secret in state and outputs even when the caller passed it in plain text.
    const secretValue = pulumi.mergeOptions(opts, { additionalSecretOutputs: ["value"] });
    super(vaultSecretProvider, name, { description: undefined, ...args }, secretValue, "reminder-cron", "VaultSecret");
  }
}
