/**
 * The local stack as one unit: toolchain, cluster, Supabase bootstrap, stand-in worker, migrations.
 * `DATABASE_URL` set means: start no cluster, use that database, add stand-ins only where it lacks the
 * real extensions. State lives in .local/stack.json so `stop` finds what `start` began.
 */
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { Client } from "pg";
import { bootstrapExternal, bootstrapLocal, StandIn } from "./bootstrap";
import { ensureSecret } from "../cli/vault";
import { vaultSecrets } from "../infra/sql/names";
import { functionEndpoint, secretsFile, startFunctions, storeSigningKey } from "./edge-functions";
import { checkClusterMode, clusterMajor, freePort, initCluster, isRunning, portIsFree, startCluster, stopCluster } from "./cluster";
import { ensureToolchain, installedToolchain, pgCronDefaultVersion, requestedMajor, supportedMajors } from "./install";
import { applyMigrations } from "./migrate";
import { dataDir, localDir, serverDir, stateFile } from "./paths";
import { isAlive, startTsProcess, stopProcess } from "./processes";

export interface StackState {
  /** True when DATABASE_URL named the database and no cluster of ours runs. */
  external: boolean;
  port: number;
  pgMajor?: number;
  /** The superuser connection (local: supabase_admin); for DATABASE_URL, that URL. */
  adminUrl: string;
  /** The connection our migrations, tests and tools use: Supabase's non-superuser `postgres`. */
  postgresUrl: string;
  standIns: StandIn[];
  processes: Record<string, number>;
  /** Where supabase/functions/* are served: `<functionsUrl>/<name>`. See functionEndpoint() in edge-functions.ts. */
  functionsUrl?: string;
}

export function readState(): StackState | undefined {
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(readFileSync(stateFile, "utf8")) as StackState;
}

/** Records the stack's processes and URLs, so `stop` finds what `start` (or a local deploy) began. */
export function writeState(state: StackState): void {
  mkdirSync(localDir, { recursive: true });
  writeFileSync(stateFile, JSON.stringify(state, null, 2) + "\n");
}

const localUrl = (user: string, port: number) => `postgresql://${user}@127.0.0.1:${port}/postgres`;

async function answers(url: string): Promise<string | undefined> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query("select 1");
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function startHelpers(state: StackState): Promise<void> {
  if (state.standIns.includes("pg_net") && !(state.processes.netWorker && isAlive(state.processes.netWorker))) {
    state.processes.netWorker = startTsProcess("net-worker", "stack/net-worker.ts", [state.adminUrl]);
    const client = new Client({ connectionString: state.adminUrl });
    await client.connect();
    try {
      await client.query("select net.wait_until_running()");
    } finally {
      await client.end();
    }
  }
  await startFunctions(state);
}

/**
 * Vault as the dispatch needs it to reach the local function: its signing key (see storeSigningKey), and
 * its URL, without which `reminder-cron run-now` on a fresh `npm run db:start` fails on a missing secret.
 * The URL is set where it is missing, or still names this stack's function at the port it had before a
 * restart; a URL someone set on purpose (a test's endpoint, another function) is left as it is. It is set
 * only where the request leaves from this machine (the local cluster, or pg_net's stand-in here): a real
 * pg_net behind DATABASE_URL, in `supabase start`'s container, could not reach 127.0.0.1, and its URL is
 * the owner's to set, so a missing one is only named, with the statement that sets it.
 */
async function pointVaultAtTheLocalFunction(state: StackState, log: (line: string) => void, previousFunctionsUrl?: string): Promise<void> {
  const client = new Client({ connectionString: state.postgresUrl });
  await client.connect();
  try {
    await storeSigningKey(client);
    const url = functionEndpoint(state).url;
    const { rows } = await client.query("select decrypted_secret as url from vault.decrypted_secrets where name = $1", [vaultSecrets.functionUrl]);
    const current: string = rows[0]?.url ?? "";
    if (!state.external || state.standIns.includes("pg_net")) {
      const ours = previousFunctionsUrl ? functionEndpoint({ ...state, functionsUrl: previousFunctionsUrl }).url : url;
      if (current === "" || current === ours) await ensureSecret(client, vaultSecrets.functionUrl, url);
      log(
        current === "" || current === ours || current === url
          ? `reminder function: ${url} (Vault's ${vaultSecrets.functionUrl} points at it; npx reminder-cron run-now runs the job once)`
          : `reminder function: ${url}; Vault's ${vaultSecrets.functionUrl} points elsewhere (${current}) and is left so`,
      );
      return;
    }
    if (current === "") {
      log(
        `Vault's ${vaultSecrets.functionUrl} is not set in DATABASE_URL's database, so no run can reach the function: ` +
          `set it to a URL that database's pg_net can reach (the local function listens on port ${new URL(url).port} of this machine), ` +
          `with select vault.create_secret('<url>', '${vaultSecrets.functionUrl}');`,
      );
    }
  } finally {
    await client.end();
  }
}

function requestedPort(): number | undefined {
  const raw = process.env.LOCAL_DB_PORT;
  if (raw === undefined || raw === "") return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1024 || port > 65535) {
    throw new Error(`LOCAL_DB_PORT=${raw} is not a port from 1024 to 65535; set another or unset it to pick a free one.`);
  }
  return port;
}

/** Which pg_net and supabase_vault the stack runs on, so nobody mistakes a stand-in run for the real thing. */
export function extensionsInUse(state: StackState): string {
  const kind = (name: StandIn) => (state.standIns.includes(name) ? "local stand-in" : "real extension");
  return `pg_net: ${kind("pg_net")}; supabase_vault: ${kind("supabase_vault")}`;
}

