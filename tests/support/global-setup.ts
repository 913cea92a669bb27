import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { localDir } from "../../stack/paths";
import { readState, startStack } from "../../stack/stack";
import { isRunningStack } from "./stack-status";

/** Starts the local stack once per jest run, unless one already runs (then the teardown leaves it running). */
export default async function globalSetup(): Promise<void> {
  const alreadyRunning = await isRunningStack(readState());
  await startStack({ log: (line) => process.stderr.write(`local stack: ${line}\n`) });
  mkdirSync(localDir, { recursive: true });
  writeFileSync(join(localDir, "jest-owns-stack"), alreadyRunning ? "no" : "yes");
}
