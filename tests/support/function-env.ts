/**
 * What an Edge Function needs of its environment, read from its own source (never from a list kept in a
 * test), so that a deploy path that leaves a variable out fails the tests of that path.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../stack/paths";

export const functionsDir = join(repoRoot, "supabase", "functions");

/** The deployable functions: supabase/functions/<name>/, without the shared `_`-folders. */
export const functionNames = readdirSync(functionsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && !entry.name.startsWith("_"))
  .map((entry) => entry.name);

/**
 * What Supabase sets for every deployed Edge Function (docs: Edge Functions > Secrets, "Default secrets");
 * `supabase secrets set` refuses names starting with SUPABASE_, so these can come from nowhere else.
 */
export const platformVariables = ["SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_DB_URL"];

export const functionSource = (name: string) => readFileSync(join(functionsDir, name, "index.ts"), "utf8");

/** The names in the function's requireEnv(read, [names], ...) calls: what it will not start without. */
export function requiredVariables(text: string): string[] {
  const calls = [...text.matchAll(/requireEnv\(\s*[^[]*?\[([^\]]*)\]/g)];
  return calls.flatMap((call) => [...call[1].matchAll(/"([A-Z][A-Z0-9_]*)"/g)].map((m) => m[1]));
}

/** Every variable it reads at all: required, Deno.env.get("X"), optionalIntegerEnv(read, "X", ...). */
export function readVariables(text: string): string[] {
  const direct = [...text.matchAll(/Deno\.env\.get\("([A-Z][A-Z0-9_]*)"\)/g)].map((m) => m[1]);
  const optional = [...text.matchAll(/optionalIntegerEnv\([^,]+,\s*"([A-Z][A-Z0-9_]*)"/g)].map((m) => m[1]);
  return [...new Set([...requiredVariables(text), ...direct, ...optional])];
}
