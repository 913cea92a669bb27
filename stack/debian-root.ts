/**
 * PostgreSQL 17 with pg_cron 1.6, the platform of new Supabase projects, on a machine whose Debian (12)
 * packages only 15: a Debian 13 root made once per machine with `debootstrap`, PostgreSQL 17, pg_cron and
 * pgTAP installed in it from Debian's own packages, and the server run inside it with `chroot`.
 *
 * The server sees the host's files only through bind mounts at the same paths (`/dev`, `/proc`, and the
 * folder of server-side cluster files, stack/paths.ts), so a path means the same thing inside and out and
 * the host's clients reach the server on 127.0.0.1 as any other. Its `postgres` OS user is created with the
 * host's uid and gid before PostgreSQL is installed, so the files the host hands it are its own.
 *
 * A root is used only when its marker names the recipe below; anything else (an interrupted build, an
 * older recipe, a missing binary) is unmounted, removed and built again, never half-used.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { OsIds, postgresOsUser } from "./os-user";

export const debianRootMajor = 17;

/** What a root is built from; a root whose marker holds anything else is rebuilt. */
const recipe = {
  suite: "trixie",
  variant: "minbase",
  packages: [`postgresql-${debianRootMajor}`, `postgresql-${debianRootMajor}-cron`, `postgresql-${debianRootMajor}-pgtap`],
};

/**
 * A path as the kernel's mount table spells it (absolute, no `..`, links resolved), so the mounts below the
 * root are found by name; a root missed there would be removed with the host's /dev still mounted in it.
 */
function canonical(path: string): string {
  const absolute = resolve(path);
  const existing = [absolute, ...ancestors(absolute)].find((candidate) => existsSync(candidate))!;
  return join(realpathSync(existing), relative(existing, absolute));
}

const ancestors = (path: string): string[] => (dirname(path) === path ? [] : [dirname(path), ...ancestors(dirname(path))]);

/** Once per machine, outside every checkout: clean clones and test runs all use the same root. */
export const debianRootDir = canonical(process.env.REMINDER_CRON_DEBIAN_ROOT ?? `/var/cache/reminder-cron/debian13-pg${debianRootMajor}`);
const markerName = ".reminder-cron-root.json";

/** The one line every refusal ends with: how to test without this root. */
export const onlyFifteen = "To run on PostgreSQL 15 alone, set REMINDER_CRON_PG=15 (for example `REMINDER_CRON_PG=15 npm test`).";

/** The marker a complete root of this recipe holds. */
export function wantedMarker(ids: OsIds = postgresOsUser()): string {
  return JSON.stringify({ ...recipe, postgresUid: ids.uid, postgresGid: ids.gid }, null, 2) + "\n";
}

/** The files a usable root must hold, besides its marker. */
const requiredFiles = [
  `/usr/lib/postgresql/${debianRootMajor}/bin/postgres`,
  `/usr/lib/postgresql/${debianRootMajor}/bin/initdb`,
  `/usr/lib/postgresql/${debianRootMajor}/bin/pg_ctl`,
  `/usr/share/postgresql/${debianRootMajor}/extension/pg_cron.control`,
  `/usr/share/postgresql/${debianRootMajor}/extension/pgtap.control`,
  "/usr/sbin/chroot",
];

/** Why the root at `dir` cannot be used as it is, or undefined when it is complete. */
export function rootProblem(dir: string = debianRootDir): string | undefined {
  if (!existsSync(dir)) return "it does not exist yet";
  const markerFile = join(dir, markerName);
  if (!existsSync(markerFile)) return "it has no completion marker (an interrupted build?)";
  if (readFileSync(markerFile, "utf8") !== wantedMarker()) return "it was built from another recipe or for another postgres uid";
  const missing = requiredFiles.filter((file) => !existsSync(join(dir, file)));
  return missing.length > 0 ? `it lacks ${missing.join(", ")}` : undefined;
}

