/**
 * `npm run bench` finds every benchmark by itself: each bench/*.ts but run.ts, each exporting run(). A new
 * benchmark without run() would be skipped silently by nobody: this test names it.
 */
import { benchmarkFiles, selectFiles } from "../../bench/run";

test("every bench/*.ts but run.ts is a benchmark, and exports async run()", async () => {
  const files = benchmarkFiles();
  expect(files).not.toContain("run.ts");
  expect(files).toEqual(expect.arrayContaining(["operations.ts", "stack-startup.ts", "trigger.ts"]));
  for (const file of files) {
    const module = await import(`../../bench/${file}`);
    expect([file, typeof module.run]).toEqual([file, "function"]);
  }
});

test("names on the command line select benchmarks, with or without .ts; an unknown one is refused with the choices", () => {
  const files = ["operations.ts", "stack-startup.ts", "trigger.ts"];
  expect(selectFiles(files, [])).toEqual(files);
  expect(selectFiles(files, ["trigger", "operations.ts"])).toEqual(["operations.ts", "trigger.ts"]);
  expect(() => selectFiles(files, ["trigger", "nope"])).toThrow(
    "No benchmark bench/nope.ts: choose from operations.ts, stack-startup.ts, trigger.ts.",
  );
});
