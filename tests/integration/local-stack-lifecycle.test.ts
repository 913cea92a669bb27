/**
 * The local stack's own lifecycle, each case in a throwaway folder of its own (REMINDER_CRON_LOCAL_DIR) so
 * the suite's stack is untouched: start, reuse, stop without leftovers, and the bad inputs issue 2 names.
 */
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, statSync, symlinkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, portIsFree } from "../../stack/cluster";
import { isAlive } from "../../stack/processes";
import { repoRoot, serverDirFor } from "../../stack/paths";

/** Where a stack in `dir` keeps its cluster: outside the checkout (stack/paths.ts). */
const pgdata = (dir: string) => join(serverDirFor(dir), "pgdata");

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const { DATABASE_URL: _ignored, ...base } = process.env;
  const result = spawnSync(process.execPath, [require.resolve("tsx/cli"), join(repoRoot, "stack/cli.ts"), ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...base, REMINDER_CRON_LOCAL_DIR: dir, ...env },
    timeout: 120000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const dirs: string[] = [];
function scratch(): string {
  // mkdtemp's mode 0700, as a private checkout's: the server's own files live where its OS user reaches them.
  const dir = mkdtempSync(join(tmpdir(), "reminder-cron-stack-"));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) {
    cli(dir, ["remove"]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("start, a second start that reuses it, and a stop that leaves no process and no open port", async () => {
  const dir = scratch();
  const first = cli(dir, ["start"]);
  expect(first.status).toBe(0);
  expect(first.stdout.trim()).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
  const state = JSON.parse(readFileSync(join(dir, "stack.json"), "utf8"));
  const second = cli(dir, ["start"]);
  expect(second.status).toBe(0);
  expect(second.stderr).toContain(`reusing the local stack already running on port ${state.port}`);

  const stop = cli(dir, ["stop"]);
  expect(stop.status).toBe(0);
  expect(await portIsFree(state.port)).toBe(true);
  expect(isAlive(state.processes.netWorker)).toBe(false);
  const postmasterPid = join(pgdata(dir), "postmaster.pid");
  expect(() => readFileSync(postmasterPid)).toThrow();
}, 120000);

test("a stack whose folder only its owner may enter (a private checkout) starts, and remove leaves no cluster behind", () => {
  const dir = scratch();
  expect(statSync(dir).mode & 0o077).toBe(0);
  expect(cli(dir, ["start"]).status).toBe(0);
  expect(existsSync(join(pgdata(dir), "PG_VERSION"))).toBe(true);
  expect(cli(dir, ["remove"]).status).toBe(0);
  expect(existsSync(serverDirFor(dir))).toBe(false);
}, 120000);

test("REMINDER_CRON_PG that names no platform the stack runs is refused, naming the value and the fix", () => {
  const result = cli(scratch(), ["start"], { REMINDER_CRON_PG: "16" });
  expect(result.status).toBe(1);
  expect(result.stderr.trim()).toBe(
    "local stack: REMINDER_CRON_PG=16 is not a PostgreSQL major this stack runs. Set it to 15 (Debian 12's packages) or 17 (Debian 13's, in a root the stack builds), or unset it.",
  );
});

test("a cluster made by another major is refused with the reset to run, before anything starts", () => {
  const dir = scratch();
  mkdirSync(pgdata(dir), { recursive: true });
  writeFileSync(join(pgdata(dir), "PG_VERSION"), "16\n");
  const result = cli(dir, ["start"], { REMINDER_CRON_PG: "15" });
  expect(result.status).toBe(1);
  expect(result.stderr.trim()).toBe(
    `local stack: The cluster in ${pgdata(dir)} was made by PostgreSQL 16, and this start asks for 15. Run \`REMINDER_CRON_PG=15 npm run db:reset\` to start afresh on 15.`,
  );
});

test("a PostgreSQL 17 root that cannot be built (no way to Debian's packages) stops the start with one line, and leaves no half-made root", () => {
  const dir = scratch();
  // A debootstrap that fails as one without a network does, half-way into its target, first on PATH.
  const bin = join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "debootstrap"), '#!/bin/sh\nmkdir -p "$3/debootstrap" && touch "$3/debootstrap/partial"\necho "E: Failed getting release file http://example.invalid/debian/dists/trixie/Release" >&2\nexit 1\n', { mode: 0o755 });
  const root = join(dir, "debian13");
  const result = cli(join(dir, "stack"), ["start"], { PATH: `${bin}:${process.env.PATH}`, REMINDER_CRON_DEBIAN_ROOT: root, REMINDER_CRON_PG: "17" });
  expect(result.status).toBe(1);
  expect(result.stderr.trim().split("\n")).toEqual([
    `local stack: building a Debian 13 root with PostgreSQL 17 in ${root} (once per machine, about a minute)`,
    "local stack: Building the PostgreSQL 17 root failed while running debootstrap (E: Failed getting release file http://example.invalid/debian/dists/trixie/Release). " +
      "Check that Debian's package registry is reachable and try again. To run on PostgreSQL 15 alone, set REMINDER_CRON_PG=15 (for example `REMINDER_CRON_PG=15 npm test`).",
  ]);
  expect([root, `${root}.building`, `${root}.lock`].filter((path) => existsSync(path))).toEqual([]);
});

test("a stack folder in the temp dir that is not the invoking user's (the server's, or another user's) is refused before anything starts", () => {
  const dir = scratch();
  mkdirSync(serverDirFor(dir), { recursive: true });
  chownSync(serverDirFor(dir), 4242, 4242);
  const result = cli(dir, ["start"]);
  expect(result.status).toBe(1);
  expect(result.stderr.trim()).toBe(`local stack: ${serverDirFor(dir)} is not a folder of this user's that only it may write (a link, or someone else's?). Remove it and start again.`);
  rmSync(serverDirFor(dir), { recursive: true, force: true });
});

test("a link where the server's socket folder goes is refused, never followed and chowned", () => {
  const dir = scratch();
  const target = mkdtempSync(join(tmpdir(), "reminder-cron-target-"));
  dirs.push(target);
  mkdirSync(serverDirFor(dir), { recursive: true, mode: 0o755 });
  symlinkSync(target, join(serverDirFor(dir), "run"));
  const result = cli(dir, ["start"]);
  expect(result.status).toBe(1);
  expect(result.stderr.trim()).toBe(`local stack: ${join(serverDirFor(dir), "run")} is a link, not a folder. Run \`npm run db:reset\` to start afresh.`);
  expect(statSync(target).uid).toBe(process.getuid!());
});

test("a port in use is refused with what to do, and nothing is left running", async () => {
  const port = await freePort();
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", resolve));
  try {
    const dir = scratch();
    const result = cli(dir, ["start"], { LOCAL_DB_PORT: String(port) });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      `local stack: Port ${port} (LOCAL_DB_PORT) is in use. Stop what listens there, or unset LOCAL_DB_PORT to pick a free port.`,
    );
    expect(() => readFileSync(join(pgdata(dir), "postmaster.pid"))).toThrow();
  } finally {
    blocker.close();
  }
}, 60000);

