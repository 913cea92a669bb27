/**
 * Every command of `reminder-cron` against the real local stack: its effect in cron.job, Vault and the log,
 * its --json shape and its exit code, and its refusals (exit 2 or 3) that change nothing. Most run the CLI in
 * this process (main() with captured output); the last ones run the package's bin as an operator would.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { main } from "../../cli/main";
import { pgCronAtLeast } from "../../infra/providers/pg-cron-schedule";
import { pgCronVersion, stack, withClient } from "../support/db";
import { alterJob, asCronRunner, deleteSecret, FunctionStandIn, jobRows, setSecret, vaultedFunctionStandIn } from "../support/trigger";
import { freePort } from "../../stack/cluster";
import { functionEndpoint } from "../../stack/edge-functions";
import { repoRoot } from "../../stack/paths";
import { cronRunnerRole, defaultCronExpression, defaultJobName, dispatchCommand, reconcileJobName, signatureHeader, vaultSecrets } from "../../infra/sql/names";

const probe = "cli-probe";
/** Once a year: pg_cron never runs the probe during the test, so its log holds only what a test put there. */
const probeSchedule = "0 6 1 1 *";
/** The stack's signing key, which Vault holds: the CLI must never print it. */
const credential = () => functionEndpoint(stack()).signingKey;
let endpoint: FunctionStandIn;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function cli(...argv: string[]): Promise<Ran> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { write: (text: string) => (stdout += text) }, { write: (text: string) => (stderr += text) });
  let json: unknown;
  if (argv.includes("--json")) json = JSON.parse(stdout);
  return { code, stdout, stderr, json };
}

const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000);

async function logRow(client: Client, row: { status: string; triggeredMinutesAgo: number; tookSeconds?: number; httpStatus?: number; error?: string }) {
  const triggered = minutesAgo(row.triggeredMinutesAgo);
  const finished = row.tookSeconds === undefined ? null : new Date(triggered.getTime() + row.tookSeconds * 1000);
  const { rows } = await client.query(
    `insert into public.cron_execution_log (job_name, status, triggered_at, finished_at, http_status, error_message)
     values ($1, $2, $3, $4, $5, $6) returning id`,
    [probe, row.status, triggered, finished, row.httpStatus ?? null, row.error ?? null],
  );
  return Number(rows[0].id);
}

const probeJob = async (client: Client) => (await jobRows(client, probe))[0];

beforeAll(async () => {
  await withClient(async (client) => {
    endpoint = await vaultedFunctionStandIn(client);
    await asCronRunner(client, () => client.query("select cron.schedule($1, $2, $3)", [probe, probeSchedule, dispatchCommand(probe)]));
  });
});

beforeEach(() =>
  withClient(async (client) => {
    await client.query("delete from public.cron_execution_log where job_name = $1", [probe]);
    await alterJob(client, { active: true }, probe);
  }),
);

afterAll(async () => {
  await withClient(async (client) => {
    await client.query("delete from public.cron_execution_log where job_name = $1", [probe]);
    await client.query("delete from cron.job_run_details where runid < -100000");
    await asCronRunner(client, () => client.query("select cron.unschedule($1)", [probe]));
    await endpoint.release(client);
  });
});

