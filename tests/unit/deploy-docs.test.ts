/**
 * docs/deploy-without-pulumi.md is a complete deploy: every variable the Edge Function refuses to start
 * without (read from its own requireEnv call, not from a list kept here) is either one Supabase gives every
 * function or set by the page's `supabase secrets set`; every variable it reads is described; the function
 * is deployed; and the Vault secrets the dispatch needs are created, the optional ones named with their
 * defaults. A new required variable, or one dropped from the page, fails here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultCronExpression, vaultSecrets } from "../../infra/sql/names";
import { intervalSettings } from "../../infra/sql/operations-names";
import { repoRoot } from "../../stack/paths";
import { functionNames as functions, functionSource as source, platformVariables, readVariables, requiredVariables } from "../support/function-env";

const doc = readFileSync(join(repoRoot, "docs", "deploy-without-pulumi.md"), "utf8");

/** The shell the page has the reader run: its ```sh blocks. */
const shell = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join("\n");
const sql = [...doc.matchAll(/```(?:sql|sh)\n([\s\S]*?)```/g)].map((m) => m[1]).join("\n");

/** The variables `supabase secrets set NAME=... NAME=...` lines set. */
const setBySecretsSet = shell
  .split("\n")
  .filter((line) => /^\s*supabase secrets set /.test(line))
  .flatMap((line) => [...line.matchAll(/(?:^|\s)([A-Z][A-Z0-9_]*)=/g)].map((m) => m[1]));

test("the function source is read: requireEnv names at least the database and the signing key", () => {
  expect(functions).toContain("reminder-scheduler");
  expect(requiredVariables(source("reminder-scheduler"))).toEqual(expect.arrayContaining(["SUPABASE_DB_URL", "REMINDER_SIGNING_KEY"]));
});

describe.each(functions)("supabase/functions/%s", (name) => {
  test("is deployed by the page", () => {
    expect(shell).toMatch(new RegExp(`^supabase functions deploy ${name}( |$)`, "m"));
  });

  test.each(requiredVariables(source(name)))("%s, which it will not start without, is set by Supabase or by the page's supabase secrets set", (variable) => {
    if (platformVariables.includes(variable)) {
      expect(setBySecretsSet).not.toContain(variable);
      expect(doc).toContain(`| \`${variable}\` | Supabase, for every function |`);
    } else {
      expect(setBySecretsSet).toContain(variable);
    }
  });

  test.each(readVariables(source(name)))("%s, which it reads, is in the page's table of its environment", (variable) => {
    expect(doc).toMatch(new RegExp(`^\\| \`${variable}\` \\| `, "m"));
  });
});

test.each([vaultSecrets.functionUrl, vaultSecrets.signingKey])("Vault's %s, without which the dispatch sends nothing, is created by the page", (secret) => {
  expect(sql).toMatch(new RegExp(`vault\\.create_secret\\([^)]*'${secret}'\\)`));
});

test.each<[string, string]>([
  [vaultSecrets.cronExpression, defaultCronExpression],
  ...Object.values(intervalSettings).map((setting): [string, string] => [setting.secret, setting.default]),
])("optional Vault secret %s is named with its default %s", (secret, fallback) => {
  expect(doc).toContain(`| \`${secret}\` | \`${fallback}\` |`);
});
