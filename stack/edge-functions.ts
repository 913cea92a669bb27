/**
 * The local stack's Edge Functions: supabase/functions/* served under Deno at
 * http://127.0.0.1:<port>/functions/v1/<name>, with the environment Supabase gives a function
 * (SUPABASE_URL, SUPABASE_DB_URL, SUPABASE_SERVICE_ROLE_KEY) and the reminder function's shared secret and
 * signing key. The stack puts the same signing key in Vault (reminder_signing_key), so the job's signed
 * requests check out as they do on a project where both were set to one value.
 *
 * The credentials are random per local stack, written once to <local dir>/functions-secrets.json (mode 0600,
 * ignored by git, removed by `db:reset`), and never printed. Code that calls a function gets its URL and
 * credential from functionEndpoint(state).
 *
 * A deploy through the local Management API (tests/support/management-api.ts) restarts the server on the
 * same port with that deployment instead: its own folder of functions, and the project's function secrets
 * as the environment, as a Supabase project boots its workers with the secrets set at the time.
 *
 * Invoke a function by hand: npx tsx stack/edge-functions.ts invoke [name] [JSON body]
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "pg";
import { ensureSecret } from "../cli/vault";
import { vaultSecrets } from "../infra/sql/names";
import { freePort, portIsFree } from "./cluster";
import { localDir, logDir, repoRoot } from "./paths";
import { isAlive, startTsProcess, stopProcess } from "./processes";
import type { StackState } from "./stack";

export const functionsDir = join(repoRoot, "supabase", "functions");
export const secretsFile = join(localDir, "functions-secrets.json");
/** One npm cache for every local stack of this checkout, so a fresh stack does not download again. */
export const denoDir = process.env.DENO_DIR ?? join(repoRoot, ".local", "deno-cache");
export const denoBin = join(repoRoot, "node_modules", ".bin", "deno");
export const reminderFunctionName = "reminder-scheduler";

/** The first start downloads the functions' npm packages into the Deno cache; later starts take ~0.2 s. */
const startTimeoutMs = 90000;
const logFile = join(logDir, "functions.log");

export interface FunctionSecrets {
  /** What SUPABASE_SERVICE_ROLE_KEY is locally; a random value (nothing checks it as a JWT). */
  serviceRoleKey: string;
  /** REMINDER_SHARED_SECRET. */
  sharedSecret: string;
  /** REMINDER_SIGNING_KEY, and Vault's reminder_signing_key. */
  signingKey: string;
}

export interface FunctionEndpoint {
  /** The function's URL: what Vault's reminder_function_url holds. */
  url: string;
  /** The SUPABASE_URL to give @supabase/supabase-js createClient, whose functions.invoke(name) reaches `url`. */
  supabaseUrl: string;
  /** The service role key: send it as `Authorization: Bearer <credential>`; Vault's reminder_service_role_key. */
  credential: string;
  /** The shared secret, also accepted as `x-reminder-secret: <sharedSecret>` or as a Bearer token. */
  sharedSecret: string;
  /** The key pg_cron's dispatch signs with (Vault's reminder_signing_key); the function checks with it. */
  signingKey: string;
}

/** What the local Management API deployed: the folder it wrote the functions to, and the project's secrets. */
export interface FunctionsDeployment {
  dir: string;
  secrets: Record<string, string>;
}

const freshKey = () => randomBytes(32).toString("hex");

