/**
 * `pulumi up`'s deploy of the Edge Function and its secrets, for real: the program is run (under mocks) to
 * get the EdgeFunctionSecrets, EdgeFunction and VaultSecret registrations exactly as it makes them, and
 * the SDK's dynamic-provider host, in its own process, runs them in the program's order against the local
 * Management API (tests/support/management-api.ts), which deploys onto the local stack's functions server.
 * Then the daily job's dispatch runs, signed, and the log says `succeeded`, with no step by hand between.
 *
 * The tests run in file order and build on each other, as successive `pulumi up`s do on one stack: the
 * first deploys, the next ones change what the one before left.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { reminderFunction } from "../../infra/config";
import { sha256Hex } from "../../infra/providers/edge-function-secrets";
import { defaultJobName, vaultSecrets } from "../../infra/sql/names";
import { functionEndpoint, functionsDir, storeSigningKey } from "../../stack/edge-functions";
import { stack, withClient } from "../support/db";
import { FakeManagementApi, startManagementApi } from "../support/management-api";
import { engineInputs, ProviderHost, startProviderHost, urnOf } from "../support/pulumi-host";
import { ofType, runProgram } from "../support/pulumi-mocks";
import { localStackConfigValues } from "../support/pulumi-providers";
import { dispatchAndReconcile, LogRow, pointVaultAt } from "../support/trigger";

type Props = Record<string, any>;

const projectRef = "localprojectrefabcde";
const token = "sbp_local0test0token0e5f60718293a4b5c6d7e8f90";
const keys = {
  signingKey: "deploy-test-signing-key-1-0123456789abcdef0123",
  sharedSecret: "deploy-test-shared-secret-0123456789abcdef0123",
  rotatedKey: "deploy-test-signing-key-2-fedcba9876543210fedc",
};
const types = {
  functionSecrets: "pulumi-nodejs:dynamic/reminder-cron:EdgeFunctionSecrets",
  edgeFunction: "pulumi-nodejs:dynamic/reminder-cron:EdgeFunction",
  vaultSecret: "pulumi-nodejs:dynamic/reminder-cron:VaultSecret",
};
const urns = { functionSecrets: urnOf("EdgeFunctionSecrets", "reminder-cron-function-secrets"), edgeFunction: urnOf("EdgeFunction", "reminder-cron-function") };

// Not tests/support/reminder-scheduler.ts: it loads supabase-js, which leaves TypeScript's __importStar
// helper on the global object, and the SDK's serializer then leaves it out of the providers it serializes
// here (their `await import("pg")` fails in the host with "__importStar is not defined").
const endpoint = () => functionEndpoint(stack());

let api: FakeManagementApi;
let host: ProviderHost;
let restoreUrl: (client: Client) => Promise<void>;
/** What state holds after the last step: each resource's checked inputs, id and outputs. */
const state: Record<"functionSecrets" | "edgeFunction", { inputs: Props; id: string; props: Props }> = {} as never;

/** The stack config as the engine hands it to every provider's configure(): the local stack's, secrets in plain text. */
const engineConfig = (overrides: Record<string, string> = {}) => ({
  ...localStackConfigValues(),
  "reminder-cron:functionUrl": endpoint().url,
  "reminder-cron:supabaseProjectRef": projectRef,
  "reminder-cron:supabaseApiUrl": api.url,
  "reminder-cron:supabaseAccessToken": token,
  "reminder-cron:signingKey": keys.signingKey,
  "reminder-cron:sharedSecret": keys.sharedSecret,
  ...overrides,
});

/** The program's registrations for this config: the function's secrets, the function, and the Vault secrets, as the host receives them. */
async function programFor(config: Record<string, string>) {
  const run = await runProgram({ stack: "test", config, secretKeys: ["signingKey", "sharedSecret", "supabaseAccessToken", "previousSigningKey"] });
  if (run.error) throw run.error;
  const one = (type: string) => engineInputs(ofType(run, type)[0].inputs) as Props;
  const vault = Object.fromEntries(ofType(run, types.vaultSecret).map((r) => [r.inputs.name, { name: r.name, inputs: engineInputs(r.inputs) as Props }]));
  return { functionSecrets: one(types.functionSecrets), edgeFunction: one(types.edgeFunction), vault, registrations: run.registrations };
}

