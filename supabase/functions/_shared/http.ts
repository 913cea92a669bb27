/**
 * JSON answers for Edge Functions. Every error is a JSON object `{ "error": "<what happened and what to do>" }`
 * with the status that says what kind of failure it is; never a 200 that carries an error.
 */

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export function jsonError(status: number, error: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Response {
  return json(status, { error, ...extra }, headers);
}
