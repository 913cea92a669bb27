/**
 * The Edge Function's pure parts, run under Node: the request body it accepts, the credential check and the
 * start-up environment check. The same files run under Deno in the function.
 */
import { constantTimeEqual, isAccepted, presentedCredentials } from "../../supabase/functions/_shared/credentials";
import { optionalIntegerEnv, requireEnv } from "../../supabase/functions/_shared/env";
import { parseRunRequest } from "../../supabase/functions/reminder-scheduler/request";

const now = Date.parse("2026-11-28T06:00:05Z");

describe("parseRunRequest", () => {
  test.each([
    ["an empty body", "", { jobName: "manual", cronRunId: null, triggeredAt: null }],
    ["whitespace", " \n", { jobName: "manual", cronRunId: null, triggeredAt: null }],
    ["an empty object", "{}", { jobName: "manual", cronRunId: null, triggeredAt: null }],
    [
      "pg_cron's body",
      '{"job_name": "daily-reminder-eval", "run_id": 12, "triggered_at": "2026-11-28T06:00:00.004212+00:00"}',
      { jobName: "daily-reminder-eval", cronRunId: 12, triggeredAt: "2026-11-28T06:00:00.004212+00:00" },
    ],
    ["nulls for the optional fields", '{"run_id": null, "triggered_at": null}', { jobName: "manual", cronRunId: null, triggeredAt: null }],
    ["Postgres's text form", '{"triggered_at": "2026-11-28 06:00:00+00"}', { jobName: "manual", cronRunId: null, triggeredAt: "2026-11-28 06:00:00+00" }],
    ["a Z time a minute ahead (clock skew)", '{"triggered_at": "2026-11-28T06:01:00Z"}', { jobName: "manual", cronRunId: null, triggeredAt: "2026-11-28T06:01:00Z" }],
  ])("accepts %s", (_what, body, request) => {
    expect(parseRunRequest(body, now)).toEqual({ ok: true, request });
  });

  test.each([
    ["{", /^The request body is not valid JSON \(.+\)\. Send \{"job_name": "<text>", "run_id": <integer>, "triggered_at": "<timestamp with time zone>"\}, every field optional, or an empty body\.$/],
    ["42", /^The request body is a number, not a JSON object\./],
    ['{"job": "x", "when": 1}', /^Unknown fields "job", "when" in the request body; the supported fields are "job_name", "run_id", "triggered_at"\.$/],
    ['{"job_name": 7}', /^job_name must be a non-empty string of at most 200 characters, got 7\.$/],
    [`{"job_name": "${"x".repeat(201)}"}`, /got "x{76}\.\.\.\.$/],
    ['{"run_id": 0}', /^run_id must be a positive integer \(the cron_execution_log id of the trigger\), got 0; leave it out for a manual run\.$/],
    ['{"run_id": 9007199254740993}', /got 9007199254740992;/],
    ['{"triggered_at": 1732773600}', /^triggered_at must be a timestamp with a time zone, such as "2026-11-28T06:00:00Z", got 1732773600; leave it out to evaluate today\.$/],
    ['{"triggered_at": "2026-11-31T06:00:00Z"}', /got "2026-11-31T06:00:00Z"/],
    ['{"triggered_at": "2026-11-28T06:10:00Z"}', /^triggered_at "2026-11-28T06:10:00Z" is in the future, and a run evaluates the UTC day it was triggered;/],
  ])("refuses %s, naming the value", (body, error) => {
    const parsed = parseRunRequest(body, now);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? "" : parsed.error).toMatch(error);
  });
});

describe("credentials", () => {
  test("constantTimeEqual compares whole values, whatever their lengths", async () => {
    expect(await constantTimeEqual("s3cret", "s3cret")).toBe(true);
    expect(await constantTimeEqual("s3cret", "s3cre")).toBe(false);
    expect(await constantTimeEqual("s3cret", "s3cret ")).toBe(false);
    expect(await constantTimeEqual("", "")).toBe(true);
  });

  test.each([
    ["a Bearer token", { authorization: "Bearer abc" }, ["abc"]],
    ["a lower-case scheme", { authorization: "bearer abc" }, ["abc"]],
    ["the secret header", { "x-reminder-secret": " xyz " }, ["xyz"]],
    ["both", { authorization: "Bearer abc", "x-reminder-secret": "xyz" }, ["abc", "xyz"]],
    ["another scheme", { authorization: "Basic abc" }, []],
    ["a token with a space in it", { authorization: "Bearer abc def" }, []],
    ["nothing", {}, []],
  ])("presentedCredentials reads %s", (_what, headers, presented) => {
    expect(presentedCredentials(new Headers(headers), "x-reminder-secret")).toEqual(presented);
  });

  test("isAccepted is true when any presented value equals any accepted one, and only then", async () => {
    expect(await isAccepted(["wrong", "key-2"], ["key-1", "key-2"])).toBe(true);
    expect(await isAccepted(["wrong"], ["key-1", "key-2"])).toBe(false);
    expect(await isAccepted([], ["key-1"])).toBe(false);
  });
});

describe("environment", () => {
  const env = (values: Record<string, string>) => (name: string) => values[name];

  test("requireEnv returns every value when all are set", () => {
    expect(requireEnv(env({ A: "1", B: "2" }), ["A", "B"], "set them.")).toEqual({ A: "1", B: "2" });
  });

  test("requireEnv names every missing or blank variable at once, with the fix, and no value", () => {
    expect(() => requireEnv(env({ A: "value-of-a", B: "  " }), ["A", "B", "C"], "set them with supabase secrets set.")).toThrow(
      new Error("Missing environment variables B, C: set them with supabase secrets set."),
    );
  });

  test.each([
    [undefined, 4000],
    ["250", 250],
  ])("optionalIntegerEnv reads %s as %i", (raw, value) => {
    expect(optionalIntegerEnv(env(raw === undefined ? {} : { N: raw }), "N", 4000, 100, 4500)).toBe(value);
  });

  test.each(["4501", "99", "1.5", "soon"])("optionalIntegerEnv refuses %s with the range and the default", (raw) => {
    expect(() => optionalIntegerEnv(env({ N: raw }), "N", 4000, 100, 4500)).toThrow(
      new Error(`N=${JSON.stringify(raw)} is not a whole number from 100 to 4500; set one in that range, or unset it for 4000.`),
    );
  });
});
