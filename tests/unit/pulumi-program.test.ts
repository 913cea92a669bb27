/**
 * The Pulumi program under mocks, for the committed staging and prod stack files: what it registers, with
 * which inputs, what stays secret, what the stack outputs say, and that a bad config registers nothing.
 * The two project-specific values of each stack file are placeholders until a user sets them; the tests
 * set them as a user would, and check the placeholders are refused as they stand.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { migrationFileName, migrations } from "../../infra/sql/migrations";
import { cronRunnerRole, defaultJobName, vaultSecrets } from "../../infra/sql/names";
import { grants, operationsGrants } from "../../infra/sql/privileges";
import { applyMigrationCommand, connectionChangedCommand } from "../../infra/reminder-cron";
import { migrationsDir, repoRoot } from "../../stack/paths";
import { functionSource, platformVariables, requiredVariables } from "../support/function-env";
import { isWireSecret, mockJobId, ofType, plainStrings, ProgramRun, runProgram, stackFileConfig, valueOf } from "../support/pulumi-mocks";
import { sqlLiteral } from "../../infra/sql/literal";

const types = {
  component: "reminder-cron:index:ReminderCron",
  provider: "pulumi:providers:postgresql",
  extension: "postgresql:index/extension:Extension",
  role: "postgresql:index/role:Role",
  grantRole: "postgresql:index/grantRole:GrantRole",
  grant: "postgresql:index/grant:Grant",
  command: "command:local:Command",
  vaultSecret: "pulumi-nodejs:dynamic/reminder-cron:VaultSecret",
  cronJob: "pulumi-nodejs:dynamic/reminder-cron:CronJob",
  edgeFunction: "pulumi-nodejs:dynamic/reminder-cron:EdgeFunction",
  functionSecrets: "pulumi-nodejs:dynamic/reminder-cron:EdgeFunctionSecrets",
};

/** Throwaway stand-ins for the secrets; the tests look for them anywhere they must not be. */
const dbPassword = "test-db-password-6b1f";
const signingKey = "test-signing-key-93ac-0123456789abcdef01234567";
const sharedSecret = "test-shared-secret-51d0-0123456789abcdef0123";
const accessToken = "sbp_test0access0token0d4e1f00112233445566778899";
const secretKeys = ["dbPassword", "signingKey", "sharedSecret", "supabaseAccessToken", "previousSigningKey"];
const projectRef = { staging: "stagingrefabcdefghij", prod: "prodrefabcdefghijklm" } as const;
type StackName = keyof typeof projectRef;

/** The committed stack file, with its placeholders and secrets set as docs/pulumi.md tells a user to. */
function userConfig(stack: StackName, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...stackFileConfig(stack),
    "reminder-cron:functionUrl": `https://${projectRef[stack]}.supabase.co/functions/v1/reminder-scheduler`,
    "reminder-cron:dbHost": `db.${projectRef[stack]}.supabase.co`,
    "reminder-cron:dbSslRootCert": "tests/fixtures/test-root-ca.crt",
    "reminder-cron:supabaseProjectRef": projectRef[stack],
    dbPassword,
    signingKey,
    sharedSecret,
    supabaseAccessToken: accessToken,
    ...extra,
  };
}

const run = (stack: StackName, options: { config?: Record<string, string>; env?: Record<string, string | undefined> } = {}) =>
  runProgram({ stack, config: options.config ?? userConfig(stack), secretKeys, env: options.env ?? {} });

/** The ReminderCron component alone, built from the stack's config, with the run it was built in. */
async function runComponent(stack: StackName) {
  const result = await runProgram({
    stack,
    config: userConfig(stack),
    secretKeys,
    load: async () => {
      const { ReminderCron } = await import("../../infra/reminder-cron");
      const { loadStackConfig } = await import("../../infra/config");
      return { trigger: new ReminderCron("reminder-cron", loadStackConfig({})) };
    },
  });
  if (result.error) throw result.error;
  return { result, trigger: result.program!.trigger };
}

/** Waits for every output of the program, so every registration has happened. */
async function settled(result: ProgramRun): Promise<Record<string, unknown>> {
  if (result.error) throw result.error;
  const outputs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(result.program!)) outputs[name] = await valueOf(value);
  return outputs;
}

const only = (result: ProgramRun, type: string) => {
  const found = ofType(result, type);
  expect(found).toHaveLength(1);
  return found[0];
};

const committedSql = () => migrations.map((migration) => readFileSync(join(migrationsDir, migrationFileName(migration)), "utf8"));

