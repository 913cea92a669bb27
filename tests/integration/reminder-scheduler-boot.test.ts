/**
 * How the function starts, and how the local stack serves it: a missing or bad environment is one clear
 * start-up error that names the variables and never their values, a function that fails to boot answers
 * 503 as on Supabase, and the stack's functions server runs with credentials kept out of git.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { stack, waitFor, withClient } from "../support/db";
import { freePort } from "../../stack/cluster";
import { denoBin, denoDir, functionEndpoint, functionsDir, secretsFile } from "../../stack/edge-functions";
import { isAlive, stopProcess } from "../../stack/processes";
import { repoRoot } from "../../stack/paths";

const indexFile = join(functionsDir, "reminder-scheduler", "index.ts");
const planted = { serviceRoleKey: "planted-service-role-key-0123456789", databaseUrl: "postgresql://postgres:planted-password@127.0.0.1:1/postgres" };

/** Runs the function's module alone under Deno with exactly `env`; it either fails at start-up or serves. */
function boot(env: Record<string, string>) {
  return spawnSync(denoBin, ["run", "--config", join(functionsDir, "reminder-scheduler", "deno.json"), "--allow-net", "--allow-env", "--allow-read", indexFile], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, DENO_DIR: denoDir, NO_COLOR: "1", ...env },
    timeout: 5000,
  });
}

