/**
 * The stack configuration: defaults, the environment's precedence, and one clear refusal per bad value
 * (naming the key or variable, the value and the fix), all problems at once, before anything changes.
 */
import { join } from "node:path";
import { functionUrlProblem, nextRunUtc, parseSettings, RawConfig, scheduleInWords } from "../../infra/config";
import { CronFields, parseSchedule, shortestGapMinutes, shortestGapSeconds } from "../../infra/providers/pg-cron-schedule";
import { intervalWords, postgresIntervalText, readInterval } from "../../infra/retry-settings";
import { repoRoot } from "../../stack/paths";

const url = "https://abcdefghijklmnopqrst.supabase.co/functions/v1/reminder-scheduler";
/** A real PEM root certificate (self-signed, trusted nowhere), as the download from the dashboard would be. */
const testCert = join(repoRoot, "tests", "fixtures", "test-root-ca.crt");

function raw(values: RawConfig["values"] = {}, secretsSet: Partial<RawConfig["secretsSet"]> = {}, signingKeyLength = 64, facts: Partial<RawConfig> = {}): RawConfig {
  return {
    values: { functionUrl: url, host: "db.abcdefghijklmnopqrst.supabase.co", sslRootCert: testCert, projectRef: "abcdefghijklmnopqrst", ...values },
    secretsSet: { password: true, signingKey: true, sharedSecret: true, accessToken: true, ...secretsSet },
    signingKeyLength,
    sharedSecretLength: 64,
    accessTokenWellFormed: true,
    ...facts,
  };
}

/** The single problem line parseSettings reports, without the header. */
function problemOf(config: RawConfig, env: Record<string, string | undefined> = {}): string {
  try {
    parseSettings(config, env, "staging");
  } catch (error) {
    const lines = (error as Error).message.split("\n");
    expect(lines[0]).toBe("Invalid configuration for stack staging; nothing was changed:");
    expect(lines).toHaveLength(2);
    return lines[1];
  }
  throw new Error("parseSettings accepted the configuration");
}

describe("defaults", () => {
  test("a minimal remote stack runs daily at 06:00 UTC as daily-reminder-eval over verified TLS as postgres", () => {
    expect(parseSettings(raw(), {}, "staging")).toEqual({
      cronExpression: "0 6 * * *",
      cronExpressionSource: "default",
      schedule: expect.objectContaining({ kind: "cron", expression: "0 6 * * *" }),
      functionUrl: url,
      functionUrlSource: "reminder-cron:functionUrl",
      jobName: "daily-reminder-eval",
      jobActive: true,
      pgCronVersion: "1.4",
      manageExtensions: false,
      adoptRole: false,
      protect: false,
      notices: [],
      db: { host: "db.abcdefghijklmnopqrst.supabase.co", port: 5432, database: "postgres", user: "postgres", role: "postgres", sslMode: "verify-full", sslRootCert: testCert },
      management: { projectRef: "abcdefghijklmnopqrst", apiUrl: "https://api.supabase.com" },
      retry: { retries: 5, backoff: "1 minute", deadline: "4 hours", backoffSeconds: 60, deadlineSeconds: 14400 },
    });
  });

  test("a local database needs neither TLS nor a password, and may be called over http", () => {
    const settings = parseSettings(raw({ host: "127.0.0.1", sslRootCert: undefined, functionUrl: "http://127.0.0.1:54321/functions/v1/reminder-scheduler" }, { password: false }), {}, "dev");
    expect(settings.db.sslMode).toBe("disable");
    expect(settings.functionUrl).toBe("http://127.0.0.1:54321/functions/v1/reminder-scheduler");
  });

  test("the pooler's login name <role>.<project-ref> runs the session as <role>", () => {
    const pooler = { host: "aws-0-eu-central-1.pooler.supabase.com", user: "postgres.abcdefghijklmnopqrst" };
    expect(parseSettings(raw(pooler), {}, "staging").db).toMatchObject({ user: "postgres.abcdefghijklmnopqrst", role: "postgres" });
  });

  test("the schedule is stored as pg_cron will hold it: trimmed, one space between fields", () => {
    expect(parseSettings(raw({ cronExpression: "  30  5 * *   1-5 " }), {}, "staging").cronExpression).toBe("30 5 * * 1-5");
  });
});

describe("environment overrides, where the stack opted in", () => {
  const optedIn = (values: RawConfig["values"] = {}) => raw({ allowEnvOverrides: "true", ...values });
  test.each([
    ["REMINDER_CRON_EXPRESSION beats the stack config", { cronExpression: "0 7 * * *" }, { REMINDER_CRON_EXPRESSION: "15 8 * * *" }, "15 8 * * *", "REMINDER_CRON_EXPRESSION"],
    ["the stack config beats the default", { cronExpression: "0 7 * * *" }, {}, "0 7 * * *", "reminder-cron:cronExpression"],
    ["an empty REMINDER_CRON_EXPRESSION counts as unset", { cronExpression: "0 7 * * *" }, { REMINDER_CRON_EXPRESSION: "" }, "0 7 * * *", "reminder-cron:cronExpression"],
    ["the default applies when neither is set", {}, {}, "0 6 * * *", "default"],
  ])("%s", (_what, values, env, expression, source) => {
    const settings = parseSettings(optedIn(values), env, "staging");
    expect([settings.cronExpression, settings.cronExpressionSource]).toEqual([expression, source]);
  });

  test("REMINDER_FUNCTION_URL beats reminder-cron:functionUrl", () => {
    const settings = parseSettings(optedIn(), { REMINDER_FUNCTION_URL: "https://other.supabase.co/functions/v1/reminder-scheduler" }, "staging");
    expect([settings.functionUrl, settings.functionUrlSource]).toEqual(["https://other.supabase.co/functions/v1/reminder-scheduler", "REMINDER_FUNCTION_URL"]);
  });

  test("a bad value from the environment is named as the variable, with the fix to change or unset it", () => {
    expect(problemOf(optedIn(), { REMINDER_CRON_EXPRESSION: "0 6 * *" })).toBe(
      "- REMINDER_CRON_EXPRESSION = '0 6 * *' (environment; overrides reminder-cron:cronExpression) is not a schedule pg_cron 1.4 (reminder-cron:pgCronVersion) accepts: " +
        "it has 4 fields; pg_cron needs exactly 5 (minute hour day-of-month month day-of-week, UTC). Example: '0 6 * * *' (06:00 UTC daily). " +
        "Fix: export REMINDER_CRON_EXPRESSION='0 6 * * *', or unset it to use reminder-cron:cronExpression",
    );
  });
});

