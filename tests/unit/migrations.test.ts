/**
 * The committed migrations are exactly what the SQL sources render, and hold nothing secret.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { migrationsDir } from "../../stack/paths";
import { migrationFileName, migrations, renderMigrationFile } from "../../infra/sql/migrations";
import { appTableContracts } from "../../infra/sql/reminder-data-names";

const committed = readdirSync(migrationsDir).filter((file) => file.endsWith(".sql")).sort();

describe("generated migrations", () => {
  test("every committed migration is generated, and every generated one is committed", () => {
    expect(committed).toEqual(migrations.map(migrationFileName).sort());
  });

  test.each(migrations.map((m) => [migrationFileName(m), m] as const))("%s equals freshly generated output", (file, migration) => {
    const onDisk = readFileSync(join(migrationsDir, file), "utf8");
    // A failure here means someone edited the file by hand or forgot `npm run migration:generate`.
    expect(onDisk).toBe(renderMigrationFile(migration));
  });

  test("the cron migration carries the runbook the task card asks for", () => {
    const sql = readFileSync(join(migrationsDir, committed.find((f) => f.endsWith("_register_reminder_cron.sql"))!), "utf8");
    for (const heading of ["Emergency pause", "Resume", "Reschedule", "Run now", "Read the log", "Remove the jobs for good"]) {
      expect(sql).toContain(`-- ${heading}`);
    }
  });
});

/** Shapes of credentials: JWTs (Supabase keys are JWTs), Supabase's new key formats, PEM keys, long random tokens. */
const secretShapes: [string, RegExp][] = [
  ["a JWT", /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/],
  ["a Supabase API key", /\bsb_(secret|publishable)_[A-Za-z0-9_-]{10,}/],
  ["a private key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ["a bearer token literal", /Bearer [A-Za-z0-9._~+/-]{16,}/],
  ["a long hex or base64 token", /['"][A-Za-z0-9+/=_-]{40,}['"]/],
];

describe("no secret in any migration", () => {
  test.each(committed)("%s holds no key-shaped literal", (file) => {
    const sql = readFileSync(join(migrationsDir, file), "utf8");
    const found = secretShapes.filter(([, shape]) => shape.test(sql)).map(([what]) => what);
    expect(found).toEqual([]);
  });

  test("the detector itself catches a JWT-shaped literal", () => {
    const planted = "select 'eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJlc2lnbmF0dXJl';";
    expect(secretShapes.some(([, shape]) => shape.test(planted))).toBe(true);
  });
});

describe("the app tables' contract is stated where an adopter reads it", () => {
  const readme = readFileSync(join(migrationsDir, "..", "..", "README.md"), "utf8");
  const dataMigration = readFileSync(join(migrationsDir, committed.find((f) => f.endsWith("_reminder_data.sql"))!), "utf8");

  test.each(Object.values(appTableContracts).flatMap((contract) => contract.columns.map((column) => [contract.table, column.name, column.type] as const)))(
    "%s.%s (%s): in the README's table and the migration header",
    (table, column, type) => {
      expect(readme).toContain(`\`${table}\``);
      expect(readme).toMatch(new RegExp(`\`${column}\`[^\\n]*\\| ${type}`));
      expect(dataMigration).toMatch(new RegExp(`^--     ${column} +${type} `, "m"));
    },
  );

  test.each(Object.values(appTableContracts).flatMap((contract) => (contract.key ? [[contract.table, contract.key.column, contract.key.add] as const] : [])))(
    "%s's unique key on %s is in the migration header, and its fix in the migration's check",
    (table, column, add) => {
      expect(dataMigration).toContain(`--     unique key (${column}): `);
      expect(dataMigration).toContain(add.replace(/'/g, "''"));
    },
  );
});
