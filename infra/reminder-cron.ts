/**
 * The ReminderCron component: everything the daily reminder trigger needs in one Supabase database.
 *
 * Pulumi deploys the ReminderSchedulerService Edge Function and its secrets through Supabase's Management
 * API, and models the role, the privilege matrix, the Vault secrets and the pg_cron jobs; the schema objects
 * (log table, dispatch and reconcile functions) and `postgres`'s membership in cron_runner come from the
 * same generated migration that is committed under supabase/migrations/ for restart durability, applied
 * with psql again whenever its content changes. Creation order: the function's secrets, the function, then
 * (in the database) role, Vault secrets, migration, grants, jobs; destroy runs backwards. Nothing touches
 * the database until the function is deployed, so a refused token or an unknown project stops `up` with
 * nothing changed, and the job never calls a function that is not there or lacks its keys.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as command from "@pulumi/command";
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import { migrationsDir } from "../stack/paths";
import { reminderFunction, StackConfig } from "./config";
import { certPathForState } from "./providers/db";
import { CronJob } from "./providers/cron-job";
import { EdgeFunction } from "./providers/edge-function";
import { EdgeFunctionSecrets } from "./providers/edge-function-secrets";
import { VaultSecret } from "./providers/vault-secret";
import { migrationFileName, migrations, renderMigrationFile } from "./sql/migrations";
import { cronRunnerRole, dispatchCommand, logTable, qualified, reconcileCommand, reconcileJobName, vaultSecrets } from "./sql/names";
import { catchUpCommand, pruneCommand } from "./sql/operations-migration";
import { catchUpJobName, catchUpSchedule, intervalSettings, retentionJobName, retentionSchedule, retryLimitSetting } from "./sql/operations-names";
import { Grant, grants, operationsGrants } from "./sql/privileges";

/** What the migration schedules the reconcile job at: every minute, since it settles pg_net's answers. */
export const reconcileSchedule = "* * * * *";

/** The whole privilege matrix: the trigger's, then the operations migration's. */
export const matrix: Grant[] = [...grants, ...operationsGrants];

/** Extensions `postgres` may create on Supabase, with the schemas Supabase's documentation puts them in. */
export const managedExtensions = [
  { name: "pg_cron", schema: "pg_catalog" },
  { name: "pg_net", schema: "extensions" },
] as const;

export type ReminderCronArgs = StackConfig;

/** The settings pulumi up keeps in Vault beside the trigger's own secrets, by config key; none is secret. */
export const vaultSettings = {
  retries: retryLimitSetting.secret,
  retryBackoff: intervalSettings.retryBackoff.secret,
  retryDeadline: intervalSettings.retryDeadline.secret,
} as const;

/** The retry policy as pulumi up writes it to Vault: what a stack output shows on-call. */
export interface RetryPolicyOutput {
  retries: number;
  backoff: string;
  deadline: string;
}

/**
 * @example
 * const config = loadStackConfig();              // validated; throws before anything is registered
 * const trigger = new ReminderCron("reminder-cron", config);
 * export const jobId = trigger.jobId;
 */
export class ReminderCron extends pulumi.ComponentResource {
  /** cron.job.jobid of the daily job. */
  public readonly jobId: pulumi.Output<number>;
  public readonly jobName: pulumi.Output<string>;
  /** The schedule as pg_cron holds it. */
  public readonly schedule: pulumi.Output<string>;
  public readonly reconcileJobId: pulumi.Output<number>;
  public readonly functionUrl: string;
  public readonly logTable: string;
  public readonly vaultSecretNames: typeof vaultSecrets;
  /** The children, for tests and for programs that build on them. */
  public readonly dispatchJob: CronJob;
  public readonly reconcileJob: CronJob;
  /** The companions the operations migration registers: missed-run catch-up and history retention. */
  public readonly catchUpJob: CronJob;
  public readonly retentionJob: CronJob;
  public readonly secrets: Record<keyof typeof vaultSecrets, VaultSecret>;
  /** The retry settings' Vault secrets, always written (the default where the config sets none). */
  public readonly settings: Record<keyof typeof vaultSettings, VaultSecret>;
  public readonly retryPolicy: RetryPolicyOutput;
  /** The ReminderSchedulerService as deployed, and the secrets it is given (REMINDER_SIGNING_KEY, ...). */
  public readonly edgeFunction: EdgeFunction;
  public readonly functionSecrets: EdgeFunctionSecrets;