/** Mount points at or below `dir`, deepest first, read from the kernel's own table. */
function mountsBelow(dir: string): string[] {
  const points = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((point): point is string => point !== undefined)
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
  return points.filter((point) => point === dir || point.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
}

const isMounted = (point: string) => mountsBelow(point).includes(point);

function unmountAll(dir: string): void {
  for (const point of mountsBelow(dir)) execFileSync("umount", ["--lazy", point], { stdio: "ignore" });
  const left = mountsBelow(dir);
  if (left.length > 0) throw new Error(`Could not unmount ${left.join(", ")}; unmount them by hand before the root is rebuilt.`);
}

/**
 * Removes a root, first moved aside (so no process can take the half-removed one for a root), then
 * emptied of every mount (the host's /dev, the clusters), checked in the kernel's table. Only then rm: its
 * --one-file-system does not stop at a bind mount of the same filesystem, so the unmount is what guards.
 */
function removeRoot(dir: string): void {
  if (!existsSync(dir)) return;
  const aside = `${dir}.removing-${process.pid}`;
  renameSync(dir, aside);
  unmountAll(aside);
  execFileSync("rm", ["-rf", "--one-file-system", aside], { stdio: ["ignore", "ignore", "inherit"] });
}

/** `source` at the same path inside `root`; a mount of a folder since removed and made again is renewed. */
function bindMount(path: string, root: string): void {
  mkdirSync(path, { recursive: true });
  const source = canonical(path);
  const target = join(root, source);
  if (isMounted(target)) {
    if (statSync(target).ino === statSync(source).ino) return;
    execFileSync("umount", ["--lazy", target], { stdio: "ignore" });
  }
  mkdirSync(target, { recursive: true });
  execFileSync("mount", ["--bind", source, target], { stdio: ["ignore", "ignore", "pipe"] });
}

function lastLine(error: unknown): string {
  const stderr = (error as { stderr?: Buffer | string }).stderr;
  const text = stderr ? String(stderr).trim() : (error as Error).message;
  return text.split("\n").filter(Boolean).pop() ?? text;
}

function step(what: string, command: string, args: string[]): void {
  try {
    execFileSync(command, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  } catch (error) {
    throw new Error(`Building the PostgreSQL ${debianRootMajor} root failed while ${what} (${lastLine(error)}). Check that Debian's package registry is reachable and try again. ${onlyFifteen}`);
  }
}

/** debootstrap into `dir`, then the host's postgres ids, then PostgreSQL 17, pg_cron and pgTAP from Debian 13. */
function build(dir: string, log: (line: string) => void): void {
  const ids = postgresOsUser();
  const started = Date.now();
  log(`building a Debian 13 root with PostgreSQL ${debianRootMajor} in ${debianRootDir} (once per machine, about a minute)`);
  step("running debootstrap", "debootstrap", [`--variant=${recipe.variant}`, recipe.suite, dir]);
  try {
    bindMount("/dev", dir);
    bindMount("/proc", dir);
    // Before PostgreSQL's packages make their own: the same ids as the host's, so files the host
    // chowns to postgres are the server's inside the root (-o: the ids may be taken there already).
    step("adding the postgres group", "chroot", [dir, "groupadd", "--system", "-o", "-g", String(ids.gid), "postgres"]);
    step("adding the postgres user", "chroot", [dir, "useradd", "--system", "-o", "-u", String(ids.uid), "-g", String(ids.gid), "-d", "/var/lib/postgresql", "-s", "/bin/bash", "postgres"]);
    step("running apt-get update", "chroot", [dir, "apt-get", "update", "-qq"]);
    step(`installing ${recipe.packages.join(" ")}`, "chroot", [dir, "apt-get", "install", "-y", "-qq", "--no-install-recommends", ...recipe.packages]);
    step("cleaning apt's cache", "chroot", [dir, "apt-get", "clean"]);
  } finally {
    unmountAll(dir);
  }
  writeFileSync(join(dir, markerName), wantedMarker(ids));
  log(`the PostgreSQL ${debianRootMajor} root is ready (${Math.round((Date.now() - started) / 1000)} s)`);
}

function lockOwner(lock: string): number {
  try {
    return Number(readFileSync(join(lock, "pid"), "utf8")) || 0;
  } catch {
    return 0;
  }
}

/**
 * One builder at a time: the others wait for its lock, then find the root ready. A lock whose owner is gone
 * (a killed build) is taken over.
 */
function withLock<T>(fn: () => T): T {
  const lock = `${debianRootDir}.lock`;
  // A new parent is root's alone: inside the root, /tmp is world-writable, and a user who could reach it
  // could plant a link where the cluster folder is mounted. The processes in the chroot never need it.
  if (!existsSync(dirname(lock))) mkdirSync(dirname(lock), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + 10 * 60 * 1000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch {
      const owner = lockOwner(lock);
      const ownerAlive = owner > 0 && spawnSync("kill", ["-0", String(owner)]).status === 0;
      const stale = !ownerAlive && Date.now() - statSync(lock).mtimeMs > 2000;
      if (stale) execFileSync("rm", ["-rf", lock]);
      else if (Date.now() > deadline) throw new Error(`Another process (pid ${owner}) has been building the PostgreSQL ${debianRootMajor} root for ten minutes; stop it or remove ${lock}.`);
      else spawnSync("sleep", ["1"]);
    }
  }
  try {
    return fn();
  } finally {
    execFileSync("rm", ["-rf", lock]);
  }
}

function onPath(program: string): boolean {
  return [...(process.env.PATH ?? "").split(":"), "/usr/sbin"].some((dir) => dir !== "" && existsSync(join(dir, program)));
}

/** Builds the root unless a complete one is there; a broken one is removed and built afresh. */
export function ensureDebianRoot(log: (line: string) => void = (line) => process.stderr.write(`local stack: ${line}\n`)): string {
  // Before anything else: a built root is no use to a user who cannot mount into it or chroot.
  if (process.getuid?.() !== 0) {
    throw new Error(`PostgreSQL ${debianRootMajor} runs from a Debian 13 root that only root can build and enter (chroot), and this is not root. Run as root. ${onlyFifteen}`);
  }
  if (rootProblem() === undefined) return debianRootDir;
  if (!onPath("debootstrap")) {
    log("installing debootstrap from Debian's packages");
    // A new machine's package lists may be empty until an update.
    step("updating apt's package lists", "apt-get", ["update", "-qq"]);
    step("installing debootstrap", "apt-get", ["install", "-y", "-qq", "debootstrap"]);
  }
  return withLock(() => {
    const problem = rootProblem();
    if (problem === undefined) return debianRootDir;
    if (existsSync(debianRootDir)) {
      log(`the root in ${debianRootDir} cannot be used (${problem}); removing it to build it again`);
      removeRoot(debianRootDir);
    }
    const building = `${debianRootDir}.building`;
    removeRoot(building);
    try {
      build(building, log);
    } catch (error) {
      // Nothing half-made stays behind to be mistaken for a root, or to fill the disk.
      removeRoot(building);
      throw error;
    }
    renameSync(building, debianRootDir);
    return debianRootDir;
  });
}

/**
 * Makes the host's `/dev`, `/proc` and `serverFilesDir` visible in the root at the same paths. Cheap when
 * they are mounted already; a machine restart drops them, and the next start mounts them again.
 */
export function mountIntoRoot(root: string, serverFilesDir: string): void {
  for (const source of ["/dev", "/proc", serverFilesDir]) bindMount(source, root);
}

/** The command line that runs `program` inside the root as the given OS user. */
export function chrootCommand(root: string, user: OsIds | undefined, program: string, args: string[]): [string, string[]] {
  const userspec = user ? [`--userspec=${user.uid}:${user.gid}`] : [];
  return ["chroot", [...userspec, root, program, ...args]];
}
