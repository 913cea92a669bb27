/**
 * The catch-up's rules, called as cron_runner exactly as its job calls it, against probe jobs whose missed
 * occurrence lies a few minutes back, on a database restarted just now (so it started after the occurrence,
 * as after an outage): caught up once inside the window; not outside it, not for a paused job or a fresh
 * install, not while pg_cron is starting the occurrence itself or a run is in flight, and never twice, even
 * when two race. tests/clock/catch-up.test.ts proves it on pg_cron's clock across a real outage, and
 * catch-up-while-up.test.ts for an occurrence pg_cron missed with the database up.
 */
import { Client } from "pg";
import { withClient } from "../support/db";
import { asCronRunner, deleteSecret, FunctionStandIn, setSecret, vaultedFunctionStandIn } from "../support/trigger";
import { probeJob, removeProbeJob } from "../support/series";
import { startStack, stopStack } from "../../stack/stack";
import { cronRunnerRole } from "../../infra/sql/names";
import { catchUpJobName, intervalSettings } from "../../infra/sql/operations-names";

let endpoint: FunctionStandIn;
const probes: string[] = [];

beforeAll(async () => {
  // The database restarts now, so every occurrence from a minute before now on was "while it was down".
  await stopStack();
  await startStack();
  await withClient(async (client) => {
    endpoint = await vaultedFunctionStandIn(client);
  });
});

afterAll(async () => {
  await withClient(async (client) => {
    await deleteSecret(client, intervalSettings.catchUpWindow.secret);
    await endpoint.release(client);
    for (const name of probes) await removeProbeJob(client, name);
  });
});

const minute = 60_000;
const floorMinute = (at: Date) => new Date(Math.floor(at.getTime() / minute) * minute);

interface Probe {
  name: string;
  occurrence: Date;
}

/** A probe job (tests/support/series.ts) whose occurrence, 3 minutes back unless given, was missed. */
async function missedProbe(client: Client, name: string, options: { occurrence?: Date; ranBefore?: boolean; schedule?: string } = {}): Promise<Probe> {
  const occurrence = options.occurrence ?? new Date(floorMinute(new Date()).getTime() - 3 * minute);
  probes.push(name);
  await probeJob(client, name, occurrence, options);
  return { name, occurrence };
}

/** As the catch-up job calls it; the window is Vault's setting, which cron_runner cannot choose. */
async function catchUp(client: Client, name: string, window: string | null = "10 minutes"): Promise<string | null> {
  if (window === null) await deleteSecret(client, intervalSettings.catchUpWindow.secret);
  else await setSecret(client, intervalSettings.catchUpWindow.secret, window);
  return asCronRunner(client, async () => {
    const { rows } = await client.query("select public.catch_up_reminder_run($1) as id", [name]);
    return rows[0].id as string | null;
  });
}

async function reasons(client: Client, probe: Probe): Promise<{ occurrence: Date; attempt: number; reason: string }[]> {
  const { rows } = await client.query("select occurrence, attempt, reason from public.cron_execution_log where job_name = $1 and triggered_at >= $2 order by id", [
    probe.name,
    probe.occurrence,
  ]);
  return rows;
}

async function runsSince(client: Client, probe: Probe): Promise<{ id: string; status: string }[]> {
  const { rows } = await client.query("select id, status from public.cron_execution_log where job_name = $1 and triggered_at >= $2 order by id", [
    probe.name,
    probe.occurrence,
  ]);
  return rows;
}

async function catchUps(client: Client, probe: Probe): Promise<{ occurrence: Date; run_id: string }[]> {
  const { rows } = await client.query("select occurrence, run_id from public.reminder_cron_catch_ups where job_name = $1", [probe.name]);
  return rows;
}

test("the catch-up job runs every minute as cron_runner, for the daily job", () =>
  withClient(async (client) => {
    const { rows } = await client.query("select schedule, command, username, active from cron.job where jobname = $1", [catchUpJobName]);
    // Spelled out, not rebuilt from catchUpSchedule and catchUpCommand, which made the migration's job.
    expect(rows).toEqual([{ schedule: "* * * * *", command: "select public.catch_up_reminder_run('daily-reminder-eval')", username: "cron_runner", active: true }]);
  }));

