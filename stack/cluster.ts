/**
 * The throwaway PostgreSQL cluster: initdb, configure, start and stop, run as the `postgres` OS user when
 * invoked as root (PostgreSQL refuses to run as root). Nothing here knows about Supabase; see bootstrap.ts.
 */
import { spawnSync, SpawnSyncOptions } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, appendFileSync, chmodSync, chownSync, closeSync, constants, existsSync, fchownSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { chrootCommand, mountIntoRoot } from "./debian-root";
import { postgresOsUser } from "./os-user";
import { dataDir, serverDir, serverFilesBase, serverLogDir, serverLogFile as logFile, socketDir } from "./paths";
import { installedRealExtensions, supabaseExtensions, SupabaseExtension, supportedMajors, Toolchain } from "./install";

const confFile = join(dataDir, "postgresql.conf");
/** supabase_vault's root key and the script that prints it (vault.getkey_script), readable by the server's OS user alone. */
const vaultKeyFile = join(dataDir, "vault-root.key");
const vaultGetkeyScript = join(dataDir, "vault-getkey");

/** Root runs the server as the `postgres` OS user that Debian's package creates; anyone else runs it as themselves. */
const serverUser = () => (process.getuid?.() === 0 ? postgresOsUser() : undefined);

/** Refuses `path` unless it is a real folder (no link) of this user's that nobody else may write. */
function requireOwnFolder(path: string): void {
  const folder = lstatSync(path);
  if (!folder.isDirectory() || folder.uid !== process.getuid?.() || (folder.mode & 0o022) !== 0) {
    throw new Error(`${path} is not a folder of this user's that only it may write (a link, or someone else's?). Remove it and start again.`);
  }
}

/**
 * The server's folders sit in a shared temp directory, under two levels that stay the invoking user's
 * (root's, as a rule): the per-user base and this stack's folder. Only the folders the server writes
 * (data, socket, log) are its OS user's, so nothing the server's user can do (and anyone who reaches the
 * local server, which trusts local connections, can act as it) replaces a folder that root then chowns.
 */
function checkServerFolders(options: { create: boolean }): void {
  for (const folder of [serverFilesBase, serverDir]) {
    if (options.create && !existsSync(folder)) {
      mkdirSync(folder, { mode: 0o755 });
      // Whatever the umask: the server's OS user must traverse it, and nobody else may write it.
      if (!lstatSync(folder).isSymbolicLink()) chmodSync(folder, 0o755);
    }
    if (existsSync(folder)) requireOwnFolder(folder);
  }
}

/** A server program, inside the Debian root when the toolchain has one, as the server's OS user when we are root. */
function run(tc: Toolchain, tool: string, args: string[], options: SpawnSyncOptions = {}) {
  const user = serverUser();
  const program = join(tc.binDir, tool);
  checkServerFolders({ create: false });
  if (tc.root) mountIntoRoot(tc.root, serverFilesBase);
  const [command, argv] = tc.root ? chrootCommand(tc.root, user, program, args) : [program, args];
  const result = spawnSync(command, argv, {
    encoding: "utf8",
    ...options,
    ...(user && !tc.root ? { uid: user.uid, gid: user.gid } : {}),
    env: { ...process.env, LC_ALL: "C.UTF-8", ...(user ? { HOME: "/var/lib/postgresql" } : {}) },
  });
  if (result.error) throw result.error;
  return result;
}

/** A folder of the server's OS user inside serverDir (ours, so nothing in it can be swapped for a link). */
function ownedDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  if (lstatSync(path).isSymbolicLink()) throw new Error(`${path} is a link, not a folder. Run \`npm run db:reset\` to start afresh.`);
  const user = serverUser();
  if (user) chownSync(path, user.uid, user.gid);
}

/**
 * A new file for the server's OS user in its data directory, which that user may write: created with
 * O_EXCL, so a link planted in its place fails the start instead of being followed, and chowned by handle.
 */
function ownedFile(path: string, content: string, mode: number): void {
  const fd = openSync(path, "wx", mode);
  try {
    writeSync(fd, content);
    const user = serverUser();
    if (user) fchownSync(fd, user.uid, user.gid);
  } finally {
    closeSync(fd);
  }
}

/**
 * The real supabase_vault reads its root key at server start from the program named by vault.getkey_script
 * (64 hex digits on one line) and refuses to start without it. As on Supabase, the key lives beside the
 * data, one per cluster, never in a table: a file and a script only the server's OS user may read.
 */
function writeVaultGetkey(): string[] {
  ownedFile(vaultKeyFile, `${randomBytes(32).toString("hex")}\n`, 0o600);
  ownedFile(vaultGetkeyScript, `#!/bin/sh\nexec cat '${vaultKeyFile}'\n`, 0o700);
  return [`vault.getkey_script = '${vaultGetkeyScript}'`];
}

/** True when a server of this cluster answers; a stale postmaster.pid is pg_ctl's to judge, not ours. */
export function isRunning(tc: Toolchain): boolean {
  if (!existsSync(join(dataDir, "PG_VERSION"))) return false;
  return run(tc, "pg_ctl", ["-D", dataDir, "status"]).status === 0;
}

/** Creates the cluster unless a complete one of the same major is already there; refuses anything else. */
/** The major that made this stack's cluster (its PG_VERSION), if there is one. */
export function clusterMajor(): number | undefined {
  const versionFile = join(dataDir, "PG_VERSION");
  return existsSync(versionFile) ? Number(readFileSync(versionFile, "utf8").trim()) : undefined;
}

