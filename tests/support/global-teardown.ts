import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { localDir } from "../../stack/paths";
import { stopStack } from "../../stack/stack";

export default async function globalTeardown(): Promise<void> {
  const marker = join(localDir, "jest-owns-stack");
  const owns = existsSync(marker) && readFileSync(marker, "utf8") === "yes";
  rmSync(marker, { force: true });
  if (owns) await stopStack();
}
