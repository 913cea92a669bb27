/**
 * The program runs with production dependencies only, as `pulumi up` runs it after `npm ci --omit=dev`.
 *
 * How Pulumi runs it (@pulumi/pulumi cmd/run/run.js and tsutils.js): in `main` (infra/), with ts-node and
 * the compiler found by require("ts-node") and require("typescript") from the SDK's own location, falling
 * back to its vendored ts-node 7.0.1 and TypeScript 3.8.3 when the project has none; ./tsconfig.json's
 * compilerOptions.noCheck decides whether ts-node only transpiles. The tree `npm ci --omit=dev` installs is
 * package-lock.json without the entries marked dev. This walks the program's modules as ts-node would
 * load them and resolves every package they require in that tree.
 */
import { builtinModules } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import * as ts from "typescript";
import { repoRoot } from "../../stack/paths";
import { serializedProviders } from "../support/pulumi-host";

const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean; version?: string }> };
/** Install paths `npm ci --omit=dev` creates, e.g. node_modules/pg. */
const productionTree = new Set(Object.entries(lock.packages).filter(([path, entry]) => path !== "" && !entry.dev).map(([path]) => path));

const programDir = join(repoRoot, "infra");
const sdkTsutils = require(join(repoRoot, "node_modules", "@pulumi", "pulumi", "tsutils.js")) as { loadTypeScriptCompilerOptions(path: string): Record<string, unknown> };
const programCompilerOptions = sdkTsutils.loadTypeScriptCompilerOptions(join(programDir, "tsconfig.json"));

const packageName = (specifier: string) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
const isBuiltin = (specifier: string) => specifier.startsWith("node:") || builtinModules.includes(specifier.split("/")[0]);

/** What a file requires once transpiled as ts-node transpiles it (type-only imports are gone by then). */
function runtimeRequires(file: string, compiler: typeof ts = ts): { requires: string[]; syntaxErrors: string[] } {
  const output = compiler.transpileModule(readFileSync(file, "utf8"), {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: { module: compiler.ModuleKind.CommonJS, target: compiler.ScriptTarget.ES2020, esModuleInterop: true },
  });
  const syntaxErrors = (output.diagnostics ?? []).map((diagnostic) => compiler.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
  return { requires: [...output.outputText.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1]), syntaxErrors };
}

/** Every local file the program loads, from infra/index.ts, and every package specifier they require. */
function programModules(): { files: string[]; packages: Set<string> } {
  const files: string[] = [];
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.includes(file)) return;
    files.push(file);
    for (const specifier of runtimeRequires(file).requires) {
      if (specifier.startsWith(".")) {
        const base = resolve(dirname(file), specifier);
        const target = [`${base}.ts`, join(base, "index.ts"), base].find((candidate) => existsSync(candidate) && candidate.endsWith(".ts"));
        if (!target) throw new Error(`${file} requires ${specifier}, which is no TypeScript file`);
        visit(target);
      } else if (!isBuiltin(specifier)) {
        packages.add(packageName(specifier));
      }
    }
  };
  visit(join(programDir, "index.ts"));
  return { files, packages };
}

describe("Pulumi's TypeScript support", () => {
  test("finds the project's own typescript and ts-node in the production tree, so it never falls back to its vendored TypeScript 3.8.3", () => {
    expect(productionTree.has("node_modules/typescript")).toBe(true);
    expect(productionTree.has("node_modules/ts-node")).toBe(true);
  });

  test("only transpiles the program (infra/tsconfig.json sets noCheck), so no @types package from devDependencies is needed", () => {
    expect(programCompilerOptions.noCheck).toBe(true);
  });

  test("the project's TypeScript parses every file of the program, and the vendored 3.8.3 would not (satisfies)", () => {
    const { files } = programModules();
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) expect([file, runtimeRequires(file).syntaxErrors]).toEqual([file, []]);
    const vendored = require(join(repoRoot, "node_modules", "@pulumi", "pulumi", "vendor", "typescript@3.8.3", "typescript.js")) as typeof ts;
    const failing = files.filter((file) => runtimeRequires(file, vendored).syntaxErrors.length > 0).map((file) => file.slice(repoRoot.length + 1));
    expect(failing).toEqual(expect.arrayContaining(["infra/providers/cron-job.ts"]));
  });
});

describe("the packages the program requires", () => {
  test("every package any file of the program requires at run time is in the production tree", () => {
    const { packages } = programModules();
    expect([...packages]).toEqual(expect.arrayContaining(["@pulumi/pulumi", "@pulumi/postgresql", "@pulumi/command"]));
    expect([...packages].filter((name) => !productionTree.has(`node_modules/${name}`))).toEqual([]);
  });

  test("every package the serialized dynamic providers require in the provider host is in the production tree", async () => {
    const providers = await serializedProviders();
    const required = new Set(Object.values(providers).flatMap((code) => [...code.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1])));
    const packages = [...required].filter((specifier) => !isBuiltin(specifier)).map(packageName);
    expect(packages).toContain("pg");
    expect(packages.filter((name) => !productionTree.has(`node_modules/${name}`))).toEqual([]);
  });

  test("what the test found missing would be caught: devDependencies are not in the production tree", () => {
    expect(productionTree.has("node_modules/jest")).toBe(false);
    expect(productionTree.has("node_modules/@types/jest")).toBe(false);
  });
});
