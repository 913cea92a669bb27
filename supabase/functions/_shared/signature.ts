/**
 * The signed requests pg_cron's dispatch sends (Stripe's and Slack's webhook scheme):
 *
 *   x-reminder-signature: t=<unix seconds>,v1=<hex of HMAC-SHA256(key, "<t>.<run_id>.<triggered_at>.<job_name>")>
 *
 * public.dispatch_reminder_run signs with Vault's reminder_signing_key; the function holds the same key as
 * REMINDER_SIGNING_KEY (and, while a rotation settles, the one before as REMINDER_SIGNING_KEY_PREVIOUS).
 * The fields are the JSON body's values, so what is signed does not depend on how pg_net serialises the
 * body. The split is unambiguous: t and run_id are digits, triggered_at must end in its zone (request.ts), so
 * its own dot (the fraction of a second) cannot be moved into job_name, which goes last because it may hold
 * dots of its own. A signature is worth one run, once, for
 * maxAgeSeconds: the replay check (a run id seen before) is the database's, see run.ts.
 *
 * The names and limits are spelled out here because the function is deployed without infra/sql/names.ts;
 * tests/unit/reminder-signature.test.ts proves they equal those the SQL uses.
 */
export const signatureHeader = "x-reminder-signature";
/** No longer than reconcile's deadline for an answer: a request sent after its run was failed never runs. */
export const maxAgeSeconds = 120;
/** Clocks drift by seconds, not minutes. */
export const futureSkewSeconds = 30;
export const minimumKeyLength = 32;

export interface SignedFields {
  runId: number;
  triggeredAt: string;
  jobName: string;
}

export type RefusalReason = "malformed" | "stale" | "future" | "unsigned-body" | "mismatch";

export type Verdict = { ok: true; signedAt: number } | { ok: false; reason: RefusalReason; error: string };

const encoder = new TextEncoder();
const headerShape = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/;

/** Equal-length hex strings compared without an early exit (both sides here are 64 digits by construction). */
function sameHex(a: string, b: string): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** The exact text that is signed. */
export const signedPayload = (t: number, fields: SignedFields) => `${t}.${fields.runId}.${fields.triggeredAt}.${fields.jobName}`;

/** The hex HMAC-SHA256 of `payload` under `key`, both taken as UTF-8, as pgcrypto's hmac over convert_to(..., 'UTF8'). */
export async function hmacHex(key: string, payload: string): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(payload)));
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The header value a request signed at `t` (unix seconds) carries. */
export async function signatureFor(key: string, t: number, fields: SignedFields): Promise<string> {
  return `t=${t},v1=${await hmacHex(key, signedPayload(t, fields))}`;
}

/**
 * Checks a signature header against the body's fields (undefined: the body lacks them) and every key
 * held. The clock is checked before any HMAC is computed; each key is compared in constant time, and all
 * of them, so the time taken says nothing of which matched.
 */
export async function verifySignature(header: string, fields: SignedFields | undefined, keys: string[], nowMs: number): Promise<Verdict> {
  const match = headerShape.exec(header.trim());
  if (!match) {
    return { ok: false, reason: "malformed", error: `The ${signatureHeader} header is not "t=<unix seconds>,v1=<64 hex digits>".` };
  }
  const signedAt = Number(match[1]);
  const ageSeconds = nowMs / 1000 - signedAt;
  if (ageSeconds > maxAgeSeconds) {
    return {
      ok: false,
      reason: "stale",
      error: `The signature was made ${Math.floor(ageSeconds)} s ago, more than the ${maxAgeSeconds} s a signed request is valid: it was delayed or replayed. The next trigger sends a fresh one.`,
    };
  }
  if (-ageSeconds > futureSkewSeconds) {
    return {
      ok: false,
      reason: "future",
      error: `The signature is dated ${Math.ceil(-ageSeconds)} s ahead of this function's clock, more than the ${futureSkewSeconds} s of skew allowed: check the database server's clock.`,
    };
  }
  if (!fields) {
    return {
      ok: false,
      reason: "unsigned-body",
      error: "A signed request must carry job_name, run_id and triggered_at in its JSON body: the signature covers them.",
    };
  }
  const presented = match[2];
  let matched = false;
  for (const key of keys) {
    if (sameHex(presented, await hmacHex(key, signedPayload(signedAt, fields)))) matched = true;
  }
  if (!matched) {
    return {
      ok: false,
      reason: "mismatch",
      error:
        "The signature does not match the request: it was altered, or signed with a key this function does not hold. " +
        "Vault's reminder_signing_key must equal the function's REMINDER_SIGNING_KEY (or REMINDER_SIGNING_KEY_PREVIOUS while a rotation settles).",
    };
  }
  return { ok: true, signedAt };
}
