/**
 * ReminderSchedulerService: one reminder run per POST. pg_cron's daily job calls it through pg_net (see
 * supabase/migrations/*_register_reminder_cron.sql); an operator may call it with supabase-js or curl.
 *
 *   401  missing or wrong credential, or a signed request that is altered, stale, from the future or replayed
 *   405  anything but POST          400  a body it cannot use
 *   409  another run holds the lease: this one is recorded in public.reminder_runs as skipped
 *   200  the run finished: {run_id, status, as_of, evaluated, created, skipped, duration_ms}
 *   202  the run takes longer than REMINDER_ANSWER_WITHIN_MS: it continues, and public.reminder_runs
 *        records its outcome (pg_net gives the call 5 s, so the answer never waits for a large run)
 *   500  the run failed: it is recorded as failed, its lease released, and the next trigger tries again
 *
 * Credentials:
 *   pg_cron's dispatch: `x-reminder-signature: t=<unix seconds>,v1=<hex>` (../_shared/signature.ts), checked
 *     against REMINDER_SIGNING_KEY and REMINDER_SIGNING_KEY_PREVIOUS; nothing long-lived crosses pg_net.
 *   By hand: `Authorization: Bearer <SUPABASE_SERVICE_ROLE_KEY or REMINDER_SHARED_SECRET>`, or
 *     `x-reminder-secret: <REMINDER_SHARED_SECRET>`. Such a call's run_id is ignored: only a signed request
 *     names the log row (cron_run_id) that reconcile settles from the run's record.
 */
import { isAccepted, presentedCredentials } from "../_shared/credentials.ts";
import { optionalIntegerEnv, requireEnv } from "../_shared/env.ts";
import { json, jsonError } from "../_shared/http.ts";
import { minimumKeyLength, signatureHeader, verifySignature } from "../_shared/signature.ts";
import { parseRunRequest, type ParsedRunRequest } from "./request.ts";
import { acceptSignedRun, beginRun, connect, evaluateRun, failRun, type Started } from "./run.ts";

// The environment first: without its database or its credentials the function must not serve at all.
const env = requireEnv(
  (name) => Deno.env.get(name),
  ["SUPABASE_DB_URL", "SUPABASE_SERVICE_ROLE_KEY", "REMINDER_SHARED_SECRET", "REMINDER_SIGNING_KEY"],
  "Supabase sets SUPABASE_DB_URL and SUPABASE_SERVICE_ROLE_KEY for every function; set the shared secret with " +
    "`supabase secrets set REMINDER_SHARED_SECRET=$(openssl rand -hex 32)`, and the signing key with " +
    "`supabase secrets set REMINDER_SIGNING_KEY=<the value of Vault's reminder_signing_key>`. The local stack sets all four.",
);
// Optional; blank counts as unset. Used as given, like REMINDER_SIGNING_KEY: its bytes are the key.
const previousSetting = Deno.env.get("REMINDER_SIGNING_KEY_PREVIOUS") ?? "";
const previousSigningKey = previousSetting.trim() === "" ? "" : previousSetting;
for (const [name, value] of [
  ["REMINDER_SHARED_SECRET", env.REMINDER_SHARED_SECRET],
  ["REMINDER_SIGNING_KEY", env.REMINDER_SIGNING_KEY],
  ["REMINDER_SIGNING_KEY_PREVIOUS", previousSigningKey],
] as const) {
  if (value !== "" && value.length < minimumKeyLength) {
    throw new Error(
      `${name} is shorter than ${minimumKeyLength} characters, short enough to guess; ` +
        `set a random one with \`supabase secrets set ${name}=$(openssl rand -hex 32)\`${name === "REMINDER_SHARED_SECRET" ? "" : ", and the same value in Vault's reminder_signing_key"}.`,
    );
  }
}
/** Below pg_net's 5000 ms timeout with room for the network, so the trigger always gets an answer. */
const answerWithinMs = optionalIntegerEnv((name) => Deno.env.get(name), "REMINDER_ANSWER_WITHIN_MS", 4000, 100, 4500);

