/**
 * jest `setupFilesAfterEnv` of the integration and clock projects: makes sure this worker's stack runs
 * before the file's own hooks. The first file of a worker starts (or re-creates) it; the others find it
 * running and only apply pending migrations. Global teardown stops every lane.
 */
import { startStack } from "../../stack/stack";

beforeAll(async () => {
  await startStack();
}, 120_000);
