/**
 * A pg_cron job as a Pulumi resource, so `pulumi preview` shows the exact change to a job (and nothing
 * when nothing changed) and `pulumi refresh` sees a job edited or removed outside Pulumi.
 *
 * pg_cron semantics this mirrors (pg_cron 1.4 to 1.6):
 * - a job belongs to the role that schedules it, and a non-superuser schedules as another role only by
 *   acting as it, so every change runs as the job's `username`;
 * - `cron.schedule(name, …)` upserts on (name, owner) and keeps the job id: creating adopts an existing
 *   job of ours instead of duplicating it;
 * - only a superuser may change a job's owner with `cron.alter_job`, so a new `username` moves the job
 *   (unschedule as the old owner, schedule as the new) inside one transaction;
 * - the resource id is the job name: the name identifies the job, and a new name is a new job.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Client } from "pg";
import { actingAs, ConfigSource, DbConnection, connectionFromConfig, identifierPattern, inTransaction, providerCodeChanged, unknownValue } from "./db";
import { normalizeSchedule, parseSchedule } from "./pg-cron-schedule";

/** What the provider receives: every field known and plain. */
interface Inputs {
  /** The pg_cron job name (cron.job.jobname). */
  jobName: string;
  /** A schedule pg_cron accepts, in UTC. */
  schedule: string;
  /** The SQL the job runs. */
  command: string;
  /** The role the job runs as, and owns it. Needs LOGIN; the connecting user must be a member of it. */
  username: string;
  /** false pauses the job without removing it. */
  active: boolean;
}

/** What the provider returns: the inputs as the database holds them, plus what pg_cron assigned. */
interface Outputs extends Inputs {
  /** cron.job.jobid: stable across schedule, command and active changes. */
  jobId: number;
  /** The database the job runs in. */
  database: string;
}

export type CronJobProviderInputs = Inputs;
export type CronJobProviderOutputs = Outputs;

export interface CronJobInputs {
  jobName: pulumi.Input<Inputs["jobName"]>;
  schedule: pulumi.Input<Inputs["schedule"]>;
  command: pulumi.Input<Inputs["command"]>;
  username: pulumi.Input<Inputs["username"]>;
  /** Default true. */
  active?: pulumi.Input<Inputs["active"]>;
}

export interface CronJob {
  readonly jobName: pulumi.Output<Outputs["jobName"]>;
  readonly schedule: pulumi.Output<Outputs["schedule"]>;
  readonly command: pulumi.Output<Outputs["command"]>;
  readonly username: pulumi.Output<Outputs["username"]>;
  readonly active: pulumi.Output<Outputs["active"]>;
  readonly jobId: pulumi.Output<Outputs["jobId"]>;
  readonly database: pulumi.Output<Outputs["database"]>;
}

/** Job names as our names.ts spells them: lower case, digits, '-' and '_', at most 63 characters. */
export const jobNamePattern = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The fields a change of which `update` applies in place; a new jobName replaces the job. */
export const inPlaceFields = ["schedule", "command", "username", "active"] as const;

interface JobRow {
  jobid: string;
  jobname: string;
  schedule: string;
  command: string;
  username: string;
  active: boolean;
  database: string;
}

const jobColumns = "jobid, jobname, schedule, command, username, active, database";

/** Every job of that name, of any owner (Supabase's `postgres` bypasses row security on cron.job). */
async function jobsNamed(client: Client, jobName: string): Promise<JobRow[]> {
  const { rows } = await client.query<JobRow>(`select ${jobColumns} from cron.job where jobname = $1 order by jobid`, [jobName]);
  return rows;
}

async function findJob(client: Client, jobName: string, username: string): Promise<JobRow | undefined> {
  return (await jobsNamed(client, jobName)).find((row) => row.username === username);
}

function outputsOf(row: JobRow): Outputs {
  return {
    jobName: row.jobname,
    schedule: row.schedule,
    command: row.command,
    username: row.username,
    active: row.active,
    jobId: Number(row.jobid),
    database: row.database,
  };
}

/** The fields that differ between what is (state or database) and what is wanted; pure, for diff and tests. */
export function changedFields(current: Inputs, wanted: Inputs): (keyof Inputs)[] {
  const fields: (keyof Inputs)[] = ["jobName", ...inPlaceFields];
  return fields.filter((field) => current[field] !== wanted[field]);
}