test("a missed occurrence inside the window is dispatched once, recorded, and sent to the function", () =>
  withClient(async (client) => {
    const probe = await missedProbe(client, "catch-up-probe-inside");
    const sent = endpoint.requests.length;
    const runId = await catchUp(client, probe.name);
    expect(runId).not.toBeNull();
    await asCronRunner(client, () => client.query("select public.reconcile_reminder_runs()"));
    expect(await runsSince(client, probe)).toEqual([{ id: runId, status: "succeeded" }]);
    expect(await catchUps(client, probe)).toEqual([{ occurrence: probe.occurrence, run_id: runId }]);
    expect(endpoint.requests.slice(sent).map((r) => JSON.parse(r.body))).toEqual([expect.objectContaining({ job_name: probe.name, run_id: Number(runId) })]);
    // The row names the occurrence it serves, as its first attempt, and why it was dispatched.
    expect(await reasons(client, probe)).toEqual([
      { occurrence: probe.occurrence, attempt: 1, reason: expect.stringMatching(/^catch-up: the database was down at the occurrence; it started at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/) },
    ]);

    // Asked again (the next minute's tick), it finds the run and does nothing.
    expect(await catchUp(client, probe.name)).toBeNull();
    expect(await runsSince(client, probe)).toHaveLength(1);
    expect(endpoint.requests.length).toBe(sent + 1);
  }));

test("a missed occurrence older than the window is not caught up (and is, with a wider window)", () =>
  withClient(async (client) => {
    const probe = await missedProbe(client, "catch-up-probe-window");
    expect(await catchUp(client, probe.name, "2 minutes")).toBeNull();
    expect(await runsSince(client, probe)).toEqual([]);
    expect(await catchUp(client, probe.name, "10 minutes")).not.toBeNull();
  }));

test("the window comes from Vault's reminder_catch_up_window, cron_runner cannot pass its own, and a bad value there is named", () =>
  withClient(async (client) => {
    const probe = await missedProbe(client, "catch-up-probe-vault");
    const own = await asCronRunner(client, () => client.query("select public.catch_up_reminder_run($1, '1 year'::interval)", [probe.name])).catch((e) => e);
    expect(own.message).toBe("function public.catch_up_reminder_run(unknown, interval) does not exist");
    expect(await catchUp(client, probe.name, "2 minutes")).toBeNull();
    const error = await catchUp(client, probe.name, "two hours").catch((e) => e);
    expect(error.message).toBe("Vault secret reminder_catch_up_window does not hold an interval");
    expect(error.hint).toBe(
      "Set one such as '6 hours': select vault.update_secret((select id from vault.secrets where name = 'reminder_catch_up_window'), '6 hours');",
    );
    expect(await catchUp(client, probe.name, "10 minutes")).not.toBeNull();
  }));

test("only a registered job of cron_runner is caught up: another name is refused, naming it", () =>
  withClient(async (client) => {
    for (const name of ["daily-reminder-eval ", "x"]) {
      const error = await asCronRunner(client, () => client.query("select public.catch_up_reminder_run($1)", [name])).catch((e) => e);
      expect(error.message).toBe(`'${name}' is not a pg_cron job of cron_runner: only a registered job is caught up or retried`);
    }
  }));

test("a paused job is not caught up", () =>
  withClient(async (client) => {
    const probe = await missedProbe(client, "catch-up-probe-paused");
    await asCronRunner(client, () =>
      client.query("select cron.alter_job((select jobid from cron.job where jobname = $1 and username = current_user), active := false)", [probe.name]),
    );
    expect(await catchUp(client, probe.name)).toBeNull();
    expect(await runsSince(client, probe)).toEqual([]);
  }));

test("a job paused over its occurrence and resumed is not caught up: pausing meant no run; run-now is the way to have one", () =>
  withClient(async (client) => {
    const probe = await missedProbe(client, "catch-up-probe-paused-resumed");
    const setActive = (active: boolean) =>
      asCronRunner(client, () =>
        client.query("select cron.alter_job((select jobid from cron.job where jobname = $1 and username = current_user), active := $2)", [probe.name, active]),
      );
    await setActive(false);
    // The catch-up job's tick while it is paused notes the pause.
    expect(await catchUp(client, probe.name)).toBeNull();
    await setActive(true);
    expect(await catchUp(client, probe.name)).toBeNull();
    expect(await runsSince(client, probe)).toEqual([]);
    const { rows } = await client.query("select state, detail from public.reminder_run_series($1)", [probe.name]);
    expect(rows).toEqual([{ state: "missed", detail: "the job was paused at the occurrence: resuming does not run it (reminder-cron run-now does)" }]);
    await client.query("delete from public.reminder_cron_pauses where job_name = $1", [probe.name]);
  }));