/** What a preview shows for a dynamic resource: each input that differs, old => new. */
function propertyChanges(old: Props, wanted: Props): Record<string, [unknown, unknown]> {
  const keysOf = [...new Set([...Object.keys(old), ...Object.keys(wanted)])].filter((key) => key !== "__provider");
  return Object.fromEntries(keysOf.filter((key) => JSON.stringify(old[key]) !== JSON.stringify(wanted[key])).map((key) => [key, [old[key], wanted[key]]]));
}

/** `pulumi up` for one resource: check, then create or (when diff says so) update, recorded as state. */
async function up(which: "functionSecrets" | "edgeFunction", news: Props): Promise<"created" | "updated" | "unchanged"> {
  const urn = urns[which];
  const before = state[which];
  const checked = await host.check(urn, before?.inputs ?? {}, news);
  expect(checked.failures).toEqual([]);
  if (!before) {
    const created = await host.create(urn, checked.inputs);
    state[which] = { inputs: checked.inputs, id: created.id, props: created.properties };
    return "created";
  }
  const diff = await host.diff(urn, before.id, before.props, checked.inputs);
  if (diff.changes === "none") return "unchanged";
  const updated = await host.update(urn, before.id, before.props, checked.inputs);
  state[which] = { inputs: checked.inputs, id: before.id, props: updated.properties };
  return "updated";
}

/** The Vault secrets the program registers, upserted by name through the same host. */
async function upVault(vault: Record<string, { name: string; inputs: Props }>): Promise<void> {
  for (const { name, inputs } of Object.values(vault)) {
    const urn = urnOf("VaultSecret", name);
    const checked = await host.check(urn, {}, inputs);
    await host.create(urn, checked.inputs);
  }
}

/** The daily job's run, as pg_cron makes it at 06:00: dispatch as cron_runner, signed with Vault's key, then reconcile. */
const scheduledRun = (): Promise<LogRow> => withClient((client) => dispatchAndReconcile(client, defaultJobName));

beforeAll(async () => {
  api = await startManagementApi(projectRef, token);
  host = await startProviderHost();
  await host.configure(engineConfig());
  restoreUrl = await withClient((client) => pointVaultAt(client, endpoint().url));
}, 60_000);

afterAll(async () => {
  await host?.stop();
  // The lane's later files expect the stack's own function, credentials and Vault key.
  await api?.restore();
  await withClient(async (client) => {
    await storeSigningKey(client);
    await restoreUrl?.(client);
  });
  await api?.close();
}, 60_000);

test("pulumi up sets the secrets, deploys the function, then fills Vault; the next signed scheduled run succeeds with no step by hand", async () => {
  const program = await programFor(engineConfig());
  expect(await up("functionSecrets", program.functionSecrets)).toBe("created");
  expect(await up("edgeFunction", program.edgeFunction)).toBe("created");
  await upVault(program.vault);

  // In the program's order: the secrets the function needs, then the function.
  const writes = api.requests.filter((request) => request.method !== "GET").map((request) => `${request.method} ${request.url.replace(/\?.*$/, "")}`);
  expect(writes).toEqual([`POST /v1/projects/${projectRef}/secrets`, `POST /v1/projects/${projectRef}/functions/deploy`]);
  expect(api.secrets).toEqual(new Map([["REMINDER_SIGNING_KEY", keys.signingKey], ["REMINDER_SHARED_SECRET", keys.sharedSecret]]));
  expect(api.functions.get(reminderFunction.slug)).toMatchObject({ version: 1, verify_jwt: false, entrypoint_path: "reminder-scheduler/index.ts", import_map_path: "reminder-scheduler/deno.json" });
  // The very files of supabase/functions, _shared included, are what the stack's functions server now serves.
  expect(readFileSync(join(api.functionsDir, "_shared", "signature.ts"), "utf8")).toBe(readFileSync(join(functionsDir, "_shared", "signature.ts"), "utf8"));

  // State holds digests in the clear and values only where the engine keeps them secret (the `secrets` output).
  expect(state.functionSecrets.props.secretDigests).toEqual({ REMINDER_SIGNING_KEY: sha256Hex(keys.signingKey), REMINDER_SHARED_SECRET: sha256Hex(keys.sharedSecret) });
  const { secrets: _secretOutput, ...plainOutputs } = state.functionSecrets.props;
  const everythingPlain = JSON.stringify([plainOutputs, state.edgeFunction.props]);
  for (const secret of [keys.signingKey, keys.sharedSecret, token]) expect(everythingPlain).not.toContain(secret);
  expect(state.edgeFunction.props).toMatchObject({ version: 1, status: "ACTIVE", checksum: api.functions.get(reminderFunction.slug)!.ezbr_sha256 });
  expect(api.requests.every((request) => !request.url.includes(token) && !request.body.includes(token))).toBe(true);

  const row = await scheduledRun();
  expect(row).toMatchObject({ status: "succeeded", http_status: 200, error_message: null });
});