describe("refusals name the key, the value and the fix", () => {
  test.each([
    [
      "a six-field expression, whose first five fields pg_cron would misread",
      raw({ cronExpression: "0 0 6 * * *" }),
      "- reminder-cron:cronExpression = '0 0 6 * * *' is not a schedule pg_cron 1.4 (reminder-cron:pgCronVersion) accepts: it has 6 fields; pg_cron needs exactly 5 " +
        "(minute hour day-of-month month day-of-week, UTC); pg_cron has no seconds field and would read the first five fields only, shifting their meaning. " +
        "Example: '0 6 * * *' (06:00 UTC daily). Fix: pulumi config set reminder-cron:cronExpression '0 6 * * *' --stack staging",
    ],
    [
      "seconds on a pg_cron older than 1.5",
      raw({ cronExpression: "30 seconds" }),
      "- reminder-cron:cronExpression = '30 seconds' is not a schedule pg_cron 1.4 (reminder-cron:pgCronVersion) accepts: 'N seconds' schedules need pg_cron 1.5 or later, not 1.4. " +
        "Fix: pulumi config set reminder-cron:cronExpression '0 6 * * *' --stack staging",
    ],
    [
      "a plain http URL to a remote host",
      raw({ functionUrl: "http://abcdefghijklmnopqrst.supabase.co/functions/v1/reminder-scheduler" }),
      "- reminder-cron:functionUrl = 'http://abcdefghijklmnopqrst.supabase.co/functions/v1/reminder-scheduler' must use https: only a local host (localhost, 127.0.0.1, host.docker.internal) may use http. " +
        "Fix: pulumi config set reminder-cron:functionUrl 'https://<project-ref>.supabase.co/functions/v1/reminder-scheduler' --stack staging",
    ],
    [
      "the committed file's placeholder",
      raw({ functionUrl: "https://<staging-project-ref>.supabase.co/functions/v1/reminder-scheduler" }),
      "- reminder-cron:functionUrl = 'https://<staging-project-ref>.supabase.co/functions/v1/reminder-scheduler' is still the placeholder of the committed stack file. " +
        "Fix: pulumi config set reminder-cron:functionUrl 'https://<project-ref>.supabase.co/functions/v1/reminder-scheduler' --stack staging",
    ],
    [
      "no function URL at all",
      raw({ functionUrl: undefined }),
      "- reminder-cron:functionUrl is not set (nor REMINDER_FUNCTION_URL): the job has nothing to call. " +
        "Fix: pulumi config set reminder-cron:functionUrl https://<project-ref>.supabase.co/functions/v1/reminder-scheduler --stack staging",
    ],
    [
      "a job name SQL would have to quote",
      raw({ jobName: "Daily Reminder" }),
      "- reminder-cron:jobName = 'Daily Reminder' is not a safe job name: use lower-case letters, digits, '-' and '_', at most 63 characters. " +
        "Fix: pulumi config set reminder-cron:jobName daily-reminder-eval --stack staging",
    ],
    [
      "a second job name beside the migration's",
      raw({ jobName: "reminders-staging" }),
      "- reminder-cron:jobName = 'reminders-staging' differs from 'daily-reminder-eval', the job the migration registers on every apply, so both would run and dispatch every reminder run twice. " +
        "Fix: pulumi config rm reminder-cron:jobName --stack staging, or rename defaultJobName in infra/sql/names.ts and run npm run migration:generate.",
    ],
    ["a flag that is not a boolean", raw({ jobActive: "yes" }), "- reminder-cron:jobActive = 'yes' is not true or false. Fix: pulumi config set reminder-cron:jobActive true --stack staging"],
    [
      "an unreadable pg_cron version",
      raw({ pgCronVersion: "latest" }),
      "- reminder-cron:pgCronVersion = 'latest' is not a pg_cron version such as 1.6. Fix: read it with select extversion from pg_extension where extname = 'pg_cron'; then pulumi config set reminder-cron:pgCronVersion 1.6 --stack staging",
    ],
    ["a port out of range", raw({ port: "70000" }), "- reminder-cron:dbPort = '70000' is not a port from 1 to 65535. Fix: pulumi config set reminder-cron:dbPort 5432 --stack staging"],
    [
      "TLS switched off towards a remote host",
      raw({ sslMode: "disable" }),
      "- reminder-cron:dbSslMode = 'disable' would send the database password in clear to db.abcdefghijklmnopqrst.supabase.co; only a local host may go without TLS. Fix: pulumi config set reminder-cron:dbSslMode verify-full --stack staging",
    ],
    [
      "the database host placeholder",
      raw({ host: "db.<staging-project-ref>.supabase.co" }),
      "- reminder-cron:dbHost = 'db.<staging-project-ref>.supabase.co' is still the placeholder of the committed stack file. Fix: pulumi config set reminder-cron:dbHost db.<project-ref>.supabase.co --stack staging",
    ],
    [
      "no database password for a remote host",
      raw({}, { password: false }),
      "- reminder-cron:dbPassword is not set, and db.abcdefghijklmnopqrst.supabase.co needs a password. Fix: pulumi config set --secret reminder-cron:dbPassword <the database password> --stack staging",
    ],
    [
      "no signing key",
      raw({}, { signingKey: false }, 0),
      "- reminder-cron:signingKey is not set: the job signs each request with it (Vault reminder_signing_key). " +
        'Fix: pulumi config set --secret reminder-cron:signingKey "$(openssl rand -hex 32)" --stack staging (pulumi up gives Vault and the function, as REMINDER_SIGNING_KEY, the same key)',
    ],
    [
      "a guessable signing key",
      raw({}, {}, 31),
      "- reminder-cron:signingKey is shorter than 32 characters, short enough to guess. " +
        'Fix: pulumi config set --secret reminder-cron:signingKey "$(openssl rand -hex 32)" --stack staging (pulumi up gives Vault and the function, as REMINDER_SIGNING_KEY, the same key)',
    ],
  ])("refuses %s", (_what, config, expected) => {
    expect(problemOf(config)).toBe(expected);
  });
});

