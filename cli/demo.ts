/**
 * `npm start`: the whole trigger, end to end, on a local stack, for a newcomer. It brings the stack up
 * (PostgreSQL with pg_cron, the Vault and pg_net stand-ins, the Edge Function under Deno), applies the
 * migrations, seeds the demo assignments (supabase/seed.sql), points Vault at the local function, triggers one run the way
 * the job does (dispatch, then reconcile, as cron_runner), and prints what happened: the job row, the log
 * rows, the function's run record and the notifications it created. Then it keeps the stack up for the CLI
 * until Ctrl-C, which stops what it started; it says so before it starts, since it does not return by itself.
 * If its database goes away meanwhile (npm run db:stop elsewhere, a crash), it says so in one line, stops
 * what else it started, and exits 1.
 *
 *   npm start                 as above
 *   npm start -- --once       exit after printing (what tests/integration/demo.test.ts runs)
 *
 * Exit code 0 when the run succeeded (and after Ctrl-C), 1 when it did not or its database went away,
 * 2 for an unknown option, 130 when interrupted before the run was printed.
 */
import { existsSync, readFileSync } from "node:fs";
import { Client } from "pg";
import { cronRunnerRole, defaultJobName, reconcileCommand, reconcileJobName, vaultSecrets } from "../infra/sql/names";
import { catchUpJobName, retentionJobName } from "../infra/sql/operations-names";
import { functionEndpoint } from "../stack/edge-functions";
import { seedFile } from "../stack/paths";
import { extensionsInUse, readState, StackState, startStack, stopStack } from "../stack/stack";
import { isRunningStack } from "../tests/support/stack-status";
import { humanDuration, remindersCell, runsTable, table, utc } from "./format";
import { functionRunsSince, lastRuns, runById } from "./queries";
import { ensureSecret } from "./vault";
import { byLogRun } from "./views";

const out = (line = "") => process.stdout.write(`${line}\n`);
const indent = (text: string) => text.split("\n").map((line) => `    ${line}`).join("\n");

interface Session {
  /** Set when the demo's connection ends without the demo ending it: the database stopped or crashed. */
  databaseLost?: Error;
  ownsStack: boolean;
  /** Set once the stack may have been started by us: from then on, stopping is ours to do. */
  started: boolean;
  stopRequested: boolean;
}

async function step<T>(session: Session, label: string, fn: () => Promise<T>): Promise<T> {
  process.stdout.write(`${label} ... `);
  const started = performance.now();
  let value: T;
  try {
    value = await fn();
  } catch (error) {
    out("failed");
    throw error;
  }
  out(`done (${humanDuration(performance.now() - started)})`);
  if (session.stopRequested) throw Object.assign(new Error("interrupted"), { interrupted: true });
  return value;
}

interface Seeded {
  assignments: number;
  due: number;
}

/**
 * The project's demo data, supabase/seed.sql (a fresh stack applies it already; it only inserts what is
 * missing, so applying it again changes nothing), then how many active assignments are due today.
 */
async function seed(client: Client): Promise<Seeded> {
  if (!existsSync(seedFile)) throw new Error("supabase/seed.sql is missing, so the demo has no assignments: restore it from git.");
  await client.query(readFileSync(seedFile, "utf8"));
  const { rows } = await client.query(
    "select count(*)::int as assignments, (count(*) filter (where status = 'active' and follow_up_due_on <= current_date))::int as due from public.assignments",
  );
  return rows[0];
}

/** What the job does at 06:00: the dispatch as cron_runner, then the reconcile pass that reads pg_net's answer. */
async function triggerAsTheJob(client: Client): Promise<string> {
  await client.query(`set role ${cronRunnerRole}`);
  try {
    const { rows } = await client.query("select public.dispatch_reminder_run($1) as id", [defaultJobName]);
    await client.query(reconcileCommand);
    return String(rows[0].id);
  } finally {
    await client.query("reset role");
  }
}

async function report(client: Client, runId: string): Promise<boolean> {
  const { rows: jobs } = await client.query(
    `select jobid::text, jobname, schedule, active::text, username, command from cron.job
      where username = $1 and jobname = any($2) order by jobid`,
    [cronRunnerRole, [defaultJobName, reconcileJobName, catchUpJobName, retentionJobName]],
  );
  out();
  out("The jobs (cron.job): the daily trigger and its companions, all run by cron_runner");
  out(indent(table(["id", "name", "schedule", "active", "runs as", "command"], jobs.map((j) => [j.jobid, j.jobname, j.schedule, j.active, j.username, j.command]))));

  const run = await runById(client, runId);
  if (!run) throw new Error(`Run ${runId} is missing from the execution log right after its dispatch.`);
  const functionRuns = await functionRunsSince(client, defaultJobName, new Date(new Date(run.triggered_at).getTime() - 60_000));
  const recorded = byLogRun(functionRuns).get(runId);
  const recent = await lastRuns(client, defaultJobName, 5);
  out();
  out(`The execution log (public.cron_execution_log), newest first: run ${runId} is this one`);
  const recentFunctionRuns = byLogRun(await functionRunsSince(client, defaultJobName, new Date(recent.at(-1)?.triggered_at ?? run.triggered_at)));
  out(runsTable(recent, recentFunctionRuns).replace(/^ {2}/gm, "    "));

  out();
  if (recorded) {
    out(`The reminder function's record (public.reminder_runs) of run ${runId}: ${recorded.status}`);
    out(
      indent(
        `${recorded.evaluated ?? 0} active assignment(s) due, ${recorded.created ?? 0} reminder(s) created, ` +
          `${recorded.skipped ?? 0} already reminded today, in ${recorded.duration_ms ?? "?"} ms (${remindersCell(recorded)})`,
      ),
    );
  } else {
    out(`The reminder function recorded nothing for run ${runId}${run.error_message ? `: ${run.error_message}` : ""}`);
  }

  const { rows: notifications } = await client.query(
    `select n.id::text, n.assignment_id, n.recipient_id, n.kind, n.payload
       from public.notifications n
       join public.reminder_runs r on r.id = n.run_id
      where r.cron_run_id = $1
      order by n.id`,
    [runId],
  );
  out();
  out(`The notifications this run created (public.notifications): ${notifications.length}`);
  if (notifications.length > 0) {
    const short = (id: string) => `…${String(id).slice(-4)}`;
    out(
      indent(
        table(
          ["id", "assignment", "peer mentor", "kind", "due on", "last contact"],
          notifications.map((n) => [n.id, short(n.assignment_id), short(n.recipient_id), n.kind, n.payload.due_on ?? "-", n.payload.last_contact_date ?? "never"]),
        ),
      ),
    );
  } else if (recorded?.status === "succeeded") {
    out(indent("None new: each due follow-up was already reminded today, and the dedupe key makes a second run harmless."));
  }
  out();
  out(`Outcome: run ${runId} ${run.status}${run.http_status ? ` (HTTP ${run.http_status})` : ""} at ${utc(run.triggered_at)}.`);
  return run.status === "succeeded";
}

