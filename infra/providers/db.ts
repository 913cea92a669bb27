/**
 * The database side of the dynamic providers: where they connect, one client per call, one transaction
 * per operation, and acting as a role for one statement.
 *
 * The connection is read at call time from the stack configuration that the engine hands each provider's
 * `configure()` in the provider process (keys keep their `reminder-cron:` namespace there). It is never
 * captured in the serialized provider nor passed as a resource input, so the password never reaches state
 * in plain text. That config is the run's only when the program runs: `refresh` and `destroy` without
 * `--run-program` configure every provider, this one too, from what state recorded at the last `up`, so
 * after a rotation they log in with the old password (docs/pulumi.md, Rotating the database password).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { Client } from "pg";

export const projectName = "reminder-cron";

/** The stack config keys of the connection, without the project namespace. */
export const dbConfigKeys = {
  host: "dbHost",
  port: "dbPort",
  database: "dbName",
  user: "dbUser",
  password: "dbPassword",
  sslMode: "dbSslMode",
  sslRootCert: "dbSslRootCert",
} as const;

export const sslModes = ["disable", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof sslModes)[number];

export const dbDefaults = { port: 5432, database: "postgres", user: "postgres" } as const;

export interface DbConnection {
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  sslMode: SslMode;
  /** Absolute path of the PEM root certificate that verify-ca and verify-full check the server against. */
  sslRootCert?: string;
}

/** What the SDK's `ConfigureRequest.config` offers; a plain object works as well in tests. */
export interface ConfigSource {
  get(key: string): string | undefined;
}

/** Loopback and names that only resolve on this machine or its containers: no TLS needed to reach them. */
export function isLocalHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return (
    bare === "localhost" ||
    bare.endsWith(".localhost") ||
    bare === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare) ||
    bare === "host.docker.internal"
  );
}

/**
 * A remote database is verified (certificate chain and host name), so the password goes only to the server
 * it was meant for; one on this machine needs no TLS.
 */
export const defaultSslMode = (host: string): SslMode => (isLocalHost(host) ? "disable" : "verify-full");

/** Whether the mode checks the server's certificate against dbSslRootCert. */
export const verifiesCertificate = (mode: SslMode) => mode === "verify-ca" || mode === "verify-full";

/**
 * The project root: the nearest directory at or above `from` that holds Pulumi.yaml. The program runs in
 * `main` (infra/) and the provider host wherever the engine starts it, so a relative dbSslRootCert means
 * the same file to both only when it is resolved against this.
 */
export function projectRoot(from: string = process.cwd()): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "Pulumi.yaml"))) return dir;
    if (dirname(dir) === dir) return resolve(from);
  }
}

/** dbSslRootCert as an absolute path: as given, or relative to the project root. */
export const resolveCertPath = (path: string, from?: string) => (isAbsolute(path) ? path : join(projectRoot(from), path));

/**
 * dbSslRootCert as the program hands it to the postgresql provider and the migration Commands, which save
 * it in state: relative to the working directory the engine gives the program and every provider plugin
 * alike (Pulumi.yaml's `main`, infra/), when the file is in the project. lib/pq and psql open a relative
 * path against their working directory, so a refresh or destroy from any checkout, which configures the
 * provider from state, opens that checkout's certificate; an absolute path would name the deploying
 * machine's. A file outside the project keeps the absolute path it was given.
 */
export function certPathForState(absolute: string, workingDir: string = process.cwd()): string {
  const fromRoot = relative(projectRoot(workingDir), absolute);
  return fromRoot.startsWith("..") || isAbsolute(fromRoot) ? absolute : relative(workingDir, absolute);
}

/** Why `path` (absolute) cannot serve as the root certificate, or undefined. */
export function certificateFileProblem(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? `names no file (looked for ${path})` : `cannot be read (${code ?? (error as Error).message}: ${path})`;
  }
  return text.includes("-----BEGIN CERTIFICATE-----") ? undefined : `is not a PEM certificate (${path} holds no -----BEGIN CERTIFICATE----- block)`;
}

