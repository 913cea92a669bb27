/**
 * `npm run bench` finds the benchmarks by itself: each bench/*.ts but run.ts that exports run(); a helper
 * module without one is skipped, not run and not an error.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { discoverBenchmarks, selectFiles, spread } from "../../bench/run";

test("the project's benchmarks are found, run.ts is not one of them", async () => {
  const { benchmarks } = await discoverBenchmarks();
  expect([...benchmarks.keys()]).toEqual(expect.arrayContaining(["operations.ts", "reminder-run.ts", "stack-startup.ts", "trigger.ts"]));
  expect([...benchmarks.keys()]).not.toContain("run.ts");
});

test("a module that exports run() is a benchmark, one that does not is skipped", async () => {
  const dir = mkdtempSync(join(tmpdir(), "reminder-cron-bench-discovery-"));
  try {
    writeFileSync(join(dir, "fast.ts"), "export async function run() { return { ms: 1 }; }\n");
    writeFileSync(join(dir, "helpers.ts"), "export const percentile = 50;\n");
    const { benchmarks, skipped } = await discoverBenchmarks(dir);
    expect([...benchmarks.keys()]).toEqual(["fast.ts"]);
    expect(await benchmarks.get("fast.ts")!()).toEqual({ ms: 1 });
    expect(skipped).toEqual(["helpers.ts"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("names on the command line select benchmarks, with or without .ts; an unknown one is refused with the choices", () => {
  const files = ["operations.ts", "stack-startup.ts", "trigger.ts"];
  expect(selectFiles(files, [])).toEqual(files);
  expect(selectFiles(files, ["trigger", "operations.ts"])).toEqual(["operations.ts", "trigger.ts"]);
  expect(() => selectFiles(files, ["trigger", "nope"])).toThrow("No benchmark bench/nope.ts: choose from operations.ts, stack-startup.ts, trigger.ts.");
});

test("spread reports the median and 95th percentile", () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  expect(spread(values)).toEqual({ calls: 100, median: 51, p95: 96 });
});
