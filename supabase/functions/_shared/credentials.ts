/**
 * Credential checks for functions called by machines (pg_cron through pg_net, an operator's supabase-js).
 * Comparison is constant-time: both sides are hashed to 32 bytes first, so neither the content nor the
 * length of the expected value leaks through how long a wrong guess takes.
 */

const encoder = new TextEncoder();

async function digest(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(value)));
}

export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([digest(a), digest(b)]);
  let difference = 0;
  for (let i = 0; i < x.length; i++) difference |= x[i] ^ y[i];
  return difference === 0;
}

/** The credentials a request presents: an `Authorization: Bearer` token, and the value of `secretHeader`. */
export function presentedCredentials(headers: Headers, secretHeader: string): string[] {
  const presented: string[] = [];
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.get("authorization") ?? "");
  if (bearer) presented.push(bearer[1]);
  const secret = headers.get(secretHeader);
  if (secret) presented.push(secret.trim());
  return presented;
}

/** True when any presented credential equals any accepted one. Every pair is compared, so timing says nothing of which. */
export async function isAccepted(presented: string[], accepted: string[]): Promise<boolean> {
  let match = false;
  for (const candidate of presented) {
    for (const expected of accepted) {
      if (await constantTimeEqual(candidate, expected)) match = true;
    }
  }
  return match;
}