test("a second run with nothing changed: check gives the same inputs, and diff reports no change for either resource", async () => {
  const program = await programFor(engineConfig());
  const deploysBefore = api.functions.get(reminderFunction.slug)!.version;
  for (const which of ["functionSecrets", "edgeFunction"] as const) {
    const checked = await host.check(urns[which], state[which].inputs, program[which]);
    expect(checked.inputs).toEqual(state[which].inputs);
    expect(await host.diff(urns[which], state[which].id, state[which].props, checked.inputs)).toEqual({ changes: "none", replaces: [], deleteBeforeReplace: false });
  }
  // A refresh sees the same: nothing was changed outside Pulumi.
  const refreshed = await host.read(urns.edgeFunction, state.edgeFunction.id, state.edgeFunction.props);
  expect(await host.diff(urns.edgeFunction, state.edgeFunction.id, refreshed.properties, state.edgeFunction.inputs)).toMatchObject({ changes: "none" });
  expect(api.functions.get(reminderFunction.slug)!.version).toBe(deploysBefore);
});

test("a changed source file: diff shows a changed bundle digest, and the update deploys it", async () => {
  const copy = join(mkdtempSync(join(tmpdir(), "deploy-test-")), "functions");
  cpSync(functionsDir, copy, { recursive: true });
  try {
    const program = await programFor(engineConfig());
    const fromCopy = { ...program.edgeFunction, entrypoint: join(copy, "reminder-scheduler", "index.ts"), importMap: join(copy, "reminder-scheduler", "deno.json") };
    // The same files elsewhere are the same bundle.
    const same = await host.check(urns.edgeFunction, state.edgeFunction.inputs, fromCopy);
    expect(same.inputs.localChecksum).toBe(state.edgeFunction.inputs.localChecksum);

    writeFileSync(join(copy, "_shared", "http.ts"), "\n// a change that must reach the project\n", { flag: "a" });
    const changed = await host.check(urns.edgeFunction, state.edgeFunction.inputs, fromCopy);
    expect(await host.diff(urns.edgeFunction, state.edgeFunction.id, state.edgeFunction.props, changed.inputs)).toEqual({ changes: "some", replaces: [], deleteBeforeReplace: false });
    const lines = propertyChanges(state.edgeFunction.inputs, changed.inputs);
    expect(lines.localChecksum).toEqual([state.edgeFunction.inputs.localChecksum, expect.stringMatching(/^[0-9a-f]{64}$/)]);
    expect(lines.localChecksum[1]).not.toBe(lines.localChecksum[0]);

    expect(await up("edgeFunction", fromCopy)).toBe("updated");
    expect(api.functions.get(reminderFunction.slug)!.version).toBe(2);
    expect(readFileSync(join(api.functionsDir, "_shared", "http.ts"), "utf8")).toContain("a change that must reach the project");
    expect((await scheduledRun()).status).toBe("succeeded");
    // The program's own source again, as the next `pulumi up` from the repository deploys it.
    expect(await up("edgeFunction", program.edgeFunction)).toBe("updated");
  } finally {
    rmSync(join(copy, ".."), { recursive: true, force: true });
  }
});

