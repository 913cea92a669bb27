/**
 * The Edge Function's bundle as `pulumi up` uploads it: the files the entrypoint reaches, named below the
 * functions folder, a checksum that follows their content and not where the folder is, and every reason
 * Supabase could not bundle it, found before anything is deployed.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ts from "typescript";
import { FunctionBundle, functionBundle } from "../../infra/providers/function-bundle";
import { functionsDir } from "../../stack/edge-functions";

let copy: string;
const entry = () => join(copy, "reminder-scheduler", "index.ts");
const bundleOf = (entrypoint = entry(), importMap: string | undefined = join(copy, "reminder-scheduler", "deno.json")) => functionBundle(ts, entrypoint, importMap);

beforeEach(() => {
  copy = join(mkdtempSync(join(tmpdir(), "function-bundle-")), "functions");
  cpSync(functionsDir, copy, { recursive: true });
});
afterEach(() => rmSync(join(copy, ".."), { recursive: true, force: true }));

test("holds the entrypoint, the modules it imports, _shared's, and deno.json, named below the functions folder", () => {
  const bundle = bundleOf() as FunctionBundle;
  expect(bundle.entrypointPath).toBe("reminder-scheduler/index.ts");
  expect(bundle.importMapPath).toBe("reminder-scheduler/deno.json");
  expect(bundle.files.map((file) => file.name)).toEqual([
    "_shared/credentials.ts",
    "_shared/env.ts",
    "_shared/http.ts",
    "_shared/signature.ts",
    "reminder-scheduler/deno.json",
    "reminder-scheduler/index.ts",
    "reminder-scheduler/request.ts",
    "reminder-scheduler/run.ts",
  ]);
});

test("has the same checksum as the repository's folder wherever the copy is, and another once a file changes", () => {
  const here = (functionBundle(ts, join(functionsDir, "reminder-scheduler", "index.ts"), join(functionsDir, "reminder-scheduler", "deno.json")) as FunctionBundle).checksum;
  expect((bundleOf() as FunctionBundle).checksum).toBe(here);
  writeFileSync(join(copy, "_shared", "http.ts"), "// changed\n", { flag: "a" });
  expect((bundleOf() as FunctionBundle).checksum).not.toBe(here);
});

test("names each import that names no file, each import outside the functions folder, and each file that does not parse", () => {
  writeFileSync(entry(), 'import { gone } from "../_shared/gone.ts";\nimport { far } from "../../elsewhere.ts";\nconst broken = ;\n');
  expect(bundleOf()).toEqual({
    problems: [
      "reminder-scheduler/index.ts:3:16 does not parse: Expression expected.",
      `reminder-scheduler/index.ts imports '../_shared/gone.ts', which names no file (looked for ${join(copy, "_shared", "gone.ts")})`,
      `reminder-scheduler/index.ts imports '../../elsewhere.ts', which is outside the functions folder ${copy}, so it would not be uploaded`,
    ],
  });
});

test("an entrypoint that names no file is one problem", () => {
  expect(bundleOf(join(copy, "nothing", "index.ts"))).toEqual({ problems: [`the entrypoint ${join(copy, "nothing", "index.ts")} names no file (looked for ${join(copy, "nothing", "index.ts")})`] });
});