describe("the committed stack files", () => {
  test.each(["staging", "prod"] as const)("Pulumi.%s.yaml holds no secret and tells how to set each one", (stack) => {
    const text = readFileSync(join(repoRoot, `Pulumi.${stack}.yaml`), "utf8");
    expect(text).not.toMatch(/secure:/);
    expect(Object.keys(stackFileConfig(stack))).not.toEqual(expect.arrayContaining(["reminder-cron:dbPassword"]));
    expect(text).toContain(`pulumi config set --secret reminder-cron:dbPassword <the database password> --stack ${stack}`);
    expect(text).toContain(`pulumi config set --secret reminder-cron:signingKey "$(openssl rand -hex 32)" --stack ${stack}`);
    expect(text).toContain(`pulumi config set --secret reminder-cron:sharedSecret "$(openssl rand -hex 32)" --stack ${stack}`);
    expect(text).toContain(`pulumi config set --secret reminder-cron:supabaseAccessToken <a personal access token> --stack ${stack}`);
  });

  test.each(["staging", "prod"] as const)("as committed, %s stops on its placeholders and registers nothing", async (stack) => {
    const result = await run(stack, { config: { ...stackFileConfig(stack), dbPassword, signingKey, sharedSecret, supabaseAccessToken: accessToken } });
    expect(result.error?.message).toBe(
      `Invalid configuration for stack ${stack}; nothing was changed:\n` +
        `- reminder-cron:functionUrl = 'https://<${stack}-project-ref>.supabase.co/functions/v1/reminder-scheduler' is still the placeholder of the committed stack file. ` +
        `Fix: pulumi config set reminder-cron:functionUrl 'https://<project-ref>.supabase.co/functions/v1/reminder-scheduler' --stack ${stack}\n` +
        `- reminder-cron:dbHost = 'db.<${stack}-project-ref>.supabase.co' is still the placeholder of the committed stack file. ` +
        `Fix: pulumi config set reminder-cron:dbHost db.<project-ref>.supabase.co --stack ${stack}\n` +
        `- reminder-cron:dbSslRootCert = 'certs/prod-ca-2021.crt' names no file (looked for ${join(repoRoot, "certs", "prod-ca-2021.crt")}). ` +
        "Fix: download the project's root certificate (Supabase dashboard: Database > Settings > SSL Configuration > Download certificate), save it in the project, e.g. certs/prod-ca-2021.crt, " +
        `then pulumi config set reminder-cron:dbSslRootCert certs/prod-ca-2021.crt --stack ${stack}\n` +
        `- reminder-cron:supabaseProjectRef = '<${stack}-project-ref>' is still the placeholder of the committed stack file. ` +
        `Fix: pulumi config set reminder-cron:supabaseProjectRef <project-ref> --stack ${stack}, the <ref> of https://<ref>.supabase.co`,
    );
    expect(result.registrations).toEqual([]);
  });
});

