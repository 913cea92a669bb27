/**
 * last_contact_date is the database's to keep: every registration path (direct, proxy, bulk, coordinator
 * proxy) moves it, as the app's backend (service_role) registers activities, and a mentor who logged contact
 * gets no reminder from the next run. The admin correction is service_role's alone and always audited.
 */
import { Client } from "pg";
import { asRole, withClient } from "../support/db";
import { callFunction, createAssignment, day, lastContactDate, notificationsFor } from "../support/reminder-scheduler";
import { RegistrationPath, registrationPaths } from "../../infra/sql/reminder-data-names";

/** Registers activities as the app's backend does: as service_role, committed. Bulk is one multi-row statement. */
async function register(client: Client, path: RegistrationPath, activities: { assignmentId: string; daysAgo: number; by: string }[]): Promise<void> {
  await client.query("begin");
  try {
    await client.query("set local role service_role");
    await client.query(
      `insert into public.activities (assignment_id, registered_by, registration_path, occurred_on)
       select a.assignment_id, a.registered_by, $1, current_date - a.days_ago
         from jsonb_to_recordset($2::jsonb) as a(assignment_id uuid, registered_by uuid, days_ago int)`,
      [path, JSON.stringify(activities.map((a) => ({ assignment_id: a.assignmentId, registered_by: a.by, days_ago: a.daysAgo })))],
    );
    await client.query("commit");
  } catch (error) {
    await client.query("rollback");
    throw error;
  }
}

const someone = "7b0c1c59-5d0c-4d8a-9d7e-000000000001";
const coordinator = "7b0c1c59-5d0c-4d8a-9d7e-000000000002";

describe("every registration path keeps last_contact_date", () => {
  test.each(registrationPaths)("a %s registration moves it to the contact's day", (path) =>
    withClient(async (client) => {
      const assignment = await createAssignment(client);
      const by = path === "direct" ? assignment.mentor : path === "coordinator_proxy" ? coordinator : someone;
      await register(client, path, [{ assignmentId: assignment.id, daysAgo: 2, by }]);
      expect(await lastContactDate(client, assignment.id)).toBe(await day(client, -2));
    }));

  test("a bulk registration of many assignments in one statement moves each to its latest contact", () =>
    withClient(async (client) => {
      const a = await createAssignment(client);
      const b = await createAssignment(client);
      await register(client, "bulk", [
        { assignmentId: a.id, daysAgo: 5, by: coordinator },
        { assignmentId: a.id, daysAgo: 1, by: coordinator },
        { assignmentId: b.id, daysAgo: 3, by: coordinator },
      ]);
      expect([await lastContactDate(client, a.id), await lastContactDate(client, b.id)]).toEqual([await day(client, -1), await day(client, -3)]);
    }));

  test("an activity moved to a later day moves it too; one registered late for an older day does not move it back", () =>
    withClient(async (client) => {
      const assignment = await createAssignment(client);
      await register(client, "direct", [{ assignmentId: assignment.id, daysAgo: 6, by: assignment.mentor }]);
      await asRole(client, "service_role", async () => {
        await client.query("update public.activities set occurred_on = current_date - 2 where assignment_id = $1", [assignment.id]);
        expect(await lastContactDate(client, assignment.id)).toBe(await day(client, -2));
      });
      await register(client, "proxy", [{ assignmentId: assignment.id, daysAgo: 9, by: someone }]);
      expect(await lastContactDate(client, assignment.id)).toBe(await day(client, -6));
    }));

  test("a contact dated days ahead is refused with the assignment, the date and the fix", () =>
    withClient(async (client) => {
      const assignment = await createAssignment(client);
      const ahead = await day(client, 3);
      await expect(register(client, "direct", [{ assignmentId: assignment.id, daysAgo: -3, by: assignment.mentor }])).rejects.toMatchObject({
        code: "23514",
        message: `activity for assignment ${assignment.id} is dated ${ahead}, which is in the future`,
        hint: "Set occurred_on to the day the contact happened (today at the latest).",
      });
    }));

  test("service_role cannot set last_contact_date by hand, so no code path can bypass the trigger or the audit", () =>
    withClient(async (client) => {
      const assignment = await createAssignment(client);
      await asRole(client, "service_role", async () => {
        await expect(client.query("update public.assignments set last_contact_date = current_date where id = $1", [assignment.id])).rejects.toMatchObject({
          code: "42501",
        });
      });
    }));
});

