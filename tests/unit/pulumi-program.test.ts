/**
 * The Pulumi program under mocks, for the committed staging and prod stack files: what it registers, with
 * which inputs, what stays secret, what the stack outputs say, and that a bad config registers nothing.
 * The two project-specific values of each stack file are placeholders until a user sets them; the tests
 * set them as a user would, and check the placeholders are refused as they stand.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { migrationFileName, migrations } from "../../infra/sql/migrations";
import { cronRunnerRole, defaultJobName, dispatchCommand, reconcileCommand, reconcileJobName, vaultSecrets } from "../../infra/sql/names";
import { grants, operationsGrants } from "../../infra/sql/privileges";
import { catchUpCommand, pruneCommand } from "../../infra/sql/operations-migration";
import { catchUpJobName, retentionJobName } from "../../infra/sql/operations-names";
import { grantResourceName } from "../../infra/reminder-cron";
import { migrationsDir, repoRoot } from "../../stack/paths";
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
};

/** Throwaway stand-ins for the two secrets; the tests look for them anywhere they must not be. */
const dbPassword = "test-db-password-6b1f";
const signingKey = "test-signing-key-93ac-0123456789abcdef01234567";
const projectRef = { staging: "stagingrefabcdefghij", prod: "prodrefabcdefghijklm" } as const;
type StackName = keyof typeof projectRef;

/** The committed stack file, with its placeholders and secrets set as docs/pulumi.md tells a user to. */
function userConfig(stack: StackName, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...stackFileConfig(stack),
    "reminder-cron:functionUrl": `https://${projectRef[stack]}.supabase.co/functions/v1/reminder-scheduler`,
    "reminder-cron:dbHost": `db.${projectRef[stack]}.supabase.co`,
    dbPassword,
    signingKey,
    ...extra,
  };
}

