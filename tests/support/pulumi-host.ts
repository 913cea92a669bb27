/**
 * The engine's side of a dynamic resource, without the engine: the serialized providers exactly as the SDK
 * produces them for the program (the `__provider` input), and the SDK's own dynamic-provider host
 * (@pulumi/pulumi/cmd/dynamic-provider) started as a child process and driven over gRPC with the proto
 * stubs shipped in @pulumi/pulumi, in the order and shape `pulumi up`, `refresh` and `destroy` use.
 */
import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as rpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as proto from "@pulumi/pulumi/proto/provider_pb";
import { repoRoot } from "../../stack/paths";
import { isWireSecret, runProgram, valueOf } from "./pulumi-mocks";

/** The host program shipped in @pulumi/pulumi; `pulumi up` starts it as the `pulumi-nodejs` provider. */
export const hostProgram = require.resolve("@pulumi/pulumi/cmd/dynamic-provider/index.js");

export const urnOf = (type: string, name: string) => `urn:pulumi:test::reminder-cron::pulumi-nodejs:dynamic/reminder-cron:${type}::${name}`;

/** The `__provider` strings the SDK serializes for a CronJob and a VaultSecret in a program run under mocks. */
export async function serializedProviders(): Promise<{ cronJob: string; vaultSecret: string }> {
  const run = await runProgram({
    stack: "test",
    config: {},
    load: async () => {
      const { CronJob } = await import("../../infra/providers/cron-job");
      const { VaultSecret } = await import("../../infra/providers/vault-secret");
      const job = new CronJob("probe-job", { jobName: "probe", schedule: "0 3 * * *", command: "select 1", username: "cron_runner" });
      const secret = new VaultSecret("probe-secret", { name: "probe", value: "probe" });
      return { job, secret };
    },
  });
  if (run.error) throw run.error;
  await valueOf(run.program!.job.jobId);
  await valueOf(run.program!.secret.value);
  const providerOf = (type: string) => run.registrations.find((registration) => registration.type === type)!.inputs.__provider as string;
  return {
    cronJob: providerOf("pulumi-nodejs:dynamic/reminder-cron:CronJob"),
    vaultSecret: providerOf("pulumi-nodejs:dynamic/reminder-cron:VaultSecret"),
  };
}

type Props = Record<string, unknown>;
const struct = (props: Props) => Struct.fromJavaScript(props as Parameters<typeof Struct.fromJavaScript>[0]);

export interface ProviderHost {
  pid: number;
  configure(config: Record<string, string>): Promise<void>;
  check(urn: string, olds: Props, news: Props): Promise<{ inputs: Props; failures: { property: string; reason: string }[] }>;
  diff(urn: string, id: string, olds: Props, news: Props): Promise<{ changes: "none" | "some" | "unknown"; replaces: string[]; deleteBeforeReplace: boolean }>;
  create(urn: string, properties: Props): Promise<{ id: string; properties: Props }>;
  /** `inputs` is what refresh stores as the resource's inputs, when the provider returns them. */
  read(urn: string, id: string, properties: Props): Promise<{ id: string; properties: Props; inputs?: Props }>;
  update(urn: string, id: string, olds: Props, news: Props): Promise<{ properties: Props }>;
  delete(urn: string, id: string, properties: Props): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the host as `pulumi up` does (its first stdout line is its gRPC port) and connects to it. */
export async function startProviderHost(): Promise<ProviderHost> {
  // The argument is the engine's address; the host only requires that one is given.
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [hostProgram, "127.0.0.1:0"], { cwd: repoRoot, stdio: "pipe" });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const port = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const line = stdout.split("\n")[0];
      if (stdout.includes("\n")) resolve(line.trim());
    });
    child.once("exit", (code) => reject(new Error(`the dynamic-provider host exited with ${code} before printing its port: ${stderr}`)));
  });
  const client = new rpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());

  /** One unary call, with the host's error message as the rejection. */
  const call = <Req, Res>(method: (request: Req, callback: (error: grpc.ServiceError | null, response: Res) => void) => unknown, request: Req) =>
    new Promise<Res>((resolve, reject) =>
      method.call(client, request, (error, response) => (error ? reject(new Error(error.details || error.message)) : resolve(response))),
    );
  const changes = { [proto.DiffResponse.DiffChanges.DIFF_NONE]: "none", [proto.DiffResponse.DiffChanges.DIFF_SOME]: "some", [proto.DiffResponse.DiffChanges.DIFF_UNKNOWN]: "unknown" } as const;

  return {
    pid: child.pid!,
    async configure(config) {
      await call(client.configure, new proto.ConfigureRequest().setArgs(struct(config)).setAcceptsecrets(false));
    },
    async check(urn, olds, news) {
      const response = await call<proto.CheckRequest, proto.CheckResponse>(client.check, new proto.CheckRequest().setUrn(urn).setOlds(struct(olds)).setNews(struct(news)));
      return {
        inputs: response.getInputs()!.toJavaScript() as Props,
        failures: response.getFailuresList().map((failure) => ({ property: failure.getProperty(), reason: failure.getReason() })),
      };
    },
    async diff(urn, id, olds, news) {
      const response = await call<proto.DiffRequest, proto.DiffResponse>(client.diff, new proto.DiffRequest().setUrn(urn).setId(id).setOlds(struct(olds)).setNews(struct(news)));
      return { changes: changes[response.getChanges()], replaces: response.getReplacesList(), deleteBeforeReplace: response.getDeletebeforereplace() };
    },
    async create(urn, properties) {
      const response = await call<proto.CreateRequest, proto.CreateResponse>(client.create, new proto.CreateRequest().setUrn(urn).setProperties(struct(properties)));
      return { id: response.getId(), properties: response.getProperties()!.toJavaScript() as Props };
    },
    async read(urn, id, properties) {
      const response = await call<proto.ReadRequest, proto.ReadResponse>(client.read, new proto.ReadRequest().setUrn(urn).setId(id).setProperties(struct(properties)));
      const inputs = response.getInputs()?.toJavaScript() as Props | undefined;
      return { id: response.getId(), properties: response.getProperties()!.toJavaScript() as Props, ...(inputs ? { inputs } : {}) };
    },
    async update(urn, id, olds, news) {
      const response = await call<proto.UpdateRequest, proto.UpdateResponse>(
        client.update,
        new proto.UpdateRequest().setUrn(urn).setId(id).setOlds(struct(olds)).setNews(struct(news)),
      );
      return { properties: response.getProperties()!.toJavaScript() as Props };
    },
    async delete(urn, id, properties) {
      await call(client.delete, new proto.DeleteRequest().setUrn(urn).setId(id).setProperties(struct(properties)));
    },
    async stop() {
      client.close();
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill();
        await exited;
      }
    },
  };
}

/**
 * A registration's inputs as the engine hands them to the dynamic-provider host, which takes no secrets:
 * every secret unwrapped to its value (the engine keeps the marking itself, outside the provider).
 */
export function engineInputs(value: unknown): any {
  if (isWireSecret(value)) return engineInputs(value.value);
  if (Array.isArray(value)) return value.map(engineInputs);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined).map(([key, inner]) => [key, engineInputs(inner)]));
  return value;
}