export interface StartOptions {
  log?: (line: string) => void;
  /**
   * False: start everything but apply no migration (and no seed), so a test can first lay down a live app's
   * schema and then apply the migrations onto it, as `supabase db push` would on a project in use.
   */
  migrate?: boolean;
}

/** Starts (or reuses) the stack and applies pending migrations. Safe to call when it already runs. */
export async function startStack(options: StartOptions = {}): Promise<StackState> {
  const log = options.log ?? (() => undefined);
  const migrate = options.migrate ?? true;
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) {
    const problem = await answers(databaseUrl);
    if (problem) throw new Error(`DATABASE_URL does not answer (${problem}). Start that database or unset DATABASE_URL to use a local one.`);
    const previous = readState();
    const state: StackState = {
      external: true,
      port: Number(new URL(databaseUrl).port || 5432),
      adminUrl: databaseUrl,
      postgresUrl: databaseUrl,
      standIns: await bootstrapExternal(databaseUrl),
      processes: previous?.external ? previous.processes : {},
      functionsUrl: previous?.functionsUrl,
    };
    const functionsBefore = state.functionsUrl;
    await startHelpers(state);
    writeState(state);
    if (migrate) await applyMigrations(state.postgresUrl, { seed: false });
    await pointVaultAtTheLocalFunction(state, log, functionsBefore);
    return state;
  }

  const previous = readState();
  // REMINDER_CRON_PG picks the major; without it a stack keeps the major it was made with.
  const tc = ensureToolchain(requestedMajor() ?? supportedClusterMajor());
  if (previous && !previous.external && isRunning(tc)) {
    log(`reusing the local stack already running on port ${previous.port}`);
    const functionsBefore = previous.functionsUrl;
    await startHelpers(previous);
    writeState(previous);
    if (migrate) await applyMigrations(previous.postgresUrl, { seed: false });
    await pointVaultAtTheLocalFunction(previous, log, functionsBefore);
    return previous;
  }

  const fresh = initCluster(tc);
  checkClusterMode(tc);
  const wanted = requestedPort();
  if (wanted !== undefined && !(await portIsFree(wanted))) {
    throw new Error(`Port ${wanted} (LOCAL_DB_PORT) is in use. Stop what listens there, or unset LOCAL_DB_PORT to pick a free port.`);
  }
  // Keep the previous port when it is free, so a stop and start leaves every connection string valid.
  const reusable = previous && !previous.external && (await portIsFree(previous.port)) ? previous.port : undefined;
  const port = wanted ?? reusable ?? (await freePort());
  log(`starting PostgreSQL ${tc.pgMajor} with pg_cron ${pgCronDefaultVersion(tc)} on 127.0.0.1:${port}${tc.root ? ` (from the Debian 13 root ${tc.root})` : ""}`);
  startCluster(tc, port);
  const state: StackState = {
    external: false,
    port,
    pgMajor: tc.pgMajor,
    adminUrl: localUrl("supabase_admin", port),
    postgresUrl: localUrl("postgres", port),
    standIns: previous?.standIns ?? [],
    processes: {},
    functionsUrl: previous?.functionsUrl,
  };
  try {
    if (fresh) {
      log("bootstrapping Supabase's roles, pg_cron, Vault and pg_net");
      state.standIns = await bootstrapLocal(state.adminUrl);
    }
    writeState(state);
    const functionsBefore = state.functionsUrl;
    await startHelpers(state);
    writeState(state);
    const applied = migrate ? await applyMigrations(state.postgresUrl, { seed: fresh }) : [];
    if (applied.length > 0) log(`applied ${applied.length} migration(s)`);
    await pointVaultAtTheLocalFunction(state, log, functionsBefore);
    log(extensionsInUse(state));
    return state;
  } catch (error) {
    await stopStack();
    throw error;
  }
}

/** Stops everything the stack started; leaves no process and no open port. The data stays for the next start. */
export async function stopStack(): Promise<void> {
  const state = readState();
  if (state) {
    for (const pid of Object.values(state.processes)) await stopProcess(pid);
    writeState({ ...state, processes: {} });
  }
  if (!state?.external && existsSync(dataDir)) {
    const major = supportedClusterMajor();
    const tc = installedToolchain(major);
    if (!tc) {
      throw new Error(`PostgreSQL ${major} is no longer installed, so its cluster in ${dataDir} cannot be stopped with pg_ctl. If its server still runs, stop it with kill $(head -1 ${dataDir}/postmaster.pid).`);
    }
    stopCluster(tc);
  }
}

/** The major of the cluster this stack made, if it made one on a major the stack runs. */
function supportedClusterMajor(): number | undefined {
  const major = clusterMajor();
  return (supportedMajors as readonly (number | undefined)[]).includes(major) ? major : undefined;
}

/** Stops the stack and throws its data away: the next start is a fresh `supabase db reset`. */
export async function resetStack(): Promise<void> {
  if (process.env.DATABASE_URL) {
    throw new Error("db:reset throws the local cluster away and does nothing to DATABASE_URL's database; unset DATABASE_URL to reset the local stack.");
  }
  await stopStack();
  // The server's folder first: it lives outside localDir (stack/paths.ts), so removing localDir would leave it.
  rmSync(serverDir, { recursive: true, force: true });
  rmSync(stateFile, { force: true });
  rmSync(secretsFile, { force: true });
}