const run = (stack: StackName, options: { config?: Record<string, string>; env?: Record<string, string | undefined> } = {}) =>
  runProgram({ stack, config: options.config ?? userConfig(stack), secretKeys: ["dbPassword", "signingKey"], env: options.env ?? {} });

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
  });

  test.each(["staging", "prod"] as const)("as committed, %s stops on its placeholders and registers nothing", async (stack) => {
    const result = await run(stack, { config: { ...stackFileConfig(stack), dbPassword, signingKey } });
    expect(result.error?.message).toBe(
      `Invalid configuration for stack ${stack}; nothing was changed:\n` +
        `- reminder-cron:functionUrl = 'https://<${stack}-project-ref>.supabase.co/functions/v1/reminder-scheduler' is still the placeholder of the committed stack file. ` +
        `Fix: pulumi config set reminder-cron:functionUrl 'https://<project-ref>.supabase.co/functions/v1/reminder-scheduler' --stack ${stack}\n` +
        `- reminder-cron:dbHost = 'db.<${stack}-project-ref>.supabase.co' is still the placeholder of the committed stack file. ` +
        `Fix: pulumi config set reminder-cron:dbHost db.<project-ref>.supabase.co --stack ${stack}`,
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

  test("connects through a postgresql provider that is not a superuser, over TLS, with the password secret", () => {
    const { inputs } = only(result, types.provider);
    expect(inputs).toMatchObject({ host: `db.${projectRef[stack]}.supabase.co`, port: "5432", database: "postgres", username: "postgres", sslmode: "require", superuser: "false" });
    expect(inputs.password).toEqual(expect.objectContaining({ value: dbPassword }));
    expect(isWireSecret(inputs.password)).toBe(true);
  });

  test("enables pg_cron and pg_net where Supabase's documentation puts them", () => {
    expect(ofType(result, types.extension).map((r) => r.inputs)).toEqual([
      { name: "pg_cron", schema: "pg_catalog", database: "postgres" },
      { name: "pg_net", schema: "extensions", database: "postgres" },
    ]);
  });

  test("creates cron_runner as a login role without inheritance, and makes the session role a member", () => {
    expect(only(result, types.role)).toEqual({ type: types.role, name: "reminder-cron-cron-runner", inputs: { name: cronRunnerRole, login: true, inherit: false } });
    expect(only(result, types.grantRole).inputs).toEqual({ role: "postgres", grantRole: cronRunnerRole });
  });

  test("creates the three Vault secrets by name, the signing key as a secret input, and no service-role key", () => {
    const secrets = Object.fromEntries(ofType(result, types.vaultSecret).map((r) => [r.inputs.name, r.inputs.value]));
    expect(Object.keys(secrets).sort()).toEqual(Object.values(vaultSecrets).sort());
    expect(secrets[vaultSecrets.functionUrl]).toBe(`https://${projectRef[stack]}.supabase.co/functions/v1/reminder-scheduler`);
    expect(secrets[vaultSecrets.cronExpression]).toBe("0 6 * * *");
    expect(isWireSecret(secrets[vaultSecrets.signingKey])).toBe(true);
    expect(secrets[vaultSecrets.signingKey]).toEqual(expect.objectContaining({ value: signingKey }));
  });

  test("applies each committed migration with psql from stdin, replaced whenever its content hash changes", () => {
    const commands = ofType(result, types.command);
    expect(commands.map((c) => c.name)).toEqual(migrations.map((m) => `reminder-cron-migration-${m.version}`));
    committedSql().forEach((sql, index) => {
      const { inputs } = commands[index];
      expect(inputs.create).toBe("psql --no-psqlrc --set ON_ERROR_STOP=1 --single-transaction --quiet --file -");
      expect(inputs.stdin).toBe(sql);
      expect(inputs.triggers).toEqual([createHash("sha256").update(sql).digest("hex")]);
      // The password makes the whole environment secret; the rest names the database.
      expect(isWireSecret(inputs.environment)).toBe(true);
      expect(inputs.environment.value).toMatchObject({ PGHOST: `db.${projectRef[stack]}.supabase.co`, PGUSER: "postgres", PGSSLMODE: "require", PGPASSWORD: dbPassword });
    });
  });

  test("grants exactly the privilege matrix, one postgresql.Grant per entry", () => {
    const registered = Object.fromEntries(ofType(result, types.grant).map((r) => [r.name, r.inputs]));
    expect(registered).toEqual(
      Object.fromEntries([...grants, ...operationsGrants].map((grant) => [grantResourceName("reminder-cron", grant), {
        database: "postgres",
        role: grant.role,
        schema: grant.schema,
        objectType: grant.kind,
        ...(grant.kind === "table" ? { objects: [grant.table], privileges: grant.privileges } : {}),
        ...(grant.kind === "function" ? { objects: [`${grant.function}(${grant.signature})`], privileges: ["EXECUTE"] } : {}),
        ...(grant.kind === "schema" ? { privileges: grant.privileges } : {}),
      }])),
    );
  });

  test("schedules the daily job and its reconcile, catch-up and retention jobs as cron_runner, active", () => {
    const jobs = ofType(result, types.cronJob).map(({ inputs: { __provider, ...inputs } }) => inputs);
    expect(jobs).toEqual([
      { jobName: defaultJobName, schedule: "0 6 * * *", command: dispatchCommand(defaultJobName), username: cronRunnerRole, active: true },
      { jobName: reconcileJobName, schedule: "* * * * *", command: reconcileCommand, username: cronRunnerRole, active: true },
      { jobName: catchUpJobName, schedule: "* * * * *", command: catchUpCommand(defaultJobName), username: cronRunnerRole, active: true },
      { jobName: retentionJobName, schedule: "17 3 * * *", command: pruneCommand, username: cronRunnerRole, active: true },
    ]);
  });

  test("serializes each dynamic provider with no credential in it", () => {
    for (const { inputs } of [...ofType(result, types.cronJob), ...ofType(result, types.vaultSecret)]) {
      expect(typeof inputs.__provider).toBe("string");
      expect(inputs.__provider).toMatch(/^exports\.handler = /);
      expect(inputs.__provider).not.toContain(dbPassword);
      expect(inputs.__provider).not.toContain(signingKey);
    }
  });

  test("leaves no secret in plain text in any registration", () => {
    const plain = result.registrations.flatMap((r) => plainStrings(r.inputs));
    expect(plain.filter((text) => text.includes(dbPassword) || text.includes(signingKey))).toEqual([]);
  });

  test("exports the job, its schedule in words and next run, the URL, the log, the secret names and the runbook, none secret", async () => {
    expect(outputs).toMatchObject({
      jobId: mockJobId,
      jobName: defaultJobName,
      schedule: "0 6 * * *",
      scheduleInWords: "At 06:00, every day (UTC)",
      configSources: { cronExpression: "reminder-cron:cronExpression", functionUrl: "reminder-cron:functionUrl" },
      functionUrl: `https://${projectRef[stack]}.supabase.co/functions/v1/reminder-scheduler`,
      logTable: "public.cron_execution_log",
      reconcileJobId: mockJobId,
      catchUpJobId: mockJobId,
      retentionJobId: mockJobId,
      vaultSecretNames: vaultSecrets,
    });
    expect((outputs.operationsRunbook as { action: string }[]).map((entry) => entry.action)).toContain("Prune now");
    expect(outputs.nextRunUtc).toMatch(/^\d{4}-\d\d-\d\dT06:00:00\.000Z$/);
    expect(Date.parse(outputs.nextRunUtc as string) - Date.now()).toBeLessThanOrEqual(24 * 3600 * 1000);
    const actions = (outputs.runbook as { action: string }[]).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(["Emergency pause (keeps the job, stops its runs)", "Resume", "Run now (outside the schedule)"]));
    for (const [name, value] of Object.entries(result.program!).filter(([, value]) => result.pulumi.Output.isInstance(value))) {
      expect([name, await result.pulumi.isSecret(value)]).toEqual([name, false]);
    }
    expect(JSON.stringify(outputs)).not.toContain(dbPassword);
    expect(JSON.stringify(outputs)).not.toContain(signingKey);
  });
});

