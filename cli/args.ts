/**
 * The command line of `reminder-cron`: one command, its argument, and the options it takes. Anything else is
 * refused before the database is touched, with the usage that fixes it.
 */
import { defaultJobName } from "../infra/sql/names";
import { cliError, exitCodes } from "./exit-codes";

export type Command = "status" | "pause" | "resume" | "run-now" | "reschedule" | "logs" | "verify" | "help" | "version";
/** The commands that do something, as opposed to printing the CLI's own help or version. */
export type Action = Exclude<Command, "help" | "version">;

export interface Invocation {
  command: Command;
  json: boolean;
  job: string;
  /** reschedule: the new cron expression. */
  expression?: string;
  /** logs: the raw --since value, parsed by since.ts. */
  since?: string;
  /** verify: the project (else SUPABASE_PROJECT_REF) and the daily job's expected schedule. */
  projectRef?: string;
  schedule?: string;
  /** run-now: send a run although the job is paused (pause promises nothing runs until resume). */
  evenIfPaused?: boolean;
  /** help: the command whose help to print; none for the overview. */
  topic?: Action;
}

export const usage = `usage: reminder-cron <command> [--json] [--job <name>]

commands
  status                 the job, its schedule, next run, retries, last runs, the week and alerts (exit 1 on an alert)
  pause                  stop the job's runs; it keeps its schedule
  resume                 start its runs again
  run-now                run it once now, as the runbook does, and wait for the outcome (exit 1 if it failed);
                         a paused job only with --even-if-paused
  reschedule '<expr>'    a new five-field schedule in UTC, e.g. '30 5 * * *'; Vault's copy follows
  logs [--since <when>]  the execution log since a duration ago (30m, 24h, 7d) or a UTC timestamp; default 24h
  verify [--project-ref <ref>] [--schedule '<expr>']
                         check a deployed project through Supabase's Management API: jobs, schedule, owner,
                         Vault secrets (names only), last outcome, privileges (exit 1 naming each difference)

options
  --json                 machine-readable output on stdout
  --job <name>           another job than ${defaultJobName}
  --help                 this help; <command> --help for one command's
  --version              the version of reminder-cron

exit codes: 0 ok, 1 alert, failed run or drift, 2 bad input (nothing changed), 3 database, API or job unavailable
database: DATABASE_URL, else the running local stack (npm run db:start)
verify: SUPABASE_ACCESS_TOKEN and SUPABASE_PROJECT_REF (or --project-ref); SUPABASE_API_URL overrides the API`;

const database = "database: DATABASE_URL, else the running local stack (npm run db:start)";
const jobOption = `  --job <name>   another job of cron_runner than ${defaultJobName}`;
const jsonOption = "  --json         one JSON document on stdout; on a failure {\"error\", \"exitCode\"}";

/** What `<command> --help` prints: what the command does, its options, and its exit codes. */
export const commandHelp: Record<Action, string> = {
  status: `usage: reminder-cron status [--job <name>] [--json]

The job (active or PAUSED), its schedule in words, its next run, where its latest occurrence stands (retrying,
retries exhausted, caught up, ...), the last runs with outcome, attempt, HTTP status and duration, the last
7 days a line each, the success rate of the last 7 days, the companion jobs, the settings, and the alerts.

${jobOption}
${jsonOption}

exit codes: 0 healthy, 1 an alert holds (each ALERT line says what to check), 2 bad input,
3 no database, or the job is not registered
${database}`,
  pause: `usage: reminder-cron pause [--job <name>] [--json]

The runbook's emergency pause: the job keeps its schedule and runs nothing, catch-ups included, until
reminder-cron resume (run-now too refuses it unless given --even-if-paused). Pausing a paused job changes nothing.

${jobOption}
${jsonOption}

exit codes: 0 paused (or already), 2 bad input, 3 no database, or the job is not registered
${database}`,
  resume: `usage: reminder-cron resume [--job <name>] [--json]

The runbook's resume: the job runs again at its schedule. Resuming an active job changes nothing.

${jobOption}
${jsonOption}

exit codes: 0 active (or already), 2 bad input, 3 no database, or the job is not registered
${database}`,
  "run-now": `usage: reminder-cron run-now [--job <name>] [--even-if-paused] [--json]

The runbook's "Run now": one dispatch, exactly as the job makes it, then one reconcile pass, which waits for
the reminder function's answer (at most its 5 s timeout); prints the outcome.

  --even-if-paused  send the run although the job is paused (without it a paused job is refused)
${jobOption}
${jsonOption}

exit codes: 0 the run succeeded (or is still awaiting its answer, or running after a 202), 1 it failed or
was skipped, 2 bad input or a paused job without --even-if-paused (nothing sent), 3 no database, or the job
is not registered
${database}`,
  reschedule: `usage: reminder-cron reschedule '<expr>' [--json]

A new five-field schedule for ${defaultJobName}, in UTC, e.g. '30 5 * * *'. Refused, with the reason and the
fix, when pg_cron would refuse it, run it differently from what it says, or never run it. Then, in one
transaction, Vault's reminder_cron_expression (so a redeploy keeps it) and the job.

${jsonOption}

exit codes: 0 rescheduled, 2 a schedule refused or another job than ${defaultJobName} (nothing changed),
3 no database, or the job is not registered
${database}`,
  logs: `usage: reminder-cron logs [--since <when>] [--job <name>] [--json]

The execution log since <when>, newest first, with whole error messages, and any run pg_cron itself recorded
as failed for cron_runner's jobs.

  --since <when>  a duration back from now (90s, 30m, 24h, 7d, 2w, 1h30m) or a timestamp (2026-11-28,
                  2026-11-28T06:00, with Z or an offset; without one it is UTC); default 24h
${jobOption}
${jsonOption}

exit codes: 0 listed, 2 a bad --since, 3 no database
${database}`,
  verify: `usage: reminder-cron verify [--project-ref <ref>] [--schedule '<expr>'] [--json]

Checks a deployed Supabase project through the Management API, without a database password: the four jobs
(owner, active, schedule, command), cron_runner's attributes, the Vault secrets (names only), the daily job's
last outcome and the privilege matrix. Each difference is one DRIFT line.

  --project-ref <ref>   the project, else SUPABASE_PROJECT_REF: the 20 letters of https://<ref>.supabase.co
  --schedule '<expr>'   the daily job's expected schedule; default 0 6 * * *
${jsonOption}

exit codes: 0 all holds, 1 drift, 2 bad input (no or refused token, a malformed or unknown ref, a bad
--schedule; nothing was sent for a malformed one), 3 the API cannot be reached or fails
needs SUPABASE_ACCESS_TOKEN (a personal access token); SUPABASE_API_URL overrides the API`,
};

