/**
 * Helpers for tests of the ReminderSchedulerService: calls of the real function the local stack serves
 * under Deno, and the assignments, notifications and runs it works on, read and written as `postgres`.
 */
import { createClient, SupabaseClient } from "@supabase/supabase-js";
import { Client } from "pg";
import { stack, withClient } from "./db";
import { functionEndpoint, FunctionEndpoint } from "../../stack/edge-functions";
import { followUpKind } from "../../infra/sql/reminder-data-names";
import { pointVaultAt } from "./trigger";

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
}

export interface RunRow {
  id: string;
  job_name: string;
  cron_run_id: string | null;
  as_of: string;
  status: "running" | "succeeded" | "failed" | "skipped";
  evaluated: number | null;
  created: number | null;
  skipped: number | null;
  duration_ms: number | null;
  error_message: string | null;
}

export interface NotificationRow {
  id: string;
  recipient_id: string;
  assignment_id: string;
  kind: string;
  dedupe_key: string;
  run_id: string | null;
  payload: { due_on: string; last_contact_date: string | null };
}

export const endpoint = (): FunctionEndpoint => functionEndpoint(stack());

/**
 * A run_id for a call made by hand, drawn from the log's own ids: no log row will ever have it. A made-up
 * one (1, 41) is an id the log hands out later, and the record the call leaves would then settle that
 * log row, or refuse its dispatch as a replay.
 */
export function unusedRunId(): Promise<number> {
  return withClient(async (client) =>
    Number((await client.query("select nextval(pg_get_serial_sequence('public.cron_execution_log', 'id')) as id")).rows[0].id),
  );
}

/** Points Vault's function URL at the real function the stack serves; returns what puts Vault back (call it in afterAll). */
export function pointVaultAtFunction(client: Client): Promise<(client: Client) => Promise<void>> {
  // The stack gave Vault and the function one signing key; only the URL needs pointing here.
  return pointVaultAt(client, endpoint().url);
}

/**
 * A supabase-js client for the local stack, as an operator's script would make one. Node 20 has no
 * WebSocket and supabase-js's realtime client wants one when it is built; these tests never subscribe, so
 * it gets a transport that is never opened.
 */
export function supabaseClient(key: string): SupabaseClient {
  const neverOpened = class {
    constructor() {
      throw new Error("these tests use no realtime channel");
    }
  };
  return createClient(endpoint().supabaseUrl, key, {
    auth: { persistSession: false },
    realtime: { transport: neverOpened as unknown as NonNullable<NonNullable<Parameters<typeof createClient>[2]>["realtime"]>["transport"] },
  });
}

/** A POST with the service role key unless `headers` says otherwise; `body` undefined sends none. */
export async function callFunction(
  options: { body?: unknown; rawBody?: string; headers?: Record<string, string>; method?: string } = {},
): Promise<Answer> {
  const { url, credential } = endpoint();
  const response = await fetch(url, {
    method: options.method ?? "POST",
    headers: options.headers ?? { Authorization: `Bearer ${credential}`, "Content-Type": "application/json" },
    body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch {
    // Left empty: the tests that care assert on `text`.
  }
  return { status: response.status, headers: response.headers, text, body };
}

export interface AssignmentSpec {
  /** Days before today the assignment began; default 30. */
  assignedDaysAgo?: number;
  followUpIntervalDays?: number;
  status?: "active" | "paused" | "completed" | "cancelled";
}

/** Inserts an assignment (committed, so the function sees it) and returns its id and mentor. */
export async function createAssignment(client: Client, spec: AssignmentSpec = {}): Promise<{ id: string; mentor: string }> {
  const { rows } = await client.query(
    `insert into public.assignments (peer_mentor_id, contact_id, assigned_on, follow_up_interval_days, status)
     values (gen_random_uuid(), gen_random_uuid(), current_date - $1::int, $2, $3)
     returning id, peer_mentor_id`,
    [spec.assignedDaysAgo ?? 30, spec.followUpIntervalDays ?? 14, spec.status ?? "active"],
  );
  return { id: rows[0].id, mentor: rows[0].peer_mentor_id };
}

export async function notificationsFor(client: Client, assignmentId: string): Promise<NotificationRow[]> {
  const { rows } = await client.query<NotificationRow>(
    "select id, recipient_id, assignment_id, kind, dedupe_key, run_id, payload from public.notifications where assignment_id = $1 and kind = $2 order by id",
    [assignmentId, followUpKind],
  );
  return rows;
}

export async function runRow(client: Client, runId: unknown): Promise<RunRow> {
  const { rows } = await client.query<RunRow>(
    `select id, job_name, cron_run_id, as_of::text as as_of, status, evaluated, created, skipped, duration_ms, error_message
       from public.reminder_runs where id = $1`,
    [runId],
  );
  if (!rows[0]) throw new Error(`reminder_runs has no row ${String(runId)}`);
  return rows[0];
}

export async function lastContactDate(client: Client, assignmentId: string): Promise<string | null> {
  const { rows } = await client.query("select last_contact_date::text as d from public.assignments where id = $1", [assignmentId]);
  return rows[0].d;
}

/** Runs `fn` while a run that is not finished holds the lease, as a run in another process would; then frees it. */
export async function whileLeaseHeld<T>(client: Client, fn: (holderId: string) => Promise<T>): Promise<T> {
  const { rows } = await client.query(
    `insert into public.reminder_runs (job_name, triggered_at, as_of, status, lease_expires_at)
     values ('lease-holder', now(), current_date, 'running', now() + interval '10 minutes') returning id`,
  );
  try {
    return await fn(rows[0].id);
  } finally {
    await client.query("select public.fail_reminder_run($1, 'released by the test')", [rows[0].id]);
  }
}

/** Today's date in the database (UTC on Supabase and here), shifted by `days`, as YYYY-MM-DD. */
export async function day(client: Client, days = 0): Promise<string> {
  const { rows } = await client.query("select (current_date + $1::int)::text as d", [days]);
  return rows[0].d;
}
