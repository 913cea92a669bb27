/**
 * docs/operations.md's exit-code table, command by command and cause by cause: each refusal or failure
 * exits with the table's code and says, in one line, the value at fault and the fix. Bad input is checked
 * with the database down (and verify's with the API down), so a case that reached either would exit 3.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../cli/main";
import { freePort } from "../../stack/cluster";
import { repoRoot } from "../../stack/paths";
import { withClient } from "../support/db";
import { alterJob, asCronRunner } from "../support/trigger";
import { dispatchCommand } from "../../infra/sql/names";

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI in this process, with `env` laid over process.env for the call (DATABASE_URL, verify's variables). */
async function cli(argv: string[], env: Record<string, string | undefined> = {}): Promise<Ran> {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  set(env);
  let stdout = "";
  let stderr = "";
  try {
    const code = await main(argv, { write: (text: string) => (stdout += text) }, { write: (text: string) => (stderr += text) });
    return { code, stdout, stderr };
  } finally {
    set(saved);
  }
}

const probe = "exit-code-probe";
let downUrl: string;
let downApi: string;
/** verify's environment: a token, and an API that does not answer, so reaching it would exit 3. */
const verifyEnv = () => ({ SUPABASE_ACCESS_TOKEN: "sbp_exit_code_probe_token", SUPABASE_PROJECT_REF: "abcdefghijklmnopqrst", SUPABASE_API_URL: downApi });

beforeAll(async () => {
  downUrl = `postgresql://postgres:hide-me@127.0.0.1:${await freePort()}/postgres`;
  downApi = `http://127.0.0.1:${await freePort()}`;
  await withClient((client) => asCronRunner(client, () => client.query("select cron.schedule($1, '0 6 1 1 *', $2)", [probe, dispatchCommand(probe)])));
});

afterAll(() =>
  withClient(async (client) => {
    await client.query("delete from public.cron_execution_log where job_name = $1", [probe]);
    await asCronRunner(client, () => client.query("select cron.unschedule($1)", [probe]));
  }),
);

/** One line on stderr, naming `value` and matching `fix`. */
function expectOneLine(ran: Ran, value: string, fix: RegExp) {
  expect(ran.stderr.split("\n")).toHaveLength(2);
  expect(ran.stderr.startsWith("reminder-cron: ")).toBe(true);
  expect(ran.stderr).toContain(value);
  expect(ran.stderr).toMatch(fix);
}

const unknownJob = "nope";

