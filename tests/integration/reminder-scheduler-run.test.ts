/**
 * What one reminder run does, through the real function: a reminder for each due assignment and for nothing
 * else, never a second one, one run at a time (the lease), a summary for every run, and an honest record of
 * a run that fails. Other tests' data shares the database, so each test asserts on its own assignments.
 */
import { Client } from "pg";
import { waitFor, withClient } from "../support/db";
import { callFunction, createAssignment, day, notificationsFor, runRow, unusedRunId, whileLeaseHeld } from "../support/reminder-scheduler";
import { followUpKind } from "../../infra/sql/reminder-data-names";


/** Holds a lock that makes every insert into notifications wait, so a run stays in its evaluation. */
async function holdingNotifications<T>(fn: () => Promise<T>): Promise<T> {
  return withClient(async (blocker) => {
    await blocker.query("begin");
    await blocker.query("lock table public.notifications in share row exclusive mode");
    try {
      return await fn();
    } finally {
      await blocker.query("commit");
    }
  });
}

async function finished(client: Client, runId: unknown) {
  return waitFor(`run ${String(runId)} to finish`, async () => {
    const row = await runRow(client, runId);
    return row.status === "running" ? undefined : row;
  });
}

test("a due assignment gets exactly one reminder, for its mentor, keyed by its due day, and the run records a summary", () =>
  withClient(async (client) => {
    const assignment = await createAssignment(client, { assignedDaysAgo: 30, followUpIntervalDays: 14 });
    const answer = await callFunction({ body: { job_name: "run-test" } });
    expect(answer.status).toBe(200);
    const today = await day(client);
    const dueOn = await day(client, -16);
    expect(answer.body).toMatchObject({ status: "succeeded", as_of: today });
    const { evaluated, created, skipped } = answer.body as Record<string, number>;
    expect(created).toBeGreaterThanOrEqual(1);
    expect(evaluated).toBe(created + skipped);

    const notifications = await notificationsFor(client, assignment.id);
    expect(notifications).toHaveLength(1);
    expect(notifications[0]).toMatchObject({
      recipient_id: assignment.mentor,
      kind: followUpKind,
      dedupe_key: `${followUpKind}:${assignment.id}:${dueOn}`,
      run_id: String(answer.body.run_id),
      payload: { due_on: dueOn, last_contact_date: null },
    });
    expect(await runRow(client, answer.body.run_id)).toMatchObject({
      job_name: "run-test",
      status: "succeeded",
      as_of: today,
      evaluated,
      created,
      skipped,
      error_message: null,
    });
  }));

test.each([
  ["not yet due", { assignedDaysAgo: 5, followUpIntervalDays: 14 }],
  ["due tomorrow", { assignedDaysAgo: 13, followUpIntervalDays: 14 }],
  ["paused", { status: "paused" as const }],
  ["completed", { status: "completed" as const }],
  ["cancelled", { status: "cancelled" as const }],
])("an assignment %s gets no reminder", (_what, spec) =>
  withClient(async (client) => {
    const assignment = await createAssignment(client, spec);
    expect((await callFunction({ body: {} })).status).toBe(200);
    expect(await notificationsFor(client, assignment.id)).toEqual([]);
  }));

test("an assignment due today gets its reminder today", () =>
  withClient(async (client) => {
    const assignment = await createAssignment(client, { assignedDaysAgo: 14, followUpIntervalDays: 14 });
    expect((await callFunction({ body: {} })).status).toBe(200);
    expect(await notificationsFor(client, assignment.id)).toHaveLength(1);
  }));

test("the same day's second run creates no notification at all, and counts the due ones as skipped", () =>
  withClient(async (client) => {
    const assignment = await createAssignment(client);
    const first = await callFunction({ body: { job_name: "daily-reminder-eval" } });
    const second = await callFunction({ body: { job_name: "daily-reminder-eval" } });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.body).toMatchObject({ created: 0, skipped: second.body.evaluated });
    expect(second.body.evaluated).toBeGreaterThanOrEqual(1);
    expect(await notificationsFor(client, assignment.id)).toHaveLength(1);
  }));

test("triggers fired at the same moment create one reminder between them; each is answered 200 or 409", () =>
  withClient(async (client) => {
    const assignment = await createAssignment(client);
    const runIds = await Promise.all([1, 2, 3, 4].map(() => unusedRunId()));
    const answers = await Promise.all(runIds.map((runId) => callFunction({ body: { job_name: "daily-reminder-eval", run_id: runId } })));
    for (const answer of answers) {
      expect([200, 409]).toContain(answer.status);
    }
    expect(answers.some((a) => a.status === 200)).toBe(true);
    expect(await notificationsFor(client, assignment.id)).toHaveLength(1);
  }));