describe("the Edge Function's deploy: project, token, function secrets, source", () => {
  const tokenFix = "Fix: pulumi config set --secret reminder-cron:supabaseAccessToken <a personal access token from supabase.com/dashboard/account/tokens> --stack staging";
  test.each([
    [
      "no project ref",
      raw({ projectRef: undefined }),
      "- reminder-cron:supabaseProjectRef is not set: pulumi up deploys the Edge Function and its secrets to that project through Supabase's Management API. " +
        "Fix: pulumi config set reminder-cron:supabaseProjectRef <project-ref> --stack staging, the <ref> of https://<ref>.supabase.co (Project Settings > General)",
    ],
    [
      "a project ref that is not one",
      raw({ projectRef: "ABC-123" }),
      "- reminder-cron:supabaseProjectRef = 'ABC-123' is not a project ref (20 lower-case letters). Fix: pulumi config set reminder-cron:supabaseProjectRef <project-ref> --stack staging, the <ref> of https://<ref>.supabase.co",
    ],
    [
      "a project ref other than the function URL's and the database's",
      raw({ projectRef: "zyxwvutsrqponmlkjihg" }, {}, 64),
      "- reminder-cron:supabaseProjectRef = 'zyxwvutsrqponmlkjihg' is not the project reminder-cron:functionUrl names ('abcdefghijklmnopqrst') or reminder-cron:dbHost names ('abcdefghijklmnopqrst'), " +
        "so the function would be deployed where the job does not call. Fix: pulumi config set reminder-cron:supabaseProjectRef abcdefghijklmnopqrst --stack staging, or correct reminder-cron:functionUrl and reminder-cron:dbHost",
    ],
    ["no access token", raw({}, { accessToken: false }), `- reminder-cron:supabaseAccessToken is not set: the Edge Function and its secrets are deployed with it through Supabase's Management API. ${tokenFix}`],
    [
      "an access token that is no personal access token",
      raw({}, {}, 64, { accessTokenWellFormed: false }),
      `- reminder-cron:supabaseAccessToken is not a Supabase personal access token (those start with sbp_ and hold no spaces). ${tokenFix}`,
    ],
    [
      "an API URL over plain http to another machine",
      raw({ apiUrl: "http://api.example.com" }),
      "- reminder-cron:supabaseApiUrl = 'http://api.example.com' must use https (http only for a local server), since the access token travels in its requests. " +
        "Fix: pulumi config rm reminder-cron:supabaseApiUrl --stack staging (Supabase's own, https://api.supabase.com, is the default)",
    ],
    [
      "no shared secret",
      raw({}, { sharedSecret: false }),
      "- reminder-cron:sharedSecret is not set: the function refuses to start without REMINDER_SHARED_SECRET, the credential for calls by hand. " +
        'Fix: pulumi config set --secret reminder-cron:sharedSecret "$(openssl rand -hex 32)" --stack staging',
    ],
    [
      "a guessable shared secret",
      raw({}, {}, 64, { sharedSecretLength: 12 }),
      "- reminder-cron:sharedSecret is shorter than 32 characters, short enough to guess, and the function refuses to start with it. " +
        'Fix: pulumi config set --secret reminder-cron:sharedSecret "$(openssl rand -hex 32)" --stack staging',
    ],
    [
      "a previous signing key equal to the current one",
      raw({}, { previousSigningKey: true }, 64, { previousSigningKeyLength: 64, previousSigningKeyIsCurrent: true }),
      "- reminder-cron:previousSigningKey equals reminder-cron:signingKey, so no rotation is under way. Fix: pulumi config rm reminder-cron:previousSigningKey --stack staging, " +
        'or set reminder-cron:signingKey to the new key: pulumi config set --secret reminder-cron:signingKey "$(openssl rand -hex 32)" --stack staging',
    ],
    [
      "a source that does not bundle",
      raw({}, {}, 64, { functionBundleProblems: ["reminder-scheduler/index.ts imports '../_shared/gone.ts', which names no file (looked for /x/_shared/gone.ts)"] }),
      "- The Edge Function reminder-scheduler cannot be deployed: reminder-scheduler/index.ts imports '../_shared/gone.ts', which names no file (looked for /x/_shared/gone.ts). " +
        "Fix: correct the file named, then check it with: deno check --no-config supabase/functions/reminder-scheduler/index.ts; nothing is deployed until it bundles.",
    ],
  ])("refuses %s", (_what, config, expected) => {
    expect(problemOf(config)).toBe(expected);
  });

  test("refuses a pooler login name of another project", () => {
    expect(problemOf(raw({ host: "aws-0-eu-central-1.pooler.supabase.com", user: "postgres.zyxwvutsrqponmlkjihg" }))).toBe(
      "- reminder-cron:supabaseProjectRef = 'abcdefghijklmnopqrst' is not the project reminder-cron:dbUser names ('zyxwvutsrqponmlkjihg'), so the function would be deployed where the job does not call. " +
        "Fix: pulumi config set reminder-cron:supabaseProjectRef zyxwvutsrqponmlkjihg --stack staging, or correct reminder-cron:dbUser",
    );
  });

  test("accepts a local Management API over http, and a pooler login name of the same project", () => {
    const settings = parseSettings(raw({ apiUrl: "http://127.0.0.1:4010/", host: "aws-0-eu-central-1.pooler.supabase.com", user: "postgres.abcdefghijklmnopqrst" }), {}, "staging");
    expect(settings.management).toEqual({ projectRef: "abcdefghijklmnopqrst", apiUrl: "http://127.0.0.1:4010" });
  });

  test("reports every problem at once", () => {
    const bad = raw({ cronExpression: "@reboot", functionUrl: "ftp://x", port: "x" }, { signingKey: false });
    expect(() => parseSettings(bad, {}, "prod")).toThrow();
    const [header, ...problems] = (() => {
      try {
        parseSettings(bad, {}, "prod");
        return [];
      } catch (error) {
        return (error as Error).message.split("\n");
      }
    })();
    expect(header).toBe("Invalid configuration for stack prod; nothing was changed:");
    expect(problems.map((line) => line.split(" ")[1])).toEqual([
      "reminder-cron:cronExpression",
      "reminder-cron:functionUrl",
      "reminder-cron:dbPort",
      "reminder-cron:signingKey",
    ]);
  });
});