test("a secret changed behind Pulumi's back: refresh shows the drift by digest, never a value, and up puts it back", async () => {
  const byHand = "set-by-hand-in-the-dashboard-0123456789abcdef";
  // As `supabase secrets set REMINDER_SHARED_SECRET=...` would.
  await fetch(`${api.url}/v1/projects/${projectRef}/secrets`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify([{ name: "REMINDER_SHARED_SECRET", value: byHand }]),
  });
  const program = await programFor(engineConfig());
  const wanted = await host.check(urns.functionSecrets, state.functionSecrets.inputs, program.functionSecrets);
  // A plain preview compares with state, which knows nothing yet.
  expect((await host.diff(urns.functionSecrets, state.functionSecrets.id, state.functionSecrets.props, wanted.inputs)).changes).toBe("none");

  const refreshed = await host.read(urns.functionSecrets, state.functionSecrets.id, state.functionSecrets.props);
  expect(JSON.stringify(refreshed)).not.toContain(byHand);
  expect(await host.diff(urns.functionSecrets, state.functionSecrets.id, refreshed.properties, wanted.inputs)).toEqual({ changes: "some", replaces: [], deleteBeforeReplace: false });
  // The preview's property lines: the digests differ; the values (secret to the engine) do not.
  expect(propertyChanges(refreshed.inputs!, wanted.inputs)).toEqual({
    secretDigests: [
      { REMINDER_SIGNING_KEY: sha256Hex(keys.signingKey), REMINDER_SHARED_SECRET: sha256Hex(byHand) },
      { REMINDER_SHARED_SECRET: sha256Hex(keys.sharedSecret), REMINDER_SIGNING_KEY: sha256Hex(keys.signingKey) },
    ],
  });

  state.functionSecrets = { ...state.functionSecrets, inputs: refreshed.inputs!, props: refreshed.properties };
  expect(await up("functionSecrets", program.functionSecrets)).toBe("updated");
  expect(api.secrets.get("REMINDER_SHARED_SECRET")).toBe(keys.sharedSecret);
});

test("a rotation: with the previous key kept while Vault and the function switch, no signed run is refused", async () => {
  // Step 1 of docs/pulumi.md: previousSigningKey = the old key, signingKey = the new one, one `pulumi up`.
  const rotating = await programFor(engineConfig({ "reminder-cron:signingKey": keys.rotatedKey, "reminder-cron:previousSigningKey": keys.signingKey }));
  expect(await up("functionSecrets", rotating.functionSecrets)).toBe("updated");
  expect([...api.secrets.keys()].sort()).toEqual(["REMINDER_SHARED_SECRET", "REMINDER_SIGNING_KEY", "REMINDER_SIGNING_KEY_PREVIOUS"]);
  // Mid-`up`: the function has the new key, Vault still the old one. A run at this moment must pass.
  expect(await scheduledRun()).toMatchObject({ status: "succeeded", http_status: 200 });
  expect(await up("edgeFunction", rotating.edgeFunction)).toBe("unchanged");
  await upVault(rotating.vault);
  expect(await withClient(async (client) => (await client.query("select decrypted_secret from vault.decrypted_secrets where name = $1", [vaultSecrets.signingKey])).rows[0].decrypted_secret)).toBe(keys.rotatedKey);
  expect(await scheduledRun()).toMatchObject({ status: "succeeded", http_status: 200 });

  // Step 2, once signatures under the old key have expired: drop previousSigningKey, `pulumi up` removes the secret.
  const rotated = await programFor(engineConfig({ "reminder-cron:signingKey": keys.rotatedKey }));
  expect(await up("functionSecrets", rotated.functionSecrets)).toBe("updated");
  expect([...api.secrets.keys()].sort()).toEqual(["REMINDER_SHARED_SECRET", "REMINDER_SIGNING_KEY"]);
  expect(await scheduledRun()).toMatchObject({ status: "succeeded", http_status: 200 });
});

