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
    const { rows } = await client.query<{ version: string }>("select version from supabase_migrations.schema_migrations");
    const applied = new Set(rows.map((row) => row.version));
    const done: string[] = [];
    for (const migration of migrationFiles()) {
      if (applied.has(migration.version)) continue;
      const sql = readFileSync(migration.path, "utf8");
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
        // The hint is where a migration says what to do about it; psql and the Supabase CLI print it too.
        const hint = (error as { hint?: string }).hint;
        throw new Error(`Migration ${migration.version}_${migration.name}.sql failed and was rolled back: ${(error as Error).message}${hint ? `\nHint: ${hint}` : ""}`);
      }
      done.push(migration.version);
    }
    if (options.seed && existsSync(seedFile)) await client.query(readFileSync(seedFile, "utf8"));
    return done;
  } finally {
    await client.end();
  }
}
