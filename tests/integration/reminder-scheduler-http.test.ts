/**
 * The ReminderSchedulerService's HTTP contract, against the real function the local stack serves under Deno
 * at /functions/v1/reminder-scheduler: who may call it, how, with what body, and that a refused call starts
 * no run. supabase-js's functions.invoke reaches it unchanged.
 */
import { FunctionsHttpError } from "@supabase/supabase-js";
import { withClient } from "../support/db";
import { callFunction, endpoint, supabaseClient, unusedRunId } from "../support/reminder-scheduler";

const runCount = () => withClient(async (client) => Number((await client.query("select count(*) from public.reminder_runs")).rows[0].count));

/** Runs `call` and asserts that it recorded no run at all. */
async function startsNoRun<T>(call: () => Promise<T>): Promise<T> {
  const before = await runCount();
  const result = await call();
  expect(await runCount()).toBe(before);
  return result;
}

describe("credentials", () => {
  test.each([
    ["no credential", {}],
    ["a wrong bearer token", { Authorization: "Bearer not-the-key" }],
    ["the right key under another scheme", "basic"],
    ["a wrong x-reminder-secret", { "x-reminder-secret": "not-the-secret" }],
    ["an empty bearer token", { Authorization: "Bearer " }],
  ])("%s is answered 401 with a JSON error, and starts no run", async (_what, headers) => {
    const sent = headers === "basic" ? { Authorization: `Basic ${endpoint().credential}` } : (headers as Record<string, string>);
    const answer = await startsNoRun(() => callFunction({ headers: sent, body: {} }));
    expect(answer.status).toBe(401);
    expect(answer.headers.get("content-type")).toBe("application/json");
    expect(answer.headers.get("www-authenticate")).toBe('Bearer realm="reminder-scheduler"');
    expect(answer.body.error).toMatch(/^Missing or wrong credential\. Send "Authorization: Bearer/);
  });

  test.each([
    ["the service role key as a Bearer token", () => ({ Authorization: `Bearer ${endpoint().credential}` })],
    ["the shared secret as a Bearer token", () => ({ Authorization: `Bearer ${endpoint().sharedSecret}` })],
    ["the shared secret in x-reminder-secret", () => ({ "x-reminder-secret": endpoint().sharedSecret })],
  ])("%s is accepted", async (_what, headers) => {
    const answer = await callFunction({ headers: headers(), body: {} });
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe("succeeded");
  });

  test("a wrong credential is refused before the method or the body is looked at", async () => {
    const answer = await startsNoRun(() => callFunction({ method: "GET", headers: { Authorization: "Bearer wrong" } }));
    expect(answer.status).toBe(401);
  });
});

describe("methods", () => {
  test.each(["GET", "PUT", "PATCH", "DELETE"])("%s is answered 405 with Allow: POST, and starts no run", async (method) => {
    const answer = await startsNoRun(() => callFunction({ method, body: method === "GET" || method === "DELETE" ? undefined : {} }));
    expect(answer.status).toBe(405);
    expect(answer.headers.get("allow")).toBe("POST");
    expect(answer.body.error).toBe(`${method} is not allowed: start a reminder run with POST.`);
  });
});

describe("bodies", () => {
  test.each([
    ["not JSON", "{job_name:", /^The request body is not valid JSON \(.+\)\. Send \{"job_name"/],
    ["an array", "[1, 2]", /^The request body is an array, not a JSON object\./],
    ["a string", '"run"', /^The request body is a string, not a JSON object\./],
    ["null", "null", /^The request body is null, not a JSON object\./],
    ["an unknown field", '{"runId": 4}', /^Unknown field "runId" in the request body; the supported fields are "job_name", "run_id", "triggered_at"\.$/],
    ["an empty job_name", '{"job_name": ""}', /^job_name must be a non-empty string of at most 200 characters, got ""\.$/],
    ["a run_id that is text", '{"run_id": "12"}', /^run_id must be a positive integer .+, got "12"; leave it out for a manual run\.$/],
    ["a negative run_id", '{"run_id": -3}', /got -3;/],
    ["a fractional run_id", '{"run_id": 1.5}', /got 1\.5;/],
    ["a triggered_at without a zone", '{"triggered_at": "2026-11-28 06:00:00"}', /^triggered_at must be a timestamp with a time zone, such as "2026-11-28T06:00:00Z", got "2026-11-28 06:00:00"/],
    ["a triggered_at that is no date", '{"triggered_at": "2026-02-30T06:00:00Z"}', /got "2026-02-30T06:00:00Z"/],
    ["a triggered_at in the future", '{"triggered_at": "2099-01-01T06:00:00Z"}', /^triggered_at "2099-01-01T06:00:00Z" is in the future/],
  ])("%s is answered 400 with an error naming the value, and starts no run", async (_what, rawBody, error) => {
    const answer = await startsNoRun(() => callFunction({ rawBody }));
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(error);
  });

  test.each([
    ["no body", async () => undefined],
    ["an empty object", async () => "{}"],
    ["the body pg_cron sends", async () => JSON.stringify({ job_name: "daily-reminder-eval", run_id: await unusedRunId(), triggered_at: "2026-11-28T06:00:00.123456+00:00" })],
    ["Postgres's short zone offset", async () => JSON.stringify({ triggered_at: "2026-11-28 06:00:00+00" })],
  ])("%s starts a run", async (_what, rawBody) => {
    const answer = await callFunction({ rawBody: await rawBody() });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "succeeded" });
  });
});

test("the answer to a trigger-shaped call is the run's JSON summary (its time is bench/reminder-run.ts's to measure)", async () => {
  const answer = await callFunction({ body: { job_name: "daily-reminder-eval", run_id: await unusedRunId(), triggered_at: new Date().toISOString() } });
  expect(answer.status).toBe(200);
  expect(Object.keys(answer.body).sort()).toEqual(["as_of", "created", "duration_ms", "evaluated", "run_id", "skipped", "status"]);
});

test("no answer, refused or accepted, contains a credential", async () => {
  const { credential, sharedSecret } = endpoint();
  const answers = await Promise.all([
    callFunction({ headers: { Authorization: `Bearer ${credential}x` } }),
    callFunction({ rawBody: `{"job_name": "${sharedSecret}", "x": 1}` }),
    callFunction({ method: "GET" }),
    callFunction({ body: {} }),
  ]);
  for (const answer of answers) {
    expect(answer.text).not.toContain(credential);
    expect(answer.text).not.toContain(sharedSecret);
  }
});

describe("supabase-js", () => {
  test("functions.invoke with the service role key starts a run and returns its summary", async () => {
    const supabase = supabaseClient(endpoint().credential);
    const { data, error } = await supabase.functions.invoke("reminder-scheduler", { body: { job_name: "supabase-js" } });
    expect(error).toBeNull();
    expect(data).toMatchObject({ status: "succeeded" });
    const row = await withClient(async (client) => (await client.query("select job_name from public.reminder_runs where id = $1", [data.run_id])).rows[0]);
    expect(row.job_name).toBe("supabase-js");
  });

  test("functions.invoke with another key gets the 401 as a FunctionsHttpError", async () => {
    const supabase = supabaseClient("an-anon-key");
    const { data, error } = await supabase.functions.invoke("reminder-scheduler", { body: {} });
    expect(data).toBeNull();
    expect(error).toBeInstanceOf(FunctionsHttpError);
    expect((error as FunctionsHttpError).context.status).toBe(401);
  });
});