describe("the ReminderCron component's outputs", () => {
  test("keep the signing key secret, and expose the job and schedule in the clear", async () => {
    const result = await runProgram({
      stack: "staging",
      config: userConfig("staging"),
      secretKeys: ["dbPassword", "signingKey"],
      load: async () => {
        const { ReminderCron } = await import("../../infra/reminder-cron");
        const { loadStackConfig } = await import("../../infra/config");
        return { trigger: new ReminderCron("reminder-cron", loadStackConfig({})) };
      },
    });
    if (result.error) throw result.error;
    const trigger = result.program!.trigger;
    // The mock echoes inputs as state, as the engine does for a same-named input: secret in, secret out.
    expect(await valueOf(trigger.secrets.signingKey.value)).toBe(signingKey);
    expect(await result.pulumi.isSecret(trigger.secrets.signingKey.value)).toBe(true);
    expect(await result.pulumi.isSecret(trigger.jobId)).toBe(false);
    expect(await result.pulumi.isSecret(trigger.schedule)).toBe(false);
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
  test("REMINDER_CRON_EXPRESSION and REMINDER_FUNCTION_URL replace the stack config everywhere they are used", async () => {
    const result = await run("staging", {
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
      configSources: { cronExpression: "REMINDER_CRON_EXPRESSION", functionUrl: "REMINDER_FUNCTION_URL" },
    });
  });
});

describe("invalid configuration", () => {
  test.each([
    ["a schedule pg_cron refuses", { "reminder-cron:cronExpression": "0 0 6 * * *" }, {}, "reminder-cron:cronExpression = '0 0 6 * * *' is not a schedule pg_cron 1.6"],
    ["an http URL from the environment", {}, { REMINDER_FUNCTION_URL: "http://example.com/x" }, "REMINDER_FUNCTION_URL = 'http://example.com/x' (environment; overrides reminder-cron:functionUrl) must use https"],
    ["a job name SQL would quote", { "reminder-cron:jobName": "daily reminder" }, {}, "reminder-cron:jobName = 'daily reminder' is not a safe job name"],
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
    const object = inputs.objectType === "schema" ? inputs.schema : `${inputs.schema}.${inputs.objects[0]}`;
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

  test("the role membership and every job are as the committed migrations register them", async () => {
    const result = await run("staging");
    await settled(result);
    const sql = committedSql().join("\n");
    const membership = only(result, types.grantRole).inputs;
    expect(sql).toContain(`grant ${membership.grantRole} to ${membership.role};`);
    for (const { inputs } of ofType(result, types.cronJob)) {
      if (inputs.jobName === defaultJobName) continue; // its schedule comes from Vault, which Pulumi writes
      expect(sql).toContain(`cron.schedule(${sqlLiteral(inputs.jobName)}, ${sqlLiteral(inputs.schedule)}, ${sqlLiteral(inputs.command)})`);
    }
    expect(sql).toContain(`cron.schedule(${sqlLiteral(defaultJobName)}, expression, ${sqlLiteral(dispatchCommand(defaultJobName))})`);
  });
});
