/**
 * npm run db:start | db:stop | db:reset | db:psql — the local stack's small CLI.
 * Every failure is one line that says what to do, and the exit code is non-zero.
 */
import { spawnSync } from "node:child_process";
import { ensureToolchain, pgCronDefaultVersion } from "./install";
import { readState, resetStack, startStack, stopStack } from "./stack";

const log = (line: string) => process.stderr.write(`local stack: ${line}\n`);

async function main(command: string | undefined, args: string[]): Promise<number> {
  switch (command) {
    case "start": {
      const unknown = args.filter((arg) => arg !== "--no-migrations");
      if (unknown.length > 0) {
        process.stderr.write(`local stack: unknown option ${unknown.join(" ")}; start takes only --no-migrations.\n`);
        return 2;
      }
      // --no-migrations: for laying down an existing app's schema first, as a test of adopting a live project does.
      const state = await startStack({ log, migrate: !args.includes("--no-migrations") });
      process.stdout.write(`${state.postgresUrl}\n`);
      return 0;
    }
    case "stop":
      await stopStack();
      log("stopped");
      return 0;
    case "remove":
      // What a test lane does at its end: nothing left running, no cluster left in the temp directory.
      await resetStack();
      log("removed");
      return 0;
    case "reset":
      await resetStack();
      await startStack({ log });
      log("reset: a fresh cluster with every migration applied");
      return 0;
    case "install": {
      // What start would install, and no more: PostgreSQL (REMINDER_CRON_PG's major), pg_cron, pgTAP, pg_prove.
      const tc = ensureToolchain();
      log(`PostgreSQL ${tc.pgMajor} with pg_cron ${pgCronDefaultVersion(tc)} is ready${tc.root ? ` in the Debian 13 root ${tc.root}` : ""}`);
      return 0;
    }
    case "psql": {
      const state = readState() ?? (await startStack({ log }));
      return spawnSync("psql", [state.postgresUrl, ...args], { stdio: "inherit" }).status ?? 1;
    }
    default:
      process.stderr.write("usage: tsx stack/cli.ts install | start [--no-migrations] | stop | reset | remove | psql [psql arguments]\n");
      return 2;
  }
}

main(process.argv[2], process.argv.slice(3)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`local stack: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
