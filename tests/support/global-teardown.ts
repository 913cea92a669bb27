import { removeRun } from "./lanes";

/**
 * Stops this run's jest workers' stacks, all at once, and (under `npx jest`) removes the run's folder. Under
 * `npm test` the pgTAP lane may still be running beside jest in the same folder: npm test removes it itself.
 */
export default async function globalTeardown(): Promise<void> {
  if (process.env.DATABASE_URL) return;
  const ownedByNpmTest = process.env.REMINDER_CRON_TEST_OWNER === "npm-test";
  for (const problem of await removeRun(undefined, { onlyWorkers: ownedByNpmTest })) process.stderr.write(`test lanes: ${problem}\n`);
}