describe("status", () => {
  test("a job whose last run succeeded an hour ago is healthy: exit 0, and the --json shape", () =>
    withClient(async (client) => {
      const id = await logRow(client, { status: "succeeded", triggeredMinutesAgo: 60, tookSeconds: 0.3, httpStatus: 200 });
      await logRow(client, { status: "failed", triggeredMinutesAgo: 120, tookSeconds: 1.5, httpStatus: 503, error: "HTTP 503 from the reminder function: maintenance" });
      const { code, json } = await cli("status", "--job", probe, "--json");
      expect(code).toBe(0);
      expect(json).toMatchObject({
        job: { name: probe, schedule: probeSchedule, active: true, owner: cronRunnerRole, description: "At 06:00, on day 1 of the month, only in January", timeZone: "UTC" },
        successRate: { days: 7, succeeded: 1, failed: 1, skipped: 0, rate: 0.5 },
        alerts: [],
        healthy: true,
        vaultSecretsSet: { [vaultSecrets.functionUrl]: true, [vaultSecrets.signingKey]: true },
        settings: { catchUpWindowSeconds: 6 * 3600, logRetentionSeconds: 90 * 86400, runDetailsRetentionSeconds: 14 * 86400 },
      });
      expect(json.job.nextRun).toMatch(/^20\d\d-01-01T06:00:00\.000Z$/);
      expect(json.runs[0]).toEqual({
        id,
        jobName: probe,
        triggeredAt: expect.any(String),
        status: "succeeded",
        httpStatus: 200,
        finishedAt: expect.any(String),
        durationMs: 300,
        error: null,
        catchUpOf: null,
        occurrence: null,
        attempt: null,
        reason: null,
        reminders: null,
      });
      expect(json.runs[1]).toMatchObject({ status: "failed", httpStatus: 503, durationMs: 1500 });
      expect(json.companions.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining([defaultJobName, reconcileJobName]));
    }));

  test("in text: the schedule in words, next run, last runs, success rate and no alert; never a secret", () =>
    withClient(async (client) => {
      await logRow(client, { status: "succeeded", triggeredMinutesAgo: 60, tookSeconds: 0.3, httpStatus: 200 });
      const { code, stdout } = await cli("status", "--job", probe);
      expect(code).toBe(0);
      expect(stdout).toMatch(new RegExp(`^${probe}  active  \\(job \\d+, runs as cron_runner\\)\\n`));
      expect(stdout).toContain(`schedule    ${probeSchedule}  At 06:00, on day 1 of the month, only in January, UTC\n`);
      expect(stdout).toMatch(/next run    20\d\d-01-01 06:00:00 UTC \(in \d+ d \d+ h\)/);
      expect(stdout).toContain("success     last 7 days: 1 of 1 finished runs succeeded (100%)");
      expect(stdout).toMatch(/succeeded +- +200 +300 ms/);
      expect(stdout).toContain("alerts      none");
      expect(stdout).not.toContain(credential());
      expect(stdout).not.toContain(endpoint.url);
    }));

  test("with the reconcile job stopped, a run without an outcome for 10 minutes is a stuck-run alert: exit 1", () =>
    withClient(async (client) => {
      await alterJob(client, { active: false }, reconcileJobName);
      try {
        await logRow(client, { status: "succeeded", triggeredMinutesAgo: 60, tookSeconds: 0.3, httpStatus: 200 });
        const stuck = await logRow(client, { status: "dispatched", triggeredMinutesAgo: 10 });
        const { code, json } = await cli("status", "--job", probe, "--json");
        expect(code).toBe(1);
        expect(json.alerts).toEqual([{ code: "stuck-run", runId: stuck, message: expect.stringMatching(/^Run \d+ \(triggered .* UTC\) has had no outcome for 10 min/) }]);
        expect(json.healthy).toBe(false);
      } finally {
        await alterJob(client, { active: true }, reconcileJobName);
      }
    }));

  test("a run that took 45 minutes is a long-run alert: exit 1", () =>
    withClient(async (client) => {
      const long = await logRow(client, { status: "succeeded", triggeredMinutesAgo: 120, tookSeconds: 45 * 60, httpStatus: 200 });
      const { code, json, stdout } = await cli("status", "--job", probe, "--json");
      expect(code).toBe(1);
      expect(json.alerts.map((a: { code: string; runId?: number }) => [a.code, a.runId])).toEqual([["long-run", long]]);
      expect(stdout).toContain("over the 30-minute limit");
    }));

  test("no success in 26 hours (a failure an hour ago, a success 27 hours ago) is a no-success alert: exit 1", () =>
    withClient(async (client) => {
      await logRow(client, { status: "succeeded", triggeredMinutesAgo: 27 * 60, tookSeconds: 0.3, httpStatus: 200 });
      await logRow(client, { status: "failed", triggeredMinutesAgo: 60, tookSeconds: 0.2, httpStatus: 500 });
      const { code, stdout } = await cli("status", "--job", probe);
      expect(code).toBe(1);
      expect(stdout).toMatch(/^ALERT no-success: No successful run in the last 26 hours \(last success: .* UTC\): read reminder-cron logs --since 48h/m);
    }));

  test("each run shows what the reminder function recorded for it; one still running after 40 minutes is a long-run alert", () =>
    withClient(async (client) => {
      const done = await logRow(client, { status: "succeeded", triggeredMinutesAgo: 60, tookSeconds: 0.3, httpStatus: 200 });
      // A function that answered 202 and works on: the log says running until its own record says more.
      const working = await logRow(client, { status: "running", triggeredMinutesAgo: 40, httpStatus: 202 });
      const insert = `insert into public.reminder_runs (job_name, cron_run_id, triggered_at, as_of, status, started_at, lease_expires_at, finished_at, evaluated, created, skipped, duration_ms)
                      values ($1, $2, $3, current_date, $4, $3, $5, $6, $7, $8, $9, $10) returning id`;
      const { rows } = await client.query(insert, [probe, done, minutesAgo(60), "succeeded", null, minutesAgo(59), 10, 4, 6, 850]);
      const running = await client.query(insert, [probe, working, minutesAgo(40), "running", minutesAgo(-10), null, null, null, null, null]);
      try {
        const { code, json } = await cli("status", "--job", probe, "--json");
        expect(code).toBe(1);
        expect(json.runs.find((r: { id: number }) => r.id === done).reminders).toEqual({
          runId: Number(rows[0].id),
          status: "succeeded",
          evaluated: 10,
          created: 4,
          skipped: 6,
          durationMs: 850,
          error: null,
        });
        expect(json.alerts).toEqual([
          // Reconcile would have failed it 460 s after its trigger: that it did not is an alert of its own.
          { code: "stuck-run", runId: working, message: expect.stringMatching(/reminder-eval-reconcile should settle it from public.reminder_runs/) },
          {
            code: "long-run",
            runId: working,
            message: expect.stringMatching(new RegExp(`^The reminder function's run ${running.rows[0].id} \\(of run ${working}\\), started .* UTC, has been running for 40 min`)),
          },
        ]);
        const text = await cli("status", "--job", probe);
        expect(text.stdout).toMatch(new RegExp(`\\n  ${done} .* succeeded +- +200 +300 ms +4 new of 10 due`));
        expect(text.stdout).toMatch(new RegExp(`\\n  ${working} .* running +- +202 +- +running`));
      } finally {
        await client.query("delete from public.reminder_runs where job_name = $1", [probe]);
      }
    }));

  test("a job that is not registered is a job-missing alert: exit 3, as for every command, and job null in --json", async () => {
    const { code, json } = await cli("status", "--job", "cli-probe-never-registered", "--json");
    expect(code).toBe(3);
    expect(json.job).toBeNull();
    expect(json.alerts.map((a: { code: string }) => a.code)).toEqual(["job-missing", "no-success"]);
  });

  test("without --job it reports the daily job", async () => {
    const { json } = await cli("status", "--json");
    expect(json.job).toMatchObject({ name: defaultJobName, owner: cronRunnerRole });
  });
});

