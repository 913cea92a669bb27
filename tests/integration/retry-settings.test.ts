/**
 * The stack's retry settings are checked twice: by the Pulumi program before `pulumi up` writes them to
 * Vault (infra/retry-settings.ts, through parseSettings), and by the database when the catch-up job reads
 * them (public.reminder_cron_retry_problem, with public.cron_shortest_gap). A setting one refuses and the
 * other takes would either stop a deploy for nothing or let `pulumi up` write what every retry then fails
 * on, so here the two read the same inputs and must agree: on the gap, on refused-or-not, and on the
 * sentence up to its fix (the program's fix is a pulumi command, the database's a SQL call).
 */
import { Client } from "pg";
import { parseSettings, RawConfig } from "../../infra/config";
import { parseSchedule, pgCronAtLeast, shortestGapSeconds } from "../../infra/providers/pg-cron-schedule";
import { postgresIntervalText, readInterval } from "../../infra/retry-settings";
import { pgCronVersion, withClient } from "../support/db";
import { random, scheduleCorpus } from "../support/schedule-corpus";

/** A local stack's config, valid but for what a case sets. */
function raw(values: RawConfig["values"]): RawConfig {
  return {
    values: { functionUrl: "http://127.0.0.1:54321/functions/v1/reminder-scheduler", host: "127.0.0.1", projectRef: "abcdefghijklmnopqrst", ...values },
    secretsSet: { password: false, signingKey: true, sharedSecret: true, accessToken: true },
    signingKeyLength: 64,
    sharedSecretLength: 64,
    accessTokenWellFormed: true,
  };
}

/** The program's problem lines, or [] where it accepts. */
function programProblems(values: RawConfig["values"]): string[] {
  try {
    parseSettings(raw(values), {}, "staging");
    return [];
  } catch (error) {
    return (error as Error).message.split("\n").slice(1);
  }
}

let installed = "";
beforeAll(() =>
  withClient(async (client) => {
    installed = await pgCronVersion(client);
  }));

/** Every day has 24 hours in UTC; elsewhere now() + '1 day' could differ from now() + '24 hours' by an hour. */
async function utc(client: Client) {
  await client.query("set timezone = 'UTC'");
}

describe("the shortest gap between two runs", () => {
  const chosen = [
    "0 6 * * *",
    "30 5 * * 1-5",
    "* * * * *",
    "*/15 * * * *",
    "5-50/5 2,14 * * *",
    "0 6,18 * * *",
    "0 23,1 * * *",
    "0 6 * * 1",
    "0 6 1 * *",
    "0 6 31 * *",
    "0 0 29 2 *",
    "0 6 1-7 * 1",
    "0 6 */2 * 1",
    "0 0 13 * 5",
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
  ];

  test("the TypeScript gap equals cron_shortest_gap for chosen schedules and a sample of the schedule corpus", () =>
    withClient(async (client) => {
      await utc(client);
      const extra = [...(pgCronAtLeast(installed, "1.5") ? ["30 seconds", "1 second"] : []), ...(pgCronAtLeast(installed, "1.6") ? ["0 0 $ * *", "0 12 $ 2 *"] : [])];
      // The corpus's accepted schedules, sampled: the SQL walks up to 28 years of days for each.
      const next = random(20261206);
      const sample = scheduleCorpus(20261201, 4000).filter((schedule) => "parsed" in parseSchedule(schedule, installed) && next() < 0.3);
      const schedules = [...chosen, ...extra, ...sample].map((schedule) => {
        const result = parseSchedule(schedule, installed);
        if (!("parsed" in result)) throw new Error(`${schedule}: ${result.problem}`);
        return result.parsed;
      });
      const { rows } = await client.query(
        `select extract(epoch from public.cron_shortest_gap(c.s, $2))::bigint as gap
           from unnest($1::text[]) with ordinality as c(s, n) order by c.n`,
        [schedules.map((parsed) => parsed.expression), installed],
      );
      const now = new Date();
      const differ = schedules.flatMap((parsed, i) => {
        const sql = rows[i].gap === null ? undefined : Number(rows[i].gap);
        const ours = shortestGapSeconds(parsed, now);
        return sql === ours ? [] : [`'${parsed.expression}': SQL ${sql}, TypeScript ${ours}`];
      });
      process.stdout.write(`cron_shortest_gap on pg_cron ${installed}: ${schedules.length} schedules, ${schedules.length - differ.length} agreeing with shortestGapSeconds\n`);
      expect(schedules.length).toBeGreaterThan(chosen.length + 100);
      expect(differ).toEqual([]);
    }));
});

describe("a wait the program takes", () => {
  test.each(["1 minute", "90 seconds", "1 hour 30 minutes", "0", "2 Mins", "1h 30m", "30 s 1 min", "36 hours", "2 days 3 hours", "-1 day 2 hours", "1 d -1 h", "5 secs", "4 hours", "-0"])(
    "'%s' is read by PostgreSQL as the program reads it, in the spelling it stores too",
    (typed) =>
      withClient(async (client) => {
        const read = readInterval(typed);
        if (!("interval" in read)) throw new Error(read.problem);
        await client.query("set intervalstyle = 'postgres'");
        const { rows } = await client.query("select $1::interval::text as typed, $2::interval::text as stored, $1::interval = $2::interval as same", [typed, read.interval.text]);
        expect(rows[0]).toEqual({ typed: postgresIntervalText(read.interval.days, read.interval.time), stored: postgresIntervalText(read.interval.days, read.interval.time), same: true });
      }),
  );
});