const secretHeader = "x-reminder-secret";
const accepted = [env.SUPABASE_SERVICE_ROLE_KEY, env.REMINDER_SHARED_SECRET];
/** The current key, then the one a rotation replaced while it settles. */
const signingKeys = [env.REMINDER_SIGNING_KEY, previousSigningKey].filter((key) => key !== "");
const databasePassword = (() => {
  try {
    return decodeURIComponent(new URL(env.SUPABASE_DB_URL).password);
  } catch {
    return "";
  }
})();
const sql = connect(env.SUPABASE_DB_URL);

/** An error's text for answers and logs, with any credential a driver might have quoted taken out. */
function safeMessage(error: unknown): string {
  let text = error instanceof Error ? error.message : String(error);
  for (const secret of [...accepted, ...signingKeys, databasePassword]) if (secret) text = text.split(secret).join("[redacted]");
  return text;
}

function log(event: string, fields: object): void {
  console.log(JSON.stringify({ function: "reminder-scheduler", event, ...fields }));
}

const unauthorized = (error: string, extra: Record<string, unknown> = {}) =>
  jsonError(401, error, extra, { "WWW-Authenticate": 'Bearer realm="reminder-scheduler"' });

/**
 * A signed request's check: the signature (clock first, then the HMAC under each key held), then the run
 * id, which may be used once. Returns the refusal, or undefined when the request may run.
 */
async function refuseSigned(header: string, parsed: ParsedRunRequest): Promise<Response | undefined> {
  const fields = parsed.ok && parsed.request.cronRunId !== null && parsed.request.triggeredAt !== null
    ? { runId: parsed.request.cronRunId, triggeredAt: parsed.request.triggeredAt, jobName: parsed.request.jobName }
    : undefined;
  const verdict = await verifySignature(header, fields, signingKeys, Date.now());
  if (!verdict.ok) {
    log("signature_refused", { reason: verdict.reason, run_id: fields?.runId ?? null });
    return unauthorized(verdict.error, { reason: verdict.reason });
  }
  let first: boolean;
  try {
    first = await acceptSignedRun(sql, fields!.runId, fields!.jobName, verdict.signedAt);
  } catch (error) {
    const message = safeMessage(error);
    log("signature_not_recorded", { run_id: fields!.runId, error: message });
    return jsonError(500, `The signed run id could not be recorded (${message}), so a replay could not be told apart; nothing was evaluated. The next trigger tries again.`, { status: "failed" });
  }
  if (!first) {
    log("signature_refused", { reason: "replayed", run_id: fields!.runId });
    return unauthorized(`Run ${fields!.runId} was already started by a signed request: this one is a replay, and starts nothing.`, { reason: "replayed" });
  }
  return undefined;
}

/** Evaluates a started run; never rejects, so it can finish after a 202 has been sent. */
async function evaluate(runId: number): Promise<Response> {
  try {
    const summary = await evaluateRun(sql, runId);
    log("run_succeeded", summary);
    return json(200, summary);
  } catch (error) {
    const message = safeMessage(error);
    await failRun(sql, runId, `the evaluation failed: ${message}`).catch((failure) =>
      log("run_not_recorded", { run_id: runId, error: safeMessage(failure) }),
    );
    log("run_failed", { run_id: runId, error: message });
    return jsonError(
      500,
      `The reminder evaluation failed (${message}). Run ${runId} is recorded as failed in public.reminder_runs and its lease is released; the next trigger tries again.`,
      { run_id: runId, status: "failed" },
    );
  }
}

/** The evaluation's answer if it comes within the budget; else undefined, and the run keeps going. */
async function answerInTime(evaluation: Promise<Response>): Promise<Response | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const budget = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), answerWithinMs)));
  try {
    return await Promise.race([evaluation, budget]);
  } finally {
    clearTimeout(timer);
  }
}

/** Supabase's runtime ends a worker once it has answered unless it is told of work still running. */
function keepAlive(work: Promise<unknown>): void {
  (globalThis as { EdgeRuntime?: { waitUntil(promise: Promise<unknown>): void } }).EdgeRuntime?.waitUntil(work);
}

