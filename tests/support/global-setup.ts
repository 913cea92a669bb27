import { ensureToolchain } from "../../stack/install";
import { lanesDir, lanesEnv } from "./lanes";

/**
 * Fixes where the test lanes live before jest forks its workers, which inherit the variable: a worker
 * that moves its own REMINDER_CRON_LOCAL_DIR into a lane must still find the lanes' parent folder.
 */
export default async function globalSetup(): Promise<void> {
  process.env[lanesEnv] = lanesDir();
  // Before the workers start their lanes side by side, so a fresh machine installs PostgreSQL once.
  if (!process.env.DATABASE_URL) ensureToolchain();
}
