import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { debianRootDir, debianRootMajor, ensureDebianRoot } from "./debian-root";

/** What the local stack needs from the operating system, for one PostgreSQL major version. */
export interface Toolchain {
  pgMajor: number;
  /** Where the server's programs are, as the server sees them (inside `root` when there is one). */
  binDir: string;
  /** The Debian 13 root the server runs in with chroot (stack/debian-root.ts); absent: the host's own. */
  root?: string;
}

/** The majors the stack runs: Supabase's two current platforms, 15 from the host and 17 from its root. */
export const supportedMajors = [15, debianRootMajor] as const;
export const majorEnv = "REMINDER_CRON_PG";

/**
 * REMINDER_CRON_PG: the PostgreSQL major to run (15 or 17), or undefined for the host's own. Bad input
 * is refused before anything is installed or started.
 */
export function requestedMajor(raw: string | undefined = process.env[majorEnv]): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const major = Number(raw.trim());
  if (!(supportedMajors as readonly number[]).includes(major)) {
    throw new Error(`${majorEnv}=${raw} is not a PostgreSQL major this stack runs. Set it to 15 (Debian 12's packages) or ${debianRootMajor} (Debian 13's, in a root the stack builds), or unset it.`);
  }
  return major;
}

/** A path of the server's files as the host sees it. */
export const onHost = (tc: Toolchain, path: string) => (tc.root ? join(tc.root, path) : path);

const pgRoot = "/usr/lib/postgresql";

function installedMajors(): number[] {
  if (!existsSync(pgRoot)) return [];
  return readdirSync(pgRoot)
    .map(Number)
    .filter((major) => Number.isInteger(major) && existsSync(`${pgRoot}/${major}/bin/postgres`))
    .sort((a, b) => b - a);
}

function isDebian(): boolean {
  return existsSync("/etc/debian_version");
}