async function handle(request: Request): Promise<Response> {
  const signature = request.headers.get(signatureHeader);
  let parsed: ParsedRunRequest | undefined;
  if (signature !== null) {
    // What is signed is in the body, so a signed request is read before it is judged.
    parsed = parseRunRequest(await request.text());
    const refused = await refuseSigned(signature, parsed);
    if (refused) return refused;
  } else if (!(await isAccepted(presentedCredentials(request.headers, secretHeader), accepted))) {
    return unauthorized(
      `Missing or wrong credential. Send "Authorization: Bearer <service role key or REMINDER_SHARED_SECRET>" or "${secretHeader}: <REMINDER_SHARED_SECRET>".`,
    );
  }
  if (request.method !== "POST") {
    return jsonError(405, `${request.method} is not allowed: start a reminder run with POST.`, {}, { Allow: "POST" });
  }
  parsed ??= parseRunRequest(await request.text());
  if (!parsed.ok) return jsonError(400, parsed.error);
  if (signature === null && parsed.request.cronRunId !== null) {
    // Only a signed request binds a run to pg_cron's log: reconcile settles a scheduled run from the record
    // that names it, and a key held by hand (the service-role key is every backend's) must not name one.
    log("manual_run_id_ignored", { run_id: parsed.request.cronRunId });
    parsed = { ok: true, request: { ...parsed.request, cronRunId: null } };
  }

  let started: Started;
  try {
    started = await beginRun(sql, parsed.request);
  } catch (error) {
    const message = safeMessage(error);
    log("run_not_started", { error: message });
    return jsonError(500, `The reminder run could not start (${message}). Nothing was evaluated; the next trigger tries again.`, { status: "failed" });
  }

  if (started.outcome === "skipped") {
    log("run_skipped", { run_id: started.runId, active_run_id: started.holderRunId });
    return jsonError(
      409,
      `Run ${started.holderRunId} has been running since ${started.holderStartedAt}, and two runs at once could only duplicate reminders. ` +
        `This request is recorded as skipped run ${started.runId}; wait for run ${started.holderRunId} to finish (see public.reminder_runs).`,
      { run_id: started.runId, status: "skipped", active_run_id: started.holderRunId },
    );
  }

  const evaluation = evaluate(started.runId);
  const answer = await answerInTime(evaluation);
  if (answer) return answer;
  keepAlive(evaluation);
  log("run_continues", { run_id: started.runId, answer_within_ms: answerWithinMs });
  return json(202, {
    run_id: started.runId,
    status: "running",
    as_of: started.asOf,
    message: `The run takes longer than ${answerWithinMs} ms and continues; public.reminder_runs row ${started.runId} records its outcome.`,
  });
}

Deno.serve(handle);

/*
 * To invoke locally (`npm run db:start` serves this function at <functionsUrl>/reminder-scheduler with a
 * random service role key, shared secret and signing key of its own; functionEndpoint(state) in stack/edge-functions.ts
 * gives code both, and this command uses them without printing them):
 *
 *   npx tsx stack/edge-functions.ts invoke reminder-scheduler '{"job_name": "manual"}'
 *   # 200 {"run_id":12,"status":"succeeded","as_of":"2026-11-28","evaluated":3,"created":3,"skipped":0,"duration_ms":4}
 *
 * From supabase-js: createClient(endpoint.supabaseUrl, endpoint.credential).functions.invoke("reminder-scheduler", { body: {} }).
 *
 * On a Supabase project:
 *   supabase secrets set REMINDER_SHARED_SECRET=$(openssl rand -hex 32) REMINDER_SIGNING_KEY=<Vault's reminder_signing_key>
 *   supabase functions deploy reminder-scheduler --no-verify-jwt
 *   curl -i -X POST https://<ref>.supabase.co/functions/v1/reminder-scheduler \
 *        -H "Authorization: Bearer $SUPABASE_SERVICE_ROLE_KEY" -H 'Content-Type: application/json' -d '{}'
 */