describe("3: the job is not registered", () => {
  test.each([["pause"], ["resume"], ["run-now"], ["logs"]])("%s --job nope exits 3, naming the job and the jobs there are", async (command) => {
    const ran = await cli([command, "--job", unknownJob]);
    expect(ran.code).toBe(3);
    expectOneLine(ran, `Job ${unknownJob} is not registered`, /check --job; cron_runner's jobs are .*daily-reminder-eval/);
  });

  test("status --job nope exits 3 too, and prints what it can with the job-missing alert", async () => {
    const ran = await cli(["status", "--job", unknownJob]);
    expect(ran.code).toBe(3);
    expect(ran.stdout).toContain(`${unknownJob}  NOT REGISTERED`);
    expect(ran.stdout).toMatch(/^ALERT job-missing: Job nope is not registered in cron\.job \(as cron_runner\): check --job; cron_runner's jobs are .*\.$/m);
  });

  test("a removed job of ours says which migration restores it", async () => {
    await withClient((client) => asCronRunner(client, () => client.query("select cron.unschedule($1)", ["reminder-eval-retention"])));
    try {
      const ran = await cli(["resume", "--job", "reminder-eval-retention"]);
      expect(ran.code).toBe(3);
      expectOneLine(ran, "reminder-eval-retention", /npm run db:psql -- -f supabase\/migrations\/20261128070000_reminder_cron_operations\.sql on the local stack/);
    } finally {
      // What the hint says, done as it says (psql -f, as postgres): the job is back.
      await withClient(async (client) => {
        const { readFileSync } = await import("node:fs");
        await client.query(readFileSync(join(repoRoot, "supabase/migrations/20261128070000_reminder_cron_operations.sql"), "utf8"));
        expect((await client.query("select 1 from cron.job where jobname = 'reminder-eval-retention'")).rowCount).toBe(1);
      });
    }
  });

  test("reschedule --job of another job is bad input: exit 2, before the database", async () => {
    const ran = await cli(["reschedule", "0 7 * * *", "--job", unknownJob], { DATABASE_URL: downUrl });
    expect(ran.code).toBe(2);
    expectOneLine(ran, unknownJob, /reschedule changes daily-reminder-eval only/);
  });
});

describe("2: bad input, refused with the database down", () => {
  test.each([
    [["status", "now"], '"now"', /status takes no argument/],
    [["pause", "--since", "1h"], "--since", /belongs to logs, not pause/],
    [["resume", "--bogus"], '"--bogus"', /Run reminder-cron --help for the usage/],
    [["run-now", "--schedule", "0 6 * * *"], "--schedule", /belongs to verify, not run-now/],
    [["reschedule", "61 * * * *"], "'61 * * * *'", /minute 61 is outside 0-59; give five fields in UTC, e\.g\. '0 6 \* \* \*'\. Nothing changed\./],
    // Every pg_cron refuses it, each in its own words: the database is not there to say which are its own.
    [["reschedule", "30-10 * * * *"], "'30-10 * * * *'", /write it as two ranges, e\.g\. '30-59,0-10'.*Nothing changed\./],
    [["logs", "--since", "yesterday"], '"yesterday"', /give a duration back from now/],
  ])("%j exits 2", async (argv, value, fix) => {
    const ran = await cli(argv as string[], { DATABASE_URL: downUrl });
    expect(ran.code).toBe(2);
    expectOneLine(ran, value as string, fix as RegExp);
  });

  test.each([["status"], ["pause"], ["resume"], ["run-now"], ["logs"], ["reschedule", "0 7 * * *"]])(
    "%s with a DATABASE_URL that is not a URL exits 2, saying what it should be and never the value",
    async (...argv) => {
      const ran = await cli(argv, { DATABASE_URL: "not a url hide-me" });
      expect(ran.code).toBe(2);
      expectOneLine(ran, "DATABASE_URL is not a PostgreSQL connection string", /set it to the project's, postgresql:\/\/postgres:<password>@db\.<ref>\.supabase\.co:5432\/postgres .*or unset it/);
      expect(ran.stderr).not.toContain("hide-me");
    },
  );

  test.each([["nope"], ["ABCDEFGHIJKLMNOPQRST"], ["abcdefghijklmnopqrs1"]])("verify --project-ref %s is refused before any request: exit 2", async (ref) => {
    const ran = await cli(["verify", "--project-ref", ref], verifyEnv());
    expect(ran.code).toBe(2);
    expectOneLine(ran, `'${ref}'`, /is not a Supabase project ref, which is 20 lower-case letters: use the <ref> of https:\/\/<ref>\.supabase\.co.*Nothing was sent\./);
  });

  test("verify without a token: exit 2", async () => {
    const ran = await cli(["verify"], { ...verifyEnv(), SUPABASE_ACCESS_TOKEN: undefined });
    expect(ran.code).toBe(2);
    expectOneLine(ran, "SUPABASE_ACCESS_TOKEN", /export SUPABASE_ACCESS_TOKEN=/);
  });

  test("run-now on a paused job sends nothing unless --even-if-paused: exit 2", async () => {
    await withClient((client) => alterJob(client, { active: false }, probe));
    try {
      const ran = await cli(["run-now", "--job", probe]);
      expect(ran.code).toBe(2);
      expectOneLine(ran, `${probe} is paused`, new RegExp(`reminder-cron run-now --job ${probe} --even-if-paused.*reminder-cron resume --job ${probe}\\.`));
      const logged = await withClient((client) => client.query("select 1 from public.cron_execution_log where job_name = $1", [probe]));
      expect(logged.rowCount).toBe(0);

      // Told, it sends the run (no function is listening for the probe: the outcome does not matter here).
      const told = await cli(["run-now", "--job", probe, "--even-if-paused", "--json"]);
      expect(JSON.parse(told.stdout).run.jobName).toBe(probe);
    } finally {
      await withClient((client) => alterJob(client, { active: true }, probe));
    }
  });
});

describe("3: no database, or one that does not answer", () => {
  test.each([["status"], ["pause"], ["resume"], ["run-now"], ["logs"], ["reschedule", "0 7 * * *"]])("%s with the database down exits 3, naming it without its password", async (...argv) => {
    const ran = await cli(argv, { DATABASE_URL: downUrl });
    expect(ran.code).toBe(3);
    expectOneLine(ran, downUrl.replace("hide-me", "***"), /Start it \(npm run db:start locally\) or fix DATABASE_URL\./);
    expect(ran.stderr).not.toContain("hide-me");
  });

  test("verify with the API down exits 3", async () => {
    const ran = await cli(["verify"], verifyEnv());
    expect(ran.code).toBe(3);
    expectOneLine(ran, downApi, /Check the network, or SUPABASE_API_URL/);
  });

  test("no DATABASE_URL and no local stack: exit 3, saying how to get one", () => {
    const empty = mkdtempSync(join(tmpdir(), "reminder-cron-no-stack-"));
    try {
      const { DATABASE_URL: _ignored, ...env } = process.env;
      const ran = spawnSync(process.execPath, [join(repoRoot, "bin", "reminder-cron.js"), "status"], {
        cwd: repoRoot,
        encoding: "utf8",
        env: { ...env, REMINDER_CRON_LOCAL_DIR: empty },
      });
      expect(ran.status).toBe(3);
      expectOneLine({ code: ran.status!, stdout: ran.stdout, stderr: ran.stderr }, "No database to talk to", /set DATABASE_URL .* or start the local stack with npm run db:start/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