test("the run evaluates the UTC day it was triggered: yesterday's trigger does not remind an assignment first due today", () =>
  withClient(async (client) => {
    const assignment = await createAssignment(client, { assignedDaysAgo: 14, followUpIntervalDays: 14 });
    const yesterday = await day(client, -1);
    const late = await callFunction({ body: { job_name: "daily-reminder-eval", triggered_at: `${yesterday}T06:00:00Z` } });
    expect(late.body).toMatchObject({ status: "succeeded", as_of: yesterday });
    expect(await notificationsFor(client, assignment.id)).toEqual([]);
    await callFunction({ body: {} });
    expect(await notificationsFor(client, assignment.id)).toHaveLength(1);
  }));

test("a manual call's job name is recorded on its run, its run_id is not: only a signed request names a cron_execution_log row", () =>
  withClient(async (client) => {
    const runId = await unusedRunId();
    const answer = await callFunction({ body: { job_name: "daily-reminder-eval", run_id: runId, triggered_at: new Date().toISOString() } });
    expect(await runRow(client, answer.body.run_id)).toMatchObject({ job_name: "daily-reminder-eval", cron_run_id: null });
  }));

describe("the run lease", () => {
  test("a run longer than the answer budget is answered 202 and finishes; a run meanwhile is answered 409 and recorded as skipped", () =>
    withClient(async (client) => {
      const assignment = await createAssignment(client);
      const secondRunId = await unusedRunId();
      const { first, second } = await holdingNotifications(async () => {
        const first = await callFunction({ body: { job_name: "daily-reminder-eval" } });
        const second = await callFunction({ body: { job_name: "daily-reminder-eval", run_id: secondRunId } });
        return { first, second };
      });
      expect(first.status).toBe(202);
      expect(first.body).toMatchObject({ status: "running", as_of: await day(client) });
      expect(first.body.message).toMatch(/^The run takes longer than 4000 ms and continues; public\.reminder_runs row \d+ records its outcome\.$/);

      expect(second.status).toBe(409);
      expect(second.body).toMatchObject({ status: "skipped", active_run_id: first.body.run_id });
      expect(second.body.error).toMatch(new RegExp(`^Run ${first.body.run_id} has been running since .+ This request is recorded as skipped run ${second.body.run_id};`));
      const skipped = await runRow(client, second.body.run_id);
      // A manual call's run_id names no log row (only a signed request's does).
      expect(skipped).toMatchObject({ status: "skipped", cron_run_id: null, created: null });
      expect(skipped.error_message).toMatch(new RegExp(`^run ${first.body.run_id} has held the lease since `));

      // Released, the first run finishes what it started, in the background.
      const done = await finished(client, first.body.run_id);
      expect(done.status).toBe("succeeded");
      expect(await notificationsFor(client, assignment.id)).toHaveLength(1);
    }));

  test("a lease left by a run that died is taken over once it expires", () =>
    withClient(async (client) => {
      const { rows } = await client.query(
        `insert into public.reminder_runs (job_name, triggered_at, as_of, status, started_at, lease_expires_at)
         values ('died', now() - interval '1 hour', current_date, 'running', now() - interval '1 hour', now() - interval '50 minutes')
         returning id`,
      );
      const answer = await callFunction({ body: {} });
      expect(answer.status).toBe(200);
      const dead = await runRow(client, rows[0].id);
      expect(dead.status).toBe("failed");
      expect(dead.error_message).toMatch(/^its lease expired at .+ before it finished; a later run took the lease over$/);
    }));

  test("an unexpired lease refuses the run with 409 until it is released", () =>
    withClient(async (client) => {
      await whileLeaseHeld(client, async (holderId) => {
        const refused = await callFunction({ body: {} });
        expect(refused.status).toBe(409);
        expect(refused.body.active_run_id).toBe(Number(holderId));
      });
      expect((await callFunction({ body: {} })).status).toBe(200);
    }));
});

test("a failing evaluation is answered 500, recorded as failed with the reason, and releases the lease", () =>
  withClient(async (client) => {
    await client.query(`
      create function public.test_refuse_notifications() returns trigger language plpgsql as $$
      begin raise exception 'test: notifications are refused'; end $$;
      create trigger test_refuse_notifications before insert on public.notifications
        for each statement execute function public.test_refuse_notifications();`);
    let answer;
    try {
      answer = await callFunction({ body: {} });
    } finally {
      await client.query("drop trigger test_refuse_notifications on public.notifications; drop function public.test_refuse_notifications();");
    }
    expect(answer.status).toBe(500);
    expect(answer.body.error).toMatch(
      /^The reminder evaluation failed \(test: notifications are refused\)\. Run \d+ is recorded as failed in public\.reminder_runs and its lease is released; the next trigger tries again\.$/,
    );
    expect(await runRow(client, answer.body.run_id)).toMatchObject({ status: "failed", error_message: "the evaluation failed: test: notifications are refused" });
    expect((await callFunction({ body: {} })).status).toBe(200);
  }));
