/**
 * The Management API side of the dynamic providers EdgeFunction and EdgeFunctionSecrets: where they call,
 * with which token, and what an answer that is not a success means to the person running `pulumi up`.
 *
 * As with the database connection (./db.ts), the token is read at call time from the stack config the
 * engine hands `configure()`, never captured in the serialized provider nor passed as an input, so it
 * never reaches state. It goes into the Authorization header only; an answer that echoes it is cut before
 * it can reach an error message.
 */
import { isLocalHost, projectName } from "./db";

/** The stack config keys of the Management API, without the project namespace. */
export const managementConfigKeys = {
  accessToken: "supabaseAccessToken",
  projectRef: "supabaseProjectRef",
  apiUrl: "supabaseApiUrl",
} as const;

export const defaultManagementApiUrl = "https://api.supabase.com";

/** A project ref is the <ref> of https://<ref>.supabase.co: 20 lower-case letters. */
export const projectRefPattern = /^[a-z]{20}$/;

/** Supabase reserves these for what it sets itself; the API refuses to create, change or delete them. */
export const reservedSecretPrefix = "SUPABASE_";

/** check's failure for a project ref that cannot be one (unknown values, in a preview, pass). */
export function projectRefFailures(projectRef: unknown, unknown: string): { property: string; reason: string }[] {
  if (projectRef === undefined || projectRef === unknown || projectRefPattern.test(String(projectRef))) return [];
  return [{ property: "projectRef", reason: `'${projectRef}' is not a project ref: the 20 lower-case letters of https://<ref>.supabase.co` }];
}

export interface ManagementConnection {
  apiUrl: string;
  accessToken: string;
}

/** What the SDK's `ConfigureRequest.config` offers; a plain object works as well in tests. */
export interface ManagementConfigSource {
  get(key: string): string | undefined;
}

const setCommand = (key: string, value: string, secret = false) => `pulumi config set ${secret ? "--secret " : ""}${projectName}:${key} ${value}`;

/** Why `url` cannot be the Management API's base URL, or undefined. */
export function managementApiUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL";
  }
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && isLocalHost(parsed.hostname))) {
    return "must use https (http only for a local server), since the access token travels in its requests";
  }
  if (parsed.username || parsed.password) return "holds a user name or password; the access token is the only credential it takes";
  return undefined;
}

/** The API's base URL and token from the stack config as the engine passes it to `configure()`. */
export function managementFromConfig(config: ManagementConfigSource): ManagementConnection {
  const get = (key: string): string | undefined => {
    const value = config.get(`${projectName}:${key}`);
    return value === undefined || value === null || String(value).trim() === "" ? undefined : String(value);
  };
  const accessToken = get(managementConfigKeys.accessToken);
  if (!accessToken) {
    throw new Error(
      `The EdgeFunction and EdgeFunctionSecrets providers got no ${projectName}:${managementConfigKeys.accessToken} in the stack config, so they cannot call Supabase's Management API. ` +
        `Fix: ${setCommand(managementConfigKeys.accessToken, "<a personal access token from supabase.com/dashboard/account/tokens>", true)}`,
    );
  }
  const apiUrl = get(managementConfigKeys.apiUrl) ?? defaultManagementApiUrl;
  const problem = managementApiUrlProblem(apiUrl);
  if (problem) {
    throw new Error(`${projectName}:${managementConfigKeys.apiUrl} = '${apiUrl}' ${problem}. Fix: pulumi config rm ${projectName}:${managementConfigKeys.apiUrl} (Supabase's own API is the default)`);
  }
  return { apiUrl: apiUrl.replace(/\/+$/, ""), accessToken };
}

/** Where a reply could echo the token back, it is cut out. */
export const redactToken = (text: string, token: string) => (token.length >= 4 ? text.split(token).join("***") : text);

export interface ManagementAnswer {
  status: number;
  text: string;
  /** The parsed JSON body, when it is JSON. */
  body: unknown;
}

/**
 * One request to the Management API. A refused token (401, 403) and an unknown project (404 on the
 * project's own path) are thrown here, each with its fix; any other status is the caller's to judge. Where
 * a 404 may mean a missing function rather than a missing project, `notFoundIsAnswer` hands it back, and
 * the caller tells the two apart with a call on the project itself (not by the message's wording).
 * `what` names the operation in messages ("deploy the Edge Function reminder-scheduler").
 */
export async function managementRequest(
  connection: ManagementConnection | undefined,
  projectRef: string,
  request: { method: string; path: string; body?: unknown; form?: FormData; what: string; notFoundIsAnswer?: boolean },
): Promise<ManagementAnswer> {
  if (!connection) {
    throw new Error(
      "The reminder-cron Management API provider was not configured: the engine calls configure() with the stack config first; outside the engine, call configure({ config }) before any other method.",
    );
  }
  const url = `${connection.apiUrl}/v1/projects/${encodeURIComponent(projectRef)}${request.path}`;
  const headers: Record<string, string> = { Authorization: `Bearer ${connection.accessToken}`, Accept: "application/json" };
  if (request.body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(url, {
      method: request.method,
      headers,
      body: request.form ?? (request.body === undefined ? undefined : JSON.stringify(request.body)),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    throw new Error(
      `Could not ${request.what}: Supabase's Management API at ${connection.apiUrl} did not answer (${cause}). Nothing was changed by this call. ` +
        `Fix: check the network, or ${projectName}:${managementConfigKeys.apiUrl} if you set it, and run pulumi up again.`,
    );
  }
  const text = redactToken(await response.text(), connection.accessToken);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const reason = typeof (body as { message?: unknown })?.message === "string" ? (body as { message: string }).message : text.slice(0, 300);
  if (response.status === 401 || response.status === 403) {
    throw new Error(
      `Could not ${request.what}: Supabase's Management API refused ${projectName}:${managementConfigKeys.accessToken} for project ${projectRef} (HTTP ${response.status}: ${reason}). Nothing was changed by this call. ` +
        `Fix: create a personal access token of an account that is a member of the project (supabase.com/dashboard/account/tokens), then ${setCommand(managementConfigKeys.accessToken, "<that token>", true)}`,
    );
  }
  if (response.status === 404 && !request.notFoundIsAnswer) {
    throw new Error(
      `Could not ${request.what}: Supabase's Management API knows no project '${projectRef}' (${projectName}:${managementConfigKeys.projectRef}; HTTP 404: ${reason}). Nothing was changed by this call. ` +
        `Fix: ${setCommand(managementConfigKeys.projectRef, "<ref>")}, the <ref> of https://<ref>.supabase.co (Project Settings > General).`,
    );
  }
  return { status: response.status, text, body };
}

/** An error for a status the caller did not expect, with the API's own reason. */
export function unexpectedAnswer(what: string, answer: ManagementAnswer, fix = "run pulumi up again; if it persists, check the project is healthy in the dashboard."): Error {
  const reason = typeof (answer.body as { message?: unknown })?.message === "string" ? (answer.body as { message: string }).message : answer.text.slice(0, 300);
  return new Error(`Could not ${what}: Supabase's Management API answered HTTP ${answer.status} (${reason}). Fix: ${fix}`);
}
