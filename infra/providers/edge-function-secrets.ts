/**
 * A project's Edge Function secrets as one Pulumi resource, set through the Management API as Supabase's
 * Terraform provider's `supabase_edge_function_secrets` sets them, and named and shaped like it
 * (projectRef, secrets: [{ name, value }], computed secretDigests; the id is the project ref):
 *
 *   POST   /v1/projects/{ref}/secrets   [{ name, value }]   create or replace
 *   GET    /v1/projects/{ref}/secrets   [{ name, value }]   where value is the SHA-256 hex of the real value
 *   DELETE /v1/projects/{ref}/secrets   ["NAME", ...]
 *
 * The API never returns a value, only its digest, so drift is seen by digest: `check` computes
 * `secretDigests` from the wanted values, `read` (refresh) returns the API's digests in their place, and a
 * secret changed behind Pulumi's back shows in the preview as `secretDigests.NAME: <live> => <wanted>`.
 * The values are a secret input and a secret output (`additionalSecretOutputs`); the digests of random
 * keys of 32 characters or more say nothing of them. Only secrets this resource manages are read or
 * deleted: others on the project are left alone.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { isKnown, providerCodeChanged, unknownValue } from "./db";
import { ManagementConfigSource, ManagementConnection, managementFromConfig, managementRequest, projectRefFailures, reservedSecretPrefix, unexpectedAnswer } from "./management-api";

interface Secret {
  name: string;
  value: string;
}

interface Inputs {
  projectRef: string;
  secrets: Secret[];
  /** name -> SHA-256 hex of its value; filled in by check, replaced by the API's on refresh. */
  secretDigests: Record<string, string>;
}

type Outputs = Inputs;

export type EdgeFunctionSecretsProviderInputs = Inputs;
export type EdgeFunctionSecretsProviderOutputs = Outputs;

export interface EdgeFunctionSecretsInputs {
  projectRef: pulumi.Input<Inputs["projectRef"]>;
  /** Pass the values as secrets; they stay secret either way. */
  secrets: pulumi.Input<pulumi.Input<{ name: pulumi.Input<string>; value: pulumi.Input<string> }>[]>;
}

export interface EdgeFunctionSecrets {
  readonly projectRef: pulumi.Output<Outputs["projectRef"]>;
  readonly secrets: pulumi.Output<Outputs["secrets"]>;
  readonly secretDigests: pulumi.Output<Outputs["secretDigests"]>;
}

/** As an environment variable is named; Supabase refuses names it reserves (reservedSecretPrefix). */
export const secretNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const sha256Hex = (value: string) => createHash("sha256").update(value, "utf8").digest("hex");

