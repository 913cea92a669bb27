/** `npm run migration:generate`: writes every migration of infra/sql/migrations.ts to supabase/migrations/. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { migrationsDir } from "../../stack/paths";
import { migrationFileName, migrations, renderMigrationFile } from "./migrations";

for (const migration of migrations) {
  const file = join(migrationsDir, migrationFileName(migration));
  writeFileSync(file, renderMigrationFile(migration));
  process.stdout.write(`wrote supabase/migrations/${migrationFileName(migration)}\n`);
}
