/**
 * One schedule model, three readings that must agree on a generated corpus of several thousand schedules
 * (tests/support/schedule-corpus.ts, fixed seed): real pg_cron's cron.schedule (accepts or refuses), our
 * TypeScript port (readAsPgCron) and the SQL port the catch-up reads (public.cron_schedule_fields and
 * cron_previous_occurrence). pg_cron is asked as cron_runner in a transaction that is rolled back.
 */
import { Client } from "pg";
import { CronFields, previousRun, readAsPgCron } from "../../infra/providers/pg-cron-schedule";
import { pgCronVersion, withClient } from "../support/db";
import { probeJobPrefix } from "../support/pulumi-providers";
import { random, scheduleCorpus } from "../support/schedule-corpus";

const corpus = scheduleCorpus(20261201, 4000);

/** pg_cron's verdict on each schedule, one savepoint each, all rolled back. */
async function pgCronVerdicts(client: Client): Promise<boolean[]> {
  const verdicts: boolean[] = [];
  await client.query("begin");
  try {
    await client.query("set local role cron_runner");
    for (const schedule of corpus) {
      await client.query("savepoint probe");
      try {
        await client.query("select cron.schedule($1, $2, 'select 1')", [`${probeJobPrefix}corpus`, schedule]);
        verdicts.push(true);
      } catch (error) {
        // invalid_parameter_value: "invalid schedule: …"; anything else is a broken probe, not a verdict.
        if ((error as { code?: string }).code !== "22023") throw error;
        verdicts.push(false);
      }
      await client.query("rollback to savepoint probe");
    }
  } finally {
    await client.query("rollback");
  }
  return verdicts;
}

type SqlFields = {
  minutes: number[] | null;
  hours: number[] | null;
  days_of_month: number[] | null;
  months: number[] | null;
  days_of_week: number[] | null;
  dom_star: boolean;
  dow_star: boolean;
  dom_last: boolean;
  reboot: boolean;
  seconds: number | null;
};

/** The SQL port's reading of each schedule for `version` (null: the installed one), or undefined where it raises. */
async function sqlReadings(client: Client, version: string | null): Promise<(SqlFields | undefined)[]> {
  await client.query(`
    create or replace function pg_temp.fields_or_null(schedule text, version text) returns jsonb language plpgsql as $$
    begin
      return (select to_jsonb(f) from public.cron_schedule_fields(schedule, version) f);
    exception when invalid_parameter_value then
      return null;
    end $$`);
  const { rows } = await client.query(
    "select pg_temp.fields_or_null(c.s, $2) as f from unnest($1::text[]) with ordinality as c(s, n) order by c.n",
    [corpus, version],
  );
  return rows.map((row) => row.f ?? undefined);
}

/** The TypeScript reading in the SQL port's shape, for a whole-value comparison. */
function asSql(schedule: string, version: string): SqlFields | undefined {
  const reading = readAsPgCron(schedule, version);
  if (!("entry" in reading)) return undefined;
  const e = reading.entry;
  if (e.kind === "interval") {
    return { minutes: null, hours: null, days_of_month: null, months: null, days_of_week: null, dom_star: false, dow_star: false, dom_last: false, reboot: false, seconds: e.seconds };
  }
  return {
    minutes: e.minutes,
    hours: e.hours,
    days_of_month: e.daysOfMonth,
    months: e.months,
    days_of_week: e.daysOfWeek,
    dom_star: e.domStar,
    dow_star: e.dowStar,
    dom_last: e.domLast,
    reboot: e.reboot,
    seconds: null,
  };
}

const show = (schedule: string) => JSON.stringify(schedule);
/** A reading as comparable text (jsonb sorts its keys), "refused" for none. */
const canonical = (reading: SqlFields | undefined) =>
  reading === undefined ? "refused" : JSON.stringify(Object.entries(reading).sort(([a], [b]) => a.localeCompare(b)));

let installed = "";
let verdicts: boolean[] = [];
beforeAll(async () => {
  await withClient(async (client) => {
    installed = await pgCronVersion(client);
    verdicts = await pgCronVerdicts(client);
  });
});

test("the corpus has thousands of distinct schedules, and pg_cron both accepts and refuses many of them", () => {
  const accepted = verdicts.filter(Boolean).length;
  // Its length is what this file asked for; that the generator does not repeat itself is what can fail.
  expect(new Set(corpus).size).toBeGreaterThan(3500);
  expect(accepted).toBeGreaterThan(1000);
  expect(corpus.length - accepted).toBeGreaterThan(1000);
});

