/**
 * The local stack's Edge Functions process: runs stack/edge-runtime.ts under Deno and lives and dies with
 * it. The stack starts it with startTsProcess (own process group, output in <local dir>/log/functions.log),
 * passes it the functions' environment (see stack/edge-functions.ts), and stops the whole group.
 *
 * Usage: tsx stack/functions-server.ts <port> [functions folder, default supabase/functions]
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { denoBin, denoDir, functionsDir } from "./edge-functions";
import { repoRoot } from "./paths";

const [port, folder = functionsDir] = process.argv.slice(2);
if (!port) {
  process.stderr.write("usage: tsx stack/functions-server.ts <port> [functions folder]\n");
  process.exit(2);
}

// --no-config: the repository's package.json would otherwise make Deno install every Node dependency;
// the functions need only their npm: imports, from the Deno cache, as their deno.json says
// (nodeModulesDir none, no lock file). Reads are limited to the functions served and that cache.
const deno = spawn(
  denoBin,
  [
    "run",
    "--no-config",
    "--node-modules-dir=none",
    "--no-lock",
    "--allow-net",
    "--allow-env",
    `--allow-read=${folder},${denoDir}`,
    join(repoRoot, "stack", "edge-runtime.ts"),
    port,
    folder,
  ],
  { stdio: "inherit" },
);

for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => deno.kill(signal));
deno.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
deno.on("error", (error) => {
  process.stderr.write(`functions server: could not run ${denoBin} (${error.message}); run \`npm ci\` to install Deno.\n`);
  process.exit(1);
});