describe.each(["staging", "prod"] as const)("the %s stack", (stack) => {
  let result: ProgramRun;
  let outputs: Record<string, unknown>;
  beforeAll(async () => {
    result = await run(stack);
    outputs = await settled(result);
  });

  test("connects through a postgresql provider that is not a superuser, over verified TLS, with the password secret", () => {
    const { inputs } = only(result, types.provider);
    expect(inputs).toMatchObject({
      host: `db.${projectRef[stack]}.supabase.co`,
      port: "5432",
      database: "postgres",
      username: "postgres",
      databaseUsername: "postgres",
      sslmode: "verify-full",
      // Relative to the working directory the engine gives the program and the plugins (here jest's, the
      // repository root): state holds no path of this machine, so refresh from another checkout connects.
      sslrootcert: "tests/fixtures/test-root-ca.crt",
      superuser: "false",
    });
    expect(inputs.password).toEqual(expect.objectContaining({ value: dbPassword }));
    expect(isWireSecret(inputs.password)).toBe(true);
  });

  test("enables pg_cron and pg_net where Supabase's documentation puts them", () => {
    expect(ofType(result, types.extension).map((r) => r.inputs)).toEqual([
      { name: "pg_cron", schema: "pg_catalog", database: "postgres" },
      { name: "pg_net", schema: "extensions", database: "postgres" },
    ]);
  });

  test("creates cron_runner as a login role without inheritance; the membership of postgres is the migration's alone", () => {
    expect(only(result, types.role)).toMatchObject({ type: types.role, name: "reminder-cron-cron-runner", inputs: { name: cronRunnerRole, login: true, inherit: false } });
    // The GrantRole of earlier releases, declared once more only so that state records retainOnDelete
    // before the next release removes it: its removal then revokes nothing. Unprotected, or that removal
    // would stop on prod; its misread admin option (PostgreSQL 16+) ignored, so it is never replaced.
    const retired = only(result, types.grantRole);
    expect(retired.inputs).toEqual({ role: "postgres", grantRole: cronRunnerRole });
    expect(retired.options).toMatchObject({ retainOnDelete: true, protect: false, ignoreChanges: ["withAdminOption"] });
    const retiredUrn = new RegExp(`${types.grantRole}::${retired.name}$`);
    expect(result.registrations.filter((r) => r.options.dependsOn.some((urn) => retiredUrn.test(urn))).map((r) => r.name)).toEqual([]);
  });

  test("deploys the Edge Function with its source path relative to the project, verify_jwt off, to the stack's project", () => {
    expect(only(result, types.edgeFunction).inputs).toMatchObject({
      projectRef: projectRef[stack],
      slug: "reminder-scheduler",
      name: "reminder-scheduler",
      entrypoint: "supabase/functions/reminder-scheduler/index.ts",
      importMap: "supabase/functions/reminder-scheduler/deno.json",
      verifyJwt: false,
    });
  });

  test("gives the function, as secrets, the signing key Vault gets and the shared secret, and no previous key outside a rotation", () => {
    const { inputs } = only(result, types.functionSecrets);
    expect(inputs.projectRef).toBe(projectRef[stack]);
    expect(isWireSecret(inputs.secrets)).toBe(true);
    expect(inputs.secrets.value).toEqual([
      { name: "REMINDER_SIGNING_KEY", value: signingKey },
      { name: "REMINDER_SHARED_SECRET", value: sharedSecret },
    ]);
    const vaultKey = ofType(result, types.vaultSecret).find((r) => r.inputs.name === vaultSecrets.signingKey)!.inputs.value;
    expect(vaultKey.value).toBe(signingKey);
  });

  // The function will not start without what its requireEnv names: each is Supabase's own or set here.
  test.each(requiredVariables(functionSource("reminder-scheduler")).filter((name) => !platformVariables.includes(name)))(
    "sets %s, which the function will not start without, as a function secret",
    (variable) => {
      const { inputs } = only(result, types.functionSecrets);
      expect(inputs.secrets.value.map((secret: { name: string }) => secret.name)).toContain(variable);
    },
  );

  test("sets the function's secrets, then deploys it, and only then touches the database", () => {
    const urnOf = (registration: { type: string; name: string }) => new RegExp(`\\$?${registration.type.replace(/[$]/g, "\\$&")}::${registration.name}$`);
    const secrets = only(result, types.functionSecrets);
    const edgeFunction = only(result, types.edgeFunction);
    expect(edgeFunction.options.dependsOn.some((urn) => urnOf(secrets).test(urn))).toBe(true);
    expect(secrets.options.dependsOn).toEqual([]);
    // Everything in the database reaches the function through its dependencies, directly or not.
    const byUrn = (urn: string) => result.registrations.find((r) => urnOf(r).test(urn));
    const reaches = (registration: (typeof result.registrations)[number], seen = new Set<string>()): boolean =>
      registration.options.dependsOn.some((urn) => {
        if (urnOf(edgeFunction).test(urn)) return true;
        if (seen.has(urn)) return false;
        seen.add(urn);
        const next = byUrn(urn);
        return next !== undefined && reaches(next, seen);
      });
    const database = result.registrations.filter((r) => ![types.component, types.edgeFunction, types.functionSecrets].includes(r.type));
    expect(database.length).toBeGreaterThan(20);
    expect(database.filter((r) => !reaches(r)).map((r) => `${r.type}::${r.name}`)).toEqual([]);
  });

  test("holds no path of this checkout in any registration, secret ones included", () => {
    const everything = JSON.stringify(result.registrations.map((r) => r.inputs));
    expect(everything).not.toContain(repoRoot);
  });

  test("creates the three Vault secrets and the three retry settings by name, the signing key as a secret input, and no service-role key", () => {
    const secrets = Object.fromEntries(ofType(result, types.vaultSecret).map((r) => [r.inputs.name, r.inputs.value]));
    // The names the README and the SQL read, spelled out: Object.values(vaultSecrets) is what the program iterates.
    expect(Object.keys(secrets).sort()).toEqual([
      "reminder_cron_expression",
      "reminder_function_url",
      "reminder_retry_backoff",
      "reminder_retry_deadline",
      "reminder_retry_limit",
      "reminder_signing_key",
    ]);
    // The stack files set the defaults: written all the same, so Vault holds what the stack says.
    expect([secrets.reminder_retry_limit, secrets.reminder_retry_backoff, secrets.reminder_retry_deadline]).toEqual(["5", "1 minute", "4 hours"]);
    expect(secrets[vaultSecrets.functionUrl]).toBe(`https://${projectRef[stack]}.supabase.co/functions/v1/reminder-scheduler`);
    expect(secrets[vaultSecrets.cronExpression]).toBe("0 6 * * *");
    expect(isWireSecret(secrets[vaultSecrets.signingKey])).toBe(true);
    expect(secrets[vaultSecrets.signingKey]).toEqual(expect.objectContaining({ value: signingKey }));
  });

  test("writes every Vault secret and setting before the first migration, which reads them", () => {
    const first = ofType(result, types.command)[0];
    const vault = ofType(result, types.vaultSecret);
    expect(vault).toHaveLength(6);
    expect(vault.filter((secret) => !first.options.dependsOn.some((urn) => urn.endsWith(`::${secret.name}`))).map((secret) => secret.inputs.name)).toEqual([]);
  });

  test("applies each committed migration with psql from stdin, replaced only when its content hash changes", () => {
    const commands = ofType(result, types.command);
    expect(commands.map((c) => c.name)).toEqual(migrations.map((m) => `reminder-cron-migration-${m.version}`));
    committedSql().forEach((sql, index) => {
      const { inputs } = commands[index];
      expect(inputs.create).toBe(applyMigrationCommand);
      // A changed connection is an update, and the update applies nothing.
      expect(inputs.update).toBe(connectionChangedCommand);
      expect(inputs.stdin).toBe(sql);
      expect(inputs.triggers).toEqual([createHash("sha256").update(sql).digest("hex")]);
      // The password makes the whole environment secret; the rest names the database and its certificate.
      expect(isWireSecret(inputs.environment)).toBe(true);
      expect(inputs.environment.value).toMatchObject({
        PGHOST: `db.${projectRef[stack]}.supabase.co`,
        PGUSER: "postgres",
        PGSSLMODE: "verify-full",
        PGSSLROOTCERT: "tests/fixtures/test-root-ca.crt",
        PGPASSWORD: dbPassword,
      });
    });
  });

  test("grants exactly the privilege matrix, one postgresql.Grant per entry", () => {
    const registered = Object.fromEntries(ofType(result, types.grant).map((r) => [r.name, r.inputs]));
    // The matrix spelled out (as tests/integration/cron-trigger-privileges.test.ts and pgTAP check it in the
    // database), not rebuilt from infra/sql/privileges.ts, which the program reads: a grant lost or widened
    // there fails here. The resource names are part of the contract too: a new name replaces the grant.
    const grant = (role: string, schema: string, objectType: string, objects: string[] | undefined, privileges: string[]) => ({
      database: "postgres",
      role,
      schema,
      objectType,
      ...(objects ? { objects } : {}),
      privileges,
    });
    expect(registered).toEqual({
      "reminder-cron-grant-cron-runner-public-cron-execution-log": grant("cron_runner", "public", "table", ["cron_execution_log"], ["INSERT"]),
      "reminder-cron-grant-service-role-public-cron-execution-log": grant("service_role", "public", "table", ["cron_execution_log"], ["SELECT"]),
      "reminder-cron-grant-cron-runner-public-dispatch-reminder-run": grant("cron_runner", "public", "function", ["dispatch_reminder_run"], ["EXECUTE"]),
      "reminder-cron-grant-cron-runner-public-reconcile-reminder-runs": grant("cron_runner", "public", "function", ["reconcile_reminder_runs"], ["EXECUTE"]),
      "reminder-cron-grant-cron-runner-cron-schema": grant("cron_runner", "cron", "schema", undefined, ["USAGE"]),
      "reminder-cron-grant-cron-runner-cron-alter-job": grant("cron_runner", "cron", "function", ["alter_job"], ["EXECUTE"]),
      "reminder-cron-grant-cron-runner-public-catch-up-reminder-run": grant("cron_runner", "public", "function", ["catch_up_reminder_run"], ["EXECUTE"]),
      "reminder-cron-grant-cron-runner-public-apply-reminder-cron-retention": grant("cron_runner", "public", "function", ["apply_reminder_cron_retention"], ["EXECUTE"]),
      "reminder-cron-grant-service-role-public-reminder-cron-catch-ups": grant("service_role", "public", "table", ["reminder_cron_catch_ups"], ["SELECT"]),
    });
  });

  test("schedules the daily job and its reconcile, catch-up and retention jobs as cron_runner, active", () => {
    const jobs = ofType(result, types.cronJob).map(({ inputs: { __provider, ...inputs } }) => inputs);
    // Spelled out, not rebuilt from dispatchCommand, reconcileCommand, catchUpCommand and pruneCommand, which the program reads.
    expect(jobs).toEqual([
      { jobName: "daily-reminder-eval", schedule: "0 6 * * *", command: "select public.dispatch_reminder_run('daily-reminder-eval')", username: "cron_runner", active: true },
      { jobName: "reminder-eval-reconcile", schedule: "* * * * *", command: "select public.reconcile_reminder_runs()", username: "cron_runner", active: true },
      { jobName: "reminder-eval-catch-up", schedule: "* * * * *", command: "select public.catch_up_reminder_run('daily-reminder-eval')", username: "cron_runner", active: true },
      { jobName: "reminder-eval-retention", schedule: "17 3 * * *", command: "select * from public.apply_reminder_cron_retention()", username: "cron_runner", active: true },
    ]);
  });

  test("serializes each dynamic provider with no credential in it", () => {
    const dynamic = [types.cronJob, types.vaultSecret, types.edgeFunction, types.functionSecrets].flatMap((type) => ofType(result, type));
    expect(new Set(dynamic.map((r) => r.type)).size).toBe(4);
    for (const { inputs } of dynamic) {
      expect(typeof inputs.__provider).toBe("string");
      expect(inputs.__provider).not.toContain(accessToken);
      expect(inputs.__provider).not.toContain(sharedSecret);
      expect(inputs.__provider).toMatch(/^exports\.handler = /);
      expect(inputs.__provider).not.toContain(dbPassword);
      expect(inputs.__provider).not.toContain(signingKey);
      // diff asks for an update when the code in state differs from the program's, so the serialized text
      // must be the same on every checkout: no path of this machine, modules by name only.
      expect(inputs.__provider).not.toContain(repoRoot);
      expect([...inputs.__provider.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1]).filter((name) => name.startsWith("/") || name.startsWith("."))).toEqual([]);
    }
  });

  test("leaves no secret in plain text in any registration", () => {
    const plain = result.registrations.flatMap((r) => plainStrings(r.inputs));
    expect(plain.filter((text) => [dbPassword, signingKey, sharedSecret, accessToken].some((secret) => text.includes(secret)))).toEqual([]);
    // The access token is not even a secret input: the providers read it from the stack config.
    expect(JSON.stringify(result.registrations)).not.toContain(accessToken);
  });

  test("exports the job, its schedule in words, the URL, the log, the secret names and the runbook, none secret, and no next run (it would follow the clock)", async () => {
    expect(outputs).toMatchObject({
      jobId: mockJobId,
      jobName: defaultJobName,
      schedule: "0 6 * * *",
      scheduleInWords: "At 06:00, every day (UTC)",
      functionUrl: `https://${projectRef[stack]}.supabase.co/functions/v1/reminder-scheduler`,
      logTable: "public.cron_execution_log",
      reconcileJobId: mockJobId,
      catchUpJobId: mockJobId,
      retentionJobId: mockJobId,
      vaultSecretNames: vaultSecrets,
      retryPolicy: { retries: 5, backoff: "1 minute", deadline: "4 hours" },
    });
    expect((outputs.operationsRunbook as { action: string }[]).map((entry) => entry.action)).toContain("Prune now");
    // Nothing from the clock or the shell: those would change every preview.
    expect(Object.keys(outputs)).not.toEqual(expect.arrayContaining(["nextRunUtc"]));
    expect(Object.keys(outputs)).not.toEqual(expect.arrayContaining(["configSources"]));
    const actions = (outputs.runbook as { action: string }[]).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(["Emergency pause (keeps the job, stops its runs)", "Resume", "Run now (outside the schedule)"]));
    for (const [name, value] of Object.entries(result.program!).filter(([, value]) => result.pulumi.Output.isInstance(value))) {
      expect([name, await result.pulumi.isSecret(value)]).toEqual([name, false]);
    }
    for (const secret of [dbPassword, signingKey, sharedSecret, accessToken]) expect(JSON.stringify(outputs)).not.toContain(secret);
  });
});

