/**
 * `reminder-cron verify` against a local stand-in of Supabase's Management API SQL endpoint over the local
 * stack (tests/support/management-api.ts): a project as deployed passes (exit 0); a drifted one exits 1
 * naming each difference; bad input exits 2 and an unreachable API 3, before or without any change; and the
 * access token never appears in what verify prints, text or --json.
 */
import { Client } from "pg";
import { main } from "../../cli/main";
import { cronRunnerRole, defaultJobName, logTable, qualified, vaultSecrets } from "../../infra/sql/names";
import { withClient } from "../support/db";
import { FakeManagementApi, startManagementApi } from "../support/management-api";
import { alterJob, deleteSecret, pointVaultAt, setSecret } from "../support/trigger";
import { freePort } from "../../stack/cluster";
import { storeSigningKey } from "../../stack/edge-functions";

const projectRef = "abcdefghijklmnopqrst";
const token = "sbp_verify_test_token_never_printed_0123456789";
let api: FakeManagementApi;
let restoreVault: (client: Client) => Promise<void>;
const deployedUrl = "http://127.0.0.1:9/functions/v1/reminder-scheduler";

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function verify(argv: string[] = [], env: Record<string, string | undefined> = {}): Promise<Ran> {
  const saved = { ...process.env };
  Object.assign(process.env, { SUPABASE_ACCESS_TOKEN: token, SUPABASE_PROJECT_REF: projectRef, SUPABASE_API_URL: api.url }, env);
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete process.env[key];
  let stdout = "";
  let stderr = "";
  try {
    const code = await main(["verify", ...argv], { write: (text: string) => (stdout += text) }, { write: (text: string) => (stderr += text) });
    return { code, stdout, stderr };
  } finally {
    process.env = saved;
  }
}

/** What the deployed project holds before each test: both required secrets (the signing key the stack gave its function). */
async function deployed(client: Client): Promise<void> {
  await setSecret(client, vaultSecrets.functionUrl, deployedUrl);
  await storeSigningKey(client);
}

/** The job's newest run: dated now, not ahead (verify, like status, believes no row dated ahead). */
const insertRun = (admin: Client, status: string, httpStatus: number | null, error: string | null) =>
  admin.query(
    `insert into ${qualified(logTable)} (job_name, triggered_at, status, http_status, error_message, finished_at) values ($1, clock_timestamp(), $2, $3, $4, clock_timestamp())`,
    [defaultJobName, status, httpStatus, error],
  );

beforeAll(async () => {
  api = await startManagementApi(projectRef, token);
  await withClient(async (client) => {
    restoreVault = await pointVaultAt(client, deployedUrl);
    await deployed(client);
  });
});

afterAll(async () => {
  await withClient((client) => restoreVault(client));
  await withClient((admin) => admin.query(`delete from ${qualified(logTable)} where triggered_at > now() + interval '30 minutes'`), { admin: true });
  await api.close();
});

test("a project as deployed: exit 0, every check holds, read-only queries with the token in the header only", async () => {
  await withClient((admin) => insertRun(admin, "succeeded", 200, null), { admin: true });
  const ran = await verify(["--json"]);
  const report = JSON.parse(ran.stdout);
  expect(report.differences).toEqual([]);
  expect(ran.code).toBe(0);
  expect(report.ok).toBe(true);
  expect(report.checks.length).toBeGreaterThan(40);
  expect(report.checks.map((c: { check: string }) => c.check)).toEqual(
    expect.arrayContaining([`job ${defaultJobName} is registered for ${cronRunnerRole}`, `Vault secret ${vaultSecrets.signingKey} is present`, `anon may not execute public.dispatch_reminder_run(text)`]),
  );
  expect(api.requests.length).toBeGreaterThanOrEqual(4);
  for (const request of api.requests) {
    expect(request.url).toBe(`/v1/projects/${projectRef}/database/query`);
    expect(request.headers.authorization).toBe(`Bearer ${token}`);
    const body = JSON.parse(request.body);
    expect(body.read_only).toBe(true);
    expect(request.body).not.toContain(token);
    // Names of Vault secrets only: verify never reads a decrypted value.
    expect(body.query).not.toMatch(/decrypted/);
  }
  expect(ran.stdout + ran.stderr).not.toContain(token);
});