  constructor(name: string, args: ReminderCronArgs, opts?: pulumi.ComponentResourceOptions) {
    // Every child inherits `protect` from the component (the SDK fills a child's unset protect from its
    // parent), except the migration Commands, which say protect: false.
    super("reminder-cron:index:ReminderCron", name, {}, pulumi.mergeOptions(opts, args.protect ? { protect: true } : {}));
    const parent = this;
    const db = args.db;

    const functionSecrets = createFunctionSecrets();
    const edgeFunction = deployFunction();
    // Everything in the database waits for the function: its first change comes after the deploy.
    const afterFunction = [edgeFunction];
    const provider = createDatabaseProvider();
    const extensions = createExtensions();
    const role = createRole();
    retireMembership();
    const secrets = createVaultSecrets();
    const settings = createVaultSettings();
    const applied = applyMigrations();
    const privileges = createGrants();
    const [dispatchJob, reconcileJob, catchUpJob, retentionJob] = createJobs();

    this.dispatchJob = dispatchJob;
    this.reconcileJob = reconcileJob;
    this.catchUpJob = catchUpJob;
    this.retentionJob = retentionJob;
    this.secrets = secrets;
    this.settings = settings;
    this.retryPolicy = { retries: args.retry.retries, backoff: args.retry.backoff, deadline: args.retry.deadline };
    this.edgeFunction = edgeFunction;
    this.functionSecrets = functionSecrets;
    this.jobId = dispatchJob.jobId;
    this.jobName = dispatchJob.jobName;
    this.schedule = dispatchJob.schedule;
    this.reconcileJobId = reconcileJob.jobId;
    this.functionUrl = args.functionUrl;
    this.logTable = qualified(logTable);
    this.vaultSecretNames = vaultSecrets;
    this.registerOutputs({
      jobId: this.jobId,
      jobName: this.jobName,
      schedule: this.schedule,
      reconcileJobId: this.reconcileJobId,
      functionUrl: this.functionUrl,
      logTable: this.logTable,
      vaultSecretNames: this.vaultSecretNames,
      retryPolicy: this.retryPolicy,
    });

    // The function refuses to start without its keys, so they are set before it is deployed. The values
    // are the stack's secret config, the same the Vault secrets get, so the two halves cannot differ.
    function createFunctionSecrets() {
      const names = reminderFunction.secrets;
      const secrets: pulumi.Input<{ name: string; value: pulumi.Input<string> }>[] = [
        { name: names.signingKey, value: pulumi.secret(args.signingKey) },
        { name: names.sharedSecret, value: pulumi.secret(args.sharedSecret) },
      ];
      // During a rotation the function accepts the key being replaced too, so no signed run is refused
      // while Vault's key and the function's change; dropping the config key removes the secret.
      if (args.previousSigningKey) secrets.push({ name: names.previousSigningKey, value: pulumi.secret(args.previousSigningKey) });
      return new EdgeFunctionSecrets(`${name}-function-secrets`, { projectRef: args.management.projectRef, secrets }, { parent });
    }

    // verifyJwt false: pg_net's requests carry a signature, not a JWT (supabase/config.toml says the same).
    function deployFunction() {
      return new EdgeFunction(
        `${name}-function`,
        {
          projectRef: args.management.projectRef,
          slug: reminderFunction.slug,
          name: reminderFunction.slug,
          entrypoint: reminderFunction.entrypoint,
          importMap: reminderFunction.importMap,
          verifyJwt: false,
        },
        { parent, dependsOn: [functionSecrets] },
      );
    }

    // As on Supabase, `postgres` is not a superuser: the provider must not try what only a superuser may.
    // Through the pooler the login name is postgres.<ref>, but the session's role is postgres: the provider
    // names roles in SQL (REASSIGN OWNED BY cron_runner TO <databaseUsername> when it drops the role), so it
    // must be given the real one.
    function createDatabaseProvider() {
      return new postgresql.Provider(
        `${name}-postgres`,
        {
          host: db.host,
          port: db.port,
          database: db.database,
          username: db.user,
          databaseUsername: db.role,
          password: args.dbPassword,
          sslmode: db.sslMode,
          ...(db.sslRootCert === undefined ? {} : { sslrootcert: certPathForState(db.sslRootCert) }),
          superuser: false,
        },
        { parent, dependsOn: afterFunction },
      );
    }

    // Kept on destroy: dropping pg_cron would drop every job in the database, not only ours.
    function createExtensions() {
      if (!args.manageExtensions) return [];
      return managedExtensions.map(
        (extension) =>
          new postgresql.Extension(
            `${name}-${extension.name.replace(/_/g, "-")}`,
            { name: extension.name, schema: extension.schema, database: db.database },
            { parent, provider, retainOnDelete: true, dependsOn: afterFunction },
          ),
      );
    }

    // LOGIN because pg_cron starts jobs as a login role; no password, so nobody signs in as it. Where the
    // migration already created it (supabase db push before the first up), adoptRole imports it instead.
    function createRole() {
      return new postgresql.Role(
        `${name}-${cronRunnerRole.replace(/_/g, "-")}`,
        cronRunnerRoleArgs,
        { parent, provider, dependsOn: afterFunction, ...(args.adoptRole ? { import: cronRunnerRole } : {}) },
      );
    }

    // postgres acts as cron_runner to schedule, alter and remove its jobs; the migration grants that on
    // every apply, and no Pulumi resource models it. A postgresql.GrantRole cannot: on PostgreSQL 16+
    // pg_auth_members holds two rows for (postgres, cron_runner) and the provider reads either, so the
    // stack never converged, and its delete (on any replace or removal) revokes the membership.
    // Releases before this one registered it. Declared once more, retained, unprotected and ignoring the
    // admin option it misreads, so this `up` records in state that deleting it must revoke nothing;
    // the next release removes the declaration (docs/pulumi.md, "The cron_runner membership").
    function retireMembership() {
      return new postgresql.GrantRole(
        `${name}-${cronRunnerRole.replace(/_/g, "-")}-member`,
        { role: db.role, grantRole: role.name },
        { parent, provider, retainOnDelete: true, protect: false, ignoreChanges: ["withAdminOption"] },
      );
    }

    function createVaultSecrets(): Record<keyof typeof vaultSecrets, VaultSecret> {
      const secret = (key: keyof typeof vaultSecrets, value: pulumi.Input<string>, description: string) =>
        new VaultSecret(`${name}-vault-${vaultSecrets[key].replace(/_/g, "-")}`, { name: vaultSecrets[key], value, description }, { parent, dependsOn: afterFunction });
      return {
        functionUrl: secret("functionUrl", args.functionUrl, "The ReminderSchedulerService URL the reminder job calls (managed by Pulumi)."),
        // Replaces reminder_service_role_key of earlier releases, which pulumi up now deletes (rotate that key).
        signingKey: secret("signingKey", pulumi.secret(args.signingKey), "The key the reminder job signs each request with; the function holds the same (managed by Pulumi)."),
        cronExpression: secret("cronExpression", args.cronExpression, "The reminder job's schedule, UTC; the migration reads it (managed by Pulumi)."),
      };
    }

    // Written even when the config leaves them at their defaults: what Vault holds is then what the stack
    // says, and a value set by hand (set_reminder_cron_retries) shows as drift on refresh, not as a surprise.
    function createVaultSettings(): Record<keyof typeof vaultSettings, VaultSecret> {
      const setting = (key: keyof typeof vaultSettings, value: string, description: string) =>
        new VaultSecret(`${name}-vault-${vaultSettings[key].replace(/_/g, "-")}`, { name: vaultSettings[key], value, description }, { parent, dependsOn: afterFunction });
      return {
        retries: setting("retries", String(args.retry.retries), "Retries of a failed reminder run after its first attempt, 0 to 10 (managed by Pulumi)."),
        retryBackoff: setting("retryBackoff", args.retry.backoff, "The wait before the first retry, doubling for each one after (managed by Pulumi)."),
        retryDeadline: setting("retryDeadline", args.retry.deadline, "No retry of a run later than this after its occurrence (managed by Pulumi)."),
      };
    }

    // One psql run per migration, in order, again whenever a file's content changes. The SQL goes in on
    // stdin so no machine-specific path lands in state; the password only in the (secret) environment.
    // Only the content hash is a trigger (a trigger change replaces the Command, so `create` applies the
    // file again); a new host, password or certificate path is an update, and `update` applies nothing.
    function applyMigrations(): command.local.Command[] {
      const environment: Record<string, pulumi.Input<string>> = {
        PGHOST: db.host,
        PGPORT: String(db.port),
        PGDATABASE: db.database,
        PGUSER: db.user,
        PGSSLMODE: db.sslMode,
        PGAPPNAME: "reminder-cron-pulumi",
        PGCONNECT_TIMEOUT: "15",
      };
      if (db.sslRootCert !== undefined) environment.PGSSLROOTCERT = certPathForState(db.sslRootCert);
      if (args.dbPassword) environment.PGPASSWORD = pulumi.secret(args.dbPassword);
      const applied: command.local.Command[] = [];
      for (const migration of migrations) {
        const sql = committedMigration(migration);
        applied.push(
          new command.local.Command(
            `${name}-migration-${migration.version}`,
            {
              create: applyMigrationCommand,
              update: connectionChangedCommand,
              stdin: sql,
              environment,
              triggers: [createHash("sha256").update(sql).digest("hex")],
            },
            // Vault first: the migration schedules the job at the reminder_cron_expression it finds there,
            // and the retry settings are in place before the catch-up job that reads them is registered.
            // Never protected: a changed file is applied by replacing the Command, which the engine refuses
            // for a resource protected in state and program; its delete runs nothing, so protect guards nothing.
            { parent, dependsOn: [role, ...extensions, ...Object.values(secrets), ...Object.values(settings), ...applied], protect: false },
          ),
        );
      }
      return applied;
    }

    // One Grant per entry of the privilege matrix the migrations render, so the two cannot drift. A new
    // `objects` replaces a Grant; created first, the new GRANT would be undone by the old one's REVOKE of
    // the same privilege, so the old one goes first.
    function createGrants(): postgresql.Grant[] {
      return matrix.map(
        (grant) =>
          new postgresql.Grant(grantResourceName(name, grant), grantArgs(grant, db.database), { parent, provider, dependsOn: [role, ...applied], deleteBeforeReplace: true }),
      );
    }

    // Every job the migrations register, as the migrations register it, so refresh sees each one drift.
    function createJobs(): [CronJob, CronJob, CronJob, CronJob] {
      const dependsOn = [...applied, ...privileges];
      const job = (suffix: string, jobName: string, schedule: string, sql: string, active = true) =>
        new CronJob(`${name}-${suffix}`, { jobName, schedule, command: sql, username: cronRunnerRole, active }, { parent, dependsOn });
      return [
        job("job", args.jobName, args.cronExpression, dispatchCommand(args.jobName), args.jobActive),
        job("reconcile-job", reconcileJobName, reconcileSchedule, reconcileCommand),
        job("catch-up-job", catchUpJobName, catchUpSchedule, catchUpCommand(args.jobName)),
        job("retention-job", retentionJobName, retentionSchedule, pruneCommand),
      ];
    }
  }
}