describe("the ReminderCron component's outputs", () => {
  test("keep the signing key secret, and expose the job and schedule in the clear", async () => {
    const { result, trigger } = await runComponent("staging");
    // The mock echoes inputs as state, as the engine does for a same-named input: secret in, secret out.
    expect(await valueOf(trigger.secrets.signingKey.value)).toBe(signingKey);
    expect(await result.pulumi.isSecret(trigger.secrets.signingKey.value)).toBe(true);
    expect(await result.pulumi.isSecret(trigger.jobId)).toBe(false);
    expect(await result.pulumi.isSecret(trigger.schedule)).toBe(false);
  });
});

describe("rotating the signing key", () => {
  test("with reminder-cron:previousSigningKey set, the function also gets REMINDER_SIGNING_KEY_PREVIOUS, secret; Vault gets only the new key", async () => {
    const previous = "test-previous-key-7e2a-0123456789abcdef012345";
    const result = await run("staging", { config: userConfig("staging", { previousSigningKey: previous }) });
    await settled(result);
    const { inputs } = only(result, types.functionSecrets);
    expect(isWireSecret(inputs.secrets)).toBe(true);
    expect(inputs.secrets.value.map((secret: { name: string }) => secret.name)).toEqual(["REMINDER_SIGNING_KEY", "REMINDER_SHARED_SECRET", "REMINDER_SIGNING_KEY_PREVIOUS"]);
    expect(inputs.secrets.value[2].value).toBe(previous);
    expect(ofType(result, types.vaultSecret).find((r) => r.inputs.name === vaultSecrets.signingKey)!.inputs.value.value).toBe(signingKey);
    expect(result.registrations.flatMap((r) => plainStrings(r.inputs)).filter((text) => text.includes(previous))).toEqual([]);
  });
});

