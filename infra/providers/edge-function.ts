/**
 * A Supabase Edge Function as a Pulumi resource, deployed through the Management API as Supabase's
 * Terraform provider's `supabase_edge_function` deploys it, and named and shaped like it (projectRef,
 * slug, name, entrypoint, importMap; computed version, status, checksum, localChecksum), so a team can
 * swap in the official provider later:
 *
 *   POST   /v1/projects/{ref}/functions/deploy?slug=<slug>   multipart: `metadata` + one `file` per source file
 *   GET    /v1/projects/{ref}/functions/{slug}               version, status, ezbr_sha256 (the bundle's SHA-256)
 *   DELETE /v1/projects/{ref}/functions/{slug}
 *
 * `check` computes `localChecksum` from the files on disk (the Terraform provider's plan modifier does the
 * same), so a changed source file is a changed input and `pulumi preview` shows it; `diff` compares only
 * inputs and state. `read` (refresh) compares the deployed bundle's checksum with the one recorded at the
 * last deploy: a function deployed by hand since then shows as a changed localChecksum, and `up` deploys
 * the program's again. The token comes from configure() (./management-api.ts), never from an input.
 */
import * as pulumi from "@pulumi/pulumi";
import { isKnown, providerCodeChanged, unknownValue } from "./db";
import { bundleFix, functionBundle, TypeScriptModule } from "./function-bundle";
import { ManagementConfigSource, ManagementConnection, managementFromConfig, managementRequest, projectRefFailures, unexpectedAnswer } from "./management-api";

interface Inputs {
  /** The project's ref, the <ref> of https://<ref>.supabase.co. */
  projectRef: string;
  /** The function's URL name: /functions/v1/<slug>. */
  slug: string;
  /** Shown in the dashboard; defaults to the slug. */
  name: string;
  /** supabase/functions/<slug>/index.ts: absolute, or relative to the project root. */
  entrypoint: string;
  /** The function's deno.json, if any, relative to the project root. */
  importMap?: string;
  /** False: the function checks its own credential (pg_net sends a signature, not a JWT). */
  verifyJwt: boolean;
  /** SHA-256 of the source files (./function-bundle.ts); filled in by check. */
  localChecksum: string;
}

interface Outputs extends Inputs {
  /** Supabase's id of the function. */
  functionId: string;
  version: number;
  status: string;
  /** The deployed bundle's SHA-256 (ezbr_sha256), as Supabase reports it. */
  checksum: string;
}

export type EdgeFunctionProviderInputs = Inputs;
export type EdgeFunctionProviderOutputs = Outputs;

export interface EdgeFunctionInputs {
  projectRef: pulumi.Input<Inputs["projectRef"]>;
  slug: pulumi.Input<Inputs["slug"]>;
  /** Default: the slug. */
  name?: pulumi.Input<Inputs["name"]>;
  entrypoint: pulumi.Input<Inputs["entrypoint"]>;
  importMap?: pulumi.Input<string>;
  /** Default true, as Supabase's. */
  verifyJwt?: pulumi.Input<Inputs["verifyJwt"]>;
}

export interface EdgeFunction {
  readonly projectRef: pulumi.Output<Outputs["projectRef"]>;
  readonly slug: pulumi.Output<Outputs["slug"]>;
  readonly name: pulumi.Output<Outputs["name"]>;
  readonly functionId: pulumi.Output<Outputs["functionId"]>;
  readonly version: pulumi.Output<Outputs["version"]>;
  readonly status: pulumi.Output<Outputs["status"]>;
  readonly checksum: pulumi.Output<Outputs["checksum"]>;
  readonly localChecksum: pulumi.Output<Outputs["localChecksum"]>;
}

export const functionSlugPattern = /^[A-Za-z][A-Za-z0-9_-]{0,99}$/;

/** What the deploy and the read answer, as far as this provider uses it. */
interface FunctionAnswer {
  id: string;
  version: number;
  status: string;
  ezbr_sha256?: string;
}

/**
 * The compiler, loaded in the provider's process when a method needs it: a serialized provider cannot
 * capture its code, and `await import()` compiles to a helper the serializer does not always carry along.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const typeScript = (): TypeScriptModule => require("typescript");

/** Marks a localChecksum that refresh found replaced by a deploy made outside Pulumi. */
export const deployedOutsidePulumi = (checksum: string) => `deployed outside Pulumi (bundle ${checksum})`;

const what = (inputs: Pick<Inputs, "slug">, verb: string) => `${verb} the Edge Function ${inputs.slug}`;

