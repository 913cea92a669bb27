/**
 * The privilege matrix of the trigger, as data. The migration renders GRANT/REVOKE statements from it and
 * the Pulumi component creates one postgresql.Grant per entry from it, so the two cannot drift.
 */
import { acceptSignedFunction, attemptFunction, cronRunnerRole, dispatchFunction, dispatchLockTable, logTable, reconcileFunction, signedRequestsTable } from "./names";
import {
  catchUpFunction,
  catchUpTable,
  pausesTable,
  occurrenceFunction,
  previousOccurrenceFunction,
  pruneFunction,
  retentionFunction,
  retryPolicyFunction,
  retryProblemFunction,
  scheduleFieldsFunction,
  seriesFunction,
  setRetriesFunction,
  settingFunction,
  shortestGapFunction,
} from "./operations-names";

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

export interface SchemaGrant {
  kind: "schema";
  role: string;
  schema: string;
  privileges: ("USAGE" | "CREATE")[];
}

export type Grant = TableGrant | FunctionGrant | SchemaGrant;

/** Roles Supabase's default privileges hand every new object to; each must be revoked explicitly. */
export const apiRoles = ["anon", "authenticated", "service_role"] as const;

export const grants: Grant[] = [
  // cron_runner only ever appends to the log; service_role only reads it; nobody but the owner changes it.
  { kind: "table", role: cronRunnerRole, schema: logTable.schema, table: logTable.name, privileges: ["INSERT"] },
  { kind: "table", role: "service_role", schema: logTable.schema, table: logTable.name, privileges: ["SELECT"] },
  { kind: "function", role: cronRunnerRole, schema: dispatchFunction.schema, function: dispatchFunction.name, signature: dispatchFunction.signature },
  { kind: "function", role: cronRunnerRole, schema: reconcileFunction.schema, function: reconcileFunction.name, signature: reconcileFunction.signature },
  // What pg_cron needs for cron_runner to own its jobs: the schema, and alter_job for pause, resume and
  // reschedule (cron.schedule and cron.unschedule are PUBLIC already). It can touch no job but its own.
  { kind: "schema", role: cronRunnerRole, schema: "cron", privileges: ["USAGE"] },
  { kind: "function", role: cronRunnerRole, schema: "cron", function: "alter_job", signature: "bigint, text, text, text, text, boolean" },
];

/** Our own objects, whose PUBLIC and API-role privileges the migration revokes before granting the matrix. */
export const ownObjects: OwnObjects = {
  tables: [
    `${logTable.schema}.${logTable.name}`,
    `${signedRequestsTable.schema}.${signedRequestsTable.name}`,
    `${dispatchLockTable.schema}.${dispatchLockTable.name}`,
  ],
  // Supabase's default privileges give the API roles USAGE and UPDATE on a new sequence too: setval on the
  // log's id would let them break every insert. Identity inserts need no privilege on it.
  sequences: [`${logTable.schema}.${logTable.name}_id_seq`],
  functions: [
    `${dispatchFunction.schema}.${dispatchFunction.name}(${dispatchFunction.signature})`,
    `${reconcileFunction.schema}.${reconcileFunction.name}(${reconcileFunction.signature})`,
    `${acceptSignedFunction.schema}.${acceptSignedFunction.name}(${acceptSignedFunction.signature})`,
    `${attemptFunction.schema}.${attemptFunction.name}(${attemptFunction.signature})`,
  ],
};

const ident = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

function renderGrant(grant: Grant): string {
  switch (grant.kind) {
    case "table":
      return `grant ${grant.privileges.join(", ").toLowerCase()} on table ${ident(grant.schema)}.${ident(grant.table)} to ${ident(grant.role)};`;
    case "function":
      return `grant execute on function ${ident(grant.schema)}.${ident(grant.function)}(${grant.signature}) to ${ident(grant.role)};`;
    case "schema":
      return `grant ${grant.privileges.join(", ").toLowerCase()} on schema ${ident(grant.schema)} to ${ident(grant.role)};`;
  }
}

export interface OwnObjects {
  tables: string[];
  sequences: string[];
  functions: string[];
}

/**
 * REVOKE everything on the given objects from PUBLIC, the API roles and cron_runner, then GRANT exactly
 * `matrix`: cron_runner's too, so what an earlier release granted it (prune_reminder_cron_history, with
 * ages of its choosing) goes on upgrade.
 */
function renderPrivileges(objects: OwnObjects, matrix: Grant[]): string {
  const everyone = ["public", ...apiRoles, cronRunnerRole].join(", ");
  return [
    ...objects.tables.map((table) => `revoke all on table ${table} from ${everyone};`),
    ...objects.sequences.map((sequence) => `revoke all on sequence ${sequence} from ${everyone};`),
    ...objects.functions.map((fn) => `revoke all on function ${fn} from ${everyone};`),
    ...matrix.map(renderGrant),
  ].join("\n");
}

/** The trigger migration's privileges: its objects and `grants`. */
export const renderGrants = (): string => renderPrivileges(ownObjects, grants);

/**
 * The operations migration's objects (catch-up, retention), kept apart from `grants` because they exist
 * only once that later migration has run: cron_runner executes the two functions its jobs call, and
 * service_role reads the catch-up record as it reads the log. The helpers they call run as the owner.
 */
export const operationsGrants: Grant[] = [
  { kind: "function", role: cronRunnerRole, schema: catchUpFunction.schema, function: catchUpFunction.name, signature: catchUpFunction.signature },
  { kind: "function", role: cronRunnerRole, schema: retentionFunction.schema, function: retentionFunction.name, signature: retentionFunction.signature },
  { kind: "table", role: "service_role", schema: catchUpTable.schema, table: catchUpTable.name, privileges: ["SELECT"] },
];

export const operationsObjects: OwnObjects = {
  tables: [qualifiedName(catchUpTable), qualifiedName(pausesTable)],
  sequences: [],
  functions: [
    catchUpFunction,
    pruneFunction,
    retentionFunction,
    settingFunction,
    scheduleFieldsFunction,
    previousOccurrenceFunction,
    occurrenceFunction,
    shortestGapFunction,
    retryProblemFunction,
    retryPolicyFunction,
    setRetriesFunction,
    seriesFunction,
  ].map(
    (fn) => `${qualifiedName(fn)}(${fn.signature})`,
  ),
};

function qualifiedName(object: { schema: string; name: string }): string {
  return `${ident(object.schema)}.${ident(object.name)}`;
}

/** As renderGrants, for the operations migration's objects and operationsGrants. */
export const renderOperationsGrants = (): string => renderPrivileges(operationsObjects, operationsGrants);
