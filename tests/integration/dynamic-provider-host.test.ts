/**
 * The dynamic providers as `pulumi up` runs them: serialized by the SDK from the program, loaded by the
 * SDK's dynamic-provider host in its own process, configured with the stack config over gRPC, and driven
 * through Check, Diff, Create, Read, Update and Delete against the local stack. This proves the providers
 * serialize, load and reach the database outside the test process, with no connection in their closure.
 */
import { readFileSync } from "node:fs";
import { cronRunnerRole } from "../../infra/sql/names";
import { pgCronAtLeast } from "../../infra/providers/pg-cron-schedule";
import { pgCronVersion, withClient } from "../support/db";
import { jobRows } from "../support/trigger";
import { ProviderHost, serializedProviders, startProviderHost, urnOf } from "../support/pulumi-host";
import { alterByHand, localStackConfigValues, probeJobPrefix, probeSecretPrefix, removeProbes, secretsNamed } from "../support/pulumi-providers";

type Props = Record<string, unknown>;

let host: ProviderHost;

/** What a preview shows for a resource whose provider gives no detailed diff: each input that differs, old => new. */
function propertyChanges(old: Record<string, unknown>, wanted: Record<string, unknown>): Record<string, [unknown, unknown]> {
  const keys = [...new Set([...Object.keys(old), ...Object.keys(wanted)])].filter((key) => key !== "__provider");
  return Object.fromEntries(keys.filter((key) => JSON.stringify(old[key]) !== JSON.stringify(wanted[key])).map((key) => [key, [old[key], wanted[key]]]));
}
let providers: { cronJob: string; vaultSecret: string };

/**
 * Each test's own starting point, so any one runs alone (`npx jest <file> -t '<name>'`): `checked()` is
 * the inputs as the engine keeps them after Check, `created()` a fresh resource as after `pulumi up`
 * created it (those inputs, its id and its state).
 */
function fixtures(urn: string, news: () => Props) {
  const checked = async (): Promise<Props> => (await host.check(urn, {}, news())).inputs;
  const created = async (): Promise<{ inputs: Props; id: string; state: Props }> => {
    const inputs = await checked();
    const result = await host.create(urn, inputs);
    return { inputs, id: result.id, state: result.properties };
  };
  return { checked, created };
}

beforeAll(async () => {
  providers = await serializedProviders();
  host = await startProviderHost();
  await host.configure(localStackConfigValues());
  await removeProbes();
});
afterAll(async () => {
  await host?.stop();
  await removeProbes();
});

test("the host is the SDK's dynamic-provider program in a process of its own, and the serialized providers hold no connection", () => {
  const commandLine = readFileSync(`/proc/${host.pid}/cmdline`, "utf8").split("\0");
  expect(commandLine.some((arg) => arg.endsWith("@pulumi/pulumi/cmd/dynamic-provider/index.js"))).toBe(true);
  const { hostname, port } = new URL(`postgres://${localStackConfigValues()["reminder-cron:dbHost"]}:${localStackConfigValues()["reminder-cron:dbPort"]}`);
  for (const serialized of Object.values(providers)) expect(serialized).not.toContain(`${hostname}:${port}`);
});