describe("start-up checks", () => {
  test("missing variables stop the function with one error naming them all and how to set them", () => {
    const result = boot({ SUPABASE_SERVICE_ROLE_KEY: planted.serviceRoleKey });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(
      "Missing environment variables SUPABASE_DB_URL, REMINDER_SHARED_SECRET, REMINDER_SIGNING_KEY: Supabase sets SUPABASE_DB_URL and SUPABASE_SERVICE_ROLE_KEY for every function; " +
        "set the shared secret with `supabase secrets set REMINDER_SHARED_SECRET=$(openssl rand -hex 32)`, and the signing key with " +
        "`supabase secrets set REMINDER_SIGNING_KEY=<the value of Vault's reminder_signing_key>`. The local stack sets all four.",
    );
    expect(result.stderr).not.toContain(planted.serviceRoleKey);
  });

  test("a guessable shared secret stops the function, without printing it", () => {
    const result = boot({ SUPABASE_DB_URL: planted.databaseUrl, SUPABASE_SERVICE_ROLE_KEY: planted.serviceRoleKey, REMINDER_SHARED_SECRET: "hunter2", REMINDER_SIGNING_KEY: "k".repeat(64) });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("REMINDER_SHARED_SECRET is shorter than 32 characters, short enough to guess;");
    expect(result.stderr).not.toContain("hunter2");
    expect(result.stderr).not.toContain("planted-password");
  });

  test.each(["REMINDER_SIGNING_KEY", "REMINDER_SIGNING_KEY_PREVIOUS"])("a guessable %s stops the function, without printing it", (name) => {
    const result = boot({
      SUPABASE_DB_URL: planted.databaseUrl,
      SUPABASE_SERVICE_ROLE_KEY: planted.serviceRoleKey,
      REMINDER_SHARED_SECRET: "x".repeat(64),
      REMINDER_SIGNING_KEY: "k".repeat(64),
      [name]: "short-signing-key",
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(
      `${name} is shorter than 32 characters, short enough to guess; set a random one with \`supabase secrets set ${name}=$(openssl rand -hex 32)\`, and the same value in Vault's reminder_signing_key.`,
    );
    expect(result.stderr).not.toContain("short-signing-key");
  });

  test("an answer budget beyond pg_net's timeout stops the function with the allowed range", () => {
    const result = boot({
      SUPABASE_DB_URL: planted.databaseUrl,
      SUPABASE_SERVICE_ROLE_KEY: planted.serviceRoleKey,
      REMINDER_SHARED_SECRET: "x".repeat(64),
      REMINDER_SIGNING_KEY: "k".repeat(64),
      REMINDER_ANSWER_WITHIN_MS: "9000",
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('REMINDER_ANSWER_WITHIN_MS="9000" is not a whole number from 100 to 4500; set one in that range, or unset it for 4000.');
  });
});

describe("the local Edge Functions server", () => {
  let server: ChildProcess | undefined;
  afterEach(async () => {
    if (server?.pid) await stopProcess(server.pid);
    server = undefined;
  });

  test("a function that fails to boot answers 503 BOOT_ERROR, an unknown one 404, and the log names the problem", async () => {
    const port = await freePort();
    let log = "";
    server = spawn(process.execPath, [require.resolve("tsx/cli"), join(repoRoot, "stack/functions-server.ts"), String(port)], {
      cwd: repoRoot,
      detached: true,
      env: { PATH: process.env.PATH, DENO_DIR: denoDir, SUPABASE_SERVICE_ROLE_KEY: planted.serviceRoleKey },
    });
    server.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString()));
    const base = `http://127.0.0.1:${port}`;
    const health = await waitFor(
      "the functions server to answer",
      () => fetch(`${base}/_internal/health`).then((r) => r.json(), () => undefined),
      20000,
    );
    expect(health).toEqual({ functions: [], failed: ["reminder-scheduler"] });

    const broken = await fetch(`${base}/functions/v1/reminder-scheduler`, { method: "POST", body: "{}" });
    expect(broken.status).toBe(503);
    expect(await broken.json()).toEqual({ code: "BOOT_ERROR", message: "Worker failed to boot (please check logs)" });
    const unknown = await fetch(`${base}/functions/v1/no-such-function`, { method: "POST" });
    expect(unknown.status).toBe(404);
    expect(log).toContain("edge runtime: function reminder-scheduler failed to boot: Missing environment variables SUPABASE_DB_URL, REMINDER_SHARED_SECRET, REMINDER_SIGNING_KEY");
    expect(log).not.toContain(planted.serviceRoleKey);
  });

  test("the stack runs the server, records where, and keeps the credentials in an owner-only file git ignores; Vault holds its signing key", async () => {
    const state = stack();
    expect(isAlive(state.processes.functions)).toBe(true);
    const { url, supabaseUrl, credential, sharedSecret, signingKey } = functionEndpoint(state);
    expect(url).toBe(`${state.functionsUrl}/reminder-scheduler`);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/functions\/v1\/reminder-scheduler$/);
    expect(supabaseUrl).toBe(new URL(url).origin);
    expect(credential).toMatch(/^local-service-role-[0-9a-f]{64}$/);
    expect(sharedSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(signingKey).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set([credential, sharedSecret, signingKey]).size).toBe(3);
    const inVault = await withClient(async (client) => (await client.query("select decrypted_secret from vault.decrypted_secrets where name = 'reminder_signing_key'")).rows);
    expect(inVault).toEqual([{ decrypted_secret: signingKey }]);
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    // Inside the checkout (the default .local/) git must ignore it; REMINDER_CRON_LOCAL_DIR may put it outside.
    if (secretsFile.startsWith(`${repoRoot}/`)) expect(spawnSync("git", ["check-ignore", "-q", secretsFile], { cwd: repoRoot }).status).toBe(0);
  });

  test("`tsx stack/edge-functions.ts invoke` calls the function with the stack's credential and prints the answer, not the credential", () => {
    const result = spawnSync(process.execPath, [require.resolve("tsx/cli"), join(repoRoot, "stack/edge-functions.ts"), "invoke", "reminder-scheduler", '{"job_name": "cli"}'], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 20000,
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^200 \{"run_id":\d+,"status":"succeeded",/);
    const { credential, sharedSecret, signingKey } = functionEndpoint(stack());
    expect(result.stdout + result.stderr).not.toContain(credential);
    expect(result.stdout + result.stderr).not.toContain(sharedSecret);
    expect(result.stdout + result.stderr).not.toContain(signingKey);
  });
});
