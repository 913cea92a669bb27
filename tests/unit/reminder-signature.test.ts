/**
 * The signed dispatch, the function's side, under Node: the header it checks, the clock rules, the keys it
 * holds during a rotation, and that its names and limits are the ones the SQL signs with.
 */
import { minimumSigningKeyLength, signatureFutureSkewSeconds, signatureHeader, signatureMaxAgeSeconds, signedFields } from "../../infra/sql/names";
import { responseDeadlineSeconds } from "../../infra/sql/reminder-cron-migration";
import {
  futureSkewSeconds,
  hmacHex,
  maxAgeSeconds,
  minimumKeyLength,
  signatureFor,
  signatureHeader as functionHeader,
  signedPayload,
  verifySignature,
} from "../../supabase/functions/_shared/signature";

const key = "k".repeat(64);
const previous = "p".repeat(64);
const now = Date.parse("2026-11-28T06:00:05Z");
const t = Math.floor(now / 1000) - 3;
const fields = { runId: 41, triggeredAt: "2026-11-28T06:00:00.004212+00:00", jobName: "daily-reminder-eval" };

test("the function checks what the SQL signs: one header name, one payload order, one set of limits", () => {
  expect(functionHeader).toBe(signatureHeader);
  expect(signedPayload(7, { runId: 1, triggeredAt: "T", jobName: "J" })).toBe(signedFields.map((field) => ({ t: "7", run_id: "1", triggered_at: "T", job_name: "J" })[field]).join("."));
  expect([maxAgeSeconds, futureSkewSeconds, minimumKeyLength]).toEqual([signatureMaxAgeSeconds, signatureFutureSkewSeconds, minimumSigningKeyLength]);
  // A request sent after reconcile failed its run as unanswered must not run.
  expect(maxAgeSeconds).toBeLessThanOrEqual(responseDeadlineSeconds);
});

test("hmacHex is HMAC-SHA256 in hex (RFC 4231 test case 2)", async () => {
  expect(await hmacHex("Jefe", "what do ya want for nothing?")).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
});

describe("verifySignature", () => {
  test("accepts a fresh signature under the current key, and under the previous one while a rotation settles", async () => {
    expect(await verifySignature(await signatureFor(key, t, fields), fields, [key, previous], now)).toEqual({ ok: true, signedAt: t });
    expect(await verifySignature(await signatureFor(previous, t, fields), fields, [key, previous], now)).toEqual({ ok: true, signedAt: t });
  });

  test.each([
    ["a retired key", async () => [await signatureFor(previous, t, fields), fields, [key]] as const],
    ["another run id", async () => [await signatureFor(key, t, fields), { ...fields, runId: 42 }, [key]] as const],
    ["another trigger time", async () => [await signatureFor(key, t, fields), { ...fields, triggeredAt: "2026-11-27T06:00:00+00:00" }, [key]] as const],
    ["another job name", async () => [await signatureFor(key, t, fields), { ...fields, jobName: "daily-reminder-eval-2" }, [key]] as const],
    ["another t with the same HMAC", async () => [(await signatureFor(key, t, fields)).replace(`t=${t}`, `t=${t - 1}`), fields, [key]] as const],
    ["one hex digit changed", async () => [(await signatureFor(key, t, fields)).replace(/.$/, (d) => (d === "0" ? "1" : "0")), fields, [key]] as const],
  ])("refuses %s as a mismatch, naming both ends of the key", async (_what, make) => {
    const [header, signed, keys] = await make();
    const verdict = await verifySignature(header, signed, [...keys], now);
    expect(verdict).toEqual({
      ok: false,
      reason: "mismatch",
      error:
        "The signature does not match the request: it was altered, or signed with a key this function does not hold. " +
        "Vault's reminder_signing_key must equal the function's REMINDER_SIGNING_KEY (or REMINDER_SIGNING_KEY_PREVIOUS while a rotation settles).",
    });
  });

  test("refuses a signature older than the limit, and accepts one at it", async () => {
    const old = Math.floor(now / 1000) - maxAgeSeconds - 1;
    expect(await verifySignature(await signatureFor(key, old, fields), fields, [key], now)).toEqual({
      ok: false,
      reason: "stale",
      error: "The signature was made 121 s ago, more than the 120 s a signed request is valid: it was delayed or replayed. The next trigger sends a fresh one.",
    });
    // At the limit it still counts.
    const edge = Math.floor(now / 1000) - maxAgeSeconds;
    expect((await verifySignature(await signatureFor(key, edge, fields), fields, [key], now)).ok).toBe(true);
  });

  test("refuses a signature dated ahead by more than the skew, and accepts one within it", async () => {
    const ahead = Math.ceil(now / 1000) + futureSkewSeconds + 5;
    expect(await verifySignature(await signatureFor(key, ahead, fields), fields, [key], now)).toEqual({
      ok: false,
      reason: "future",
      error: "The signature is dated 35 s ahead of this function's clock, more than the 30 s of skew allowed: check the database server's clock.",
    });
    expect((await verifySignature(await signatureFor(key, Math.floor(now / 1000) + 10, fields), fields, [key], now)).ok).toBe(true);
  });

  test.each(["", "t=1,v1=abc", "v1=" + "a".repeat(64) + ",t=1", `t=${t},v1=${"A".repeat(64)}`, `t=${t},v0=${"a".repeat(64)}`, `t=-1,v1=${"a".repeat(64)}`])(
    "refuses the malformed header %j",
    async (header) => {
      expect(await verifySignature(header, fields, [key], now)).toEqual({
        ok: false,
        reason: "malformed",
        error: 'The x-reminder-signature header is not "t=<unix seconds>,v1=<64 hex digits>".',
      });
    },
  );

  test("refuses a signed request whose body lacks the signed fields", async () => {
    expect(await verifySignature(await signatureFor(key, t, fields), undefined, [key], now)).toMatchObject({ ok: false, reason: "unsigned-body" });
  });
});
