import { ensureToolchain } from "../../stack/install";
import { lanesDir, lanesEnv, removeAbandonedRuns } from "./lanes";

/**
 * Fixes this run's folder of lanes before jest forks its workers, which inherit the variable: a worker
 * that moves its own REMINDER_CRON_LOCAL_DIR into a lane must still find the run's folder. Lanes that an
 * interrupted earlier run left are stopped and removed first.
 */
export default async function globalSetup(): Promise<void> {
  process.env[lanesEnv] = lanesDir();
  if (!process.env.DATABASE_URL) await removeAbandonedRuns();
  // Before the workers start their lanes side by side, so a fresh machine installs PostgreSQL once.
  if (!process.env.DATABASE_URL) ensureToolchain();
}