/** The stack's function credentials, created on first use; a file from before the signing key gains one. */
export function functionSecrets(): FunctionSecrets {
  if (!existsSync(secretsFile)) {
    mkdirSync(localDir, { recursive: true });
    const fresh: FunctionSecrets = {
      serviceRoleKey: `local-service-role-${freshKey()}`,
      sharedSecret: freshKey(),
      signingKey: freshKey(),
    };
    try {
      // wx: two starts racing here keep the first file, and both read it below.
      writeFileSync(secretsFile, JSON.stringify(fresh, null, 2) + "\n", { mode: 0o600, flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  const secrets = JSON.parse(readFileSync(secretsFile, "utf8")) as Partial<FunctionSecrets>;
  if (!secrets.signingKey) {
    secrets.signingKey = freshKey();
    writeFileSync(secretsFile, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
  }
  return secrets as FunctionSecrets;
}

/** Vault's reminder_signing_key set to the key the local function holds. */
export async function storeSigningKey(client: Client): Promise<void> {
  await ensureSecret(client, vaultSecrets.signingKey, functionSecrets().signingKey);
}

/** The URL and credential of a function the local stack serves. */
export function functionEndpoint(state: StackState, name: string = reminderFunctionName): FunctionEndpoint {
  if (!state.functionsUrl) {
    throw new Error("This local stack serves no Edge Functions (its state has no functionsUrl): start it with `npm run db:start`.");
  }
  const secrets = functionSecrets();
  return {
    url: `${state.functionsUrl}/${name}`,
    supabaseUrl: new URL(state.functionsUrl).origin,
    credential: secrets.serviceRoleKey,
    sharedSecret: secrets.sharedSecret,
    signingKey: secrets.signingKey,
  };
}

/** What Supabase itself sets for every function of the project, pointed at the local stack. */
export function platformEnv(state: StackState, supabaseUrl: string): Record<string, string> {
  return { SUPABASE_URL: supabaseUrl, SUPABASE_DB_URL: state.postgresUrl, SUPABASE_SERVICE_ROLE_KEY: functionSecrets().serviceRoleKey };
}

/**
 * The functions' environment: the platform's, then the stack's own credentials, or a deployment's secrets
 * alone (a deployed project has only what was set through the API).
 */
function functionsEnv(state: StackState, supabaseUrl: string, deployment?: FunctionsDeployment): NodeJS.ProcessEnv {
  const secrets = functionSecrets();
  const own = deployment ? deployment.secrets : { REMINDER_SHARED_SECRET: secrets.sharedSecret, REMINDER_SIGNING_KEY: secrets.signingKey };
  // The platform's names last: Supabase refuses SUPABASE_ secrets, so a deployment can never replace them.
  return { ...own, ...platformEnv(state, supabaseUrl), DENO_DIR: denoDir, NO_COLOR: "1" };
}

function logTail(): string {
  if (!existsSync(logFile)) return "";
  return readFileSync(logFile, "utf8").trim().split("\n").slice(-3).join(" | ");
}

async function waitUntilServing(supabaseUrl: string, pid: number): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      throw new Error(`The Edge Functions server exited while starting (${logTail()}). The full log is ${logFile}.`);
    }
    const answer = await fetch(`${supabaseUrl}/_internal/health`).catch(() => undefined);
    if (answer?.ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stopProcess(pid);
  throw new Error(`The Edge Functions server did not answer within ${startTimeoutMs / 1000} s (${logTail()}). The full log is ${logFile}.`);
}

/**
 * Starts the functions server unless it already runs, on the port it had before when that is free (so a
 * URL stored in Vault stays valid across a restart). Records its pid and functionsUrl in `state`.
 */
export async function startFunctions(state: StackState, deployment?: FunctionsDeployment): Promise<void> {
  if (state.functionsUrl && state.processes.functions && isAlive(state.processes.functions)) return;
  const previousPort = state.functionsUrl ? Number(new URL(state.functionsUrl).port) : undefined;
  const port = previousPort && (await portIsFree(previousPort)) ? previousPort : await freePort();
  const supabaseUrl = `http://127.0.0.1:${port}`;
  const args = [String(port), ...(deployment ? [deployment.dir] : [])];
  const pid = startTsProcess("functions", "stack/functions-server.ts", args, functionsEnv(state, supabaseUrl, deployment));
  state.processes.functions = pid;
  state.functionsUrl = `${supabaseUrl}/functions/v1`;
  await waitUntilServing(supabaseUrl, pid);
}

/**
 * Stops the functions server and starts it again on its port, serving `deployment` (or, without one, this
 * repository's functions with the stack's credentials again). The caller records the new pid in the
 * stack state (writeState), so stopping the stack stops this server too.
 */
export async function restartFunctions(state: StackState, deployment?: FunctionsDeployment): Promise<void> {
  if (state.processes.functions) await stopProcess(state.processes.functions);
  delete state.processes.functions;
  await startFunctions(state, deployment);
}

async function invoke(name: string, body: string): Promise<number> {
  const { readState } = await import("./stack");
  const state = readState();
  if (!state) throw new Error("The local stack is not running: start it with `npm run db:start`.");
  const endpoint = functionEndpoint(state, name);
  const answer = await fetch(endpoint.url, {
    method: "POST",
    headers: { Authorization: `Bearer ${endpoint.credential}`, "Content-Type": "application/json" },
    body,
  });
  process.stdout.write(`${answer.status} ${await answer.text()}\n`);
  return answer.ok ? 0 : 1;
}

if (require.main === module) {
  const [command, name = reminderFunctionName, body = "{}"] = process.argv.slice(2);
  if (command !== "invoke") {
    process.stderr.write("usage: npx tsx stack/edge-functions.ts invoke [function name] [JSON body]\n");
    process.exit(2);
  }
  invoke(name, body).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`edge functions: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