/** The PostgreSQL major Debian ships as `postgresql` (15 on bookworm, 17 on trixie): read, never assumed. */
function distroMajor(): number | undefined {
  try {
    const out = execFileSync("apt-cache", ["depends", "postgresql"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const match = /Depends: postgresql-(\d+)\b/.exec(out);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function packagesFor(major: number): string[] {
  return [`postgresql-${major}`, `postgresql-${major}-cron`, `postgresql-${major}-pgtap`, "libtap-parser-sourcehandler-pgtap-perl"];
}

function missingPieces(major: number): string[] {
  const share = `/usr/share/postgresql/${major}/extension`;
  const missing: string[] = [];
  if (!existsSync(`${pgRoot}/${major}/bin/postgres`)) missing.push(`postgresql-${major}`);
  if (!existsSync(`${share}/pg_cron.control`)) missing.push(`postgresql-${major}-cron`);
  if (!existsSync(`${share}/pgtap.control`)) missing.push(`postgresql-${major}-pgtap`);
  if (!existsSync("/usr/bin/pg_prove")) missing.push("libtap-parser-sourcehandler-pgtap-perl");
  return missing;
}

function aptInstall(packages: string[]): void {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  process.stderr.write(`local stack: installing ${packages.join(" ")} from Debian's packages\n`);
  execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
  execFileSync("apt-get", ["install", "-y", "-qq", ...packages], { stdio: ["ignore", "ignore", "inherit"], env });
}

/**
 * Makes sure PostgreSQL, pg_cron, pgTAP and pg_prove are installed, installing them from Debian's packages
 * when running as root; otherwise says the exact command to run. With no major asked for, prefers an
 * installed major that already has everything. PostgreSQL 17 where the host's Debian does not package it
 * comes from a Debian 13 root (stack/debian-root.ts).
 */
export function ensureToolchain(major: number | undefined = requestedMajor()): Toolchain {
  // A major asked for is that major or an error, never another: a test run must not count 15 as 17.
  if (major === debianRootMajor && missingPieces(major).length > 0 && distroMajor() !== major) {
    // The host keeps the clients (psql, pg_prove) and the postgres OS user; the server comes from the root.
    hostToolchain(undefined);
    return { pgMajor: major, binDir: `${pgRoot}/${major}/bin`, root: ensureDebianRoot() };
  }
  return hostToolchain(major);
}

/**
 * The toolchain a running cluster of `major` was started with, without installing or building anything:
 * what stopping it needs (a stop must never start a root build under running servers).
 */
export function installedToolchain(major: number | undefined): Toolchain | undefined {
  const onHostComplete = (candidate: number) => existsSync(`${pgRoot}/${candidate}/bin/pg_ctl`);
  if (major === undefined) {
    const any = installedMajors()[0];
    return any === undefined ? undefined : { pgMajor: any, binDir: `${pgRoot}/${any}/bin` };
  }
  if (onHostComplete(major)) return { pgMajor: major, binDir: `${pgRoot}/${major}/bin` };
  if (major === debianRootMajor && existsSync(`${debianRootDir}${pgRoot}/${major}/bin/pg_ctl`)) return { pgMajor: major, binDir: `${pgRoot}/${major}/bin`, root: debianRootDir };
  return undefined;
}

function hostToolchain(major: number | undefined): Toolchain {
  if (major !== undefined) return missingPieces(major).length === 0 ? { pgMajor: major, binDir: `${pgRoot}/${major}/bin` } : installHostMajor(major);
  const complete = installedMajors().find((candidate) => missingPieces(candidate).length === 0);
  if (complete !== undefined) return { pgMajor: complete, binDir: `${pgRoot}/${complete}/bin` };
  const chosen = installedMajors()[0] ?? distroMajor();
  if (chosen === undefined) throw new Error("Could not tell which PostgreSQL Debian ships: run `apt-get update` and try again.");
  return installHostMajor(chosen);
}

function installHostMajor(major: number): Toolchain {
  if (!isDebian()) {
    throw new Error(
      "The local stack installs PostgreSQL and pg_cron from Debian's packages, and this machine is not Debian. " +
        "Install PostgreSQL 15+ with pg_cron, pgTAP and pg_prove yourself, or set DATABASE_URL to a database that has them.",
    );
  }
  const missing = missingPieces(major);
  if (process.getuid?.() !== 0) {
    throw new Error(`The local stack needs ${missing.join(", ")}. Run: sudo apt-get install -y ${packagesFor(major).join(" ")}`);
  }
  aptInstall(packagesFor(major));
  const still = missingPieces(major);
  if (still.length > 0) throw new Error(`apt-get did not install ${still.join(", ")}; install them by hand and try again.`);
  return { pgMajor: major, binDir: `${pgRoot}/${major}/bin` };
}

/** The version of pg_cron Debian installed, as its control file states it (1.4-1 on bookworm, 1.6 on trixie). */
export function pgCronDefaultVersion(tc: Toolchain): string {
  const control = readFileSync(onHost(tc, `/usr/share/postgresql/${tc.pgMajor}/extension/pg_cron.control`), "utf8");
  return /default_version\s*=\s*'([^']+)'/.exec(control)?.[1] ?? "unknown";
}

/**
 * Supabase's two C extensions, not packaged by Debian: the stack uses each for real where its library is
 * installed, else its stand-in (stack/sql/).
 */
export const supabaseExtensions = ["pg_net", "supabase_vault"] as const;
export type SupabaseExtension = (typeof supabaseExtensions)[number];

/**
 * The real pg_net and supabase_vault installed for this major (their libraries in its lib folder), each of
 * which the cluster must preload; the stand-ins serve where they are absent.
 */
export function installedRealExtensions(tc: Toolchain): SupabaseExtension[] {
  const libDir = onHost(tc, `${pgRoot}/${tc.pgMajor}/lib`);
  return supabaseExtensions.filter((lib) => existsSync(`${libDir}/${lib}.so`));
}
