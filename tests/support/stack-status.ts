import { Client } from "pg";
import { StackState } from "../../stack/stack";

export async function isRunningStack(state: StackState | undefined): Promise<boolean> {
  if (!state) return false;
  const client = new Client({ connectionString: state.postgresUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