describe("adopting a database the migration already set up", () => {
  test("adoptRole imports the existing cron_runner instead of creating it", async () => {
    const result = await run("prod", { config: userConfig("prod", { "reminder-cron:adoptRole": "true" }) });
    await settled(result);
    expect(only(result, types.role).importId).toBe(cronRunnerRole);
  });
});

describe("environment overrides", () => {
  test("with reminder-cron:allowEnvOverrides, REMINDER_CRON_EXPRESSION and REMINDER_FUNCTION_URL replace the stack config everywhere they are used", async () => {
    const result = await run("staging", {
      config: userConfig("staging", { "reminder-cron:allowEnvOverrides": "true" }),
      env: { REMINDER_CRON_EXPRESSION: "30 5 * * 1-5", REMINDER_FUNCTION_URL: "https://override.supabase.co/functions/v1/reminder-scheduler" },
    });
    const outputs = await settled(result);
    const job = ofType(result, types.cronJob).find((r) => r.inputs.jobName === defaultJobName)!;
    const secrets = Object.fromEntries(ofType(result, types.vaultSecret).map((r) => [r.inputs.name, r.inputs.value]));
    expect(job.inputs.schedule).toBe("30 5 * * 1-5");
    expect(secrets[vaultSecrets.cronExpression]).toBe("30 5 * * 1-5");
    expect(secrets[vaultSecrets.functionUrl]).toBe("https://override.supabase.co/functions/v1/reminder-scheduler");
    expect(outputs).toMatchObject({
      scheduleInWords: "At 05:30, Monday through Friday (UTC)",
      functionUrl: "https://override.supabase.co/functions/v1/reminder-scheduler",
    });
  });
});