export function initCluster(tc: Toolchain): boolean {
  const major = clusterMajor();
  if (major !== undefined) {
    if (major !== tc.pgMajor) {
      throw new Error(
        `The cluster in ${dataDir} was made by PostgreSQL ${major}, and this start asks for ${tc.pgMajor}. ` +
          `Run \`REMINDER_CRON_PG=${tc.pgMajor} npm run db:reset\` to start afresh on ${tc.pgMajor}` +
          ((supportedMajors as readonly number[]).includes(major) ? `, or set REMINDER_CRON_PG=${major} to keep it.` : "."),
      );
    }
    return false;
  }
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new Error(`${dataDir} exists but holds no complete cluster (an interrupted start?). Run \`npm run db:reset\` to start afresh.`);
  }
  checkServerFolders({ create: true });
  ownedDir(dataDir);
  ownedDir(socketDir);
  ownedDir(serverLogDir);
  const result = run(tc, "initdb", ["-D", dataDir, "-U", "supabase_admin", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]);
  if (result.status !== 0) {
    throw new Error(`initdb failed (${String(result.stderr).trim().split("\n").pop()}). Check that ${serverDir} is writable and traversable by the postgres OS user.`);
  }
  const real = installedRealExtensions(tc);
  appendFileSync(
    confFile,
    [
      "",
      "# reminder-cron local stack",
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${socketDir}'`,
      `shared_preload_libraries = '${["pg_cron", ...real].join(",")}'`,
      ...(real.includes("supabase_vault") ? writeVaultGetkey() : []),
      // pg_net's worker serves the database our migrations use, as on Supabase. The stand-in's worker reads
      // pg_net's own settings too; set here, they exist for ALTER SYSTEM and reload as the real ones do.
      ...(real.includes("pg_net") ? ["pg_net.database_name = 'postgres'"] : ["pg_net.batch_size = 200", "pg_net.ttl = '6 hours'"]),
      "cron.database_name = 'postgres'",
      "cron.use_background_workers = on",
      "max_worker_processes = 32",
      // A throwaway cluster: durability costs start-up and test time and buys nothing.
      "fsync = off",
      "synchronous_commit = off",
      "full_page_writes = off",
      "log_min_messages = warning",
      "",
    ].join("\n"),
  );
  return true;
}

/** The real extensions this cluster was made for: the ones its postgresql.conf preloads besides pg_cron. */
function preloadedRealExtensions(): SupabaseExtension[] {
  const line = /^shared_preload_libraries = '([^']*)'$/m.exec(readFileSync(confFile, "utf8"));
  return (line?.[1].split(",") ?? []).filter((lib): lib is SupabaseExtension => (supabaseExtensions as readonly string[]).includes(lib));
}

const describeMode = (real: SupabaseExtension[]) => (real.length === 0 ? "the pg_net and Vault stand-ins" : `the real ${real.join(" and ")}`);

/**
 * Refuses, before any process starts, a cluster that cannot start as it is: one made for the stand-ins
 * while the real extensions are installed now (or the other way round), or whose Vault key script is gone.
 */
export function checkClusterMode(tc: Toolchain): void {
  const made = preloadedRealExtensions().sort();
  const now = installedRealExtensions(tc).sort();
  if (made.join() !== now.join()) {
    throw new Error(
      `The cluster in ${dataDir} was made for ${describeMode(made)}, but this machine now has ${describeMode(now)} installed. ` +
        "Run `npm run db:reset` to make a fresh cluster for what is installed (its data is thrown away).",
    );
  }
  if (made.includes("supabase_vault")) {
    try {
      accessSync(vaultGetkeyScript, constants.X_OK);
      accessSync(vaultKeyFile, constants.R_OK);
    } catch {
      throw new Error(`The real supabase_vault needs its key script ${vaultGetkeyScript} and key ${vaultKeyFile}, and one is missing or unreadable. Run \`npm run db:reset\` to make a fresh cluster with a new key.`);
    }
  }
}

/** What the server's log says went wrong at start, in words an operator can act on. */
function startFailure(tail: string, port: number): string {
  const library = /could not load library "([^"]+)": (.*)/.exec(tail);
  if (library) {
    return `PostgreSQL cannot load ${library[1]} (${library[2].trim()}). Reinstall that extension so its library loads, or remove its files to use the local stand-in, then run \`npm run db:reset\`.`;
  }
  if (/getkey script|invalid secret key/.test(tail)) {
    return `PostgreSQL did not start: supabase_vault could not read its root key (${tail}). Run \`npm run db:reset\` to make a fresh cluster with a new key.`;
  }
  return `PostgreSQL did not start on port ${port}: ${tail}.`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export function startCluster(tc: Toolchain, port: number): void {
  checkServerFolders({ create: true });
  ownedDir(socketDir);
  ownedDir(serverLogDir);
  const result = run(tc, "pg_ctl", ["-D", dataDir, "-l", logFile, "-w", "-t", "60", "-o", `-p ${port}`, "start"]);
  if (result.status !== 0) {
    run(tc, "pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
    const tail = existsSync(logFile) ? readFileSync(logFile, "utf8").trim().split("\n").slice(-3).join(" | ") : "";
    throw new Error(`${startFailure(tail || String(result.stderr).trim(), port)} The full log is ${logFile}.`);
  }
}

export function stopCluster(tc: Toolchain): void {
  if (!isRunning(tc)) return;
  const result = run(tc, "pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "-t", "60", "stop"]);
  if (result.status !== 0) throw new Error(`PostgreSQL did not stop: ${String(result.stderr).trim()}. See ${logFile}.`);
}
