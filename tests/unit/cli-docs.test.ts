/**
 * docs/operations.md is the on-call page the README links to: it must carry the runbook the migrations'
 * headers carry, character for character, and the CLI's exit codes as cli/exit-codes.ts defines them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { usage } from "../../cli/args";
import { exitCodes } from "../../cli/exit-codes";
import { migrationFileName, migrations } from "../../infra/sql/migrations";
import { operationsRunbook } from "../../infra/sql/operations-migration";
import { runbook } from "../../infra/sql/runbook";
import { migrationsDir, repoRoot } from "../../stack/paths";

const doc = readFileSync(join(repoRoot, "docs", "operations.md"), "utf8");
const migrationText = (name: string) => readFileSync(join(migrationsDir, migrationFileName(migrations.find((m) => m.name === name)!)), "utf8");

describe.each([
  ["register_reminder_cron", runbook()],
  ["reminder_cron_operations", operationsRunbook()],
])("the runbook of %s", (migration, entries) => {
  test.each(entries.map((entry) => [entry.action, entry.sql]))("%s: the same SQL in the migration header and in docs/operations.md", (action, sql) => {
    expect(migrationText(migration)).toContain(`-- ${action}:\n--   ${sql}\n`);
    expect(doc).toContain(`${action}:`);
    expect(doc).toContain(sql);
  });
});

test("the exit codes table has one row per code of cli/exit-codes.ts, and --help names them all", () => {
  const rows = [...doc.matchAll(/^\| (\d) \| (.+) \|$/gm)].map((match) => Number(match[1]));
  expect(rows).toEqual(Object.values(exitCodes));
  for (const code of Object.values(exitCodes)) expect(usage).toContain(`${code} `);
});
