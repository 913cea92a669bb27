/**
 * Where the CLI connects: DATABASE_URL (a Supabase project, as `postgres`), else the running local stack.
 * Connection strings are printed without their password.
 */
import { Client } from "pg";
import { readState } from "../stack/stack";
import { cliError, exitCodes } from "./exit-codes";

/**
 * DATABASE_URL, refused (exit 2, before connecting) unless it is a postgres:// or postgresql:// URL: a value
 * that is not one would otherwise read as a database that does not answer, and send on-call to the wrong fix.
 * The value itself is never printed, since a half-pasted one may hold the password.
 */
export function databaseUrl(): string {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    let protocol: string | undefined;
    try {
      protocol = new URL(fromEnv.trim()).protocol;
    } catch {
      protocol = undefined;
    }
    if (protocol !== "postgresql:" && protocol !== "postgres:") {
      throw cliError(
        exitCodes.usage,
        `DATABASE_URL is not a PostgreSQL connection string (${protocol ? `it starts with ${protocol}//` : "it is not a URL"}): set it to the project's, ` +
          "postgresql://postgres:<password>@db.<ref>.supabase.co:5432/postgres (Project Settings > Database), or unset it to use the local stack. Nothing was read or changed.",
      );
    }
    return fromEnv.trim();
  }
  const state = readState();
  if (state) return state.postgresUrl;
  throw cliError(
    exitCodes.unavailable,
    "No database to talk to: set DATABASE_URL to the project's connection string (as postgres), or start the local stack with npm run db:start.",
  );
}

/** Query parameters libpq reads a secret from (postgresql://host/db?password=...). */
const secretParameters = ["password", "sslpassword"];

/** The URL with any password replaced, in its user part or its query, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    for (const name of secretParameters) if (parsed.searchParams.has(name)) parsed.searchParams.set(name, "***");
    return parsed.toString();
  } catch {
    return "(an unparseable DATABASE_URL)";
  }
}

export async function withDatabase<T>(fn: (client: Client) => Promise<T>, url: string = databaseUrl()): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000, application_name: "reminder-cron cli" });
  try {
    await client.connect();
  } catch (error) {
    throw cliError(
      exitCodes.unavailable,
      `Cannot reach the database at ${redactUrl(url)} (${(error as Error).message}). Start it (npm run db:start locally) or fix DATABASE_URL.`,
    );
  }
  // Every time the CLI reads or prints is UTC, as pg_cron schedules are.
  await client.query("set time zone 'UTC'");
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
