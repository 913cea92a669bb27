/**
 * `deno check` of the Edge Function, as the Supabase CLI type-checks it before a deploy: with its own
 * deno.json, its npm: import of the postgres driver resolved from the npm registry into the Deno cache.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { denoBin, denoDir, functionsDir } from "../../stack/edge-functions";

test("deno check supabase/functions/reminder-scheduler/index.ts passes", () => {
  const folder = join(functionsDir, "reminder-scheduler");
  const result = spawnSync(denoBin, ["check", "--config", join(folder, "deno.json"), join(folder, "index.ts")], {
    encoding: "utf8",
    env: { ...process.env, DENO_DIR: denoDir, NO_COLOR: "1" },
    timeout: 120000,
  });
  // On failure, Deno's own diagnostics are the message. (On success Deno may print nothing: it caches checks.)
  expect({ status: result.status, stderr: result.status === 0 ? "" : result.stderr }).toEqual({ status: 0, stderr: "" });
}, 130000);