const actions = Object.keys(commandHelp) as Action[];
const commands: Command[] = [...actions, "help", "version"];

const usageError = (message: string) => cliError(exitCodes.usage, `${message}. Run reminder-cron --help for the usage.`);

export function parseArgs(argv: string[]): Invocation {
  const positional: string[] = [];
  const invocation: Partial<Invocation> & { json: boolean; job: string } = { json: false, job: defaultJobName };
  let helpWanted = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw usageError(`${arg} needs a value`);
      i++;
      return next;
    };
    if (arg === "--json") invocation.json = true;
    else if (arg === "--help" || arg === "-h") helpWanted = true;
    else if (arg === "--version" || arg === "-V") positional.unshift("version");
    else if (arg === "--even-if-paused") invocation.evenIfPaused = true;
    else if (arg === "--job") invocation.job = value();
    else if (arg === "--since") invocation.since = value();
    else if (arg.startsWith("--since=")) invocation.since = arg.slice("--since=".length);
    else if (arg.startsWith("--job=")) invocation.job = arg.slice("--job=".length);
    else if (arg === "--project-ref") invocation.projectRef = value();
    else if (arg.startsWith("--project-ref=")) invocation.projectRef = arg.slice("--project-ref=".length);
    else if (arg === "--schedule") invocation.schedule = value();
    else if (arg.startsWith("--schedule=")) invocation.schedule = arg.slice("--schedule=".length);
    else if (arg.startsWith("-") && !/^-\d/.test(arg)) throw usageError(`unknown option ${JSON.stringify(arg)}`);
    else positional.push(arg);
  }

  const [name, ...rest] = positional;
  const known = actions.join(", ");
  if (name === undefined) {
    if (helpWanted) return { ...invocation, command: "help" };
    throw usageError(`no command given: use one of ${known}`);
  }
  if (!commands.includes(name as Command)) throw usageError(`unknown command ${JSON.stringify(name)}: use one of ${known}`);
  if (name === "version") return { ...invocation, command: "version" };
  // `status --help` and `help status` alike: the help of that command, whatever else the line holds.
  if (helpWanted || name === "help") {
    const topic = name === "help" ? rest[0] : name;
    if (topic === undefined) return { ...invocation, command: "help" };
    if (!actions.includes(topic as Action)) throw usageError(`no help for ${JSON.stringify(topic)}: it is not a command; use one of ${known}`);
    return { ...invocation, command: "help", topic: topic as Action };
  }
  const command = name as Action;
  if (invocation.since !== undefined && command !== "logs") throw usageError(`--since belongs to logs, not ${command}`);
  for (const [option, given] of [["--project-ref", invocation.projectRef], ["--schedule", invocation.schedule]] as const) {
    if (given !== undefined && command !== "verify") throw usageError(`${option} belongs to verify, not ${command}`);
  }
  if (invocation.evenIfPaused && command !== "run-now") throw usageError(`--even-if-paused belongs to run-now, not ${command}`);
  if (command === "reschedule") {
    // An unquoted expression arrives as five arguments; joining them is what the operator meant.
    const expression = rest.join(" ").trim();
    if (expression === "") throw usageError("reschedule needs a cron expression in UTC, quoted, e.g. reminder-cron reschedule '30 5 * * *'");
    return { ...invocation, command, expression };
  }
  if (rest.length > 0) throw usageError(`${command} takes no argument, and got ${JSON.stringify(rest.join(" "))}`);
  return { ...invocation, command };
}
