/**
 * jest `setupFilesAfterEnv` of the integration and clock projects: makes sure this worker's stack runs
 * before the file's own hooks. The first file of a worker starts it, fresh (each run has lanes of its own,
 * tests/support/lanes.ts); the others find it running, and find it as no earlier file left it
 * (tests/support/lane-settle.ts). Global teardown stops this run's lanes.
 */
import { startStack } from "../../stack/stack";
import { settleLane } from "./lane-settle";

beforeAll(async () => {
  await startStack();
  await settleLane();
}, 180_000);