/** Refuses a schedule this database's pg_cron would refuse, with pg_cron's version in the message. */
async function checkScheduleAgainstDatabase(client: Client, inputs: Inputs): Promise<void> {
  const { rows } = await client.query<{ extversion: string }>("select extversion from pg_extension where extname = 'pg_cron'");
  if (!rows[0]) throw new Error("pg_cron is not installed in this database: create extension pg_cron (Supabase: Database > Extensions), then pulumi up again.");
  const result = parseSchedule(inputs.schedule, rows[0].extversion);
  if ("problem" in result) {
    throw new Error(`CronJob ${inputs.jobName}: schedule '${inputs.schedule}' is refused by this database's pg_cron ${rows[0].extversion}: ${result.problem}.`);
  }
}

/** Unschedules a job as its owner (pg_cron lets only the owner or a superuser remove it). */
async function unscheduleAs(client: Client, row: JobRow): Promise<void> {
  await actingAs(client, row.username, () => client.query("select cron.unschedule($1::bigint)", [row.jobid]));
}

/**
 * A same-named job of another owner would run beside ours. One of the connecting user's own (say, made in
 * the dashboard) is removed; any other is refused, as the migration does, naming the fix.
 */
async function clearOtherOwners(client: Client, inputs: Inputs): Promise<void> {
  const { rows } = await client.query<{ me: string }>("select current_user as me");
  for (const other of (await jobsNamed(client, inputs.jobName)).filter((row) => row.username !== inputs.username)) {
    if (other.username === rows[0].me) {
      await unscheduleAs(client, other);
      continue;
    }
    throw new Error(
      `pg_cron job ${inputs.jobName} (id ${other.jobid}) already exists for role ${other.username}, and would run beside ours as ${inputs.username}. ` +
        `Fix: as ${other.username} or a superuser run select cron.unschedule(${other.jobid}); then pulumi up again.`,
    );
  }
}

/** Schedules the job as its owner (adopting one that exists) and sets `active`; returns the row. */
async function scheduleJob(client: Client, inputs: Inputs): Promise<JobRow> {
  await checkScheduleAgainstDatabase(client, inputs);
  await clearOtherOwners(client, inputs);
  await actingAs(client, inputs.username, () =>
    client.query("select cron.schedule($1, $2, $3)", [inputs.jobName, inputs.schedule, inputs.command]),
  );
  let row = (await findJob(client, inputs.jobName, inputs.username))!;
  // cron.schedule's upsert keeps an adopted job's `active`; set it to what is wanted.
  if (row.active !== inputs.active) {
    await actingAs(client, inputs.username, () => client.query("select cron.alter_job($1::bigint, active := $2)", [row.jobid, inputs.active]));
    row = (await findJob(client, inputs.jobName, inputs.username))!;
  }
  return row;
}

/**
 * Exported for the tests that drive it directly; programs use the CronJob resource. It holds no state
 * but the connection that `configure` reads in the provider process.
 */