async function demo(session: Session, once: boolean): Promise<number> {
  out("reminder-cron demo: the daily 06:00 reminder trigger, end to end, on a local stack");
  if (!once) out("It keeps running after the run, so you can try the CLI on the stack; Ctrl-C to stop (npm start -- --once stops after the run).");
  out();
  session.ownsStack = !(await isRunningStack(readState()));
  session.started = true;
  const state: StackState = await step(session, "1. Starting the local stack (PostgreSQL + pg_cron, Vault and pg_net, the Edge Function) and applying the migrations", () =>
    startStack(),
  );
  out(`   ${extensionsInUse(state)}`);
  const endpoint = functionEndpoint(state);
  const client = new Client({ connectionString: state.postgresUrl });
  // Without these, a server shutdown (57P01 terminating connection) is an unhandled 'error' event that
  // kills the process with a stack trace, and leaves the functions server and pg_net worker running.
  let ending = false;
  const lost = (error: Error) => {
    if (!ending) session.databaseLost ??= error;
  };
  client.on("error", lost);
  client.on("end", () => lost(new Error("the connection closed")));
  await client.connect();
  try {
    const seeded = await step(session, "2. Seeding the demo assignments (supabase/seed.sql)", () => seed(client));
    out(`   ${seeded.assignments} assignment(s); ${seeded.due} active and due for a follow-up today`);
    await step(session, "3. Pointing Vault's reminder_function_url at the local function (the stack gave Vault and the function one signing key)", async () => {
      await ensureSecret(client, vaultSecrets.functionUrl, endpoint.url);
    });
    out(`   ${endpoint.url} (each request is signed; the key stays in Vault and the function)`);
    const runId = await step(session, "4. Triggering one run now, as the job does at 06:00: dispatch_reminder_run, then reconcile_reminder_runs, as cron_runner", () =>
      triggerAsTheJob(client),
    );
    const succeeded = await report(client, runId);
    const code = succeeded ? 0 : 1;
    if (once) return code;
    out();
    out(`The stack keeps running: database ${state.postgresUrl}, functions at ${state.functionsUrl}.`);
    out("In another terminal: npx reminder-cron status | logs --since 1h | run-now | pause | resume");
    out(session.ownsStack ? "Ctrl-C stops everything." : "Ctrl-C ends the demo; the stack was running before it, so it stays up.");
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (session.stopRequested || session.databaseLost) {
          clearInterval(check);
          resolve();
        }
      }, 100);
    });
    if (session.databaseLost) throw session.databaseLost;
    return code;
  } catch (error) {
    if (session.databaseLost && !(error as { interrupted?: boolean }).interrupted) {
      throw Object.assign(
        new Error(
          `the database at ${state.postgresUrl} went away (${session.databaseLost.message}), so the demo ends. ` +
            "npm start (or npm run db:start) starts it again.",
        ),
        { databaseLost: true },
      );
    }
    throw error;
  } finally {
    ending = true;
    await client.end().catch(() => undefined);
  }
}

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((arg) => arg !== "--once");
  if (unknown.length > 0) {
    process.stderr.write(`npm start: unknown option ${JSON.stringify(unknown[0])}; the one option is --once (exit after printing the run).\n`);
    return 2;
  }
  const session: Session = { ownsStack: false, started: false, stopRequested: false };
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // One Ctrl-C can arrive twice (the terminal signals npm, sh and node alike, and npm forwards it too).
    if (session.stopRequested && Date.now() - firstSignalAt > 1000) {
      process.stderr.write(`\n${signal} again: stopping now.\n`);
      (session.ownsStack ? stopStack() : Promise.resolve()).finally(() => process.exit(130));
      return;
    }
    if (!session.stopRequested) {
      firstSignalAt = Date.now();
      session.stopRequested = true;
      process.stderr.write(`\n${signal}: stopping once the current step is done (again to stop now).\n`);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let code: number;
  try {
    code = await demo(session, argv.includes("--once"));
  } catch (error) {
    if ((error as { interrupted?: boolean }).interrupted) code = 130;
    else {
      process.stderr.write(`npm start: ${(error as Error).message}\n`);
      code = 1;
    }
  }
  if (session.started && session.ownsStack) {
    process.stdout.write("Stopping the local stack ... ");
    await stopStack();
    out("stopped: no process and no port of the demo is left.");
  }
  return code;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