test("assignments whose mentors logged contact by any path get no reminder; one without contact does", () =>
  withClient(async (client) => {
    const contacted = [];
    for (const _path of registrationPaths) contacted.push(await createAssignment(client));
    const silent = await createAssignment(client);
    for (const [i, path] of registrationPaths.entries()) {
      await register(client, path, [{ assignmentId: contacted[i].id, daysAgo: 1, by: path === "direct" ? contacted[i].mentor : someone }]);
    }
    expect((await callFunction({ body: {} })).status).toBe(200);
    for (const assignment of contacted) expect(await notificationsFor(client, assignment.id)).toEqual([]);
    expect(await notificationsFor(client, silent.id)).toHaveLength(1);
  }));

describe("the admin correction", () => {
  const correct = (client: Client, args: unknown[]) =>
    client.query(
      "select public.correct_last_contact_date(assignment_id => $1, last_contact_date => $2, reason => $3, corrected_by => $4) as audit_id",
      args,
    );

  test("as service_role it sets the date and writes an audit row; the next run then reminds the assignment", () =>
    withClient(async (client) => {
      const assignment = await createAssignment(client);
      await register(client, "bulk", [{ assignmentId: assignment.id, daysAgo: 0, by: coordinator }]);
      const wrong = await day(client, -45);
      await client.query("begin");
      await client.query("set local role service_role");
      const { rows } = await correct(client, [assignment.id, wrong, "ticket 42: bulk import put it on the wrong assignment", "ops@example.org"]);
      await client.query("commit");

      expect(await lastContactDate(client, assignment.id)).toBe(wrong);
      const audit = await client.query(
        `select assignment_id, previous_last_contact_date::text as previous, new_last_contact_date::text as new, reason, corrected_by, via_role
           from public.assignment_contact_corrections where id = $1`,
        [rows[0].audit_id],
      );
      expect(audit.rows[0]).toEqual({
        assignment_id: assignment.id,
        previous: await day(client),
        new: wrong,
        reason: "ticket 42: bulk import put it on the wrong assignment",
        corrected_by: "ops@example.org",
        via_role: "service_role",
      });
      expect((await callFunction({ body: {} })).status).toBe(200);
      expect(await notificationsFor(client, assignment.id)).toHaveLength(1);
    }));

  test.each(["anon", "authenticated"])("is refused to %s, and writes nothing", (role) =>
    withClient(async (client) => {
      const assignment = await createAssignment(client);
      await asRole(client, role, async () => {
        await expect(correct(client, [assignment.id, null, "no", "nobody"])).rejects.toMatchObject({
          code: "42501",
          message: "permission denied for function correct_last_contact_date",
        });
      });
      const { rows } = await client.query("select count(*)::int as n from public.assignment_contact_corrections where assignment_id = $1", [assignment.id]);
      expect(rows[0].n).toBe(0);
    }));

  test.each([
    ["no reason", (id: string) => [id, null, " ", "ops@example.org"], "a correction of last_contact_date needs a reason", "Pass reason => '<why the date was wrong, e.g. a ticket number>'."],
    ["no one to answer for it", (id: string) => [id, null, "ticket 1", ""], "a correction of last_contact_date needs corrected_by", "Pass corrected_by => '<who asked for it, e.g. an e-mail address>'."],
    ["a date in the future", (id: string) => [id, "2999-01-01", "ticket 1", "ops@example.org"], "last_contact_date 2999-01-01 is in the future", "Pass the day of the last real contact (today at the latest), or null for none."],
  ])("with %s is refused with what to pass instead", (_what, args, message, hint) =>
    withClient(async (client) => {
      const assignment = await createAssignment(client);
      await asRole(client, "service_role", async () => {
        await expect(correct(client, args(assignment.id))).rejects.toMatchObject({ code: "22023", message, hint });
      });
    }));

  test("of an unknown assignment is refused, naming it", () =>
    withClient(async (client) =>
      asRole(client, "service_role", async () => {
        const id = "00000000-0000-4000-8000-00000000dead";
        await expect(correct(client, [id, null, "ticket 1", "ops@example.org"])).rejects.toMatchObject({
          code: "P0002",
          message: `assignment ${id} does not exist`,
        });
      }),
    ));
});