/** The one fix for a missing or bad root certificate, as every message gives it. */
export const sslRootCertFix = (stack?: string) =>
  `download the project's root certificate (Supabase dashboard: Database > Settings > SSL Configuration > Download certificate), save it in the project, e.g. certs/prod-ca-2021.crt, ` +
  `then pulumi config set ${projectName}:${dbConfigKeys.sslRootCert} certs/prod-ca-2021.crt${stack ? ` --stack ${stack}` : ""}`;

/** The connection from the stack config as the engine passes it to `configure()`. */
export function connectionFromConfig(config: ConfigSource): DbConnection {
  const get = (key: string): string | undefined => {
    const value = config.get(`${projectName}:${key}`);
    return value === undefined || value === null || String(value) === "" ? undefined : String(value);
  };
  const host = get(dbConfigKeys.host);
  if (!host) {
    throw new Error(
      `The reminder-cron providers got no ${projectName}:${dbConfigKeys.host} in the stack config, so they cannot reach the database. ` +
        `Fix: pulumi config set ${projectName}:${dbConfigKeys.host} <host>`,
    );
  }
  const setCommand = (key: string, value: string) => `pulumi config set ${projectName}:${key} ${value}`;
  const sslMode = (get(dbConfigKeys.sslMode) ?? defaultSslMode(host)) as SslMode;
  if (!sslModes.includes(sslMode)) {
    throw new Error(`${projectName}:${dbConfigKeys.sslMode} = '${sslMode}' is not one of ${sslModes.join(", ")}. Fix: ${setCommand(dbConfigKeys.sslMode, "verify-full")}`);
  }
  if (sslMode === "disable" && !isLocalHost(host)) {
    throw new Error(
      `${projectName}:${dbConfigKeys.sslMode} = 'disable' would send the database password in clear to ${host}; only a local host may go without TLS. ` +
        `Fix: ${setCommand(dbConfigKeys.sslMode, "verify-full")}`,
    );
  }
  // pg reads a port that is not a number as its default, which would reach another server than the one named.
  const portText = get(dbConfigKeys.port) ?? String(dbDefaults.port);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new Error(`${projectName}:${dbConfigKeys.port} = '${portText}' is not a port from 1 to 65535. Fix: ${setCommand(dbConfigKeys.port, String(dbDefaults.port))}`);
  }
  // refresh and destroy configure the providers without running the program, so they check the
  // certificate again here rather than trust that the program did.
  const certSetting = get(dbConfigKeys.sslRootCert);
  const sslRootCert = certSetting === undefined ? undefined : resolveCertPath(certSetting);
  if (verifiesCertificate(sslMode)) {
    const problem = sslRootCert === undefined ? "is not set" : certificateFileProblem(sslRootCert);
    if (problem) {
      throw new Error(
        `${projectName}:${dbConfigKeys.sslRootCert}${certSetting === undefined ? "" : ` = '${certSetting}'`} ${problem}, and ${projectName}:${dbConfigKeys.sslMode} = '${sslMode}' checks the server against it. ` +
          `Fix: ${sslRootCertFix()}`,
      );
    }
  }
  return {
    host,
    port,
    database: get(dbConfigKeys.database) ?? dbDefaults.database,
    user: get(dbConfigKeys.user) ?? dbDefaults.user,
    password: get(dbConfigKeys.password),
    sslMode,
    ...(sslRootCert === undefined ? {} : { sslRootCert }),
  };
}

/**
 * node-postgres' `ssl` option for a libpq sslmode, so Node checks exactly what psql (PGSSLROOTCERT) and the
 * postgresql provider (sslrootcert) check: require encrypts without checking; verify-ca checks the chain
 * against the root certificate only; verify-full checks the chain and that the certificate names the host.
 */