export const cronJobProvider = {
  connection: undefined as DbConnection | undefined,

  async configure(request: { config: ConfigSource }): Promise<void> {
    this.connection = connectionFromConfig(request.config);
  },

  async check(_olds: Partial<Inputs>, news: Inputs): Promise<{ inputs: Inputs; failures: pulumi.dynamic.CheckFailure[] }> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const known = (value: unknown) => value !== unknownValue;
    const inputs: Inputs = { ...news, active: news.active ?? true };
    if (known(news.jobName) && !(typeof news.jobName === "string" && jobNamePattern.test(news.jobName))) {
      failures.push({ property: "jobName", reason: `'${news.jobName}' is not a job name: use lower-case letters, digits, '-' and '_', at most 63 characters` });
    }
    if (known(news.schedule)) {
      // The most any supported pg_cron accepts; create and update check the database's own version.
      const result = typeof news.schedule === "string" ? parseSchedule(news.schedule, "1.6") : { problem: "it is not a string" };
      if ("problem" in result) failures.push({ property: "schedule", reason: `'${news.schedule}' is not a pg_cron schedule: ${result.problem}` });
      else inputs.schedule = normalizeSchedule(news.schedule);
    }
    if (known(news.command) && !(typeof news.command === "string" && news.command.trim() !== "")) {
      failures.push({ property: "command", reason: "the job needs a SQL command to run" });
    }
    if (known(news.username) && !(typeof news.username === "string" && identifierPattern.test(news.username))) {
      failures.push({ property: "username", reason: `'${news.username}' is not a role name (lower-case letters, digits and '_')` });
    }
    if (known(inputs.active) && typeof inputs.active !== "boolean") {
      failures.push({ property: "active", reason: `'${inputs.active}' is not true or false` });
    }
    return { inputs, failures };
  },

  // No database access here: preview runs diff, and it must change nothing and need no connection.
  async diff(_id: string, olds: Inputs, news: Inputs): Promise<pulumi.dynamic.DiffResult> {
    const changed = changedFields(olds, news);
    if (changed.includes("jobName")) return { changes: true, replaces: ["jobName"], deleteBeforeReplace: true };
    return { changes: changed.length > 0 || providerCodeChanged(olds, news) };
  },

  async create(inputs: Inputs): Promise<{ id: string; outs: Outputs }> {
    return inTransaction(this.connection, async (client) => {
      const row = await scheduleJob(client, inputs);
      return { id: inputs.jobName, outs: outputsOf(row) };
    });
  },

  async read(id: string, props?: Outputs): Promise<{ id: string; props?: Outputs; inputs?: Inputs }> {
    return inTransaction(this.connection, async (client) => {
      // Only the owner state knows: a same-named job of another role is not ours, and adopting it would
      // let destroy unschedule someone else's job. Without an owner (an import) nothing is adopted.
      const row = props?.username ? await findJob(client, id, props.username) : undefined;
      // A blank id tells the engine the job is gone, and refresh drops it from state.
      if (!row) return { id: "" };
      // The live row is also the inputs: the engine shows a preview's property changes by comparing the
      // inputs in state with the program's, so a job edited outside Pulumi shows as `schedule: 'a' => 'b'`
      // rather than an update with no property lines.
      const live = outputsOf(row);
      const { jobId: _jobId, database: _database, ...inputs } = live;
      return { id, props: live, inputs };
    });
  },

  async update(id: string, olds: Outputs, news: Inputs): Promise<{ outs: Outputs }> {
    return inTransaction(this.connection, async (client) => {
      const current = await findJob(client, id, olds.username);
      if (!current || olds.username !== news.username) {
        // Gone outside Pulumi, or a new owner (which only a superuser could set in place): schedule it
        // as wanted, removing the old owner's job in the same transaction.
        if (current) await unscheduleAs(client, current);
        return { outs: outputsOf(await scheduleJob(client, news)) };
      }
      await checkScheduleAgainstDatabase(client, news);
      // Change what differs from the database, not from state: a refresh may not have run.
      const live = outputsOf(current);
      const alter = (field: "schedule" | "command" | "active") => (live[field] !== news[field] ? news[field] : null);
      if (alter("schedule") !== null || alter("command") !== null || alter("active") !== null) {
        await actingAs(client, news.username, () =>
          client.query("select cron.alter_job($1::bigint, schedule := $2, command := $3, active := $4)", [
            current.jobid,
            alter("schedule"),
            alter("command"),
            alter("active"),
          ]),
        );
      }
      return { outs: outputsOf((await findJob(client, id, news.username))!) };
    });
  },

  async delete(id: string, props: Outputs): Promise<void> {
    await inTransaction(this.connection, async (client) => {
      const row = await findJob(client, id, props.username);
      // Already removed (by the runbook, say): the wanted end state holds.
      if (row) await unscheduleAs(client, row);
    });
  },
} satisfies Omit<pulumi.dynamic.ResourceProvider<Inputs, Outputs>, "read"> & {
  // The SDK types ReadResult.inputs as Outputs; the host passes whatever it gets to the engine as inputs.
  read(id: string, props?: Outputs): Promise<{ id?: string; props?: Outputs; inputs?: Inputs }>;
  connection: DbConnection | undefined;
};

/**
 * A pg_cron job, created by adoption (a job of the same name and owner is kept, with its id) and changed
 * in place with cron.alter_job.
 *
 * @example
 * new CronJob("daily-reminder-eval", {
 *   jobName: "daily-reminder-eval",
 *   schedule: "0 6 * * *",
 *   command: "select public.dispatch_reminder_run('daily-reminder-eval')",
 *   username: "cron_runner",
 * });
 */
export class CronJob extends pulumi.dynamic.Resource {
  constructor(name: string, args: CronJobInputs, opts?: pulumi.CustomResourceOptions) {
    super(cronJobProvider, name, { ...args, jobId: undefined, database: undefined }, opts, "reminder-cron", "CronJob");
  }
}