describe("refused by both, or by neither", () => {
  type Case = [retries: string, backoff: string, deadline: string, schedule: string];
  const cases: Case[] = [
    // Taken.
    ["5", "1 minute", "4 hours", "0 6 * * *"],
    ["0", "0", "4 hours", "0 6 * * *"],
    ["0", "0", "0", "* * * * *"],
    ["10", "1 minute", "23 hours 59 minutes", "0 6 * * *"],
    ["3", "90 seconds", "1 hour 30 minutes", "0 6 * * *"],
    ["1", "1 minute", "1 minute", "*/5 * * * *"],
    ["2", "10 minutes", "10 minutes", "0 * * * *"],
    ["5", "1 minute", "6 days", "0 6 * * 1"],
    ["5", "1 hour", "1 day", "0 6 * * 1"],
    // Out of range.
    ["11", "1 minute", "4 hours", "0 6 * * *"],
    ["-1", "1 minute", "4 hours", "0 6 * * *"],
    ["5", "-1 minute", "4 hours", "0 6 * * *"],
    ["5", "1 day -25 hours", "4 hours", "0 6 * * *"],
    ["5", "1 minute", "-4 hours", "0 6 * * *"],
    ["11", "-1 minute", "-4 hours", "0 6 * * *"],
    // Combinations.
    ["0", "1 minute", "4 hours", "0 6 * * *"],
    ["0", "1 second", "0", "0 6 * * *"],
    ["5", "0", "59 seconds", "0 6 * * *"],
    ["5", "0", "0", "0 6 * * *"],
    ["5", "5 hours", "4 hours", "0 6 * * *"],
    ["5", "2 minutes", "1 minute 59 seconds", "0 6 * * *"],
    // Against the schedule.
    ["5", "1 minute", "1 day", "0 6 * * *"],
    ["5", "1 minute", "24 hours", "0 6 * * *"],
    ["5", "1 minute", "4 hours", "0 * * * *"],
    ["5", "1 minute", "5 minutes", "*/5 * * * *"],
    ["5", "1 minute", "7 days", "0 6 * * 1"],
    ["1", "1 minute", "1 minute", "* * * * *"],
    // Unreadable: PostgreSQL refuses the cast, the program the value.
    ["five", "1 minute", "4 hours", "0 6 * * *"],
    ["2.5", "1 minute", "4 hours", "0 6 * * *"],
    ["5", "soon", "4 hours", "0 6 * * *"],
    ["5", "1 minute", "1 fortnight", "0 6 * * *"],
    ["5", "1 minute 2 minutes", "4 hours", "0 6 * * *"],
    ["5", "1 minute", "4 hours 1 h", "0 6 * * *"],
  ];

  test("the program and reminder_cron_retry_problem refuse the same cases, with the same sentence up to the fix", () =>
    withClient(async (client) => {
      await utc(client);
      await client.query(`
        create or replace function pg_temp.retry_verdict(r text, b text, d text, s text) returns text language plpgsql as $$
        begin
          return public.reminder_cron_retry_problem(r::integer, b::interval, d::interval, s);
        exception when invalid_text_representation or invalid_datetime_format or datetime_field_overflow then
          return 'unreadable: ' || sqlerrm;
        end $$`);
      const { rows } = await client.query(
        "select pg_temp.retry_verdict(c.r, c.b, c.d, c.s) as problem from unnest($1::text[], $2::text[], $3::text[], $4::text[]) with ordinality as c(r, b, d, s, n) order by c.n",
        [0, 1, 2, 3].map((column) => cases.map((c) => c[column])),
      );
      const disagreements = cases.flatMap(([retries, retryBackoff, retryDeadline, cronExpression], i) => {
        const sql: string | null = rows[i].problem;
        const ours = programProblems({ retries, retryBackoff, retryDeadline, cronExpression, pgCronVersion: installed.replace(/-.*$/, "") });
        const name = `(${retries}, '${retryBackoff}', '${retryDeadline}', '${cronExpression}')`;
        if ((sql !== null) !== ours.length > 0) return [`${name}: SQL ${sql ?? "takes it"}; program ${ours.join(" | ") || "takes it"}`];
        if (sql === null || sql.startsWith("unreadable: ")) return [];
        // The database names its first problem; the program lists that one first.
        const sentence = / would be refused by the database: (.*?) Fix: /.exec(ours[0])?.[1];
        const expected = sql.split(" Fix: ")[0];
        return sentence === expected ? [] : [`${name}: SQL says "${expected}", program "${sentence ?? ours[0]}"`];
      });
      const refused = rows.filter((row) => row.problem !== null).length;
      expect(refused).toBeGreaterThan(20);
      expect(cases.length - refused).toBeGreaterThan(5);
      expect(disagreements).toEqual([]);
    }));
});