/** Exported for the tests that drive it directly; programs use the EdgeFunction resource. */
export const edgeFunctionProvider = {
  connection: undefined as ManagementConnection | undefined,

  async configure(request: { config: ManagementConfigSource }): Promise<void> {
    this.connection = managementFromConfig(request.config);
  },

  async check(_olds: Partial<Inputs>, news: Inputs): Promise<{ inputs: Inputs; failures: pulumi.dynamic.CheckFailure[] }> {
    const failures: pulumi.dynamic.CheckFailure[] = projectRefFailures(news.projectRef, unknownValue);
    if (isKnown(news.slug) && !functionSlugPattern.test(String(news.slug))) {
      failures.push({ property: "slug", reason: `'${news.slug}' is not a function slug: a letter, then letters, digits, '-' and '_'` });
    }
    let localChecksum = news.localChecksum;
    if (isKnown(news.entrypoint) && (news.importMap === undefined || isKnown(news.importMap))) {
      const bundle = functionBundle(typeScript(), news.entrypoint, news.importMap);
      if ("problems" in bundle) {
        failures.push({ property: "entrypoint", reason: `Supabase could not bundle ${news.entrypoint}: ${bundle.problems.join("; ")}. Fix: ${bundleFix(news.entrypoint)}` });
      } else {
        localChecksum = bundle.checksum;
      }
    }
    return { inputs: { ...news, name: news.name ?? news.slug, verifyJwt: news.verifyJwt ?? true, localChecksum }, failures };
  },

  async diff(_id: string, olds: Outputs, news: Inputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = (["projectRef", "slug"] as const).filter((field) => olds[field] !== news[field]);
    if (replaces.length > 0) return { changes: true, replaces };
    const changed = (["name", "verifyJwt", "localChecksum"] as const).some((field) => olds[field] !== news[field]);
    return { changes: changed || providerCodeChanged(olds, news) };
  },

  async create(inputs: Inputs): Promise<{ id: string; outs: Outputs }> {
    const outs = await deploy(this.connection, inputs);
    return { id: outs.functionId, outs };
  },

  async update(_id: string, _olds: Outputs, news: Inputs): Promise<{ outs: Outputs }> {
    return { outs: await deploy(this.connection, news) };
  },

  async read(id: string, props?: Outputs): Promise<pulumi.dynamic.ReadResult<Outputs>> {
    if (!props?.projectRef || !props.slug) return { id, ...(props ? { props } : {}) };
    const answer = await managementRequest(this.connection, props.projectRef, { method: "GET", path: `/functions/${encodeURIComponent(props.slug)}`, what: what(props, "read"), notFoundIsAnswer: true });
    if (answer.status === 404) {
      // A missing function, or a missing project: only the project's own list tells them apart.
      await managementRequest(this.connection, props.projectRef, { method: "GET", path: "/functions", what: what(props, "read") });
      return { id: "" };
    }
    if (answer.status !== 200) throw unexpectedAnswer(what(props, "read"), answer);
    const live = answer.body as FunctionAnswer;
    const checksum = live.ezbr_sha256 ?? "";
    const localChecksum = checksum === props.checksum ? props.localChecksum : deployedOutsidePulumi(checksum);
    const current: Outputs = { ...props, functionId: live.id, version: live.version, status: live.status, checksum, localChecksum };
    const { functionId: _f, version: _v, status: _s, checksum: _c, ...inputs } = current;
    // The engine takes `inputs` as the resource's inputs after a refresh, so the preview names a changed localChecksum.
    return { id: live.id, props: current, inputs: inputs as Outputs };
  },

  async delete(_id: string, props: Outputs): Promise<void> {
    // A function already gone is the wanted end state.
    const answer = await managementRequest(this.connection, props.projectRef, { method: "DELETE", path: `/functions/${encodeURIComponent(props.slug)}`, what: what(props, "delete"), notFoundIsAnswer: true });
    if (answer.status !== 200 && answer.status !== 204 && answer.status !== 404) throw unexpectedAnswer(what(props, "delete"), answer);
  },
} satisfies pulumi.dynamic.ResourceProvider<Inputs, Outputs> & { connection: ManagementConnection | undefined };

/** Uploads the files as they are now; the checksum recorded is theirs, whatever check saw. */
async function deploy(connection: ManagementConnection | undefined, inputs: Inputs): Promise<Outputs> {
  const bundle = functionBundle(typeScript(), inputs.entrypoint, inputs.importMap);
  if ("problems" in bundle) {
    throw new Error(`Could not ${what(inputs, "deploy")}: Supabase could not bundle ${inputs.entrypoint}: ${bundle.problems.join("; ")}. Nothing was deployed. Fix: ${bundleFix(inputs.entrypoint)}`);
  }
  const form = new FormData();
  form.append(
    "metadata",
    JSON.stringify({
      entrypoint_path: bundle.entrypointPath,
      name: inputs.name,
      verify_jwt: inputs.verifyJwt,
      ...(bundle.importMapPath ? { import_map_path: bundle.importMapPath } : {}),
    }),
  );
  for (const file of bundle.files) form.append("file", new Blob([new Uint8Array(file.content)]), file.name);
  const answer = await managementRequest(connection, inputs.projectRef, {
    method: "POST",
    path: `/functions/deploy?slug=${encodeURIComponent(inputs.slug)}`,
    form,
    what: what(inputs, "deploy"),
  });
  if (answer.status === 400) {
    throw unexpectedAnswer(what(inputs, "deploy"), answer, `Supabase could not bundle it and serves the version deployed before; ${bundleFix(inputs.entrypoint)}`);
  }
  if (answer.status !== 200 && answer.status !== 201) throw unexpectedAnswer(what(inputs, "deploy"), answer);
  const deployed = answer.body as FunctionAnswer;
  return {
    ...inputs,
    localChecksum: bundle.checksum,
    functionId: deployed.id,
    version: deployed.version,
    status: deployed.status,
    checksum: deployed.ezbr_sha256 ?? "",
  };
}

/**
 * A Supabase Edge Function, deployed from its source files through the Management API.
 *
 * @example
 * new EdgeFunction("reminder-scheduler", {
 *   projectRef: "abcdefghijklmnopqrst",
 *   slug: "reminder-scheduler",
 *   entrypoint: "supabase/functions/reminder-scheduler/index.ts",
 *   verifyJwt: false,
 * }, { dependsOn: [functionSecrets] });
 */
export class EdgeFunction extends pulumi.dynamic.Resource {
  constructor(name: string, args: EdgeFunctionInputs, opts?: pulumi.CustomResourceOptions) {
    const outputs = { functionId: undefined, version: undefined, status: undefined, checksum: undefined, localChecksum: undefined };
    super(edgeFunctionProvider, name, { name: undefined, importMap: undefined, verifyJwt: undefined, ...outputs, ...args }, opts, "reminder-cron", "EdgeFunction");
  }
}
