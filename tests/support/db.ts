/**
 * What integration tests need of the running local stack: its connection strings, a client per test as
 * Supabase's non-superuser `postgres` (switch with `set role`), and polling for asynchronous outcomes.
 */
import { Client } from "pg";
import { readState, StackState } from "../../stack/stack";

export function stack(): StackState {
  const state = readState();
  if (!state) throw new Error("The local stack is not running: jest's global setup starts it; run tests through `npm test` or `npx jest`.");
  return state;
}

/** Opens a client as `postgres` (or the superuser when `admin` is set) and closes it after `fn`. */
export async function withClient<T>(fn: (client: Client) => Promise<T>, options: { admin?: boolean } = {}): Promise<T> {
  const state = stack();
  const client = new Client({ connectionString: options.admin ? state.adminUrl : state.postgresUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs `fn` as `role` inside a transaction that is always rolled back, so privilege probes change nothing. */
export async function asRole<T>(client: Client, role: string, fn: () => Promise<T>): Promise<T> {
  await client.query("begin");
  try {
    await client.query(`set local role ${role}`);
    return await fn();
  } finally {
    await client.query("rollback");
  }
}

/** Polls `probe` until it returns a value other than undefined, or fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * The pg_cron this database runs, as exactly as its behaviour tells. pg_extension says "1.6" for every
 * 1.6.x library, but 1.6.5 is the first to refuse a step past its field (src/entry.c, "Fix possible buffer
 * underflow issue in cron parsing"), so one cron.schedule, rolled back, tells 1.6.5+ from 1.6.0-1.6.4.
 */
export async function pgCronVersion(client: Client): Promise<string> {
  const { extversion } = (await client.query("select extversion from pg_extension where extname = 'pg_cron'")).rows[0];
  if (!/^1\.6(\.|$)/.test(extversion)) return extversion;
  const refusesStepPastField = await asRole(client, "cron_runner", async () => {
    try {
      await client.query("select cron.schedule('pg-cron-version-probe', '0-59/100 * * * *', 'select 1')");
      return false;
    } catch (error) {
      if ((error as { code?: string }).code !== "22023") throw error;
      return true;
    }
  });
  return refusesStepPastField ? "1.6.5" : extversion;
}
