/**
 * jest `setupFilesAfterEnv` of the integration and clock projects: makes sure this worker's stack runs
 * before the file's own hooks. The first file of a worker starts (or re-creates) it; the others find it
 * running and only apply pending migrations. A lane is the tests' own: when a migration it applied has
 * changed since (a branch switch, an edit), it is thrown away and made afresh. Global teardown stops every lane.
 */
import { migrationChanged } from "../../stack/migrate";
import { resetStack, startStack } from "../../stack/stack";

beforeAll(async () => {
  try {
    await startStack();
  } catch (error) {
    if ((error as { code?: string }).code !== migrationChanged) throw error;
    await resetStack();
    await startStack();
  }
}, 120_000);