describe("retries", () => {
  test("the stack config's retry settings reach Vault as typed, in one spelling, and the retryPolicy output says the same", async () => {
    const result = await run("prod", {
      config: userConfig("prod", { "reminder-cron:retries": "3", "reminder-cron:retryBackoff": "90 secs", "reminder-cron:retryDeadline": "2h" }),
    });
    const outputs = await settled(result);
    const secrets = Object.fromEntries(ofType(result, types.vaultSecret).map((r) => [r.inputs.name, r.inputs.value]));
    expect([secrets.reminder_retry_limit, secrets.reminder_retry_backoff, secrets.reminder_retry_deadline]).toEqual(["3", "90 seconds", "2 hours"]);
    expect(outputs.retryPolicy).toEqual({ retries: 3, backoff: "90 seconds", deadline: "2 hours" });
  });

  test("the component exposes the settings' Vault secrets by config key", async () => {
    const { trigger } = await runComponent("staging");
    expect(await valueOf(trigger.settings.retries.name)).toBe("reminder_retry_limit");
    expect(await valueOf(trigger.settings.retryBackoff.value)).toBe("1 minute");
    expect(await valueOf(trigger.settings.retryDeadline.value)).toBe("4 hours");
    expect(trigger.retryPolicy).toEqual({ retries: 5, backoff: "1 minute", deadline: "4 hours" });
  });
});

describe("invalid configuration", () => {
  test.each([
    [
      "a retry deadline that reaches the next run",
      { "reminder-cron:retryDeadline": "1 day" },
      {},
      "reminder-cron:retryDeadline = '1 day' would be refused by the database: reminder_retry_deadline is '1 day', which reaches the next occurrence",
    ],
    ["a back-off that cannot be read", { "reminder-cron:retryBackoff": "a minute" }, {}, "reminder-cron:retryBackoff = 'a minute' is not a wait such as '1 minute'"],
    ["a schedule pg_cron refuses", { "reminder-cron:cronExpression": "0 0 6 * * *" }, {}, "reminder-cron:cronExpression = '0 0 6 * * *' is not a schedule pg_cron 1.6"],
    [
      "an http URL from the environment",
      { "reminder-cron:allowEnvOverrides": "true" },
      { REMINDER_FUNCTION_URL: "http://example.com/x" },
      "REMINDER_FUNCTION_URL = 'http://example.com/x' (environment; overrides reminder-cron:functionUrl) must use https",
    ],
    ["a job name SQL would quote", { "reminder-cron:jobName": "daily reminder" }, {}, "reminder-cron:jobName = 'daily reminder' is not a safe job name"],
    ["a missing access token", { supabaseAccessToken: "" }, {}, "reminder-cron:supabaseAccessToken is not set"],
    ["a project ref the function URL contradicts", { "reminder-cron:supabaseProjectRef": "otherrefabcdefghijkl" }, {}, "reminder-cron:supabaseProjectRef = 'otherrefabcdefghijkl' is not the project reminder-cron:functionUrl names ('prodrefabcdefghijklm') or reminder-cron:dbHost names ('prodrefabcdefghijklm')"],
  ])("fails on %s with its message before any resource is registered", async (_what, extra, env, message) => {
    const result = await run("prod", { config: userConfig("prod", extra), env });
    expect(result.error?.message).toContain(message);
    expect(result.error?.message).toContain("Fix: ");
    expect(result.registrations).toEqual([]);
  });
});