describe("pause and resume", () => {
  test("pause stops the job's runs and keeps its schedule; again, it changes nothing; resume starts them", () =>
    withClient(async (client) => {
      const paused = await cli("pause", "--job", probe, "--json");
      expect(paused.code).toBe(0);
      expect(paused.json).toMatchObject({ job: { name: probe, active: false, schedule: probeSchedule }, changed: true });
      expect(await probeJob(client)).toMatchObject({ active: false, schedule: probeSchedule });

      const again = await cli("pause", "--job", probe);
      expect(again).toMatchObject({ code: 0, stdout: `${probe} is already paused; nothing changed.\n` });

      const status = await cli("status", "--job", probe);
      expect(status.stdout).toContain(`${probe}  PAUSED`);
      expect(status.stdout).toContain("next run    none while paused: reminder-cron resume");

      const resumed = await cli("resume", "--job", probe, "--json");
      expect(resumed.code).toBe(0);
      expect(resumed.json).toMatchObject({ job: { active: true }, changed: true });
      expect((await probeJob(client)).active).toBe(true);
    }));

  test("pausing a job that is not registered exits 3 and names the jobs there are, for a typo", async () => {
    const { code, stderr } = await cli("pause", "--job", "cli-probe-never-registered");
    expect(code).toBe(3);
    expect(stderr).toMatch(/^reminder-cron: Job cli-probe-never-registered is not registered in cron\.job \(as cron_runner\): check --job; cron_runner's jobs are [^\n]*\bcli-probe\b[^\n]*\.\n$/);
  });
});

describe("run-now", () => {
  test("dispatches one run as the runbook does and reports its success: exit 0", async () => {
    endpoint.reply({ status: 200, body: '{"created":2}' });
    const sent = endpoint.requests.length;
    const { code, json } = await cli("run-now", "--job", probe, "--json");
    expect(code).toBe(0);
    expect(json.run).toMatchObject({ jobName: probe, status: "succeeded", httpStatus: 200, error: null });
    expect(endpoint.requests.slice(sent).map((r) => JSON.parse(r.body).run_id)).toEqual([json.run.id]);
    expect(endpoint.requests.at(-1)!.headers[signatureHeader]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(endpoint.requests.at(-1)!.headers.authorization).toBeUndefined();
  });

  test("a run the function fails is reported with its HTTP status: exit 1", async () => {
    endpoint.reply({ status: 500, body: "boom" });
    try {
      const { code, stdout } = await cli("run-now", "--job", probe);
      expect(code).toBe(1);
      expect(stdout).toMatch(/^Run \d+ failed with HTTP 500: HTTP 500 from the reminder function: boom\n$/);
    } finally {
      endpoint.reply({ status: 200 });
    }
  });
});

describe("reschedule", () => {
  let hadSecret: boolean;
  beforeEach(() =>
    withClient(async (client) => {
      hadSecret = (await client.query("select 1 from vault.secrets where name = $1", [vaultSecrets.cronExpression])).rowCount === 1;
      await deleteSecret(client, vaultSecrets.cronExpression);
    }),
  );
  afterEach(() =>
    withClient(async (client) => {
      await alterJob(client, { schedule: defaultCronExpression });
      if (hadSecret) await setSecret(client, vaultSecrets.cronExpression, defaultCronExpression);
      else await deleteSecret(client, vaultSecrets.cronExpression);
    }),
  );

  const vaultExpression = async (client: Client) =>
    (await client.query("select decrypted_secret from vault.decrypted_secrets where name = $1", [vaultSecrets.cronExpression])).rows[0]?.decrypted_secret;

  test("changes the job's schedule and Vault's copy together (creating the secret when missing): exit 0", () =>
    withClient(async (client) => {
      const { code, json } = await cli("reschedule", "30  5 * * 1-5", "--json");
      expect(code).toBe(0);
      expect(json).toMatchObject({ from: defaultCronExpression, to: "30 5 * * 1-5", description: "At 05:30, Monday through Friday", timeZone: "UTC" });
      expect(new Date(json.nextRun).getUTCHours()).toBe(5);
      expect((await jobRows(client))[0].schedule).toBe("30 5 * * 1-5");
      expect(await vaultExpression(client)).toBe("30 5 * * 1-5");
    }));

  test.each([
    ["0 6 * * 8", "day of week 8 is outside 0-7; give five fields in UTC, e.g. '0 6 * * *'"],
    ["5/10 * * * *", "minute '5/10' steps from a single value, which pg_cron refuses; write '5-59/10' or '*/10'; give five fields in UTC, e.g. '0 6 * * *'"],
    ["0 0 6 * * *", "it has 6 fields; pg_cron needs exactly 5"],
    // What pg_cron does with a reversed range is the platform's own: 1.4 never runs it, 1.6 reads bits.
    [
      "30-10 * * * *",
      (version: string) =>
        `minute range '30-10' starts after it ends, which pg_cron ${pgCronAtLeast(version, "1.6") ? "reads as a pattern of bits, not a wrap-around" : "never runs"}; write it as two ranges, e.g. '30-59,0-10'`,
    ],
    ["@Daily", "pg_cron matches @ names case-sensitively and knows no '@Daily'; write '@daily'"],
    ["@reboot", "@reboot runs whenever pg_cron's scheduler starts, not on a clock"],
  ] as [string, string | ((version: string) => string)][])("refuses %s with exit 2, naming the value and the fix, and changes nothing", (expression, reason) =>
    withClient(async (client) => {
      const { code, stderr } = await cli("reschedule", expression);
      expect(code).toBe(2);
      const expected = typeof reason === "string" ? reason : reason(await pgCronVersion(client));
      expect(stderr.startsWith(`reminder-cron: Cannot reschedule to '${expression}': ${expected}`)).toBe(true);
      expect(stderr.endsWith(". Nothing changed.\n")).toBe(true);
      expect(stderr.split("\n")).toHaveLength(2);
      expect((await jobRows(client))[0].schedule).toBe(defaultCronExpression);
      expect(await vaultExpression(client)).toBeUndefined();
    }));

  test("refuses another job than the daily one, whose schedule Vault does not keep: exit 2", async () => {
    const { code, stderr } = await cli("reschedule", "0 7 * * *", "--job", probe);
    expect(code).toBe(2);
    expect(stderr).toContain(`reschedule changes ${defaultJobName} only`);
  });
});

describe("logs", () => {
  test("--since a duration or a timestamp lists the runs since then, newest first, and pg_cron's failures", () =>
    withClient(async (client) => {
      const recent = await logRow(client, { status: "failed", triggeredMinutesAgo: 180, tookSeconds: 5, error: "Couldn't connect to server" });
      const older = await logRow(client, { status: "succeeded", triggeredMinutesAgo: 30 * 60, tookSeconds: 0.4, httpStatus: 200 });
      await client.query(
        `insert into cron.job_run_details (runid, jobid, username, database, command, status, return_message, start_time, end_time)
         values (-100001, (select jobid from cron.job where jobname = $1), $2, 'postgres', 'select 1', 'failed', 'ERROR:  function does not exist', $3, $3)`,
        [probe, cronRunnerRole, minutesAgo(90)],
      );

      const day = await cli("logs", "--job", probe, "--since", "24h", "--json");
      expect(day.code).toBe(0);
      expect(day.json.runs.map((r: { id: number }) => r.id)).toEqual([recent]);
      expect(day.json.cronFailures).toEqual([
        { job: probe, runId: -100001, startedAt: expect.any(String), endedAt: expect.any(String), message: "ERROR:  function does not exist" },
      ]);

      const since = new Date(Date.now() - 31 * 3_600_000).toISOString().slice(0, 16);
      const both = await cli("logs", "--job", probe, "--since", since);
      expect(both.code).toBe(0);
      expect(both.stdout).toContain(`${probe}: 2 run(s) since`);
      expect(both.stdout.indexOf(`\n  ${recent} `)).toBeLessThan(both.stdout.indexOf(`\n  ${older} `));
      expect(both.stdout).toContain("Couldn't connect to server");
      expect(both.stdout).toContain("pg_cron recorded 1 failed job run(s) of cron_runner since then:");
    }));

  test("a bad --since is refused with exit 2 and, with --json, an error object", async () => {
    const { code, json, stderr } = await cli("logs", "--since", "last tuesday", "--json");
    expect(code).toBe(2);
    expect(json).toEqual({ error: expect.stringMatching(/^--since "last tuesday" is neither a duration nor a timestamp/), exitCode: 2 });
    expect(stderr).toBe(`reminder-cron: ${json.error}\n`);
  });
});

describe("the bin, as an operator runs it", () => {
  const bin = join(repoRoot, "bin", "reminder-cron.js");
  const run = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: "utf8", env });

  test("--help prints the usage with the exit codes: exit 0", () => {
    const { status, stdout } = run(["--help"]);
    expect(status).toBe(0);
    expect(stdout).toMatch(/^usage: reminder-cron <command>/);
    expect(stdout).toContain("exit codes: 0 ok, 1 alert, failed run or drift, 2 bad input (nothing changed), 3 database, API or job unavailable");
  });

  test("<command> --help prints that command's usage, and --version the package's version: exit 0, no database needed", () => {
    const help = run(["status", "--help"], { ...process.env, DATABASE_URL: "postgresql://nobody@127.0.0.1:1/none" });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: reminder-cron status \[--job <name>\] \[--json\]\n/);
    expect(help.stdout).not.toContain("commands\n");
    const version = run(["--version"]);
    expect(version).toMatchObject({ status: 0, stdout: `reminder-cron ${JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).version}\n` });
  });

  test("status exits with the CLI's code (1: the probe has never succeeded)", () => {
    const { status, stdout } = run(["status", "--job", probe]);
    expect(status).toBe(1);
    expect(stdout).toContain("ALERT no-success");
  });

  test("an unknown command exits 2 with one line", () => {
    const { status, stderr, stdout } = run(["stauts"]);
    expect(status).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe('reminder-cron: unknown command "stauts": use one of status, pause, resume, run-now, reschedule, logs, verify. Run reminder-cron --help for the usage.\n');
  });

  test("a database that does not answer exits 3, naming it without its password", async () => {
    const url = `postgresql://postgres:a-password-to-hide@127.0.0.1:${await freePort()}/postgres`;
    const { status, stderr } = run(["status"], { ...process.env, DATABASE_URL: url });
    expect(status).toBe(3);
    expect(stderr).toMatch(/^reminder-cron: Cannot reach the database at postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres \(.*\)\. Start it/);
    expect(stderr).not.toContain("a-password-to-hide");
  });
});
