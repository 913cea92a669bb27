/**
 * The source files of one Edge Function as `supabase functions deploy` uploads them: the entrypoint and
 * every file it reaches by relative imports (the function's own modules and `_shared/`), named by their
 * path below the functions folder (`reminder-scheduler/index.ts`, `_shared/env.ts`), plus the function's
 * deno.json when there is one. Supabase bundles them on its side; what would make that fail is checked
 * here first (a file that does not parse, a relative import that names no file, an import that leaves the
 * functions folder), so `pulumi preview` refuses it before anything is deployed.
 *
 * The checksum is SHA-256 over each file's name and content, in name order (as Supabase's Terraform
 * provider computes `local_checksum`): a changed source file is a changed checksum, and a copy of the
 * functions folder elsewhere has the same one.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type * as TypeScript from "typescript";
import { projectRoot } from "./db";

/**
 * The TypeScript module, passed in: the program imports it, and a provider loads it inside its method
 * (`await import("typescript")`), since a serialized provider cannot capture the compiler's code.
 */
export type TypeScriptModule = typeof TypeScript;

export interface BundleFile {
  /** The path below the functions folder, with '/' separators: the multipart part's file name. */
  name: string;
  content: Buffer;
}

export interface FunctionBundle {
  /** The entrypoint's name below the functions folder: the deploy metadata's `entrypoint_path`. */
  entrypointPath: string;
  /** The deno.json's name below the functions folder, when there is one: `import_map_path`. */
  importMapPath?: string;
  files: BundleFile[];
  /** SHA-256 hex over (name, NUL, content, NUL) of every file in name order. */
  checksum: string;
}

/** A path from the stack config or a resource input: absolute, or relative to the project root (Pulumi.yaml). */
export const resolveProjectPath = (path: string) => (isAbsolute(path) ? path : join(projectRoot(), path));

const nameBelow = (root: string, path: string) => relative(root, path).split(sep).join("/");

/** The bundle of the function whose entrypoint is `entrypoint`, or every reason Supabase could not bundle it. */
export function functionBundle(ts: TypeScriptModule, entrypoint: string, importMap?: string): FunctionBundle | { problems: string[] } {
  const entry = resolveProjectPath(entrypoint);
  if (!existsSync(entry) || !statSync(entry).isFile()) {
    return { problems: [`the entrypoint ${entrypoint} names no file (looked for ${entry})`] };
  }
  // supabase/functions/<slug>/index.ts: the functions folder is the one above the function's own.
  const root = dirname(dirname(entry));
  const problems: string[] = [];
  const seen = new Map<string, Buffer>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    const content = readFileSync(file);
    seen.set(file, content);
    const text = content.toString("utf8");
    const name = nameBelow(root, file);
    const syntax = ts.transpileModule(text, { fileName: file, reportDiagnostics: true, compilerOptions: { target: ts.ScriptTarget.ES2022 } }).diagnostics ?? [];
    for (const diagnostic of syntax) {
      const { line, character } = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start) : { line: 0, character: 0 };
      problems.push(`${name}:${line + 1}:${character + 1} does not parse: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, " ")}`);
    }
    for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
      const specifier = imported.fileName;
      // npm:, jsr:, https: and bare specifiers are resolved by Supabase's bundler from the network.
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) continue;
      const target = resolve(dirname(file), specifier);
      if (relative(root, target).startsWith("..")) {
        problems.push(`${name} imports '${specifier}', which is outside the functions folder ${root}, so it would not be uploaded`);
      } else if (!existsSync(target) || !statSync(target).isFile()) {
        problems.push(`${name} imports '${specifier}', which names no file (looked for ${target})`);
      } else {
        pending.push(target);
      }
    }
  }
  const mapFile = importMap === undefined ? undefined : resolveProjectPath(importMap);
  if (mapFile !== undefined) {
    if (!existsSync(mapFile)) problems.push(`the import map ${importMap} names no file (looked for ${mapFile})`);
    else if (relative(root, mapFile).startsWith("..")) problems.push(`the import map ${importMap} is outside the functions folder ${root}`);
    else seen.set(mapFile, readFileSync(mapFile));
  }
  if (problems.length > 0) return { problems };
  const files = [...seen.entries()].map(([path, content]) => ({ name: nameBelow(root, path), content })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash("sha256");
  for (const file of files) hash.update(file.name).update("\0").update(file.content).update("\0");
  return {
    entrypointPath: nameBelow(root, entry),
    ...(mapFile === undefined ? {} : { importMapPath: nameBelow(root, mapFile) }),
    files,
    checksum: hash.digest("hex"),
  };
}

/** The fix every bundle problem shares. */
export const bundleFix = (entrypoint: string) =>
  `correct the file named, then check it with: deno check --no-config ${entrypoint}; nothing is deployed until it bundles.`;
