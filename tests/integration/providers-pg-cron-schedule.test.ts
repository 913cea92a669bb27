/**
 * Our reading of pg_cron's schedule syntax against the real thing: every expression goes through the local
 * stack's cron.schedule (in a transaction that is rolled back) and through parseSchedule for the same
 * pg_cron version. They must agree, except where we refuse on purpose what pg_cron would silently take.
 */
import { parseSchedule, pgCronAtLeast } from "../../infra/providers/pg-cron-schedule";
import { pgCronVersion, withClient } from "../support/db";
import { probeJobPrefix } from "../support/pulumi-providers";

let version = "";
beforeAll(async () => {
  version = await withClient(pgCronVersion);
});

/** Whether this database's pg_cron takes the schedule, asked as cron_runner and rolled back. */
async function pgCronAccepts(schedule: string): Promise<boolean> {
  return withClient(async (client) => {
    await client.query("begin");
    try {
      await client.query("set local role cron_runner");
      await client.query("select cron.schedule($1, $2, 'select 1')", [`${probeJobPrefix}syntax`, schedule]);
      return true;
    } catch (error) {
      expect((error as { code?: string }).code).toBe("22023"); // invalid_parameter_value: "invalid schedule: …"
      return false;
    } finally {
      await client.query("rollback");
    }
  });
}

const sameVerdict = [
  "0 6 * * *",
  "*/15 * * * *",
  "5-50/5 2,14 * * *",
  "0 6 * * MON-FRI",
  "0 6 1 jan-mar sun",
  "0 0 * * 7",
  "0 12 1,15 * *",
  "@daily",
  "@midnight",
  "1/20 * * * *",
  "60 * * * *",
  "0 24 * * *",
  "0 6 0 * *",
  "0 6 * 13 *",
  "0 6 * * 8",
  "0 6 * * funday",
  "0 0 L * *",
  "0 0 ? * *",
  "*/0 * * * *",
  "0 6 * *",
  "30 seconds",
  "0 0 $ * *",
  "@weekdays",
  "@Daily", // pg_cron matches @ names case-sensitively
  "@HOURLY",
  "00000 6 * * *", // atoi: five digits are fine
  "0 6 */2 * 1",
  "every morning",
  "",
];

/** pg_cron takes these; we refuse them, each for the reason parseSchedule gives. */
const strictOnPurpose = [
  "0 0 6 * * *", // a sixth field is ignored: 06:00 in a seconds-first reading becomes 00:00 on the 6th
  "0 6 * * * extra",
  "@daily at six",
  "5-2 * * * *", // a range that ends before it starts: 1.4 never runs it, 1.6 runs a byte pattern of it
  "@reboot", // runs at scheduler start, not on a clock
  "@yearly", // 1.6 sets no month, so it never runs there
  "5% * * * *", // pg_cron skips what follows a value
  "4294967302 * * * *", // atoi reads it as minute 6
  "0 6 31 2 *", // never runs
];

test.each(sameVerdict)("pg_cron and parseSchedule agree on '%s'", async (schedule) => {
  const ours = "parsed" in parseSchedule(schedule, version);
  expect(ours).toBe(await pgCronAccepts(schedule));
});

test.each(strictOnPurpose)("pg_cron takes '%s' and parseSchedule refuses it", async (schedule) => {
  expect(await pgCronAccepts(schedule)).toBe(true);
  expect(parseSchedule(schedule, version)).toHaveProperty("problem");
});

test("a step past its field ('0-59/100 * * * *'): pg_cron 1.6.5+ refuses it, earlier ones take it, and parseSchedule refuses it on every version", async () => {
  expect(await pgCronAccepts("0-59/100 * * * *")).toBe(!pgCronAtLeast(version, "1.6.5"));
  expect(parseSchedule("0-59/100 * * * *", version)).toHaveProperty("problem");
});