describe("function URL", () => {
  test.each([
    ["https://abc.supabase.co/functions/v1/reminder-scheduler", undefined],
    ["http://localhost:54321/functions/v1/reminder-scheduler", undefined],
    ["http://host.docker.internal:54321/functions/v1/reminder-scheduler", undefined],
    ["https://user:pw@abc.supabase.co/functions/v1/x", "holds a user name or password; the URL lands in stack outputs and Vault in plain text, and the job authenticates with reminder-cron:signingKey"],
    ["https://abc.supabase.co/functions/v1/x?apikey=abc", "carries a credential in its query (apikey); the URL lands in stack outputs in plain text, and the job authenticates with reminder-cron:signingKey"],
    ["not a url", "is not a URL"],
  ])("%s", (candidate, problem) => {
    expect(functionUrlProblem(candidate)).toBe(problem);
  });
});

describe("schedules", () => {
  test.each([
    ["0 6 * * *", "1.4"],
    ["*/15 * * * *", "1.4"],
    ["5-50/5 2,14 * * *", "1.4"],
    ["0 6 * * MON-FRI", "1.4"],
    ["0 6 1 jan-mar sun", "1.4"],
    ["0 0 * * 7", "1.4"],
    ["@daily", "1.4"],
    ["@midnight", "1.4"],
    ["@hourly", "1.4"],
    ["30 seconds", "1.5"],
    ["1 second", "1.5"],
    ["0 0 $ * *", "1.6"],
    ["00000 6 * * *", "1.4"],
    ["0 006 * * *", "1.4"],
    ["0 6 */2 * 1", "1.4"],
    ["30 SECONDS", "1.5"],
  ])("accepts %s on pg_cron %s", (schedule, version) => {
    expect(parseSchedule(schedule, version)).toHaveProperty("parsed");
  });

  test.each([
    ["1/20 * * * *", "1.6", "minute '1/20' steps from a single value, which pg_cron refuses; write '1-59/20' or '*/20'"],
    ["60 * * * *", "1.6", "minute 60 is outside 0-59"],
    ["0 6 * * 8", "1.6", "day of week 8 is outside 0-7"],
    ["0 6 * * fri-mon", "1.6", "day of week range 'fri-mon' starts after it ends, which pg_cron reads as a pattern of bits, not a wrap-around; write it as two ranges, e.g. '5-7,0-1'"],
    ["0 0 L * *", "1.6", "day of month 'L' is not a number from 1 to 31"],
    ["0 0 ? * *", "1.6", "day of month '?' is not '*', a number, a range 'a-b' or a step '*/n' or 'a-b/n'"],
    ["*/0 * * * *", "1.6", "minute '*/0' has a step of 0"],
    ["0 0 $ * *", "1.5", "'$' (last day of the month) needs pg_cron 1.6 or later, not 1.5"],
    ["60 seconds", "1.6", "pg_cron runs 'N seconds' schedules for N from 1 to 59 only, not 60"],
    ["@reboot", "1.6", "@reboot runs whenever pg_cron's scheduler starts, not on a clock; use a cron expression such as '0 6 * * *' (06:00 UTC daily)"],
    ["@weekdays", "1.6", "pg_cron knows no '@weekdays'; it knows @monthly, @weekly, @daily, @midnight, @hourly (and @yearly, @annually, @reboot, which are refused here)"],
    ["0 6 31 2 *", "1.6", "it never runs: no date matches its day-of-month, month and day-of-week fields; e.g. '0 6 * * *' (06:00 UTC daily)"],
    ["@Daily", "1.6", "pg_cron matches @ names case-sensitively and knows no '@Daily'; write '@daily'"],
    ["@HOURLY", "1.4", "pg_cron matches @ names case-sensitively and knows no '@HOURLY'; write '@hourly'"],
    ["@yearly", "1.4", "@yearly never runs on pg_cron 1.6 (it sets no month); write '0 0 1 1 *', which runs at 00:00 UTC on 1 January on every version"],
    ["5% * * * *", "1.4", "minute '5%' is not '*', a number, a range 'a-b' or a step '*/n' or 'a-b/n'"],
    ["4294967302 * * * *", "1.4", "minute 4294967302 is outside 0-59 (pg_cron would read it as 6)"],
    ["*/2147483648 * * * *", "1.6", "minute '*/2147483648' steps by more than 59, so it means its first value only (pg_cron 1.6.5 refuses it); write that value"],
    ["30-10 * * * *", "1.6", "minute range '30-10' starts after it ends, which pg_cron reads as a pattern of bits, not a wrap-around; write it as two ranges, e.g. '30-59,0-10'"],
    ["+30 seconds", "1.6", "'+30 seconds' has a sign, which pg_cron reads modulo 2^32; write the number of seconds (1-59) alone, e.g. '30 seconds'"],
  ])("refuses %s on pg_cron %s: %s", (schedule, version, problem) => {
    expect(parseSchedule(schedule, version)).toEqual({ problem });
  });

  test.each([
    ["0 6 * * *", "2026-01-01T07:00:00.000Z", "2026-01-02T06:00:00.000Z", "At 06:00, every day (UTC)"],
    ["0 0 $ * *", "2026-02-03T00:00:00.000Z", "2026-02-28T00:00:00.000Z", "At 00:00, on the last day of the month (UTC)"],
    ["@weekly", "2026-01-01T00:00:00.000Z", "2026-01-04T00:00:00.000Z", "At 00:00, only on Sunday (UTC)"],
    ["30 seconds", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:30.000Z", "Every 30 seconds"],
    // pg_cron (like vixie cron): a day field starting with '*' makes both day fields have to match, so an
    // odd day that is a Monday; cron-parser said the next day that is odd or a Monday.
    ["0 6 */2 * 1", "2026-12-01T07:00:00.000Z", "2026-12-07T06:00:00.000Z", "At 06:00, every 2 days in a month, if it is a Monday (UTC)"],
    ["0 6 1-31/2 * 1", "2026-12-01T07:00:00.000Z", "2026-12-03T06:00:00.000Z", "At 06:00, every 2 days in a month, and on Monday (UTC)"],
    ["00000 6 * * *", "2026-01-01T07:00:00.000Z", "2026-01-02T06:00:00.000Z", "At 06:00, every day (UTC)"],
    ["0 6 1-31 * 1", "2026-01-01T07:00:00.000Z", "2026-01-02T06:00:00.000Z", "At 06:00, every day (UTC)"],
    ["0 6 * * 0,7", "2026-01-01T07:00:00.000Z", "2026-01-04T06:00:00.000Z", "At 06:00, only on Sunday (UTC)"],
  ])("%s after %s runs next at %s, described as %s", (schedule, from, next, words) => {
    const result = parseSchedule(schedule, "1.6");
    if (!("parsed" in result)) throw new Error(result.problem);
    expect(nextRunUtc(result.parsed, new Date(from))).toBe(next);
    expect(scheduleInWords(result.parsed)).toBe(words);
  });
});

describe("environment overrides need an opt-in, and are announced either way", () => {
  const env = { REMINDER_CRON_EXPRESSION: "15 8 * * *", REMINDER_FUNCTION_URL: "https://other.supabase.co/functions/v1/reminder-scheduler" };

  test("a remote stack without reminder-cron:allowEnvOverrides ignores both variables and says how to opt in or change the config", () => {
    const settings = parseSettings(raw({ cronExpression: "0 7 * * *" }), env, "prod");
    expect([settings.cronExpression, settings.functionUrl]).toEqual(["0 7 * * *", url]);
    expect(settings.notices).toEqual([
      "REMINDER_CRON_EXPRESSION is set in this shell but ignored: stack prod takes reminder-cron:cronExpression from its config. " +
        "To override it for one run: pulumi config set reminder-cron:allowEnvOverrides true --stack prod; to change it for good: pulumi config set reminder-cron:cronExpression '15 8 * * *' --stack prod",
      "REMINDER_FUNCTION_URL is set in this shell but ignored: stack prod takes reminder-cron:functionUrl from its config. " +
        "To override it for one run: pulumi config set reminder-cron:allowEnvOverrides true --stack prod; to change it for good: pulumi config set reminder-cron:functionUrl 'https://other.supabase.co/functions/v1/reminder-scheduler' --stack prod",
    ]);
  });

  test("an ignored variable is not validated: a bad value left in a shell does not stop the run", () => {
    expect(parseSettings(raw(), { REMINDER_CRON_EXPRESSION: "not a schedule" }, "prod").cronExpression).toBe("0 6 * * *");
  });

  test("with the opt-in the variables win, and each use is announced with the config key it overrides", () => {
    const settings = parseSettings(raw({ allowEnvOverrides: "true" }), env, "staging");
    expect([settings.cronExpression, settings.functionUrl]).toEqual(["15 8 * * *", "https://other.supabase.co/functions/v1/reminder-scheduler"]);
    expect(settings.notices).toEqual([
      "REMINDER_CRON_EXPRESSION = '15 8 * * *' overrides reminder-cron:cronExpression for this run (reminder-cron:allowEnvOverrides or a local database allows it); the next run without it changes the job back.",
      "REMINDER_FUNCTION_URL = 'https://other.supabase.co/functions/v1/reminder-scheduler' overrides reminder-cron:functionUrl for this run (reminder-cron:allowEnvOverrides or a local database allows it); the next run without it changes the job back.",
    ]);
  });

  test("a local database needs no opt-in", () => {
    const local = raw({ host: "127.0.0.1", sslRootCert: undefined }, { password: false });
    expect(parseSettings(local, { REMINDER_CRON_EXPRESSION: "15 8 * * *" }, "dev").cronExpression).toBe("15 8 * * *");
  });
});

describe("TLS: one root certificate for Node, psql and the postgresql provider", () => {
  test("a remote host defaults to verify-full and, without a certificate, stops naming both keys and the download", () => {
    expect(problemOf(raw({ sslRootCert: undefined }))).toBe(
      "- reminder-cron:dbSslRootCert is not set, and reminder-cron:dbSslMode defaults to 'verify-full' for db.abcdefghijklmnopqrst.supabase.co, which checks the server's certificate against it. " +
        "Fix: download the project's root certificate (Supabase dashboard: Database > Settings > SSL Configuration > Download certificate), save it in the project, e.g. certs/prod-ca-2021.crt, " +
        "then pulumi config set reminder-cron:dbSslRootCert certs/prod-ca-2021.crt --stack staging; or, accepting an unverified server, pulumi config set reminder-cron:dbSslMode require --stack staging",
    );
  });

  test("a relative path is resolved against the project root (where Pulumi.yaml is), wherever the program runs", () => {
    expect(parseSettings(raw({ sslRootCert: "tests/fixtures/test-root-ca.crt" }), {}, "staging").db.sslRootCert).toBe(testCert);
  });

  test.each([
    ["a path that names no file", "certs/missing.crt", `names no file (looked for ${join(repoRoot, "certs", "missing.crt")})`],
    ["a file that is not a certificate", "package.json", `is not a PEM certificate (${join(repoRoot, "package.json")} holds no -----BEGIN CERTIFICATE----- block)`],
  ])("refuses %s, naming the key, the value and the fix", (_what, path, problem) => {
    expect(problemOf(raw({ sslRootCert: path }))).toBe(
      `- reminder-cron:dbSslRootCert = '${path}' ${problem}. Fix: download the project's root certificate (Supabase dashboard: Database > Settings > SSL Configuration > Download certificate), ` +
        "save it in the project, e.g. certs/prod-ca-2021.crt, then pulumi config set reminder-cron:dbSslRootCert certs/prod-ca-2021.crt --stack staging",
    );
  });

  test("refuses a certificate with require, which libpq would verify and Node would not", () => {
    expect(problemOf(raw({ sslMode: "require" }))).toBe(
      `- reminder-cron:dbSslRootCert = '${testCert}' is set, but reminder-cron:dbSslMode = 'require' does not check certificates. ` +
        "Fix: pulumi config set reminder-cron:dbSslMode verify-full --stack staging, or pulumi config rm reminder-cron:dbSslRootCert --stack staging",
    );
  });

  test("require without a certificate is the documented, explicit way to skip verification", () => {
    expect(parseSettings(raw({ sslMode: "require", sslRootCert: undefined }), {}, "staging").db).toMatchObject({ sslMode: "require" });
  });
});

describe("Supabase's pooler", () => {
  test("refuses the bare role through the pooler, which knows the project only from the login name", () => {
    expect(problemOf(raw({ host: "aws-0-eu-central-1.pooler.supabase.com", user: "postgres" }))).toBe(
      "- reminder-cron:dbUser = 'postgres' cannot log in through Supabase's pooler aws-0-eu-central-1.pooler.supabase.com: it takes <role>.<project-ref>, the 20-character reference of the project. " +
        "Fix: pulumi config set reminder-cron:dbUser postgres.<project-ref> --stack staging",
    );
  });

  test("refuses a pooler login name on the direct host, which takes the bare role", () => {
    expect(problemOf(raw({ user: "postgres.abcdefghijklmnopqrst" }))).toBe(
      "- reminder-cron:dbUser = 'postgres.abcdefghijklmnopqrst' is a pooler login name, but db.abcdefghijklmnopqrst.supabase.co is the project's direct host, which takes the bare role. " +
        "Fix: pulumi config set reminder-cron:dbUser postgres --stack staging, or connect through the pooler: pulumi config set reminder-cron:dbHost aws-0-<region>.pooler.supabase.com --stack staging",
    );
  });
});

describe("protect", () => {
  test("is off unless the stack sets it, and must be a boolean", () => {
    expect(parseSettings(raw(), {}, "staging").protect).toBe(false);
    expect(parseSettings(raw({ protect: "true" }), {}, "prod").protect).toBe(true);
    expect(problemOf(raw({ protect: "yes" }))).toBe("- reminder-cron:protect = 'yes' is not true or false. Fix: pulumi config set reminder-cron:protect false --stack staging");
  });
});

describe("retries: reminder-cron:retries, retryBackoff and retryDeadline, as pulumi up writes them to Vault", () => {
  const retryOf = (values: RawConfig["values"]) => parseSettings(raw(values), {}, "staging").retry;

  test.each([
    ["a person's words, stored in one spelling", { retries: "3", retryBackoff: "90 seconds", retryDeadline: "1 hour 30 minutes" }, { retries: 3, backoff: "90 seconds", deadline: "1 hour 30 minutes", backoffSeconds: 90, deadlineSeconds: 5400 }],
    ["abbreviations, capitals and a sign", { retries: "+2", retryBackoff: "2 Mins", retryDeadline: "1h 30m" }, { retries: 2, backoff: "2 minutes", deadline: "1 hour 30 minutes", backoffSeconds: 120, deadlineSeconds: 5400 }],
    ["largest unit first, whatever the order typed", { retryBackoff: "30 s 1 min", retryDeadline: "2 hours" }, { retries: 5, backoff: "1 minute 30 seconds", deadline: "2 hours", backoffSeconds: 90, deadlineSeconds: 7200 }],
    ["no retries at all", { retries: "0", retryBackoff: "0" }, { retries: 0, backoff: "0", deadline: "4 hours", backoffSeconds: 0, deadlineSeconds: 14400 }],
    ["ten, the most", { retries: "10", retryDeadline: "23 hours" }, { retries: 10, backoff: "1 minute", deadline: "23 hours", backoffSeconds: 60, deadlineSeconds: 82800 }],
    ["a deadline just under the daily gap", { retryDeadline: "23 hours 59 minutes" }, { retries: 5, backoff: "1 minute", deadline: "23 hours 59 minutes", backoffSeconds: 60, deadlineSeconds: 86340 }],
  ])("accepts %s", (_what, values, retry) => {
    expect(retryOf(values)).toEqual(retry);
  });

  test.each([
    [
      "a retry count that is not a number",
      { retries: "five" },
      "- reminder-cron:retries = 'five' is not a whole number of retries: give 0 (no retries) to 10. Fix: pulumi config set reminder-cron:retries 5 --stack staging",
    ],
    [
      "more retries than 10",
      { retries: "11" },
      "- reminder-cron:retries = '11' would be refused by the database: reminder_retry_limit is 11: give 0 (no retries) to 10. Fix: pulumi config set reminder-cron:retries 5 --stack staging",
    ],
    [
      "a negative retry count",
      { retries: "-1" },
      "- reminder-cron:retries = '-1' would be refused by the database: reminder_retry_limit is -1: give 0 (no retries) to 10. Fix: pulumi config set reminder-cron:retries 5 --stack staging",
    ],
    [
      "a negative back-off",
      { retryBackoff: "-1 minute" },
      "- reminder-cron:retryBackoff = '-1 minute' would be refused by the database: reminder_retry_backoff is '-00:01:00': a wait cannot be negative. " +
        "Fix: pulumi config set reminder-cron:retryBackoff '1 minute' --stack staging",
    ],
    [
      "a negative deadline",
      { retryDeadline: "1 day -25 hours" },
      "- reminder-cron:retryDeadline = '1 day -25 hours' would be refused by the database: reminder_retry_deadline is '1 day -25:00:00': a deadline cannot be negative. " +
        "Fix: pulumi config set reminder-cron:retryDeadline '4 hours' --stack staging",
    ],
    [
      "no retries, yet a back-off",
      { retries: "0" },
      "- reminder-cron:retries = '0' would be refused by the database: reminder_retry_limit is 0 (no retries), yet reminder_retry_backoff is '00:01:00': a back-off with nothing to retry is a setting half-changed. " +
        "Fix: to retry, pulumi config set reminder-cron:retries 5 --stack staging; to never retry, pulumi config set reminder-cron:retryBackoff 0 --stack staging",
    ],
    [
      "a deadline under a minute",
      { retryDeadline: "30 seconds", retryBackoff: "0" },
      "- reminder-cron:retryDeadline = '30 seconds' would be refused by the database: reminder_retry_deadline is '00:00:30': retries are looked for once a minute, so give at least 1 minute. " +
        "Fix: pulumi config set reminder-cron:retryDeadline '4 hours' --stack staging",
    ],
    [
      "a deadline shorter than the first wait",
      { retryBackoff: "5 hours" },
      "- reminder-cron:retryDeadline (not set, so '4 hours') would be refused by the database: reminder_retry_deadline is '04:00:00', shorter than the first retry's wait (reminder_retry_backoff '05:00:00'), so no retry would ever run. " +
        "Fix: pulumi config set reminder-cron:retryBackoff '1 minute' --stack staging; pulumi config set reminder-cron:retryDeadline '4 hours' --stack staging",
    ],
    [
      "a deadline that reaches the next run of the schedule",
      { retryDeadline: "1 day" },
      "- reminder-cron:retryDeadline = '1 day' would be refused by the database: reminder_retry_deadline is '1 day', which reaches the next occurrence: schedule '0 6 * * *' runs as little as 24:00:00 apart, " +
        "and the retries of one occurrence would run into the next. Fix: keep it under 1 day, e.g. pulumi config set reminder-cron:retryDeadline '4 hours' --stack staging",
    ],
    [
      "the default deadline on an hourly schedule",
      { cronExpression: "0 * * * *" },
      "- reminder-cron:retryDeadline (not set, so '4 hours') would be refused by the database: reminder_retry_deadline is '04:00:00', which reaches the next occurrence: schedule '0 * * * *' runs as little as 01:00:00 apart, " +
        "and the retries of one occurrence would run into the next. Fix: keep it under 1 hour, e.g. pulumi config set reminder-cron:retryDeadline '30 minutes' --stack staging",
    ],
    [
      "retries on a schedule that leaves no minute between runs",
      { cronExpression: "* * * * *", retryDeadline: "1 minute" },
      "- reminder-cron:retryDeadline = '1 minute' would be refused by the database: reminder_retry_deadline is '00:01:00', which reaches the next occurrence: schedule '* * * * *' runs as little as 00:01:00 apart, " +
        "and the retries of one occurrence would run into the next. Fix: the schedule runs too often to retry between runs: pulumi config set reminder-cron:retries 0 --stack staging; pulumi config set reminder-cron:retryBackoff 0 --stack staging",
    ],
    [
      "a wait without its unit",
      { retryBackoff: "5" },
      "- reminder-cron:retryBackoff = '5' is a number without a unit, which PostgreSQL would read as seconds; write the unit, e.g. '5 minutes'. Fix: pulumi config set reminder-cron:retryBackoff '1 minute' --stack staging",
    ],
    [
      "a fraction",
      { retryDeadline: "1.5 hours" },
      "- reminder-cron:retryDeadline = '1.5 hours' holds a fraction; write whole numbers, a smaller unit for the rest, e.g. '1 hour 30 minutes' or '1 minute', '90 seconds' or '1 hour 30 minutes'. " +
        "Fix: pulumi config set reminder-cron:retryDeadline '4 hours' --stack staging",
    ],
    [
      "a unit of no fixed length",
      { retryDeadline: "1 month" },
      "- reminder-cron:retryDeadline = '1 month' has the unit 'month', which is not taken here (a month or a year has no fixed length); use second(s)/sec(s)/s, minute(s)/min(s)/m, hour(s)/h or day(s)/d. " +
        "Fix: pulumi config set reminder-cron:retryDeadline '4 hours' --stack staging",
    ],
    [
      "a unit given twice",
      { retryBackoff: "1 minute 30 min" },
      "- reminder-cron:retryBackoff = '1 minute 30 min' gives minutes twice, which PostgreSQL refuses; give each unit once, e.g. '1 hour 30 minutes'. Fix: pulumi config set reminder-cron:retryBackoff '1 minute' --stack staging",
    ],
    [
      "PostgreSQL's own spelling, which a person does not type",
      { retryBackoff: "00:01:00" },
      "- reminder-cron:retryBackoff = '00:01:00' is not a wait such as '1 minute', '90 seconds' or '1 hour 30 minutes': write one or more whole numbers, each with its unit, " +
        "second(s)/sec(s)/s, minute(s)/min(s)/m, hour(s)/h or day(s)/d. Fix: pulumi config set reminder-cron:retryBackoff '1 minute' --stack staging",
    ],
  ])("refuses %s, naming the key, the value and the fix", (_what, values, problem) => {
    expect(problemOf(raw(values))).toBe(problem);
  });

  /** Each problem line of a refused configuration, cut before its reason. */
  const keysRefused = (values: RawConfig["values"]) => {
    try {
      parseSettings(raw(values), {}, "staging");
    } catch (error) {
      return (error as Error).message.split("\n").map((line) => line.replace(/ (would be refused|is not a wait).*/, ""));
    }
    throw new Error("parseSettings accepted the configuration");
  };

  test("lists every key out of range at once, the database's first reason first", () => {
    expect(keysRefused({ retries: "12", retryBackoff: "-1 minute", retryDeadline: "-2 hours" })).toEqual([
      "Invalid configuration for stack staging; nothing was changed:",
      "- reminder-cron:retries = '12'",
      "- reminder-cron:retryBackoff = '-1 minute'",
      "- reminder-cron:retryDeadline = '-2 hours'",
    ]);
  });

  test("a value that cannot be read does not hide another out of range", () => {
    expect(keysRefused({ retries: "12", retryBackoff: "-1 minute", retryDeadline: "soon" })).toEqual([
      "Invalid configuration for stack staging; nothing was changed:",
      "- reminder-cron:retryDeadline = 'soon'",
      "- reminder-cron:retries = '12'",
      "- reminder-cron:retryBackoff = '-1 minute'",
    ]);
  });

  test("a refused schedule is reported alone, not again as a deadline against the default schedule", () => {
    expect(problemOf(raw({ cronExpression: "0 6 * *", retryDeadline: "1 day" }))).toMatch(/^- reminder-cron:cronExpression = '0 6 \* \*' is not a schedule/);
  });
});

describe("reading a wait as PostgreSQL reads it", () => {
  test.each([
    ["1 minute", "1 minute", 0, 60, "00:01:00"],
    ["90 seconds", "90 seconds", 0, 90, "00:01:30"],
    ["1 hour 30 minutes", "1 hour 30 minutes", 0, 5400, "01:30:00"],
    ["36 hours", "36 hours", 0, 129600, "36:00:00"],
    ["2 days 3 hours", "2 days 3 hours", 2, 10800, "2 days 03:00:00"],
    ["-1 day 2 hours", "-1 day 2 hours", -1, 7200, "-1 days +02:00:00"],
    ["1 d -1 h", "1 day -1 hour", 1, -3600, "1 day -01:00:00"],
    ["0", "0", 0, 0, "00:00:00"],
    ["5 secs", "5 seconds", 0, 5, "00:00:05"],
  ])("'%s' is stored as '%s' and printed by PostgreSQL as its parts say", (typed, text, days, time, printed) => {
    const read = readInterval(typed);
    if (!("interval" in read)) throw new Error(read.problem);
    expect(read.interval).toEqual({ text, days, time, seconds: days * 86400 + time });
    expect(postgresIntervalText(read.interval.days, read.interval.time)).toBe(printed);
  });

  test.each([
    [60, "1 minute"],
    [5400, "1 hour 30 minutes"],
    [86400, "1 day"],
    [129600, "36 hours"],
    [30, "30 seconds"],
  ])("%i seconds in words: %s", (seconds, words) => {
    expect(intervalWords(seconds)).toBe(words);
  });
});

describe("the shortest gap between two runs, as the SQL's cron_shortest_gap computes it", () => {
  const fieldsOf = (schedule: string, version = "1.6") => {
    const result = parseSchedule(schedule, version);
    if (!("parsed" in result) || result.parsed.kind !== "cron") throw new Error(`not a cron schedule: ${schedule}`);
    return result.parsed.fields as CronFields;
  };
  const from = new Date(Date.UTC(2026, 11, 6));
  test.each([
    ["0 6 * * *", 1440],
    ["* * * * *", 1],
    ["*/15 * * * *", 15],
    ["0 6,18 * * *", 720],
    ["0 6 $ * *", 28 * 1440],
    ["0 6 * * 1-5", 1440],
    ["0 6 * * 1", 7 * 1440],
    ["0 6 1 * *", 28 * 1440],
    ["0 0 29 2 *", 4 * 365 * 1440 + 1440],
    ["0 23,1 * * *", 120],
  ])("%s: %i minutes", (schedule, minutes) => {
    expect(shortestGapMinutes(fieldsOf(schedule), from)).toBe(minutes);
  });

  test("an 'N seconds' schedule runs N seconds apart", () => {
    const result = parseSchedule("30 seconds", "1.6");
    if (!("parsed" in result)) throw new Error(result.problem);
    expect(shortestGapSeconds(result.parsed, from)).toBe(30);
  });
});