/** cron_runner as the program declares it; the rest of postgresql.Role's arguments keep their defaults. */
export const cronRunnerRoleArgs = { name: cronRunnerRole, login: true, inherit: false } satisfies postgresql.RoleArgs;

/** psql applying the migration on stdin, all or nothing. */
export const applyMigrationCommand = "psql --no-psqlrc --set ON_ERROR_STOP=1 --single-transaction --quiet --file -";

/** What a Command runs when only its connection changed (rotation, pooler vs direct host): nothing, said why. */
export const connectionChangedCommand = ": connection details changed, the migration did not, so it is not applied again";

/** The committed migration file, refused when it differs from what infra/sql renders now. */
export function committedMigration(migration: (typeof migrations)[number]): string {
  const file = migrationFileName(migration);
  const sql = readFileSync(join(migrationsDir, file), "utf8");
  if (sql !== renderMigrationFile(migration)) {
    throw new Error(`supabase/migrations/${file} differs from what infra/sql renders. Fix: npm run migration:generate, review and commit the file, then run pulumi again.`);
  }
  return sql;
}

/** A stable, readable resource name per privilege-matrix entry. */
export function grantResourceName(component: string, grant: Grant): string {
  const object = grant.kind === "table" ? grant.table : grant.kind === "function" ? grant.function : "schema";
  return `${component}-grant-${grant.role}-${grant.schema}-${object}`.replace(/_/g, "-");
}

/** The postgresql.Grant arguments of one privilege-matrix entry. */
export function grantArgs(grant: Grant, database: string): postgresql.GrantArgs {
  switch (grant.kind) {
    case "table":
      return { database, role: grant.role, schema: grant.schema, objectType: "table", objects: [grant.table], privileges: grant.privileges };
    case "function":
      // By bare name: the provider's read lists pg_proc by proname and keeps the rows whose name is in
      // `objects`, so `name(types)` would match nothing and a revoked EXECUTE would never show on refresh.
      // A bare name is exact only while the name has one overload; tests/integration/grant-drift.test.ts
      // checks each of ours has.
      return { database, role: grant.role, schema: grant.schema, objectType: "function", objects: [grant.function], privileges: ["EXECUTE"] };
    case "schema":
      return { database, role: grant.role, schema: grant.schema, objectType: "schema", privileges: grant.privileges };
  }
}