/** name -> digest, in name order, so two maps of the same secrets compare equal as JSON. */
export function digestsOf(secrets: Secret[]): Record<string, string> {
  return Object.fromEntries(secrets.map((secret) => [secret.name, sha256Hex(secret.value)] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const sameDigests = (a: Record<string, string> = {}, b: Record<string, string> = {}) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([name, digest]) => b[name] === digest);

const what = (projectRef: string, verb: string) => `${verb} the Edge Function secrets of project ${projectRef}`;

/** Exported for the tests that drive it directly; programs use the EdgeFunctionSecrets resource. */
export const edgeFunctionSecretsProvider = {
  connection: undefined as ManagementConnection | undefined,

  async configure(request: { config: ManagementConfigSource }): Promise<void> {
    this.connection = managementFromConfig(request.config);
  },

  async check(_olds: Partial<Inputs>, news: Inputs): Promise<{ inputs: Inputs; failures: pulumi.dynamic.CheckFailure[] }> {
    const failures: pulumi.dynamic.CheckFailure[] = projectRefFailures(news.projectRef, unknownValue);
    if (!isKnown(news.secrets) || !Array.isArray(news.secrets)) return { inputs: news, failures };
    const names = new Set<string>();
    let allKnown = true;
    for (const [index, secret] of news.secrets.entries()) {
      const name = secret?.name;
      if (!isKnown(name) || !isKnown(secret?.value)) {
        allKnown = false;
        continue;
      }
      // Never quote a value in a failure: it is a credential.
      if (typeof name !== "string" || !secretNamePattern.test(name)) {
        failures.push({ property: `secrets[${index}].name`, reason: `'${name}' is not a secret name: letters, digits and '_', not starting with a digit` });
      } else if (name.toUpperCase().startsWith(reservedSecretPrefix)) {
        failures.push({
          property: `secrets[${index}].name`,
          reason: `'${name}' starts with ${reservedSecretPrefix}, which Supabase reserves for the secrets it sets itself (the API refuses to set or delete them). Fix: rename it, e.g. REMINDER_${name.slice(reservedSecretPrefix.length)}`,
        });
      } else if (names.has(name)) {
        failures.push({ property: `secrets[${index}].name`, reason: `'${name}' is given twice; a project holds one value per name. Fix: keep one of them` });
      }
      if (typeof secret.value !== "string" || secret.value === "") {
        failures.push({ property: `secrets[${index}].value`, reason: `the value of ${name} is empty; Supabase would refuse it, and the function treats empty as missing` });
      }
      names.add(name);
    }
    return { inputs: { ...news, ...(allKnown && failures.length === 0 ? { secretDigests: digestsOf(news.secrets) } : {}) }, failures };
  },

  async diff(_id: string, olds: Outputs, news: Inputs): Promise<pulumi.dynamic.DiffResult> {
    if (olds.projectRef !== news.projectRef) return { changes: true, replaces: ["projectRef"] };
    const wanted = news.secretDigests ?? digestsOf(news.secrets);
    return { changes: !sameDigests(olds.secretDigests, wanted) || providerCodeChanged(olds, news) };
  },

  async create(inputs: Inputs): Promise<{ id: string; outs: Outputs }> {
    await put(this.connection, inputs);
    return { id: inputs.projectRef, outs: await stored(this.connection, inputs) };
  },

  async update(_id: string, olds: Outputs, news: Inputs): Promise<{ outs: Outputs }> {
    // Set first, then remove what the program dropped: a failed set leaves every old secret in place.
    await put(this.connection, news);
    const kept = new Set(news.secrets.map((secret) => secret.name));
    const dropped = (olds.secrets ?? []).map((secret) => secret.name).filter((name) => !kept.has(name));
    if (olds.projectRef === news.projectRef) await remove(this.connection, news.projectRef, dropped);
    return { outs: await stored(this.connection, news) };
  },

  async read(id: string, props?: Outputs): Promise<{ id: string; props?: Outputs; inputs?: Inputs }> {
    const projectRef = props?.projectRef ?? id;
    const live = await digests(this.connection, projectRef);
    const managed = (props?.secrets ?? []).filter((secret) => live[secret.name] !== undefined);
    // The live digests stand in for the wanted ones, so the next preview names each secret that drifted
    // by digest; a secret deleted by hand is missing from both lists and shows as removed.
    const secretDigests = Object.fromEntries(managed.map((secret) => [secret.name, live[secret.name]] as const));
    const current: Outputs = { projectRef, secrets: managed, secretDigests };
    return { id: projectRef, props: current, inputs: current };
  },

  async delete(_id: string, props: Outputs): Promise<void> {
    await remove(this.connection, props.projectRef, (props.secrets ?? []).map((secret) => secret.name));
  },
} satisfies pulumi.dynamic.ResourceProvider<Inputs, Outputs> & { connection: ManagementConnection | undefined };

async function put(connection: ManagementConnection | undefined, inputs: Inputs): Promise<void> {
  const answer = await managementRequest(connection, inputs.projectRef, {
    method: "POST",
    path: "/secrets",
    body: inputs.secrets.map((secret) => ({ name: secret.name, value: secret.value })),
    what: what(inputs.projectRef, "set"),
  });
  if (answer.status !== 200 && answer.status !== 201) throw unexpectedAnswer(what(inputs.projectRef, "set"), answer);
}

async function remove(connection: ManagementConnection | undefined, projectRef: string, names: string[]): Promise<void> {
  if (names.length === 0) return;
  const answer = await managementRequest(connection, projectRef, { method: "DELETE", path: "/secrets", body: names, what: what(projectRef, "delete") });
  if (answer.status !== 200 && answer.status !== 204) throw unexpectedAnswer(what(projectRef, "delete"), answer);
}

/** name -> the API's digest of every secret the project holds. */
async function digests(connection: ManagementConnection | undefined, projectRef: string): Promise<Record<string, string>> {
  const answer = await managementRequest(connection, projectRef, { method: "GET", path: "/secrets", what: what(projectRef, "read") });
  if (answer.status !== 200 || !Array.isArray(answer.body)) throw unexpectedAnswer(what(projectRef, "read"), answer);
  return Object.fromEntries((answer.body as Secret[]).map((secret) => [secret.name, secret.value] as const));
}

/** The outputs after a write: the wanted secrets, with the digests the API now reports for them. */
async function stored(connection: ManagementConnection | undefined, inputs: Inputs): Promise<Outputs> {
  const live = await digests(connection, inputs.projectRef);
  const secrets = inputs.secrets.map((secret) => ({ name: secret.name, value: secret.value }));
  return { projectRef: inputs.projectRef, secrets, secretDigests: Object.fromEntries(secrets.map((secret) => [secret.name, live[secret.name] ?? ""] as const)) };
}

/**
 * The Edge Function secrets of one project that this stack manages.
 *
 * @example
 * new EdgeFunctionSecrets("function-secrets", {
 *   projectRef: "abcdefghijklmnopqrst",
 *   secrets: [{ name: "REMINDER_SIGNING_KEY", value: config.requireSecret("signingKey") }],
 * });
 */
export class EdgeFunctionSecrets extends pulumi.dynamic.Resource {
  constructor(name: string, args: EdgeFunctionSecretsInputs, opts?: pulumi.CustomResourceOptions) {
    // The values are secret in state and outputs even when the caller passed them in plain text.
    const secretValues = pulumi.mergeOptions(opts, { additionalSecretOutputs: ["secrets"] });
    super(edgeFunctionSecretsProvider, name, { secretDigests: undefined, ...args }, secretValues, "reminder-cron", "EdgeFunctionSecrets");
  }
}
