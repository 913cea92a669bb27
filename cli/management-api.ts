/**
 * Supabase's Management API SQL endpoint, the one call `reminder-cron verify` makes:
 *   POST {base}/v1/projects/{ref}/database/query   Authorization: Bearer <access token>
 *   body {"query": "...", "read_only": true}  ->  201 and a JSON array of row objects
 * (Supabase's OpenAPI, operation "v1-run-a-query" "[Beta] Run sql query", body V1RunQueryBody
 * { query, parameters?, read_only? }; 401, 403, 429, 500 otherwise.) read_only: verify never writes.
 * The token goes into the header only: no message, error or output ever holds it.
 */
import { defaultManagementApiUrl, redactToken } from "../infra/providers/management-api";
import { cliError, exitCodes } from "./exit-codes";

export const defaultApiUrl = defaultManagementApiUrl;

export interface ManagementTarget {
  /** SUPABASE_API_URL, else Supabase's; overridable so tests can serve the endpoint locally. */
  apiUrl: string;
  projectRef: string;
  accessToken: string;
}


/** Runs one read-only query and returns its rows; failures become CLI errors (2 for credentials or ref, 3 otherwise). */
export async function managementQuery<T = Record<string, unknown>>(target: ManagementTarget, query: string, timeoutMs = 30_000): Promise<T[]> {
  const url = `${target.apiUrl.replace(/\/+$/, "")}/v1/projects/${encodeURIComponent(target.projectRef)}/database/query`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { Authorization: `Bearer ${target.accessToken}`, "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ query, read_only: true }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    throw cliError(exitCodes.unavailable, `Cannot reach the Supabase Management API at ${target.apiUrl} (${cause}). Check the network, or SUPABASE_API_URL if you set it.`);
  }
  const text = redactToken(await response.text(), target.accessToken);
  const reason = (() => {
    try {
      const body = JSON.parse(text) as { message?: unknown };
      return typeof body.message === "string" ? body.message : text.slice(0, 200);
    } catch {
      return text.slice(0, 200);
    }
  })();
  if (response.status === 401 || response.status === 403) {
    throw cliError(
      exitCodes.usage,
      `The Supabase Management API refused the access token for project ${target.projectRef} (HTTP ${response.status}: ${reason}). Set SUPABASE_ACCESS_TOKEN to a personal access token of an account with access to the project (supabase.com/dashboard/account/tokens).`,
    );
  }
  if (response.status === 404) {
    throw cliError(exitCodes.usage, `The Supabase Management API knows no project ${target.projectRef} (HTTP 404: ${reason}). Fix SUPABASE_PROJECT_REF or --project-ref: the ref is the <ref> of https://<ref>.supabase.co.`);
  }
  if (!response.ok) {
    throw cliError(exitCodes.unavailable, `The Supabase Management API could not run the verification query on project ${target.projectRef} (HTTP ${response.status}: ${reason}). Try again; if it persists, check the project is healthy in the dashboard.`);
  }
  try {
    const rows = JSON.parse(text);
    if (!Array.isArray(rows)) throw new Error("not an array");
    return rows as T[];
  } catch {
    throw cliError(exitCodes.unavailable, `The Supabase Management API answered project ${target.projectRef}'s query with something other than rows (HTTP ${response.status}). Try again later.`);
  }
}
