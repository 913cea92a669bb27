import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The repository root; the local stack's own files live below it, in the ignored `.local/` folder. */
export const repoRoot = resolve(__dirname, "..");
/** REMINDER_CRON_LOCAL_DIR moves the stack elsewhere, so two checkouts or two engineers never share a cluster. */
export const localDir = resolve(process.env.REMINDER_CRON_LOCAL_DIR ?? join(repoRoot, ".local"));
export const stateFile = join(localDir, "stack.json");
export const logDir = join(localDir, "log");
export const migrationsDir = join(repoRoot, "supabase", "migrations");
export const seedFile = join(repoRoot, "supabase", "seed.sql");
export const databaseTestsDir = join(repoRoot, "supabase", "tests", "database");
export const standInSqlDir = join(repoRoot, "stack", "sql");

/**
 * What the server itself reads and writes (data, socket, its log) lives apart from the checkout, in one
 * folder per user under the temp directory: the server's OS user can reach it wherever the checkout is
 * (a home of mode 0700 included), and the PostgreSQL 17 root sees it at the same path (stack/debian-root.ts).
 */
export const serverFilesBase = join(tmpdir(), `reminder-cron-${process.getuid?.() ?? "user"}`);
/** A stack's folder there, named after its local folder, so the checkout that made it finds it again. */
export const serverDirFor = (dir: string) => join(serverFilesBase, createHash("sha256").update(resolve(dir)).digest("hex").slice(0, 16));
export const serverDir = serverDirFor(localDir);
export const dataDir = join(serverDir, "pgdata");
export const socketDir = join(serverDir, "run");
export const serverLogDir = join(serverDir, "log");
export const serverLogFile = join(serverLogDir, "postgres.log");
