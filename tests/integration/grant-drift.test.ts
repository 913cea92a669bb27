/**
 * Drift on the function grants, as `pulumi refresh` would see it. The postgresql provider (a bridge of
 * cyrilgdn/terraform-provider-postgresql) reads a function grant with the query below, copied from its
 * readRolePrivileges (postgresql/resource_postgresql_grant.go): every function of the schema grouped by
 * pg_proc.proname, keeping only the rows whose bare name is in `objects`, and reporting the first whose
 * privileges differ from the state's. The Go provider cannot run here, so its query runs against the real
 * catalog and its filter is repeated in TypeScript. What that can check is the program's side: that the
 * `objects` it registers are names the filter keeps, so a revoked EXECUTE is seen. That `name(types)`, which
 * the program once registered, matches nothing is the provider's own behaviour: asserted against the copy
 * below it would test only the copy, so it is not.
 */
import type { Client } from "pg";
import { grantArgs } from "../../infra/reminder-cron";
import { FunctionGrant, grants, operationsGrants } from "../../infra/sql/privileges";
import { withClient } from "../support/db";

/** readRolePrivileges' query for object_type function (terraform-provider-postgresql, main). */
const providerReadQuery = `
SELECT pg_proc.proname, array_remove(array_agg(privilege_type), NULL)
FROM pg_proc
JOIN pg_namespace ON pg_namespace.oid = pg_proc.pronamespace
LEFT JOIN (
    select acls.*
    from (
             SELECT proname, pronamespace, (aclexplode(proacl)).* FROM pg_proc
         ) acls
    WHERE grantee = $1
) privs
USING (proname, pronamespace)
      WHERE nspname = $2
GROUP BY pg_proc.proname
`;

const functionGrants = [...grants, ...operationsGrants].filter((grant): grant is FunctionGrant => grant.kind === "function");

/** The privileges the provider would write back to state after a refresh, or undefined when it sees no drift. */
async function providerRefresh(client: Client, role: string, schema: string, objects: string[], statePrivileges: string[]): Promise<string[] | undefined> {
  const { rows: roles } = await client.query<{ oid: number }>("select oid from pg_roles where rolname = $1", [role]);
  const { rows } = await client.query<{ proname: string; array_remove: string[] | string }>(providerReadQuery, [roles[0].oid, schema]);
  for (const row of rows) {
    if (objects.length > 0 && !objects.includes(row.proname)) continue;
    const privileges = typeof row.array_remove === "string" ? row.array_remove.replace(/^\{|\}$/g, "").split(",").filter(Boolean) : row.array_remove;
    if ([...privileges].sort().join() !== [...statePrivileges].sort().join()) return privileges;
  }
  return undefined;
}

test("the grants cover all five functions the jobs and pg_cron need", () => {
  expect(functionGrants.map((grant) => `${grant.schema}.${grant.function}`).sort()).toEqual(
    expect.arrayContaining(["cron.alter_job", "public.dispatch_reminder_run", "public.reconcile_reminder_runs"]),
  );
  expect(functionGrants).toHaveLength(5);
});

test.each(functionGrants.map((grant) => [`${grant.schema}.${grant.function}`, grant] as const))(
  "%s has exactly one overload, so its bare name in objects means exactly the function the migration grants",
  async (_name, grant) => {
    const { rows } = await withClient((client) =>
      client.query<{ signature: string }>(
        "select pg_get_function_identity_arguments(p.oid) as signature from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = $1 and p.proname = $2",
        [grant.schema, grant.function],
      ),
    );
    expect(rows).toHaveLength(1);
    expect(grantArgs(grant, "postgres").objects).toEqual([grant.function]);
  },
);

describe.each(functionGrants.map((grant) => [`${grant.schema}.${grant.function}`, grant] as const))("refresh of the grant on %s", (_name, grant) => {
  const signature = `${grant.schema}.${grant.function}(${grant.signature})`;
  const objects = grantArgs(grant, "postgres").objects as string[];

  test("sees nothing while EXECUTE is granted", async () => {
    expect(await withClient((client) => providerRefresh(client, grant.role, grant.schema, objects, ["EXECUTE"]))).toBeUndefined();
  });

  test("sees a revoked EXECUTE through the objects the program registers", async () => {
    await withClient(
      async (client) => {
        await client.query("begin");
        try {
          await client.query(`revoke execute on function ${signature} from ${grant.role}`);
          expect(await providerRefresh(client, grant.role, grant.schema, objects, ["EXECUTE"])).toEqual([]);
        } finally {
          // The revoke never commits: the grants other tests rely on stay as the migration made them.
          await client.query("rollback");
        }
      },
      // As postgres, who granted it (a superuser's revoke would leave postgres's grant of alter_job in place).
    );
  });
});