export function nodeSslOptions(connection: Pick<DbConnection, "sslMode" | "sslRootCert">): false | { rejectUnauthorized: boolean; ca?: string; checkServerIdentity?: () => undefined } {
  if (connection.sslMode === "disable") return false;
  if (connection.sslMode === "require") return { rejectUnauthorized: false };
  // A root certificate replaces Node's CAs, as sslrootcert replaces libpq's default.
  const ca = connection.sslRootCert === undefined ? undefined : readFileSync(connection.sslRootCert, "utf8");
  const base = { rejectUnauthorized: true, ...(ca === undefined ? {} : { ca }) };
  return connection.sslMode === "verify-ca" ? { ...base, checkServerIdentity: () => undefined } : base;
}

/**
 * Runs `fn` in one transaction on a fresh client, committed when it returns and rolled back when it throws,
 * so a failed operation leaves pg_cron and Vault as they were. `pg` is imported here, inside the call,
 * because this function is serialized into the provider and must load the module in the provider process.
 */
export async function inTransaction<T>(connection: DbConnection | undefined, fn: (client: Client) => Promise<T>): Promise<T> {
  if (!connection) {
    throw new Error(
      "The reminder-cron provider was not configured with a database connection: the engine calls configure() with the stack config first; " +
        "outside the engine, call configure({ config }) before any other method.",
    );
  }
  const pg = await import("pg");
  const client = new pg.Client({
    host: connection.host,
    port: connection.port,
    database: connection.database,
    user: connection.user,
    password: connection.password,
    ssl: nodeSslOptions(connection),
    application_name: "reminder-cron-pulumi",
    connectionTimeoutMillis: 15000,
  });
  await client.connect();
  try {
    await client.query("begin");
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `fn` as `role` until the transaction ends or `fn` returns (pg_cron ties a job to the role that schedules it). */
export async function actingAs<T>(client: Client, role: string, fn: () => Promise<T>): Promise<T> {
  const { rows } = await client.query<{ me: string }>("select current_user as me");
  // set_config('role', …) is SET LOCAL ROLE with the name as a parameter: no identifier quoting by hand.
  // No reset on failure: the transaction is rolled back, and the role with it.
  try {
    await client.query("select set_config('role', $1, true)", [role]);
  } catch (error) {
    // 42501 here means the membership that lets us act as the job's owner is gone or lacks SET (on
    // PostgreSQL 16+ a CREATEROLE creator holds an ADMIN-only one): only the migration grants it.
    if ((error as { code?: string }).code !== "42501") throw error;
    throw new Error(
      `Role ${rows[0].me} may not act as ${role} (${(error as Error).message}), so no pg_cron job of ${role} can be scheduled, changed or removed. ` +
        `Fix: as ${rows[0].me} run grant ${role} to ${rows[0].me}; for cron_runner, applying the register_reminder_cron migration again with psql makes that grant.`,
    );
  }
  const result = await fn();
  await client.query("select set_config('role', 'none', true)");
  return result;
}

/** The engine's placeholder for a value not known until an earlier resource is created (preview). */
export const unknownValue = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** A value preview knows: given, and not the engine's placeholder for an output not computed yet. */
export const isKnown = (value: unknown) => value !== undefined && value !== unknownValue;

/**
 * Whether the resource's state was written by other provider code than the program's. `read` and `delete`
 * run the code serialized in the state's `__provider`, and only an update writes the program's there (the
 * SDK's host no longer replaces on a new provider): without one, refresh and destroy would keep running
 * the release that created the resource, and a fix to them would never reach a deployed stack.
 */
export function providerCodeChanged(olds: object, news: object): boolean {
  const saved = (olds as { __provider?: unknown }).__provider;
  const wanted = (news as { __provider?: unknown }).__provider;
  return saved !== undefined && wanted !== undefined && wanted !== unknownValue && saved !== wanted;
}

/** Safe SQL identifiers for role and object names we pass around: lower case, no quoting needed. */
export const identifierPattern = /^[a-z_][a-z0-9_]{0,62}$/;
