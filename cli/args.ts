/**
 * The command line of `reminder-cron`: one command, its argument, and the options it takes. Anything else is
 * refused before the database is touched, with the usage that fixes it.
 */
import { defaultJobName } from "../infra/sql/names";
import { cliError, exitCodes } from "./exit-codes";

export type Command = "status" | "pause" | "resume" | "run-now" | "reschedule" | "logs" | "verify" | "help";

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
}

export const usage = `usage: reminder-cron <command> [--json] [--job <name>]

commands
  status                 the job, its schedule, next run, last runs, success rate and alerts (exit 1 on an alert)
  pause                  stop the job's runs; it keeps its schedule
  resume                 start its runs again
  run-now                run it once now, as the runbook does, and wait for the outcome (exit 1 if it failed)
  reschedule '<expr>'    a new five-field schedule in UTC, e.g. '30 5 * * *'; Vault's copy follows
  logs [--since <when>]  the execution log since a duration ago (30m, 24h, 7d) or a UTC timestamp; default 24h
  verify [--project-ref <ref>] [--schedule '<expr>']
                         check a deployed project through Supabase's Management API: jobs, schedule, owner,
                         Vault secrets (names only), last outcome, privileges (exit 1 naming each difference)

options
  --json                 machine-readable output on stdout
  --job <name>           another job than ${defaultJobName}

exit codes: 0 ok, 1 alert, failed run or drift, 2 bad input (nothing changed), 3 database, API or job unavailable
database: DATABASE_URL, else the running local stack (npm run db:start)
verify: SUPABASE_ACCESS_TOKEN and SUPABASE_PROJECT_REF (or --project-ref); SUPABASE_API_URL overrides the API`;

const commands: Command[] = ["status", "pause", "resume", "run-now", "reschedule", "logs", "verify", "help"];

const usageError = (message: string) => cliError(exitCodes.usage, `${message}. Run reminder-cron --help for the usage.`);

export function parseArgs(argv: string[]): Invocation {
  const positional: string[] = [];
  const invocation: Partial<Invocation> & { json: boolean; job: string } = { json: false, job: defaultJobName };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw usageError(`${arg} needs a value`);
      i++;
      return next;
    };
    if (arg === "--json") invocation.json = true;
    else if (arg === "--help" || arg === "-h") positional.unshift("help");
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
  if (name === undefined) throw usageError("no command given: use one of status, pause, resume, run-now, reschedule, logs, verify");
  if (!commands.includes(name as Command)) {
    throw usageError(`unknown command ${JSON.stringify(name)}: use one of status, pause, resume, run-now, reschedule, logs, verify`);
  }
  const command = name as Command;
  if (command === "help") return { ...invocation, command };
  if (invocation.since !== undefined && command !== "logs") throw usageError(`--since belongs to logs, not ${command}`);
  for (const [option, given] of [["--project-ref", invocation.projectRef], ["--schedule", invocation.schedule]] as const) {
    if (given !== undefined && command !== "verify") throw usageError(`${option} belongs to verify, not ${command}`);
  }
  if (command === "reschedule") {
    // An unquoted expression arrives as five arguments; joining them is what the operator meant.
    const expression = rest.join(" ").trim();
    if (expression === "") throw usageError("reschedule needs a cron expression in UTC, quoted, e.g. reminder-cron reschedule '30 5 * * *'");
    return { ...invocation, command, expression };
  }
  if (rest.length > 0) throw usageError(`${command} takes no argument, and got ${JSON.stringify(rest.join(" "))}`);
  return { ...invocation, command };
}
