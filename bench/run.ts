/**
 * `npm run bench`: runs every benchmark of the project, one after the other, and writes bench/results.json
 * with the machine they ran on. A benchmark is any bench/*.ts but this file that exports
 * `async function run(): Promise<Record<string, unknown>>` (a helper module without one is skipped); its
 * result lands under its file name, so a new benchmark needs no change here.
 *
 *   npm run bench                       every benchmark
 *   npm run bench -- trigger.ts         only those named (with or without .ts); the others' figures are kept
 *
 * Exit code 0 when every benchmark ran, 1 when one failed (its error is recorded in its place), 2 for an
 * unknown name. The local stack is started if needed, and stopped again if this started it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { basename, join } from "node:path";
import { Client } from "pg";
import { readState, StackState, startStack, stopStack } from "../stack/stack";
import { isRunningStack } from "../tests/support/stack-status";

const benchDir = __dirname;
const resultsFile = join(benchDir, "results.json");
const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

type Benchmark = () => Promise<Record<string, unknown>>;

interface Results {
  generatedAt: string;
  machine: Record<string, unknown>;
  benchmarks: Record<string, Record<string, unknown>>;
}

export function benchmarkFiles(dir: string = benchDir): string[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts") && file !== basename(__filename))
    .sort();
}

/** The files of `dir` that export run(), by file name; a helper module without one is not a benchmark. */
export async function discoverBenchmarks(dir: string = benchDir): Promise<{ benchmarks: Map<string, Benchmark>; skipped: string[] }> {
  const benchmarks = new Map<string, Benchmark>();
  const skipped: string[] = [];
  for (const file of benchmarkFiles(dir)) {
    const module = (await import(join(dir, file))) as { run?: unknown };
    if (typeof module.run === "function") benchmarks.set(file, module.run as Benchmark);
    else skipped.push(file);
  }
  return { benchmarks, skipped };
}

/** The names asked for on the command line, as file names; throws on a name that is no benchmark. */
export function selectFiles(files: string[], asked: string[]): string[] {
  if (asked.length === 0) return files;
  const wanted = asked.map((name) => (name.endsWith(".ts") ? name : `${name}.ts`));
  const unknown = wanted.filter((name) => !files.includes(name));
  if (unknown.length > 0) {
    throw new Error(`No benchmark ${unknown.map((name) => `bench/${name}`).join(", ")}: choose from ${files.join(", ")}.`);
  }
  return files.filter((file) => wanted.includes(file));
}

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync("/etc/os-release", "utf8"));
    return pretty ? pretty[1] : `${process.platform} ${release()}`;
  } catch {
    return `${process.platform} ${release()}`;
  }
}

function commit(): string | null {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: benchDir, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain"], { cwd: benchDir, encoding: "utf8" }).trim() !== "";
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return null;
  }
}

/** What the figures depend on: the CPU, its cores, memory, the OS, Node, PostgreSQL, pg_cron and pg_net. */
export async function machine(state: StackState): Promise<Record<string, unknown>> {
  const client = new Client({ connectionString: state.postgresUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      `select current_setting('server_version') as postgres,
              (select extversion from pg_extension where extname = 'pg_cron') as pg_cron,
              (select extversion from pg_extension where extname = 'pg_net') as pg_net`,
    );
    const cpuList = cpus();
    return {
      cpuModel: cpuList[0]?.model.trim() ?? "unknown",
      cores: cpuList.length,
      memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      os: osName(),
      node: process.version,
      postgres: rows[0].postgres,
      pgCron: rows[0].pg_cron,
      pgNet: rows[0].pg_net ?? (state.standIns.includes("pg_net") ? "local stand-in (stack/net-worker.ts)" : null),
      database: state.external ? "DATABASE_URL" : "local stack",
      commit: commit(),
    };
  } finally {
    await client.end();
  }
}

/** The median and 95th percentile of `values`, rounded to microseconds, as every benchmark here reports them. */
export function spread(values: number[]): { calls: number; median: number; p95: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 1000) / 1000;
  return { calls: values.length, median: at(50), p95: at(95) };
}

/** For `npx tsx bench/<name>.ts`: runs one benchmark alone and prints its result. */
export function runStandalone(name: string, benchmark: Benchmark): void {
  benchmark().then(
    (result) => process.stdout.write(JSON.stringify(result, null, 2) + "\n"),
    (error) => {
      process.stderr.write(`bench ${name}: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}

async function runOne(benchmark: Benchmark): Promise<Record<string, unknown>> {
  const started = performance.now();
  const result = await benchmark();
  return { ...result, benchmarkMs: Math.round(performance.now() - started) };
}

async function main(asked: string[]): Promise<number> {
  const { benchmarks, skipped } = await discoverBenchmarks();
  for (const file of skipped) say(`${file} exports no run(), so it is not a benchmark: skipped`);
  const files = selectFiles([...benchmarks.keys()], asked);
  const wasRunning = await isRunningStack(readState());
  const state = await startStack({ log: say });
  try {
    const previous: Results | undefined = asked.length > 0 && existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, "utf8")) : undefined;
    const results: Results = { generatedAt: new Date().toISOString(), machine: await machine(state), benchmarks: { ...(previous?.benchmarks ?? {}) } };
    let failed = 0;
    for (const file of files) {
      say(`${file}: running`);
      try {
        results.benchmarks[file] = await runOne(benchmarks.get(file)!);
        say(`${file}: ${JSON.stringify(results.benchmarks[file])}`);
      } catch (error) {
        failed++;
        results.benchmarks[file] = { error: (error as Error).message };
        say(`${file}: FAILED: ${(error as Error).message}`);
      }
    }
    writeFileSync(resultsFile, JSON.stringify(results, null, 2) + "\n");
    say(`wrote bench/results.json (${files.length} benchmark(s), ${failed} failed)`);
    return failed === 0 ? 0 : 1;
  } finally {
    // Benchmarks may restart the stack: stop what runs now, if it was ours to stop.
    if (!wasRunning) await stopStack();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`bench: ${(error as Error).message}\n`);
      process.exit(/^No benchmark /.test((error as Error).message) ? 2 : 1);
    },
  );
}
