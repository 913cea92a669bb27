/**
 * The VaultSecret dynamic provider for real, against the local stack's Vault (the stand-in with
 * supabase_vault 0.3's SQL surface and grants), as Supabase's non-superuser `postgres`. Every secret here
 * is a probe named pulumi_test_*; the values are throwaway strings, never credentials.
 */
import { vaultSecretProvider, VaultSecretProviderInputs as Inputs } from "../../infra/providers/vault-secret";
import { withClient } from "../support/db";
import { configOf, localStackConfigValues, probeSecretPrefix, removeProbes, secretsNamed } from "../support/pulumi-providers";

const provider = vaultSecretProvider;
const name = `${probeSecretPrefix}secret`;
const wanted: Inputs = { name, value: "probe-value-1", description: "probe" };
const stored = () => withClient((client) => secretsNamed(client, name));

beforeAll(() => provider.configure({ config: configOf(localStackConfigValues()) }));
beforeEach(removeProbes);
afterAll(removeProbes);

describe("check", () => {
  test("refuses an empty value without quoting any value, and a name SQL could not read it by", async () => {
    const { failures } = await provider.check({} as Inputs, { name: "Bad Name", value: "", description: "x" });
    expect(failures).toEqual([
      { property: "name", reason: "'Bad Name' is not a Vault secret name we use: lower-case letters, digits and '_'" },
      { property: "value", reason: "the secret's value is empty; the SQL that reads it treats empty as missing" },
    ]);
  });

  test("fills in the default description", async () => {
    const { inputs } = await provider.check({} as Inputs, { name, value: "v" } as Inputs);
    expect(inputs).toEqual({ name, value: "v", description: "managed by Pulumi (reminder-cron)" });
  });
});

describe("create", () => {
  test("stores the value encrypted under the name and returns Vault's id", async () => {
    const { id, outs } = await provider.create(wanted);
    const rows = await stored();
    expect(rows).toEqual([{ id, value: "probe-value-1", description: "probe" }]);
    expect(outs).toEqual(wanted);
    const { rows: raw } = await withClient((client) => client.query("select secret from vault.secrets where id = $1", [id]));
    expect(raw[0].secret).not.toContain("probe-value-1");
  });

  test("adopts a secret of the same name created by hand, keeping its id and setting the value", async () => {
    const byHand = await withClient(async (client) => (await client.query("select vault.create_secret('by-hand', $1) as id", [name])).rows[0].id);
    const { id } = await provider.create(wanted);
    expect(id).toBe(byHand);
    expect(await stored()).toEqual([{ id: byHand, value: "probe-value-1", description: "probe" }]);
  });

  test("twice gives one secret", async () => {
    await provider.create(wanted);
    await provider.create({ ...wanted, value: "probe-value-2" });
    expect((await stored()).map((row) => row.value)).toEqual(["probe-value-2"]);
  });
});

describe("read (what refresh sees)", () => {
  test("sees a value changed outside Pulumi, and diff then reports a change", async () => {
    const { id, outs } = await provider.create(wanted);
    await withClient((client) => client.query("select vault.update_secret($1, 'changed-by-hand')", [id]));

    const read = await provider.read(id, outs);

    // The live secret is also the inputs refresh stores, so the next preview names the drifted property.
    expect(read).toEqual({ id, props: { ...wanted, value: "changed-by-hand" }, inputs: { ...wanted, value: "changed-by-hand" } });
    expect(await provider.diff(id, read.props!, wanted)).toEqual({ changes: true });
  });

  test("follows the name when the secret was deleted and re-created by hand", async () => {
    const { id, outs } = await provider.create(wanted);
    const recreated = await withClient(async (client) => {
      await client.query("delete from vault.secrets where id = $1", [id]);
      return (await client.query("select vault.create_secret('again', $1, 'probe') as id", [name])).rows[0].id;
    });
    expect(await provider.read(id, outs)).toEqual({ id: recreated, props: { ...wanted, value: "again" }, inputs: { ...wanted, value: "again" } });
  });

  test("returns a blank id once the secret was deleted outside Pulumi", async () => {
    const { id, outs } = await provider.create(wanted);
    await withClient((client) => client.query("delete from vault.secrets where id = $1", [id]));
    expect(await provider.read(id, outs)).toEqual({ id: "" });
  });
});

describe("diff", () => {
  test("reports nothing when equal, an in-place change for value or description, and a replacement for a new name", async () => {
    expect(await provider.diff("id", wanted, { ...wanted })).toEqual({ changes: false });
    expect(await provider.diff("id", wanted, { ...wanted, value: "other" })).toEqual({ changes: true });
    expect(await provider.diff("id", wanted, { ...wanted, description: "other" })).toEqual({ changes: true });
    expect(await provider.diff("id", wanted, { ...wanted, name: `${name}_2` })).toEqual({ changes: true, replaces: ["name"], deleteBeforeReplace: true });
  });
});

describe("update", () => {
  test("writes the new value and description under the same id", async () => {
    const { id, outs } = await provider.create(wanted);
    const { outs: updated } = await provider.update(id, outs, { ...wanted, value: "probe-value-3", description: "probe 2" });
    expect(await stored()).toEqual([{ id, value: "probe-value-3", description: "probe 2" }]);
    expect(updated).toEqual({ name, value: "probe-value-3", description: "probe 2" });
  });

  test("fails with the fix, and without the value, when the secret no longer exists", async () => {
    const { id, outs } = await provider.create(wanted);
    await withClient((client) => client.query("delete from vault.secrets where id = $1", [id]));
    const error: Error = await provider.update(id, outs, { ...wanted, value: "probe-value-4" }).catch((e) => e);
    expect(error.message).toBe(`Vault secret ${name} (id ${id}) no longer exists. Fix: pulumi refresh, then pulumi up creates it again.`);
    expect(error.message).not.toContain("probe-value");
  });
});

describe("delete", () => {
  test("deletes the secret, and succeeds when it is already gone", async () => {
    const { id, outs } = await provider.create(wanted);
    await provider.delete(id, outs);
    expect(await stored()).toEqual([]);
    await expect(provider.delete(id, outs)).resolves.toBeUndefined();
  });
});
