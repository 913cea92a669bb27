/**
 * jest `setupFilesAfterEnv` of the integration and clock projects: makes sure this worker's stack runs
 * before the file's own hooks. The first file of a worker starts it, fresh (each run has lanes of its own,
 * tests/support/lanes.ts); the others find it running. Global teardown stops this run's lanes.
 */
import { startStack } from "../../stack/stack";

beforeAll(async () => {
  await startStack();
}, 120_000);
