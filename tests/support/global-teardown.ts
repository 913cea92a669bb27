import { laneDirs, laneStack } from "./lanes";

/**
 * Stops every jest worker's stack (their data stays, so the next `npx jest` starts warm), all at once. The
 * pgTAP lane may still be running beside jest under `npm test`, which stops it itself.
 */
export default async function globalTeardown(): Promise<void> {
  if (process.env.DATABASE_URL) return;
  const results = await Promise.all(laneDirs({ onlyWorkers: true }).map(async (dir) => ({ dir, ...(await laneStack(dir, "stop")) })));
  for (const { dir, code, stderr } of results) {
    if (code !== 0) process.stderr.write(`test lanes: stopping the stack in ${dir} failed: ${stderr.trim()}\n`);
  }
}
