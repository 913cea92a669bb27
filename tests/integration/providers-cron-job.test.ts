/**
 * The CronJob dynamic provider for real, against the local stack's pg_cron (1.4, as Debian 12 ships it),
 * connecting as Supabase's non-superuser `postgres` with the config the engine would hand `configure()`.
 * Every job here is a probe named pulumi-test-*, run as cron_runner at a time no test waits for.
 */
import { cronJobProvider, CronJobProviderInputs as Inputs, CronJobProviderOutputs as Outputs } from "../../infra/providers/cron-job";
import { cronRunnerRole } from "../../infra/sql/names";
import { pgCronAtLeast } from "../../infra/providers/pg-cron-schedule";
import { pgCronVersion, withClient } from "../support/db";
import { jobRows } from "../support/trigger";
import {
  alterByHand,
  configOf,
  dropProbeRoles,
  ensureProbeRole,
  localStackConfigValues,
  probeJobPrefix,
  removeProbes,
  scheduleByHand,
} from "../support/pulumi-providers";

const provider = cronJobProvider;
const jobName = `${probeJobPrefix}job`;
const wanted: Inputs = { jobName, schedule: "0 3 * * *", command: "select 1", username: cronRunnerRole, active: true };
const rows = () => withClient((client) => jobRows(client, jobName));

/** What the engine does before create or update: check, then use the checked inputs. */
async function checked(inputs: Partial<Inputs>): Promise<Inputs> {
  const result = await provider.check({} as Inputs, inputs as Inputs);
  expect(result.failures).toEqual([]);
  return result.inputs as Inputs;
}

const probeRoles = { runner: "pulumi_test_runner", other: "pulumi_test_other" };

beforeAll(async () => {
  await provider.configure({ config: configOf(localStackConfigValues()) });
  await ensureProbeRole(probeRoles.runner);
  await ensureProbeRole(probeRoles.other, false);
});
beforeEach(removeProbes);
afterAll(() => dropProbeRoles(Object.values(probeRoles)));

describe("create", () => {
  test("schedules the job as its run-as role and returns the name as id and pg_cron's job id", async () => {
    const { id, outs } = await provider.create(await checked(wanted));
    const [row] = await rows();
    expect(id).toBe(jobName);
    expect(row).toMatchObject({ jobname: jobName, schedule: "0 3 * * *", command: "select 1", username: cronRunnerRole, active: true });
    expect(outs).toMatchObject({ ...wanted, jobId: Number(row.jobid), database: "postgres" });
  });

  test("twice gives one job with the same id", async () => {
    const first = await provider.create(wanted);
    const second = await provider.create(wanted);
    expect(await rows()).toHaveLength(1);
    expect(second.outs.jobId).toBe(first.outs.jobId);
  });

  test("adopts a job of the same name and owner made by hand, keeping its id and setting every field", async () => {
    const byHand = await scheduleByHand(cronRunnerRole, jobName, "15 4 * * *", "select 2");
    const [before] = await rows();
    await alterByHand(before.jobid, cronRunnerRole, { active: false });

    const { outs } = await provider.create(wanted);

    const after = await rows();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ jobid: byHand, schedule: "0 3 * * *", command: "select 1", active: true });
    expect(outs.jobId).toBe(Number(byHand));
  });

  test("moves a same-named job of the connecting user (made in the dashboard as postgres) to the run-as role", async () => {
    await withClient((client) => client.query("select cron.schedule($1, '15 4 * * *', 'select 2')", [jobName]));
    await provider.create(wanted);
    expect((await rows()).map((row) => row.username)).toEqual([cronRunnerRole]);
  });

  test("refuses a same-named job of a role it cannot act as, naming it and the fix, and changes nothing", async () => {
    const other = await scheduleByHand("pulumi_test_other", jobName, "15 4 * * *", "select 2");
    await expect(provider.create(wanted)).rejects.toThrow(
      `pg_cron job ${jobName} (id ${other}) already exists for role pulumi_test_other, and would run beside ours as cron_runner. ` +
        `Fix: as pulumi_test_other or a superuser run select cron.unschedule(${other}); then pulumi up again.`,
    );
    expect((await rows()).map((row) => row.username)).toEqual(["pulumi_test_other"]);
  });

  test("names the grant that fixes it when the connecting role may not act as the job's owner, and creates nothing", async () => {
    // pulumi_test_other was created by postgres and never granted to it: on 15 no membership, on 16+ the
    // ADMIN-only one CREATEROLE gives its creator, which cannot SET ROLE either.
    const create = provider.create({ ...wanted, username: probeRoles.other });
    await expect(create).rejects.toThrow(
      `Role postgres may not act as ${probeRoles.other} (permission denied to set role "${probeRoles.other}"), so no pg_cron job of ${probeRoles.other} can be scheduled, changed or removed. ` +
        `Fix: as postgres run grant ${probeRoles.other} to postgres; for cron_runner, applying the register_reminder_cron migration again with psql makes that grant.`,
    );
    expect(await rows()).toEqual([]);
  });

  // Each platform's own verdict: Debian 12's pg_cron 1.4 has no 'N seconds' schedules, 1.5 and later run them.
  test("checks a schedule against this database's own pg_cron: 1.4 refuses '30 seconds', naming its version, and creates nothing; 1.5+ creates it", async () => {
    const seconds = await checked({ ...wanted, schedule: "30 seconds" });
    const version = await withClient(pgCronVersion);
    if (pgCronAtLeast(version, "1.5")) {
      expect((await provider.create(seconds)).outs).toMatchObject({ schedule: "30 seconds", username: cronRunnerRole });
      expect((await rows()).map((row) => row.schedule)).toEqual(["30 seconds"]);
    } else {
      await expect(provider.create(seconds)).rejects.toThrow(
        `CronJob ${jobName}: schedule '30 seconds' is refused by this database's pg_cron 1.4-1: 'N seconds' schedules need pg_cron 1.5 or later, not 1.4-1.`,
      );
      expect(await rows()).toEqual([]);
    }
  });
});

