/**
 * The duration of one reminder run (issue 5) over 10,000, 100,000 and 1,000,000 seeded assignments (all three
 * take about 40 s on 2 cores; BENCH_REMINDER_SIZES=10000,100000 picks others). Each size is timed twice,
 * through the real function over HTTP: the first run of the day, which creates a reminder for every due
 * assignment, and a second run the same day, which finds them all already reminded.
 *
 * Required: 10,000 under 5 minutes. Goal: 10,000 under 2 s, 1,000,000 under 60 s.
 *
 * It empties the reminder tables (assignments, activities, notifications, runs) before each size and after
 * the last, so it refuses to run anywhere but the local stack. Run by `npm run bench` (bench/run.ts), alone
 * with `npm run bench -- reminder-run`, or print the figures only with `npx tsx bench/reminder-run.ts`.
 */
import { Client } from "pg";
import { runStandalone } from "./run";
import { startStack } from "../stack/stack";
import { functionEndpoint } from "../stack/edge-functions";

const say = (line: string) => process.stderr.write(`bench reminder-run: ${line}\n`);
const defaultSizes = [10_000, 100_000, 1_000_000];

function sizes(): number[] {
  const raw = process.env.BENCH_REMINDER_SIZES;
  if (raw === undefined || raw.trim() === "") return defaultSizes;
  const parsed = raw.split(",").map((part) => Number(part.trim()));
  if (parsed.some((size) => !Number.isInteger(size) || size < 1 || size > 10_000_000)) {
    throw new Error(`BENCH_REMINDER_SIZES=${raw} is not a comma-separated list of whole numbers from 1 to 10000000, e.g. 10000,100000; unset it for ${defaultSizes.join(",")}.`);
  }
  return parsed;
}

interface RunTiming {
  /** From the POST to the run's recorded end: the answer when it came within the budget, else polled. */
  wallMs: number;
  /** reminder_runs.duration_ms: from taking the lease to recording the outcome. */
  serverMs: number;
  httpStatus: number;
  evaluated: number;
  created: number;
}

async function empty(client: Client): Promise<void> {
  await client.query("truncate public.notifications, public.activities, public.assignments, public.reminder_runs, public.assignment_contact_corrections");
}

/**
 * Half the assignments are due (their last contact 20 to 49 days ago), the rest were contacted in the
 * last 10 days; one in twenty is paused. Five assignments per mentor.
 */
async function seed(client: Client, size: number): Promise<{ seedMs: number; due: number }> {
  const started = performance.now();
  await client.query(
    `insert into public.assignments (peer_mentor_id, contact_id, status, follow_up_interval_days, assigned_on, last_contact_date)
     select md5('mentor' || (i / 5))::uuid,
            gen_random_uuid(),
            case when i % 20 = 0 then 'paused' else 'active' end,
            14,
            current_date - 60,
            case when i % 2 = 0 then current_date - 20 - (i % 30) else current_date - (i % 10) end
       from generate_series(1, $1::int) as i`,
    [size],
  );
  await client.query("analyze public.assignments");
  const { rows } = await client.query("select count(*)::int as due from public.assignments where status = 'active' and follow_up_due_on <= current_date");
  return { seedMs: Math.round(performance.now() - started), due: rows[0].due };
}

async function timedRun(client: Client, url: string, credential: string): Promise<RunTiming> {
  const started = performance.now();
  const response = await fetch(url, {
    method: "POST",
    headers: { Authorization: `Bearer ${credential}`, "Content-Type": "application/json" },
    body: JSON.stringify({ job_name: "bench" }),
  });
  const answer = (await response.json()) as { run_id?: number; error?: string };
  if (response.status !== 200 && response.status !== 202) throw new Error(`the function answered ${response.status}: ${answer.error}`);
  for (;;) {
    const { rows } = await client.query("select status, duration_ms, evaluated, created, error_message from public.reminder_runs where id = $1", [answer.run_id]);
    const run = rows[0];
    if (run.status === "failed") throw new Error(`run ${answer.run_id} failed: ${run.error_message}`);
    if (run.status === "succeeded") {
      return {
        wallMs: Math.round(performance.now() - started),
        serverMs: run.duration_ms,
        httpStatus: response.status,
        evaluated: run.evaluated,
        created: run.created,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const state = await startStack();
  if (state.external) {
    throw new Error("bench/reminder-run.ts empties the reminder tables, so it runs only on the local stack; unset DATABASE_URL.");
  }
  const { url, credential } = functionEndpoint(state);
  const chosen = sizes();
  const client = new Client({ connectionString: state.postgresUrl });
  await client.connect();
  const figures: Record<string, unknown> = {};
  try {
    for (const size of chosen) {
      await empty(client);
      const { seedMs, due } = await seed(client, size);
      say(`${size} assignments seeded in ${seedMs} ms, ${due} due`);
      const first = await timedRun(client, url, credential);
      if (first.created !== due) throw new Error(`the first run created ${first.created} reminders for ${due} due assignments`);
      const second = await timedRun(client, url, credential);
      if (second.created !== 0) throw new Error(`the same day's second run created ${second.created} reminders`);
      say(`${size}: first run ${first.wallMs} ms (HTTP ${first.httpStatus}), second run ${second.wallMs} ms`);
      figures[String(size)] = { due, seedMs, firstRun: first, secondRun: second };
    }
  } finally {
    await empty(client);
    await client.end();
  }
  return {
    assignments: figures,
    note: "wallMs: POST to the run's recorded end, through the function over HTTP (polled after a 202); serverMs: lease to outcome, in SQL",
    requirement: "10,000 assignments: one run under 5 min; goal under 2 s, and 1,000,000 under 60 s",
  };
}

if (require.main === module) runStandalone("reminder-run", run);
