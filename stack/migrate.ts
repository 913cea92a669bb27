/**
 * Applies supabase/migrations/*.sql in file-name order as `postgres`, each in its own transaction, and
 * records them in supabase_migrations.schema_migrations as the Supabase CLI does, so a restart re-applies
 * nothing and `supabase db push` later sees the same history.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { migrationsDir, seedFile } from "./paths";

const migrationName = /^(\d{14})_(.+)\.sql$/;

/** The `code` of the error applyMigrations throws when an applied migration's file has changed since. */
export const migrationChanged = "REMINDER_CRON_MIGRATION_CHANGED";

export function migrationFiles(): { version: string; name: string; path: string }[] {
  if (!existsSync(migrationsDir)) return [];
  return readdirSync(migrationsDir)
    .sort()
    .flatMap((file) => {
      const match = migrationName.exec(file);
      if (!match) {
        if (file.endsWith(".sql")) throw new Error(`supabase/migrations/${file} is not named <14 digits>_<name>.sql; rename it so the Supabase CLI applies it too.`);
        return [];
      }
      return [{ version: match[1], name: match[2], path: join(migrationsDir, file) }];
    });
}

/** Returns the versions it applied. Stops at the first failing migration, naming it, with nothing half-applied. */
export async function applyMigrations(postgresUrl: string, options: { seed: boolean }): Promise<string[]> {
  const client = new Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(`
      create schema if not exists supabase_migrations;
      create table if not exists supabase_migrations.schema_migrations (version text primary key, statements text[], name text)`);
    const { rows } = await client.query<{ version: string; statements: string[] | null }>("select version, statements from supabase_migrations.schema_migrations");
    // This runner records a migration as one statement, the whole file; the Supabase CLI records it split
    // into statements, which cannot be compared with the file, so only our own records are checked.
    const applied = new Map(rows.map((row) => [row.version, row.statements?.length === 1 ? row.statements[0] : null]));
    const done: string[] = [];
    for (const migration of migrationFiles()) {
      const sql = readFileSync(migration.path, "utf8");
      if (applied.has(migration.version)) {
        const was = applied.get(migration.version);
        if (was !== null && was !== sql) {
          throw Object.assign(
            new Error(
              `supabase/migrations/${migration.version}_${migration.name}.sql changed after this database applied it, and a migration is applied only once ` +
                "(here as by `supabase db push`). Run `npm run db:reset` for a local stack; for a deployed database put the change in a new migration.",
            ),
            { code: migrationChanged },
          );
        }
        continue;
      }
      try {
        await client.query("begin");
        await client.query(sql);
        await client.query("insert into supabase_migrations.schema_migrations (version, statements, name) values ($1, $2, $3)", [
          migration.version,
          [sql],
          migration.name,
        ]);
        await client.query("commit");
      } catch (error) {
        await client.query("rollback");
        throw new Error(`Migration ${migration.version}_${migration.name}.sql failed and was rolled back: ${(error as Error).message}`);
      }
      done.push(migration.version);
    }
    if (options.seed && existsSync(seedFile)) await client.query(readFileSync(seedFile, "utf8"));
    return done;
  } finally {
    await client.end();
  }
}