describe("read (what refresh sees)", () => {
  test("returns the job as the database holds it, and the same row as the inputs refresh stores", async () => {
    const { outs } = await provider.create(wanted);
    const read = await provider.read(jobName, outs);
    expect(read).toEqual({ id: jobName, props: outs, inputs: wanted });
  });

  test("never adopts a same-named job of another owner once ours is gone, so destroy cannot unschedule it", async () => {
    const { outs } = await provider.create(wanted);
    await withClient((client) => client.query("select cron.unschedule($1::bigint)", [outs.jobId]), { admin: true });
    const others = await scheduleByHand("pulumi_test_other", jobName, "15 4 * * *", "select 2");
    expect(await provider.read(jobName, outs)).toEqual({ id: "" });
    await provider.delete(jobName, outs);
    expect((await rows()).map((row) => row.jobid)).toEqual([others]);
  });

  test("adopts nothing without an owner to look for (an import)", async () => {
    await provider.create(wanted);
    expect(await provider.read(jobName)).toEqual({ id: "" });
  });

  test("sees a schedule and a pause made with cron.alter_job outside Pulumi, and diff then reports a change", async () => {
    const { outs } = await provider.create(wanted);
    await alterByHand(String(outs.jobId), cronRunnerRole, { schedule: "45 5 * * *", active: false });

    const read = await provider.read(jobName, outs);

    expect(read.props).toMatchObject({ schedule: "45 5 * * *", active: false, jobId: outs.jobId });
    expect(read.inputs).toEqual({ ...wanted, schedule: "45 5 * * *", active: false });
    expect(await provider.diff(jobName, read.props as Outputs, wanted)).toEqual({ changes: true });
  });

  test("returns a blank id once the job was unscheduled outside Pulumi, so refresh drops it", async () => {
    const { outs } = await provider.create(wanted);
    await withClient(async (client) => {
      await client.query("select set_config('role', 'cron_runner', false)");
      await client.query("select cron.unschedule($1)", [jobName]);
    });
    expect(await provider.read(jobName, outs)).toEqual({ id: "" });
  });
});

describe("update", () => {
  test("changes schedule, command and active in place with cron.alter_job, keeping the job id", async () => {
    const { outs } = await provider.create(wanted);
    const next = await checked({ ...wanted, schedule: "30  4 * * 1-5", command: "select 3", active: false });

    const { outs: updated } = await provider.update(jobName, outs, next);

    const after = await rows();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ jobid: String(outs.jobId), schedule: "30 4 * * 1-5", command: "select 3", active: false });
    expect(updated).toMatchObject({ ...next, jobId: outs.jobId });
  });

  test("corrects drift against the database even when state is stale (no refresh ran)", async () => {
    const { outs } = await provider.create(wanted);
    await alterByHand(String(outs.jobId), cronRunnerRole, { active: false });
    await provider.update(jobName, outs, { ...wanted, command: "select 4" });
    expect((await rows())[0]).toMatchObject({ command: "select 4", active: true });
  });

  test("schedules the job again when it was removed outside Pulumi", async () => {
    const { outs } = await provider.create(wanted);
    await withClient((client) => client.query("select cron.unschedule(jobid) from cron.job where jobname = $1", [jobName]), { admin: true });
    await provider.update(jobName, outs, { ...wanted, schedule: "0 5 * * *" });
    expect(await rows()).toMatchObject([{ schedule: "0 5 * * *", username: cronRunnerRole }]);
  });

  test("moves the job to a new run-as role in one step, leaving one job", async () => {
    const { outs } = await provider.create(wanted);
    const { outs: moved } = await provider.update(jobName, outs, { ...wanted, username: "pulumi_test_runner" });
    const after = await rows();
    expect(after).toMatchObject([{ username: "pulumi_test_runner", schedule: "0 3 * * *", command: "select 1" }]);
    expect(moved.username).toBe("pulumi_test_runner");
    expect(moved.jobId).toBe(Number(after[0].jobid));
  });
});

describe("delete", () => {
  test("unschedules the job", async () => {
    const { outs } = await provider.create(wanted);
    await provider.delete(jobName, outs);
    expect(await rows()).toEqual([]);
  });

  test("succeeds when the job is already gone", async () => {
    const { outs } = await provider.create(wanted);
    await provider.delete(jobName, outs);
    await expect(provider.delete(jobName, outs)).resolves.toBeUndefined();
  });

  test("leaves a same-named job of another owner alone", async () => {
    const { outs } = await provider.create(wanted);
    await provider.delete(jobName, outs);
    await scheduleByHand("pulumi_test_other", jobName, "15 4 * * *", "select 2");
    await provider.delete(jobName, outs);
    expect((await rows()).map((row) => row.username)).toEqual(["pulumi_test_other"]);
  });
});