test("a drifted project: exit 1, and each difference named", async () => {
  await withClient(async (client) => {
    await withClient((admin) => insertRun(admin, "failed", 500, "function answered 500"), { admin: true });
    await alterJob(client, { schedule: "0 7 * * *", active: false });
    await deleteSecret(client, vaultSecrets.signingKey);
    await client.query("grant execute on function public.dispatch_reminder_run(text) to anon");
    try {
      const text = await verify();
      const json = await verify(["--json"]);
      expect(text.code).toBe(1);
      expect(json.code).toBe(1);
      const differences = JSON.parse(json.stdout).differences.map((d: { check: string }) => d.check);
      expect(differences).toEqual([
        `job ${defaultJobName} is active`,
        `job ${defaultJobName} runs at its schedule`,
        `Vault secret ${vaultSecrets.signingKey} is present`,
        `the last run of ${defaultJobName} did not fail`,
        "anon may not execute public.dispatch_reminder_run(text)",
      ]);
      expect(text.stdout).toContain(`DRIFT job ${defaultJobName} runs at its schedule: expected '0 6 * * *', found '0 7 * * *'`);
      expect(text.stdout).toContain(`DRIFT the last run of ${defaultJobName} did not fail: expected succeeded, skipped or just dispatched, found failed at `);
      expect(text.stdout).toContain("(HTTP 500): function answered 500");
      expect(text.stdout.split("\n")[0]).toBe(`project ${projectRef}: ${JSON.parse(json.stdout).checks.length} checks, 5 DIFFER`);
      expect(text.stdout + text.stderr + json.stdout + json.stderr).not.toContain(token);
    } finally {
      await client.query("revoke execute on function public.dispatch_reminder_run(text) from anon");
      await alterJob(client, { schedule: "0 6 * * *", active: true });
      await deployed(client);
      await withClient((admin) => admin.query(`delete from ${qualified(logTable)} where status = 'failed' and triggered_at > now() + interval '30 minutes'`), { admin: true });
    }
  });
});

test("--schedule names the schedule the stack deployed", async () => {
  // Its own last run, as the first test makes one: alone, the lane's last run is whatever an earlier file left.
  await withClient((admin) => insertRun(admin, "succeeded", 200, null), { admin: true });
  const ran = await verify(["--schedule", "0 7 * * *", "--json"]);
  expect(ran.code).toBe(1);
  expect(JSON.parse(ran.stdout).differences).toEqual([
    { check: `job ${defaultJobName} runs at its schedule`, expected: "'0 7 * * *'", actual: "'0 6 * * *'" },
  ]);
});

test.each([
  [{ SUPABASE_ACCESS_TOKEN: undefined }, [], "SUPABASE_ACCESS_TOKEN is not set"],
  [{ SUPABASE_ACCESS_TOKEN: "" }, [], "SUPABASE_ACCESS_TOKEN is not set"],
  [{ SUPABASE_PROJECT_REF: undefined }, [], "No project to verify: pass --project-ref <ref> or set SUPABASE_PROJECT_REF"],
  [{}, ["--project-ref", "<project-ref>"], "Project ref '<project-ref>' (--project-ref) is not a Supabase project ref"],
  [{ SUPABASE_API_URL: "http://api.example.com" }, [], "SUPABASE_API_URL = 'http://api.example.com' is not an https URL"],
  [{}, ["--schedule", "@Daily"], "--schedule '@Daily' is not a schedule the stack sets: pg_cron matches @ names case-sensitively and knows no '@Daily'; write '@daily'"],
  [{}, ["--project-ref", "zzzzzzzzzzzzzzzzzzzz"], "The Supabase Management API knows no project zzzzzzzzzzzzzzzzzzzz (HTTP 404"],
  [{ SUPABASE_ACCESS_TOKEN: "sbp_wrong_token_also_never_printed" }, [], "The Supabase Management API refused the access token for project abcdefghijklmnopqrst (HTTP 401"],
])("bad input %j %j: exit 2, one line naming it, no token printed", async (env, argv, message) => {
  const before = api.requests.length;
  const ran = await verify([...argv, "--json"], env);
  expect(ran.code).toBe(2);
  expect(ran.stderr.startsWith(`reminder-cron: ${message}`)).toBe(true);
  expect(ran.stderr.split("\n")).toHaveLength(2);
  expect(JSON.parse(ran.stdout)).toMatchObject({ exitCode: 2 });
  for (const secret of [token, "sbp_wrong_token_also_never_printed"]) expect(ran.stdout + ran.stderr).not.toContain(secret);
  // Input that is wrong on its face is refused before any request.
  if (!/HTTP 40[14]/.test(message)) expect(api.requests.length).toBe(before);
});

test("an unreachable API: exit 3, naming where it tried", async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const ran = await verify(["--json"], { SUPABASE_API_URL: url });
  expect(ran.code).toBe(3);
  expect(ran.stderr).toMatch(new RegExp(`^reminder-cron: Cannot reach the Supabase Management API at ${url.replace(/[.]/g, "\\.")} \\(ECONNREFUSED\\)`));
  expect(ran.stdout + ran.stderr).not.toContain(token);
});
