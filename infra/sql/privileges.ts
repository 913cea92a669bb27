/**
 * The privilege matrix of the trigger, as data. The migration renders GRANT/REVOKE statements from it and
 * the Pulumi component creates one postgresql.Grant per entry from it, so the two cannot drift.
 */
import { cronRunnerRole, dispatchFunction, logTable, reconcileFunction } from "./names";

export type TablePrivilege = "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "TRUNCATE" | "REFERENCES" | "TRIGGER";

export interface TableGrant {
  kind: "table";
  role: string;
  schema: string;
  table: string;
  privileges: TablePrivilege[];
}

export interface FunctionGrant {
  kind: "function";
  role: string;
  schema: string;
  function: string;
  /** The argument types, as in `function(signature)`. */
  signature: string;
}

export type Grant = TableGrant | FunctionGrant;

/** Roles Supabase's default privileges hand every new object to; each must be revoked explicitly. */
export const apiRoles = ["anon", "authenticated", "service_role"] as const;

export const grants: Grant[] = [
  // cron_runner only ever appends to the log; service_role only reads it; nobody but the owner changes it.
  { kind: "table", role: cronRunnerRole, schema: logTable.schema, table: logTable.name, privileges: ["INSERT"] },
  { kind: "table", role: "service_role", schema: logTable.schema, table: logTable.name, privileges: ["SELECT"] },
  { kind: "function", role: cronRunnerRole, schema: dispatchFunction.schema, function: dispatchFunction.name, signature: dispatchFunction.signature },
  { kind: "function", role: cronRunnerRole, schema: reconcileFunction.schema, function: reconcileFunction.name, signature: reconcileFunction.signature },
];

const ident = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

/** REVOKE everything from PUBLIC and the API roles, then GRANT exactly the matrix. */
export function renderGrants(): string {
  const tables = [...new Set(grants.filter((g): g is TableGrant => g.kind === "table").map((g) => `${ident(g.schema)}.${ident(g.table)}`))];
  const functions = [
    ...new Set(grants.filter((g): g is FunctionGrant => g.kind === "function").map((g) => `${ident(g.schema)}.${ident(g.function)}(${g.signature})`)),
  ];
  const everyone = ["public", ...apiRoles].join(", ");
  return [
    ...tables.map((t) => `revoke all     on table ${t} from ${everyone};`),
    ...functions.map((f) => `revoke all     on function ${f} from ${everyone};`),
    ...grants.map((g) =>
      g.kind === "table"
        ? `grant  ${g.privileges.join(", ").toLowerCase().padEnd(6)} on table ${ident(g.schema)}.${ident(g.table)} to ${ident(g.role)};`
        : `grant  execute on function ${ident(g.schema)}.${ident(g.function)}(${g.signature}) to ${ident(g.role)};`,
    ),
  ].join("\n");
}