test("a job that never ran before its occurrence (a fresh install) is not caught up", () =>
  withClient(async (client) => {
    const probe = await missedProbe(client, "catch-up-probe-fresh", { ranBefore: false });
    expect(await catchUp(client, probe.name)).toBeNull();
    expect(await runsSince(client, probe)).toEqual([]);
  }));

test("an occurrence in the current minute is left to pg_cron, which is starting it", () =>
  withClient(async (client) => {
    // Every minute: the latest occurrence is always the current one.
    const probe = await missedProbe(client, "catch-up-probe-now", { schedule: "* * * * *" });
    expect(await catchUp(client, probe.name)).toBeNull();
    await asCronRunner(client, () => client.query("select cron.unschedule($1)", [probe.name]));
    probes.splice(probes.indexOf(probe.name), 1);
  }));

test("two catch-ups racing for one occurrence dispatch it once: the second reads the series again under the job's lock and finds the first's run", () =>
  withClient((first) =>
    withClient(async (second) => {
      const probe = await missedProbe(first, "catch-up-probe-race");
      await first.query("begin");
      await first.query(`set local role ${cronRunnerRole}`);
      await setSecret(second, intervalSettings.catchUpWindow.secret, "10 minutes");
      const { rows } = await first.query("select public.catch_up_reminder_run($1) as id", [probe.name]);
      // The second waits for the first's new lock row, or finds it locked; either way it reads the series
      // again under the lock, or not at all, and dispatches nothing.
      const racing = catchUp(second, probe.name);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await first.query("commit");
      expect(await racing).toBeNull();
      expect((await runsSince(first, probe)).map((r) => r.id)).toEqual([rows[0].id]);
      expect(await catchUps(first, probe)).toHaveLength(1);
    }),
  ));

test("a catch-up with nothing to do takes no lock: the schedule's dispatch in the same instant goes out, not skipped", () =>
  withClient((first) =>
    withClient(async (second) => {
      // pg_cron starts the catch-up job and the daily one in the same minute; the catch-up finds the
      // occurrence due (pg_cron is starting it) and must not hold the job's lock while it decides so.
      const probe = await missedProbe(first, "catch-up-probe-same-minute", { schedule: "* * * * *" });
      await first.query("begin");
      await first.query(`set local role ${cronRunnerRole}`);
      expect((await first.query("select public.catch_up_reminder_run($1) as id", [probe.name])).rows[0].id).toBeNull();
      const { rows } = await second.query("select public.dispatch_reminder_run($1) as id", [probe.name]);
      await first.query("commit");
      const { rows: logged } = await second.query("select status from public.cron_execution_log where id = $1", [rows[0].id]);
      expect(logged).toEqual([{ status: "dispatched" }]);
      await asCronRunner(second, () => second.query("select public.reconcile_reminder_runs()"));
      await asCronRunner(second, () => second.query("select cron.unschedule($1)", [probe.name]));
      probes.splice(probes.indexOf(probe.name), 1);
      await second.query("delete from public.cron_execution_log where job_name = $1", [probe.name]);
    }),
  ));

test("no catch-up while an earlier run is still running (answered 202); once that run ends, the next catches up once", () =>
  withClient(async (client) => {
    const probe = await missedProbe(client, "catch-up-probe-in-flight");
    // Run-now shortly before the outage: answered 202, still running when the database came back.
    const { rows } = await client.query(
      "insert into public.cron_execution_log (job_name, status, http_status, triggered_at) values ($1, 'running', 202, $2) returning id",
      [probe.name, new Date(probe.occurrence.getTime() - 30_000)],
    );
    // Never two in flight: the catch-up waits for it, and logs nothing meanwhile.
    expect(await catchUp(client, probe.name)).toBeNull();
    expect(await runsSince(client, probe)).toEqual([]);
    expect(await catchUps(client, probe)).toEqual([]);

    await client.query("update public.cron_execution_log set status = 'failed', finished_at = now(), error_message = 'ended by the test' where id = $1", [rows[0].id]);
    const caughtUp = await catchUp(client, probe.name);
    await asCronRunner(client, () => client.query("select public.reconcile_reminder_runs()"));
    expect(await runsSince(client, probe)).toEqual([{ id: caughtUp, status: "succeeded" }]);
    expect(await catchUps(client, probe)).toEqual([{ occurrence: probe.occurrence, run_id: caughtUp }]);
    expect(await catchUp(client, probe.name)).toBeNull();
  }));
