/**
 * Runs the Pulumi program (infra/index.ts) under `pulumi.runtime.setMocks`, as pulumi-awsx's tests do:
 * every registration is recorded, any call is refused (the program makes none), and the program is
 * imported only after the mocks and the config are set, in a fresh module registry per run, so each run
 * starts from nothing. Dynamic resources are serialized for real here (their `__provider` input).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import type * as PulumiModule from "@pulumi/pulumi";
import { repoRoot } from "../../stack/paths";

export interface Registration {
  type: string;
  name: string;
  /** As the engine would receive them: a secret is `{ [secretSigKey]: secretSig, value }`. */
  inputs: Record<string, any>;
  /** The id to import the resource by (the `import` option), if any. */
  importId?: string;
  /** The resource options the engine would record in state, as the SDK sends them. */
  options: { protect: boolean; retainOnDelete?: boolean; ignoreChanges: string[]; dependsOn: string[] };
}

export interface ProgramRun {
  registrations: Registration[];
  /** The program module's exports (the stack outputs), or undefined when it threw. */
  program?: Record<string, any>;
  /** What importing the program threw. */
  error?: Error;
  pulumi: typeof PulumiModule;
}

export const project = "reminder-cron";

/** The SDK's marker of a secret value on the wire (sdk/nodejs/runtime/rpc.ts). */
export const secretSigKey = "4dabf18193072939515e22adb298388d";
export const secretSig = "1b47061264138c4ac30d75fd1eb44270";

export const isWireSecret = (value: unknown): value is { value: unknown } =>
  typeof value === "object" && value !== null && (value as Record<string, unknown>)[secretSigKey] === secretSig;

/** What a fresh CronJob reports besides its inputs, so outputs resolve as after a real create. */
export const mockJobId = 4242;

/** The stack file's config, namespace included, e.g. { "reminder-cron:functionUrl": "https://…" }. */
export function stackFileConfig(stack: string): Record<string, string> {
  const file = load(readFileSync(join(repoRoot, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
  return Object.fromEntries(Object.entries(file.config ?? {}).map(([key, value]) => [key, String(value)]));
}

/**
 * Imports infra/index.ts with the given config (keys with or without the project namespace; secretKeys
 * are marked secret as `pulumi config set --secret` would) and environment variables set for the import.
 */
export async function runProgram(options: {
  stack: string;
  config: Record<string, string>;
  secretKeys?: string[];
  env?: Record<string, string | undefined>;
  preview?: boolean;
  /** What to import once the mocks are set; by default the program. Runs in the fresh module registry. */
  load?: () => Promise<Record<string, any>>;
  /** Called with this run's @pulumi/pulumi before the program loads, e.g. to watch pulumi.log. */
  before?: (pulumi: typeof PulumiModule) => void;
}): Promise<ProgramRun> {
  const namespaced = (key: string) => (key.includes(":") ? key : `${project}:${key}`);
  const config = Object.fromEntries(Object.entries(options.config).map(([key, value]) => [namespaced(key), value]));
  const registrations: Registration[] = [];
  let run: ProgramRun | undefined;

  await jest.isolateModulesAsync(async () => {
    const pulumi: typeof PulumiModule = await import("@pulumi/pulumi");
    // The mocks' newResource sees no resource options; the request the SDK sends the monitor has them.
    const optionsOf = new Map<string, Registration["options"]>();
    await pulumi.runtime.setMocks(
      {
        newResource(args) {
          registrations.push({ type: args.type, name: args.name, inputs: args.inputs, ...(args.id ? { importId: args.id } : {}), options: optionsOf.get(`${args.type}::${args.name}`)! });
          const extra = args.type === "pulumi-nodejs:dynamic/reminder-cron:CronJob" ? { jobId: mockJobId, database: "postgres" } : {};
          return { id: `${args.name}-id`, state: { ...args.inputs, ...extra } };
        },
        call(args) {
          throw new Error(`The program made a call nobody mocked: ${args.token}`);
        },
      },
      project,
      options.stack,
      options.preview ?? false,
    );
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: any, callback: unknown): unknown };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
      optionsOf.set(`${req.getType()}::${req.getName()}`, {
        protect: Boolean(req.getProtect()),
        ...(req.hasRetainondelete?.() ? { retainOnDelete: req.getRetainondelete() } : {}),
        ignoreChanges: req.getIgnorechangesList(),
        dependsOn: req.getDependenciesList(),
      });
      return register(req, callback);
    };
    pulumi.runtime.setAllConfig(config, (options.secretKeys ?? []).map(namespaced));
    options.before?.(pulumi);

    const saved = Object.fromEntries(Object.keys(options.env ?? {}).map((name) => [name, process.env[name]]));
    for (const [name, value] of Object.entries(options.env ?? {})) setEnv(name, value);
    try {
      run = { registrations, program: await (options.load ?? (() => import("../../infra/index")))(), pulumi };
    } catch (error) {
      run = { registrations, error: error as Error, pulumi };
    } finally {
      for (const [name, value] of Object.entries(saved)) setEnv(name, value);
    }
    // Every registration (provider serialization included) finishes before the run is handed back, so none
    // is left running when jest moves on or tears this module registry down.
    await pulumi.runtime.disconnect();
  });
  return run!;
}

function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** The resolved value of an output (mocks resolve every output, preview or not, when inputs are known). */
export function valueOf<T>(output: PulumiModule.Output<T> | T): Promise<T> {
  const maybe = output as PulumiModule.Output<T>;
  if (maybe && typeof maybe.apply === "function") return new Promise((resolve) => maybe.apply((value) => resolve(value)));
  return Promise.resolve(output as T);
}

/** Registrations of one type token. */
export const ofType = (run: ProgramRun, type: string) => run.registrations.filter((registration) => registration.type === type);

/** Every string anywhere in `value`, outside wire secrets: what would sit in plain text in state. */
export function plainStrings(value: unknown): string[] {
  if (isWireSecret(value)) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(plainStrings);
  if (value && typeof value === "object") return Object.values(value).flatMap(plainStrings);
  return [];
}