describe("CronJob through the host", () => {
  const urn = urnOf("CronJob", "probe-job");
  const jobName = `${probeJobPrefix}host`;
  const rows = () => withClient((client) => jobRows(client, jobName));
  const news = () => ({ __provider: providers.cronJob, jobName, schedule: " 0  3 * * * ", command: "select 1", username: cronRunnerRole });

  const { checked: checkedJob, created: createdJob } = fixtures(urn, news);

  beforeEach(removeProbes);

  test("Check normalizes the schedule, fills in active, and returns failures for what pg_cron would refuse", async () => {
    const checked = await host.check(urn, {}, news());
    expect(checked.failures).toEqual([]);
    expect(checked.inputs).toEqual({ ...news(), schedule: "0 3 * * *", active: true });

    const bad = await host.check(urn, {}, { ...news(), jobName: "Bad Name", schedule: "0 0 6 * * *" });
    expect(bad.failures.map((failure) => failure.property)).toEqual(["jobName", "schedule"]);
    expect(bad.failures[1].reason).toContain("it has 6 fields; pg_cron needs exactly 5");
  });

  test("Create schedules the job in the database and returns the name as id, pg_cron's job id and the provider", async () => {
    const created = await host.create(urn, await checkedJob());
    const [row] = await rows();
    expect(created.id).toBe(jobName);
    expect(row).toMatchObject({ schedule: "0 3 * * *", command: "select 1", username: cronRunnerRole, active: true });
    expect(created.properties).toMatchObject({ jobName, jobId: Number(row.jobid), database: "postgres", __provider: providers.cronJob });
  });

  test("Diff reports nothing for equal inputs, an in-place change for a new schedule, and a delete-first replacement for a new name", async () => {
    const { inputs, id, state } = await createdJob();
    expect(await host.diff(urn, id, state, inputs)).toEqual({ changes: "none", replaces: [], deleteBeforeReplace: false });
    expect(await host.diff(urn, id, state, { ...inputs, schedule: "0 4 * * *" })).toEqual({ changes: "some", replaces: [], deleteBeforeReplace: false });
    expect(await host.diff(urn, id, state, { ...inputs, jobName: `${jobName}-2` })).toEqual({ changes: "some", replaces: ["jobName"], deleteBeforeReplace: true });
  });

  test("Diff reads only state: a job paused by hand shows no change until a refresh has read it", async () => {
    const { inputs, id, state } = await createdJob();
    await alterByHand(String(state.jobId), cronRunnerRole, { active: false });
    // What a plain `pulumi up` compares: state still says active, so it leaves the pause in place.
    expect(await host.diff(urn, id, state, inputs)).toEqual({ changes: "none", replaces: [], deleteBeforeReplace: false });
    // `pulumi up --refresh` reads first, and then puts the job back as the program says.
    const refreshed = await host.read(urn, id, state);
    expect(await host.diff(urn, id, refreshed.properties, inputs)).toEqual({ changes: "some", replaces: [], deleteBeforeReplace: false });
  });

  test("Diff asks for an update when the provider code saved in state is older, so refresh and destroy then run the new code", async () => {
    const { inputs, id, state } = await createdJob();
    // read and delete run the provider serialized in the resource's outputs; only an update replaces it.
    const older = { ...state, __provider: `${providers.cronJob}\n// an earlier release` };
    expect(await host.diff(urn, id, older, inputs)).toEqual({ changes: "some", replaces: [], deleteBeforeReplace: false });
    const updated = await host.update(urn, id, older, inputs);
    expect(updated.properties.__provider).toBe(providers.cronJob);
    expect(updated.properties.jobId).toBe(state.jobId);
    expect(await host.diff(urn, id, updated.properties, inputs)).toEqual({ changes: "none", replaces: [], deleteBeforeReplace: false });
  });

  test("Read (refresh) sees a job edited outside Pulumi, and hands the engine the live row as inputs: the exact property change", async () => {
    const { inputs, id, state } = await createdJob();
    await alterByHand(String(state.jobId), cronRunnerRole, { schedule: "45 5 * * *", active: false });
    const read = await host.read(urn, id, state);
    expect(read.id).toBe(id);
    expect(read.properties).toMatchObject({ schedule: "45 5 * * *", active: false, jobId: state.jobId, __provider: providers.cronJob });
    // Refresh stores these as the resource's inputs; the engine renders a preview's property lines by
    // comparing them with the program's inputs, since a dynamic provider's diff carries no detailed diff.
    expect(read.inputs).toEqual({ ...inputs, schedule: "45 5 * * *", active: false });
    expect(propertyChanges(read.inputs!, inputs)).toEqual({ schedule: ["45 5 * * *", "0 3 * * *"], active: [false, true] });
    expect(await host.diff(urn, id, read.properties, inputs)).toEqual({ changes: "some", replaces: [], deleteBeforeReplace: false });
  });

  test("Read never adopts a same-named job of another owner: with ours gone, refresh drops it from state", async () => {
    const { id, state } = await createdJob();
    const other = { ...state, username: "postgres" };
    // A state that says the job is postgres's: cron_runner's row, the only one there, is not that job.
    expect(await rows()).toHaveLength(1);
    expect(await host.read(urn, id, other)).toEqual({ id: "", properties: { __provider: providers.cronJob } });
  });

  test("Update changes the job in place, keeping its id, and resumes a job paused by hand", async () => {
    const { inputs, id, state: created } = await createdJob();
    await alterByHand(String(created.jobId), cronRunnerRole, { active: false });
    const state = (await host.read(urn, id, created)).properties;
    expect(state).toMatchObject({ active: false });
    const checked = await host.check(urn, inputs, { ...inputs, schedule: "15 4 * * 1-5" });
    const updated = await host.update(urn, id, state, checked.inputs);
    const after = await rows();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ jobid: String(created.jobId), schedule: "15 4 * * 1-5", active: true });
    expect(updated.properties).toMatchObject({ schedule: "15 4 * * 1-5", active: true, jobId: created.jobId });
  });

  test("Create again with the same name adopts the job instead of adding one", async () => {
    const { state } = await createdJob();
    const again = await host.create(urn, state);
    expect(again.properties.jobId).toBe(state.jobId);
    expect(await rows()).toHaveLength(1);
  });

  // check reads schedules as pg_cron 1.6 does; Create asks this database's own: 1.4 has no 'N seconds'.
  test("Create checks the schedule against this database's pg_cron: 1.4 refuses '30 seconds' with the provider's message and creates nothing; 1.5+ creates it", async () => {
    const other = `${probeJobPrefix}host-seconds`;
    const checked = await host.check(urn, {}, { ...(await checkedJob()), jobName: other, schedule: "30 seconds" });
    expect(checked.failures).toEqual([]);
    if (pgCronAtLeast(await withClient(pgCronVersion), "1.5")) {
      expect((await host.create(urn, checked.inputs)).properties).toMatchObject({ jobName: other, schedule: "30 seconds" });
      expect((await withClient((client) => jobRows(client, other))).map((row) => row.schedule)).toEqual(["30 seconds"]);
    } else {
      await expect(host.create(urn, checked.inputs)).rejects.toThrow(`CronJob ${other}: schedule '30 seconds' is refused by this database's pg_cron 1.4-1`);
      expect(await withClient((client) => jobRows(client, other))).toEqual([]);
    }
  });

  test("Delete unschedules the job, succeeds again when it is gone, and Read then returns a blank id", async () => {
    const { id, state } = await createdJob();
    expect(await rows()).toHaveLength(1);
    await host.delete(urn, id, state);
    expect(await rows()).toEqual([]);
    await expect(host.delete(urn, id, state)).resolves.toBeUndefined();
    expect((await host.read(urn, id, state)).id).toBe("");
  });
});