test("a port that is no port is refused naming the value", () => {
  const result = cli(scratch(), ["start"], { LOCAL_DB_PORT: "80a" });
  expect(result.status).toBe(1);
  expect(result.stderr.trim()).toBe("local stack: LOCAL_DB_PORT=80a is not a port from 1024 to 65535; set another or unset it to pick a free one.");
});

test("a stale cluster folder is refused with the reset to run", () => {
  const dir = scratch();
  mkdirSync(pgdata(dir), { recursive: true });
  writeFileSync(join(pgdata(dir), "leftover"), "from an interrupted start");
  const result = cli(dir, ["start"]);
  expect(result.status).toBe(1);
  expect(result.stderr.trim()).toBe(
    `local stack: ${pgdata(dir)} exists but holds no complete cluster (an interrupted start?). Run \`npm run db:reset\` to start afresh.`,
  );
});

test("a DATABASE_URL that does not answer is refused before anything starts", async () => {
  const port = await freePort();
  const result = cli(scratch(), ["start"], { DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/postgres` });
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/^local stack: DATABASE_URL does not answer \(.*ECONNREFUSED.*\)\. Start that database or unset DATABASE_URL to use a local one\.\n$/);
});

test("an unknown command prints the usage and exits 2", () => {
  const result = cli(scratch(), ["launch"]);
  expect(result.status).toBe(2);
  expect(result.stderr).toContain("usage: tsx stack/cli.ts install | start [--no-migrations] | stop | reset | remove | psql");
});

test("a cluster made for the other kind of pg_net is refused before anything starts, with the reset to run", () => {
  const dir = scratch();
  expect(cli(dir, ["start"]).status).toBe(0);
  expect(cli(dir, ["stop"]).status).toBe(0);
  // As if the cluster had been made while the real pg_net was installed (or, on a machine that has it, before).
  const conf = join(pgdata(dir), "postgresql.conf");
  const text = readFileSync(conf, "utf8");
  const preload = /^shared_preload_libraries = '([^']*)'$/m.exec(text)![1].split(",");
  const realNow = preload.includes("pg_net");
  const madeFor = realNow ? preload.filter((lib) => lib !== "pg_net") : [...preload, "pg_net"];
  writeFileSync(conf, text.replace(/^shared_preload_libraries = '[^']*'$/m, `shared_preload_libraries = '${madeFor.join(",")}'`));

  const result = cli(dir, ["start"]);
  expect(result.status).toBe(1);
  const realVault = preload.includes("supabase_vault");
  const [stateThen, stateNow] = !realNow
    ? ["the real pg_net", "the pg_net and Vault stand-ins"]
    : realVault
      ? ["the real supabase_vault", "the real pg_net and supabase_vault"]
      : ["the pg_net and Vault stand-ins", "the real pg_net"];
  expect(result.stderr.trim()).toBe(
    `local stack: The cluster in ${pgdata(dir)} was made for ${stateThen}, but this machine now has ${stateNow} installed. ` +
      "Run `npm run db:reset` to make a fresh cluster for what is installed (its data is thrown away).",
  );
  expect(() => readFileSync(join(pgdata(dir), "postmaster.pid"))).toThrow();
  const state = JSON.parse(readFileSync(join(dir, "stack.json"), "utf8"));
  expect(Object.values(state.processes as Record<string, number>).filter(isAlive)).toEqual([]);
}, 120000);
