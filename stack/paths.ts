import { join, resolve } from "node:path";

/** The repository root; every local-stack file lives below it, in the ignored `.local/` folder. */
export const repoRoot = resolve(__dirname, "..");
/** REMINDER_CRON_LOCAL_DIR moves the stack elsewhere, so two checkouts or two engineers never share a cluster. */
export const localDir = resolve(process.env.REMINDER_CRON_LOCAL_DIR ?? join(repoRoot, ".local"));
export const dataDir = join(localDir, "pgdata");
export const socketDir = join(localDir, "run");
export const stateFile = join(localDir, "stack.json");
export const logDir = join(localDir, "log");
export const migrationsDir = join(repoRoot, "supabase", "migrations");
export const seedFile = join(repoRoot, "supabase", "seed.sql");
export const databaseTestsDir = join(repoRoot, "supabase", "tests", "database");
export const standInSqlDir = join(repoRoot, "stack", "sql");