describe("VaultSecret through the host", () => {
  const urn = urnOf("VaultSecret", "probe-secret");
  const name = `${probeSecretPrefix}host`;
  const stored = () => withClient((client) => secretsNamed(client, name));
  const news = () => ({ __provider: providers.vaultSecret, name, value: "host-value-1" });

  const { checked: checkedSecret, created: createdSecret } = fixtures(urn, news);

  const changeByHand = (id: string, value: string) => withClient((client) => client.query("select vault.update_secret($1, $2)", [id, value]));

  beforeEach(removeProbes);

  test("Check fills in the description and refuses an empty value without quoting it", async () => {
    const checked = await host.check(urn, {}, news());
    expect(checked).toEqual({ inputs: { ...news(), description: "managed by Pulumi (reminder-cron)" }, failures: [] });
    const empty = await host.check(urn, {}, { ...checked.inputs, value: "" });
    expect(empty.failures).toEqual([{ property: "value", reason: "the secret's value is empty; the SQL that reads it treats empty as missing" }]);
  });

  test("Create stores the value in Vault under the name", async () => {
    const created = await host.create(urn, await checkedSecret());
    expect(await stored()).toEqual([{ id: created.id, value: "host-value-1", description: "managed by Pulumi (reminder-cron)" }]);
  });

  test("Read sees a value changed outside Pulumi, and Diff then reports it", async () => {
    const { inputs, id, state } = await createdSecret();
    await changeByHand(id, "changed-by-hand");
    const read = await host.read(urn, id, state);
    expect(read).toMatchObject({ id, properties: { ...state, value: "changed-by-hand" } });
    expect((await host.diff(urn, id, read.properties, inputs)).changes).toBe("some");
  });

  test("Read hands the engine the live secret as inputs, so the preview after a refresh names the property that drifted", async () => {
    const { inputs, id, state } = await createdSecret();
    await withClient((client) => client.query("select vault.update_secret($1, 'changed-by-hand', null, 'edited in the dashboard')", [id]));
    const read = await host.read(urn, id, state);
    // Without inputs the engine keeps the old ones, equal to the program's: the preview shows
    // `~ update` with no property line. The engine marks `value` secret again in the stored inputs
    // because the same-named old input was (provider_plugin.go Read, annotateSecrets).
    expect(read.inputs).toEqual({ ...inputs, value: "changed-by-hand", description: "edited in the dashboard" });
    expect(propertyChanges(read.inputs!, inputs)).toEqual({
      value: ["changed-by-hand", "host-value-1"],
      description: ["edited in the dashboard", "managed by Pulumi (reminder-cron)"],
    });
  });

  test("Diff asks for an update when the provider code saved in state is older", async () => {
    const { inputs, id, state } = await createdSecret();
    const older = { ...state, __provider: `${providers.vaultSecret}\n// an earlier release` };
    expect(await host.diff(urn, id, older, inputs)).toEqual({ changes: "some", replaces: [], deleteBeforeReplace: false });
    expect(await host.diff(urn, id, state, inputs)).toEqual({ changes: "none", replaces: [], deleteBeforeReplace: false });
  });

  test("Update writes the wanted value back under the same id", async () => {
    const { inputs, id, state: created } = await createdSecret();
    await changeByHand(id, "changed-by-hand");
    const state = (await host.read(urn, id, created)).properties;
    const updated = await host.update(urn, id, state, inputs);
    expect(await stored()).toEqual([{ id, value: "host-value-1", description: "managed by Pulumi (reminder-cron)" }]);
    expect(updated.properties.value).toBe("host-value-1");
  });

  test("Delete removes the secret, and Read then returns a blank id", async () => {
    const { id, state } = await createdSecret();
    expect(await stored()).toHaveLength(1);
    await host.delete(urn, id, state);
    expect(await stored()).toEqual([]);
    expect((await host.read(urn, id, state)).id).toBe("");
  });
});