test("our TypeScript reading accepts exactly what the installed pg_cron accepts", () => {
  const disagreements = corpus.flatMap((schedule, i) => ("entry" in readAsPgCron(schedule, installed) === verdicts[i] ? [] : [`${show(schedule)}: pg_cron ${verdicts[i]}`]));
  const accepted = verdicts.filter(Boolean).length;
  process.stdout.write(`schedule corpus on pg_cron ${installed}: ${corpus.length} schedules, ${accepted} accepted, ${corpus.length - accepted} refused, ${corpus.length - disagreements.length} agreeing with readAsPgCron\n`);
  expect(disagreements).toEqual([]);
});

test("the SQL port raises exactly where pg_cron refuses, and reads every accepted schedule as the TypeScript port does", () =>
  withClient(async (client) => {
    // Told the library's own version: left to pg_extension's '1.6' it would read 1.6.0's rules, which take the
    // steps past a field that 1.6.5 refuses. Harmless where it is used, since the catch-up reads only
    // schedules pg_cron already took, but not "exactly where pg_cron refuses".
    const sql = await sqlReadings(client, installed);
    const verdictDiffers = corpus.flatMap((schedule, i) => ((sql[i] !== undefined) === verdicts[i] ? [] : [`${show(schedule)}: pg_cron ${verdicts[i]}, SQL ${sql[i] !== undefined}`]));
    expect(verdictDiffers).toEqual([]);
    const readingDiffers = corpus.flatMap((schedule, i) => {
      const ours = asSql(schedule, installed);
      return verdicts[i] && canonical(ours) !== canonical(sql[i]) ? [`${show(schedule)}: TS ${canonical(ours)}, SQL ${canonical(sql[i])}`] : [];
    });
    expect(readingDiffers.slice(0, 10)).toEqual([]);
  }));

test.each(["1.5", "1.6", "1.6.5"])("with pg_cron %s's rules, the SQL and TypeScript ports read the corpus alike", (version) =>
  withClient(async (client) => {
    const sql = await sqlReadings(client, version);
    const differ = corpus.flatMap((schedule, i) => {
      const ours = asSql(schedule, version);
      return canonical(ours) !== canonical(sql[i]) ? [`${show(schedule)}: TS ${canonical(ours)}, SQL ${canonical(sql[i])}`] : [];
    });
    expect(differ.slice(0, 10)).toEqual([]);
  }));

test("for every schedule pg_cron accepts, cron_previous_occurrence finds the minute the TypeScript model finds", () =>
  withClient(async (client) => {
    const next = random(20261202);
    const start = Date.parse("2026-01-01T00:00:00Z");
    const cases = corpus
      .filter((_, i) => verdicts[i])
      .map((schedule) => ({ schedule, at: new Date(start + Math.floor(next() * 366 * 86_400_000)) }));
    const horizonMs = 8 * 86_400_000;
    const { rows } = await client.query(
      `select public.cron_previous_occurrence(c.schedule, c.at, interval '8 days') as at
         from unnest($1::text[], $2::timestamptz[]) with ordinality as c(schedule, at, n)
        order by c.n`,
      [cases.map((c) => c.schedule), cases.map((c) => c.at)],
    );
    const disagreements = cases.flatMap((c, i) => {
      const reading = readAsPgCron(c.schedule, installed);
      const fields = "entry" in reading && reading.entry.kind === "cron" ? (reading.entry as CronFields) : undefined;
      const found = fields ? previousRun(fields, c.at) : undefined;
      const want = found && c.at.getTime() - found.getTime() <= horizonMs ? found.toISOString() : null;
      const got = rows[i].at === null ? null : (rows[i].at as Date).toISOString();
      return got === want ? [] : [`${show(c.schedule)} at ${c.at.toISOString()}: SQL ${got}, TypeScript ${want}`];
    });
    const withOccurrence = rows.filter((row) => row.at !== null).length;
    process.stdout.write(`cron_previous_occurrence: ${cases.length} accepted schedules, ${cases.length - disagreements.length} agreeing, ${withOccurrence} with an occurrence in 8 days\n`);
    expect(disagreements.slice(0, 10)).toEqual([]);
    // Not trivial: most have an occurrence within the horizon, some do not.
    expect(withOccurrence).toBeGreaterThan(cases.length / 2);
    expect(withOccurrence).toBeLessThan(cases.length);
  }));
