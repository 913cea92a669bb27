/**
 * `reminder-cron <command>`: the on-call tool for the daily reminder trigger. Parses the command line,
 * runs one command against DATABASE_URL (else the local stack), prints its text or --json, and exits with
 * a code from exit-codes.ts. A failure is one line on stderr that says what to do.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Action, commandHelp, Invocation, parseArgs, usage } from "./args";
import { databaseUrl, withDatabase } from "./database";
import { exitCodes, ExitCode, isCliError } from "./exit-codes";
import { Outcome, Progress } from "./output";
import { rescheduleRefusal, setActive, reschedule } from "./commands/control";
import { defaultSince, logs } from "./commands/logs";
import { runNow } from "./commands/run-now";
import { status } from "./commands/status";
import { verify, verifyOptions } from "./commands/verify";
import { parseSince } from "./since";

/** package.json's version: the one place it is kept. */
const version: string = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")).version;

async function execute(invocation: Invocation & { command: Action }, progress: Progress): Promise<Outcome> {
  const { command, job } = invocation;
  // All input is checked before connecting or sending anything, so bad input exits 2 even with the
  // database or the network down (docs/operations.md, "Exit codes"): --since, verify's options, the schedule.
  const since = command === "logs" ? parseSince(invocation.since ?? defaultSince) : undefined;
  // verify talks to Supabase's Management API, not to a database connection.
  if (command === "verify") return verify(verifyOptions(invocation, process.env));
  const early = command === "reschedule" ? rescheduleRefusal(job, invocation.expression!) : undefined;
  if (early?.final) throw early.refusal;
  const url = databaseUrl();
  const run = () =>
    withDatabase(async (client) => {
      switch (command) {
        case "status":
          return status(client, job);
        case "pause":
          return setActive(client, job, false);
        case "resume":
          return setActive(client, job, true);
        case "run-now":
          return runNow(client, job, progress, invocation.evenIfPaused);
        case "reschedule":
          return reschedule(client, job, invocation.expression!);
        case "logs":
          return logs(client, job, since!);
      }
    }, url);
  try {
    return await run();
  } catch (error) {
    // A schedule every pg_cron refuses, though each words why differently: the database would have said
    // which wording is its own; unreachable, it is still bad input, not an outage.
    if (early && isCliError(error) && error.exitCode === exitCodes.unavailable) throw early.refusal;
    throw error;
  }
}

export interface Writer {
  write(text: string): unknown;
}

/** Runs the CLI for `argv` and returns its exit code; writes only through `out` and `err`. */
export async function main(argv: string[], out: Writer = process.stdout, err: Writer = process.stderr): Promise<ExitCode> {
  const json = argv.includes("--json");
  try {
    const invocation = parseArgs(argv);
    if (invocation.command === "help") {
      out.write(`${invocation.topic ? commandHelp[invocation.topic] : usage}\n`);
      return exitCodes.ok;
    }
    if (invocation.command === "version") {
      out.write(`reminder-cron ${version}\n`);
      return exitCodes.ok;
    }
    // Progress is for a person; with --json a script reads stdout and wants stderr quiet too.
    const progress = invocation.json ? () => undefined : (line: string) => err.write(`reminder-cron: ${line}\n`);
    const outcome = await execute({ ...invocation, command: invocation.command }, progress);
    out.write(json ? `${JSON.stringify(outcome.json, null, 2)}\n` : `${outcome.text}\n`);
    return outcome.exitCode;
  } catch (error) {
    const exitCode = isCliError(error) ? error.exitCode : exitCodes.unavailable;
    const message = isCliError(error) ? error.message : `${(error as Error).message} (${(error as { code?: string }).code ?? "unexpected error"})`;
    err.write(`reminder-cron: ${message}\n`);
    if (json) out.write(`${JSON.stringify({ error: message, exitCode }, null, 2)}\n`);
    return exitCode;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