describe("one source for the privileges and the jobs", () => {
  /** The migrations whose GRANTs are rendered from the privilege matrix (the reminder data's are its own). */
  const matrixMigrations = ["register_reminder_cron", "reminder_cron_operations"];

  /** A Pulumi grant as the GRANT statement it stands for, spelled as the migration renders it. */
  function asSql(inputs: Record<string, any>): string {
    const privileges = (inputs.privileges as string[]).join(", ").toLowerCase();
    // Functions are granted by bare name (their one overload); the migration spells the signature out.
    const signature = [...grants, ...operationsGrants].find((grant) => grant.kind === "function" && grant.schema === inputs.schema && grant.function === inputs.objects?.[0]);
    const object =
      inputs.objectType === "schema"
        ? inputs.schema
        : `${inputs.schema}.${inputs.objects[0]}${signature?.kind === "function" ? `(${signature.signature})` : ""}`;
    return `grant ${privileges} on ${inputs.objectType} ${object} to ${inputs.role};`;
  }

  test("the Grants Pulumi registers are exactly the GRANT statements of the trigger's committed migrations", async () => {
    const result = await run("staging");
    await settled(result);
    const inMigrations = migrations
      .filter((migration) => matrixMigrations.includes(migration.name))
      .flatMap((migration) => readFileSync(join(migrationsDir, migrationFileName(migration)), "utf8").split("\n"))
      .filter((line) => /^grant \S.* on (table|function|schema) /.test(line));
    expect(inMigrations.length).toBeGreaterThan(0);
    expect(ofType(result, types.grant).map((r) => asSql(r.inputs)).sort()).toEqual(inMigrations.sort());
  });

  test("the membership comes from the migration, and every job is as the committed migrations register it", async () => {
    const result = await run("staging");
    await settled(result);
    const sql = committedSql().join("\n");
    // The one grant of the membership every job needs: no Pulumi resource may revoke it.
    expect(sql).toContain(`grant ${cronRunnerRole} to postgres;`);
    for (const { inputs } of ofType(result, types.cronJob)) {
      if (inputs.jobName === defaultJobName) continue; // its schedule comes from Vault, which Pulumi writes
      expect(sql).toContain(`cron.schedule(${sqlLiteral(inputs.jobName)}, ${sqlLiteral(inputs.schedule)}, ${sqlLiteral(inputs.command)})`);
    }
    expect(sql).toContain("cron.schedule('daily-reminder-eval', expression, 'select public.dispatch_reminder_run(''daily-reminder-eval'')')");
  });
});

describe("quiet previews: what the program registers and exports depends only on the stack config", () => {
  /** One run at a given clock and shell: registrations, outputs and what pulumi.log.warn said. */
  async function runAt(now: string, env: Record<string, string | undefined>) {
    // Only Date is faked: the SDK's own timers and promises run as usual.
    jest.useFakeTimers({ now: new Date(now), doNotFake: ["nextTick", "setImmediate", "clearImmediate", "setTimeout", "clearTimeout", "setInterval", "clearInterval", "queueMicrotask", "hrtime", "performance"] });
    const warnings: string[] = [];
    try {
      const result = await runProgram({
        stack: "prod",
        config: userConfig("prod"),
        secretKeys,
        env,
        before: (pulumi) => jest.spyOn(pulumi.log, "warn").mockImplementation(async (message: string) => void warnings.push(message)),
      });
      return { registrations: result.registrations, outputs: await settled(result), warnings };
    } finally {
      jest.useRealTimers();
    }
  }

  test("a run a month later, from a shell with REMINDER_* set, registers and exports exactly the same, and says the variables were ignored", async () => {
    const first = await runAt("2026-03-01T05:59:00Z", {});
    const second = await runAt("2026-04-01T12:00:00Z", { REMINDER_CRON_EXPRESSION: "*/5 * * * *", REMINDER_FUNCTION_URL: "https://elsewhere.supabase.co/functions/v1/x" });
    expect(second.registrations).toEqual(first.registrations);
    expect(second.outputs).toEqual(first.outputs);
    expect(first.warnings).toEqual([]);
    expect(second.warnings).toEqual([
      expect.stringMatching(/^REMINDER_CRON_EXPRESSION is set in this shell but ignored: stack prod takes reminder-cron:cronExpression from its config\. To override it for one run: pulumi config set reminder-cron:allowEnvOverrides true --stack prod/),
      expect.stringMatching(/^REMINDER_FUNCTION_URL is set in this shell but ignored/),
    ]);
  });

  test("an opted-in override is announced with pulumi.log.warn", async () => {
    const warnings: string[] = [];
    const result = await runProgram({
      stack: "staging",
      config: userConfig("staging", { "reminder-cron:allowEnvOverrides": "true" }),
      secretKeys,
      env: { REMINDER_CRON_EXPRESSION: "30 5 * * 1-5" },
      before: (pulumi) => jest.spyOn(pulumi.log, "warn").mockImplementation(async (message: string) => void warnings.push(message)),
    });
    await settled(result);
    expect(warnings).toEqual([
      "REMINDER_CRON_EXPRESSION = '30 5 * * 1-5' overrides reminder-cron:cronExpression for this run (reminder-cron:allowEnvOverrides or a local database allows it); the next run without it changes the job back.",
    ]);
  });
});