describe("bad input: one error naming the value and the fix, and nothing changed", () => {
  const secretsNow = () => JSON.stringify([...api.secrets]);

  test("a wrong access token is refused by the API before anything is set, and the token is never quoted", async () => {
    const other = await startProviderHost();
    try {
      const wrong = "sbp_wrong0token0000000000000000000000000000";
      await other.configure(engineConfig({ "reminder-cron:supabaseAccessToken": wrong }));
      const before = secretsNow();
      const error = await other.create(urns.functionSecrets, state.functionSecrets.inputs).then(() => undefined, (failure: Error) => failure);
      expect(error?.message).toMatch(/^Could not set the Edge Function secrets of project localprojectrefabcde: Supabase's Management API refused reminder-cron:supabaseAccessToken for project localprojectrefabcde \(HTTP 401: Unauthorized\)\. Nothing was changed by this call\. Fix: create a personal access token .* pulumi config set --secret reminder-cron:supabaseAccessToken <that token>$/);
      expect(error?.message).not.toContain(wrong);
      expect(secretsNow()).toBe(before);
    } finally {
      await other.stop();
    }
  });

  test("a missing access token stops configure with the command that sets it", async () => {
    const other = await startProviderHost();
    try {
      const { "reminder-cron:supabaseAccessToken": _token, ...withoutToken } = engineConfig();
      await other.configure(withoutToken);
      await expect(other.create(urns.functionSecrets, state.functionSecrets.inputs)).rejects.toThrow(
        /got no reminder-cron:supabaseAccessToken in the stack config, so they cannot call Supabase's Management API\. Fix: pulumi config set --secret reminder-cron:supabaseAccessToken/,
      );
    } finally {
      await other.stop();
    }
  });

  test("an unknown project ref is named with where to find the right one", async () => {
    const before = secretsNow();
    const elsewhere = { ...state.functionSecrets.inputs, projectRef: "nosuchprojectrefabcd" };
    await expect(host.create(urns.functionSecrets, elsewhere)).rejects.toThrow(
      "Could not set the Edge Function secrets of project nosuchprojectrefabcd: Supabase's Management API knows no project 'nosuchprojectrefabcd' (reminder-cron:supabaseProjectRef; HTTP 404: Project not found). Nothing was changed by this call. " +
        "Fix: pulumi config set reminder-cron:supabaseProjectRef <ref>, the <ref> of https://<ref>.supabase.co (Project Settings > General).",
    );
    expect(secretsNow()).toBe(before);
  });

  test("a function that fails to bundle is refused by check, naming the file, the import and the fix; the API refuses one too", async () => {
    const copy = join(mkdtempSync(join(tmpdir(), "deploy-test-")), "functions");
    cpSync(functionsDir, copy, { recursive: true });
    try {
      const versionBefore = api.functions.get(reminderFunction.slug)!.version;
      writeFileSync(join(copy, "reminder-scheduler", "index.ts"), 'import { gone } from "../_shared/gone.ts";\n', { flag: "a" });
      const entrypoint = join(copy, "reminder-scheduler", "index.ts");
      const checked = await host.check(urns.edgeFunction, state.edgeFunction.inputs, { ...state.edgeFunction.inputs, entrypoint, importMap: join(copy, "reminder-scheduler", "deno.json") });
      expect(checked.failures).toEqual([
        {
          property: "entrypoint",
          reason:
            `Supabase could not bundle ${entrypoint}: reminder-scheduler/index.ts imports '../_shared/gone.ts', which names no file (looked for ${join(copy, "_shared", "gone.ts")}). ` +
            `Fix: correct the file named, then check it with: deno check --no-config ${entrypoint}; nothing is deployed until it bundles.`,
        },
      ]);
      // The API's own bundler refuses the same upload, and the function keeps serving what was deployed.
      const form = new FormData();
      form.append("metadata", JSON.stringify({ entrypoint_path: "reminder-scheduler/index.ts", name: "reminder-scheduler" }));
      form.append("file", new Blob([readFileSync(entrypoint)]), "reminder-scheduler/index.ts");
      const answer = await fetch(`${api.url}/v1/projects/${projectRef}/functions/deploy?slug=reminder-scheduler`, { method: "POST", headers: { Authorization: `Bearer ${token}` }, body: form });
      expect(answer.status).toBe(400);
      expect((await answer.json()).message).toMatch(/^Failed to bundle the function: reminder-scheduler\/index.ts imports '\.\.\/_shared\/credentials\.ts', which names no file/);
      expect(api.functions.get(reminderFunction.slug)!.version).toBe(versionBefore);
    } finally {
      rmSync(join(copy, ".."), { recursive: true, force: true });
    }
  });

  test("a secret name Supabase reserves is refused by check, with the fix, before the API is asked", async () => {
    const requestsBefore = api.requests.length;
    const checked = await host.check(urns.functionSecrets, {}, { ...state.functionSecrets.inputs, secrets: [{ name: "SUPABASE_URL", value: "https://elsewhere.example" }] });
    expect(checked.failures).toEqual([
      {
        property: "secrets[0].name",
        reason: "'SUPABASE_URL' starts with SUPABASE_, which Supabase reserves for the secrets it sets itself (the API refuses to set or delete them). Fix: rename it, e.g. REMINDER_URL",
      },
    ]);
    expect(JSON.stringify(checked.failures)).not.toContain("elsewhere.example");
    expect(api.requests.length).toBe(requestsBefore);
  });
});

test("the stack's state says where the functions server runs, so stopping the stack stops the deployed one too", () => {
  expect(stack().processes.functions).toBeGreaterThan(0);
});