describe("protect", () => {
  /** Every resource below the component, as the SDK records each one's protect flag (inherited from its parent). */
  async function protectFlags(stack: StackName): Promise<Record<string, boolean>> {
    const { trigger } = await runComponent(stack);
    const flags: Record<string, boolean> = {};
    const walk = (resource: any) => {
      for (const child of resource.__childResources ?? []) {
        flags[child.__name] = Boolean(child.__protect);
        walk(child);
      }
    };
    walk(trigger);
    return flags;
  }

  test("prod (reminder-cron:protect true) protects every resource but the migration Commands and the retired GrantRole; staging none", async () => {
    const prod = await protectFlags("prod");
    const staging = await protectFlags("staging");
    expect(Object.keys(prod).length).toBeGreaterThan(20);
    expect(Object.keys(staging).sort()).toEqual(Object.keys(prod).sort());
    // A changed migration is applied by replacing its Command (a new trigger), and the engine refuses to
    // replace a resource protected in state and program alike (step_generator.go, `new.Protect && old.Protect`):
    // a protected Command would stop every prod `up` that carries a migration change. Its delete runs
    // nothing, so protecting it guarded nothing.
    // The retired GrantRole too: its removal by the next release must not stop at protect, and with
    // retainOnDelete that removal touches nothing protect could guard.
    const unprotected = [...migrations.map((migration) => `reminder-cron-migration-${migration.version}`), "reminder-cron-cron-runner-member"];
    expect(Object.entries(prod).filter(([, on]) => !on).map(([name]) => name).sort()).toEqual([...unprotected].sort());
    expect(Object.entries(staging).filter(([, on]) => on)).toEqual([]);
  });
});

describe("through Supabase's pooler", () => {
  test("the provider logs in as postgres.<ref> but names postgres as its role, so dropping cron_runner reassigns to a real role", async () => {
    const pooler = { "reminder-cron:dbHost": "aws-0-eu-central-1.pooler.supabase.com", "reminder-cron:dbUser": `postgres.${projectRef.prod}` };
    const result = await run("prod", { config: userConfig("prod", pooler) });
    await settled(result);
    expect(only(result, types.provider).inputs).toMatchObject({ host: "aws-0-eu-central-1.pooler.supabase.com", username: `postgres.${projectRef.prod}`, databaseUsername: "postgres" });
    expect(only(result, types.grantRole).inputs).toEqual({ role: "postgres", grantRole: cronRunnerRole });
    expect(ofType(result, types.command)[0].inputs.environment.value).toMatchObject({ PGUSER: `postgres.${projectRef.prod}` });
  });

  test("a pooler host with the bare role stops before anything is registered, naming the key, the value and the fix", async () => {
    const result = await run("prod", { config: userConfig("prod", { "reminder-cron:dbHost": "aws-0-eu-central-1.pooler.supabase.com" }) });
    expect(result.error?.message).toContain("reminder-cron:dbUser = 'postgres' cannot log in through Supabase's pooler aws-0-eu-central-1.pooler.supabase.com");
    expect(result.error?.message).toContain("Fix: pulumi config set reminder-cron:dbUser postgres.<project-ref> --stack prod");
    expect(result.registrations).toEqual([]);
  });
});

describe("a rotated password or a move to the pooler", () => {
  test("changes the migration Commands' environment but not their triggers: an update that applies nothing, not a re-run", async () => {
    const before = await run("prod");
    await settled(before);
    const after = await run("prod", {
      config: userConfig("prod", {
        dbPassword: "rotated-password-71d0",
        "reminder-cron:dbHost": "aws-0-eu-central-1.pooler.supabase.com",
        "reminder-cron:dbUser": `postgres.${projectRef.prod}`,
      }),
    });
    await settled(after);
    const [old, next] = [ofType(before, types.command), ofType(after, types.command)];
    expect(next.map((command) => command.inputs.triggers)).toEqual(old.map((command) => command.inputs.triggers));
    expect(next.map((command) => command.inputs.stdin)).toEqual(old.map((command) => command.inputs.stdin));
    expect(next[0].inputs.environment.value).toMatchObject({ PGPASSWORD: "rotated-password-71d0", PGHOST: "aws-0-eu-central-1.pooler.supabase.com" });
    // pulumi-command runs `update` (when set) for any change but triggers: that is the no-op.
    expect(next.every((command) => command.inputs.update === connectionChangedCommand)).toBe(true);
    // Run as pulumi-command runs it (/bin/sh -c): succeeds, touches nothing, prints nothing.
    const noOp = spawnSync("/bin/sh", ["-c", connectionChangedCommand], { encoding: "utf8", env: { PATH: "/nonexistent" } });
    expect([noOp.status, noOp.stdout, noOp.stderr]).toEqual([0, "", ""]);
  });
});
