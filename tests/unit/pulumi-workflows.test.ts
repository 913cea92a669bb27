/**
 * The GitHub workflows, read as GitHub reads them: well-formed jobs and local actions, and the rules that
 * keep prod safe. A job a pull request can start runs the pull request's own code (the program and the
 * dynamic providers' SQL), so it must not be able to read a prod secret; prod's credentials belong to jobs
 * behind the `prod` environment, which only a dispatch from main reaches. Each job's `if:` is evaluated for
 * every event the workflow listens to, with what is unknown treated as "may be true".
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load } from "js-yaml";
import { repoRoot } from "../../stack/paths";

type Job = {
  if?: string;
  needs?: string | string[];
  "runs-on"?: string;
  uses?: string;
  environment?: string | { name: string };
  secrets?: unknown;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  env?: Record<string, string>;
  steps?: { uses?: string; run?: string; with?: Record<string, string>; name?: string; shell?: string }[];
};
type Workflow = { on: Record<string, unknown> | string | string[]; env?: Record<string, string>; jobs: Record<string, Job> };
type Action = { inputs?: Record<string, { required?: boolean; default?: string }>; runs: { using: string; steps: { run?: string; uses?: string; shell?: string; env?: Record<string, string> }[] } };

const workflowsDir = join(repoRoot, ".github", "workflows");
const workflowFiles = readdirSync(workflowsDir).filter((file) => /\.ya?ml$/.test(file));
const workflows = Object.fromEntries(workflowFiles.map((file) => [file, load(readFileSync(join(workflowsDir, file), "utf8")) as Workflow]));
const actionAt = (uses: string) => join(repoRoot, uses, "action.yml");
const action = (uses: string) => load(readFileSync(actionAt(uses), "utf8")) as Action;

const events = (workflow: Workflow) => (typeof workflow.on === "string" ? [workflow.on] : Array.isArray(workflow.on) ? workflow.on : Object.keys(workflow.on));
const environmentOf = (job: Job) => (typeof job.environment === "object" ? job.environment.name : job.environment);
const needsOf = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);

// ---- A small evaluator for the `if:` expressions the workflows use: ==, !=, &&, ||, !, parentheses. ----
type Tri = boolean | "unknown";
type Value = { known: true; value: string | boolean } | { known: false };

function evaluate(expression: string | undefined, context: Record<string, string>): Tri {
  if (expression === undefined) return true;
  const tokens = expression.replace(/^\s*\$\{\{|\}\}\s*$/g, "").match(/'[^']*'|==|!=|&&|\|\||!|\(|\)|[A-Za-z_][\w.-]*/g) ?? [];
  let at = 0;
  const peek = () => tokens[at];
  const next = () => tokens[at++];
  const truthy = (v: Value): Tri => (v.known ? Boolean(v.value) : "unknown");
  const asValue = (t: Tri): Value => (t === "unknown" ? { known: false } : { known: true, value: t });
  function primary(): Value {
    const token = next();
    if (token === "(") {
      const inner = or();
      if (next() !== ")") throw new Error(`unbalanced parentheses in ${expression}`);
      return inner;
    }
    if (token === "!") return asValue(not(truthy(primary())));
    if (token.startsWith("'")) return { known: true, value: token.slice(1, -1) };
    if (token === "true" || token === "false") return { known: true, value: token === "true" };
    return token in context ? { known: true, value: context[token] } : { known: false };
  }
  function comparison(): Value {
    const left = primary();
    if (peek() !== "==" && peek() !== "!=") return left;
    const op = next();
    const right = primary();
    if (!left.known || !right.known) return { known: false };
    const equal = String(left.value).toLowerCase() === String(right.value).toLowerCase();
    return { known: true, value: op === "==" ? equal : !equal };
  }
  /** A left-associative chain of `op`: the value that decides it (false for &&, true for ||) wins over unknown. */
  function chain(op: "&&" | "||", operand: () => Value): Value {
    const decides = op === "||";
    let result = truthy(operand());
    while (peek() === op) {
      next();
      const right = truthy(operand());
      result = result === decides || right === decides ? decides : result === !decides && right === !decides ? !decides : "unknown";
    }
    return asValue(result);
  }
  const and = () => chain("&&", comparison);
  const or = (): Value => chain("||", and);
  const not = (t: Tri): Tri => (t === "unknown" ? t : !t);
  const result = truthy(or());
  if (at !== tokens.length) throw new Error(`could not read the expression ${expression}`);
  return result;
}

/** Whether a job may run for this context: its own `if:` and every job it needs may be true. */
function mayRun(workflow: Workflow, name: string, context: Record<string, string>): boolean {
  const job = workflow.jobs[name];
  return evaluate(job.if, context) !== false && needsOf(job).every((needed) => mayRun(workflow, needed, context));
}

const sameRepoPr = {
  "github.event_name": "pull_request",
  "github.repository": "org/reminder-cron",
  "github.event.pull_request.head.repo.full_name": "org/reminder-cron",
  "github.actor": "a-maintainer",
};
const forkPr = { ...sameRepoPr, "github.event.pull_request.head.repo.full_name": "someone/reminder-cron" };
/** A run Dependabot started on its own branch of this repository: GitHub gives it no secrets. */
const dependabotPr = { ...sameRepoPr, "github.actor": "dependabot[bot]" };

/** Every job any pull request (fork or not) may start, across all workflows. */
const pullRequestJobs = Object.entries(workflows).flatMap(([file, workflow]) =>
  events(workflow).includes("pull_request")
    ? Object.keys(workflow.jobs)
        .filter((name) => [sameRepoPr, forkPr, dependabotPr].some((context) => mayRun(workflow, name, context)))
        .map((name) => ({ file, name, job: workflow.jobs[name] }))
    : [],
);

/** Every `secrets.NAME` a job can reach: its own text and that of the local actions it uses. */
function secretsReadBy(job: Job): string[] {
  const texts = [JSON.stringify(job), ...(job.steps ?? []).filter((step) => step.uses?.startsWith("./")).map((step) => readFileSync(actionAt(step.uses!), "utf8"))];
  return [...new Set(texts.flatMap((text) => [...text.matchAll(/secrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[)/g)].map((match) => match[1] ?? "<computed name>")))];
}

describe("the workflow files", () => {
  test.each(workflowFiles)("%s is a workflow GitHub can run: triggers, and jobs that either run steps or call a workflow", (file) => {
    const workflow = workflows[file];
    expect(events(workflow).length).toBeGreaterThan(0);
    for (const [name, job] of Object.entries(workflow.jobs)) {
      expect([name, Boolean(job["runs-on"]) !== Boolean(job.uses)]).toEqual([name, true]);
      for (const step of job.steps ?? []) expect([name, step.name ?? step.run ?? step.uses, Boolean(step.run) !== Boolean(step.uses)]).toEqual([name, step.name ?? step.run ?? step.uses, true]);
      for (const needed of needsOf(job)) expect(Object.keys(workflow.jobs)).toContain(needed);
    }
  });

  test("every local action a job uses exists, gets every input it requires and none it does not declare", () => {
    const uses = Object.values(workflows).flatMap((workflow) => Object.values(workflow.jobs).flatMap((job) => (job.steps ?? []).filter((step) => step.uses?.startsWith("./"))));
    expect(uses.length).toBeGreaterThan(0);
    for (const step of uses) {
      expect(existsSync(actionAt(step.uses!))).toBe(true);
      const inputs = action(step.uses!).inputs ?? {};
      const given = Object.keys(step.with ?? {});
      expect(given.filter((input) => !(input in inputs))).toEqual([]);
      expect(Object.entries(inputs).filter(([input, spec]) => spec.required && !given.includes(input)).map(([input]) => input)).toEqual([]);
    }
  });

  test("no workflow listens to pull_request_target, which runs with the base repository's secrets", () => {
    for (const workflow of Object.values(workflows)) expect(events(workflow)).not.toContain("pull_request_target");
  });
});

describe("prod secrets", () => {
  test("pull requests start at least the staging preview and the fork notice (the rules below have something to check)", () => {
    expect(pullRequestJobs.map(({ file, name }) => `${file}:${name}`)).toEqual(expect.arrayContaining(["pulumi.yml:preview-staging", "pulumi.yml:fork-notice", "pulumi.yml:dependabot-notice"]));
  });

  test("no job a pull request can start can read a prod secret: no PROD_ name, no inherited or computed secrets, no prod environment", () => {
    for (const { file, name, job } of pullRequestJobs) {
      const where = `${file}:${name}`;
      expect([where, job.secrets]).toEqual([where, undefined]);
      expect([where, environmentOf(job)]).not.toEqual([where, "prod"]);
      expect([where, secretsReadBy(job).filter((secret) => !/^STAGING_|^GITHUB_TOKEN$/.test(secret))]).toEqual([where, []]);
    }
    // Workflow-level env reaches every job, the pull request's included.
    for (const [file, workflow] of Object.entries(workflows)) expect([file, JSON.stringify(workflow.env ?? {})]).not.toEqual([file, expect.stringContaining("secrets")]);
  });

  test("local actions read no secret themselves: a job hands them only what its environment holds", () => {
    const actions = readdirSync(join(repoRoot, ".github", "actions"));
    for (const name of actions) expect([name, readFileSync(join(repoRoot, ".github", "actions", name, "action.yml"), "utf8")]).not.toEqual([name, expect.stringMatching(/secrets\s*[.[]/)]);
  });

  test("every job that reads a PROD_ secret runs in the protected prod environment, only on a dispatch from main", () => {
    const prodJobs = Object.entries(workflows).flatMap(([file, workflow]) =>
      Object.entries(workflow.jobs)
        .filter(([, job]) => secretsReadBy(job).some((secret) => secret.startsWith("PROD_")))
        .map(([name, job]) => ({ file, name, job, workflow })),
    );
    expect(prodJobs.map(({ name }) => name).sort()).toEqual(["preview-prod", "up-prod"]);
    for (const { name, job, workflow } of prodJobs) {
      expect([name, environmentOf(job)]).toEqual([name, "prod"]);
      for (const event of ["pull_request", "push"]) expect([name, event, mayRun(workflow, name, { ...sameRepoPr, "github.event_name": event })]).toEqual([name, event, false]);
      expect(mayRun(workflow, name, { "github.event_name": "workflow_dispatch", "github.ref": "refs/heads/feature", "inputs.stack": "prod" })).toBe(false);
      expect(mayRun(workflow, name, { "github.event_name": "workflow_dispatch", "github.ref": "refs/heads/main", "inputs.stack": "prod" })).toBe(true);
    }
  });
});

describe("the pulumi workflow", () => {
  const workflow = workflows["pulumi.yml"];
  const runs = (job: Job) => (job.steps ?? []).map((step) => step.run ?? step.uses ?? "");

  test("a fork's pull request gets the notice and no preview; a branch of this repository gets the preview and no notice", () => {
    expect([mayRun(workflow, "fork-notice", forkPr), mayRun(workflow, "preview-staging", forkPr)]).toEqual([true, false]);
    expect([mayRun(workflow, "fork-notice", sameRepoPr), mayRun(workflow, "preview-staging", sameRepoPr)]).toEqual([false, true]);
    expect(runs(workflow.jobs["fork-notice"]).join("\n")).toMatch(/::notice title=Pulumi preview skipped::.*fork/s);
  });

  test("a run Dependabot started gets its notice and no preview, as a fork's does; a maintainer's run on the same branch gets the preview", () => {
    const jobs = ["fork-notice", "dependabot-notice", "preview-staging"];
    expect(jobs.map((name) => mayRun(workflow, name, dependabotPr))).toEqual([false, true, false]);
    expect(jobs.map((name) => mayRun(workflow, name, sameRepoPr))).toEqual([false, false, true]);
    expect(jobs.map((name) => mayRun(workflow, name, forkPr))).toEqual([true, false, false]);
    expect(runs(workflow.jobs["dependabot-notice"]).join("\n")).toMatch(/::notice title=Pulumi preview skipped::Dependabot started this run.*no secrets/s);
    expect(workflow.jobs["dependabot-notice"].environment).toBeUndefined();
  });

  test("deployments queue per stack; previews of one pull request replace each other", () => {
    expect(workflow.jobs["up-staging"].concurrency).toEqual({ group: "pulumi-up-staging", "cancel-in-progress": false });
    expect(workflow.jobs["up-prod"].concurrency).toEqual({ group: "pulumi-up-prod", "cancel-in-progress": false });
    expect(workflow.jobs["preview-staging"].concurrency).toEqual({ group: "pulumi-preview-pr-${{ github.event.pull_request.number }}", "cancel-in-progress": true });
  });

  test("each up is followed by a second preview that must find no change, then by reminder-cron verify", () => {
    for (const name of ["up-staging", "up-prod"]) {
      const steps = runs(workflow.jobs[name]);
      const up = steps.findIndex((run) => /^pulumi up /.test(run));
      const again = steps.findIndex((run) => /^pulumi preview .*--expect-no-changes/.test(run));
      const verify = steps.indexOf("./.github/actions/reminder-cron-verify");
      expect([name, up >= 0, again > up, verify > again]).toEqual([name, true, true, true]);
    }
  });

  test("every refresh runs the program, so providers are configured from this run's config, not from state (a rotated password)", () => {
    const commands = Object.values(workflow.jobs).flatMap(runs).filter((run) => /pulumi (preview|up|refresh|destroy)/.test(run));
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands.filter((run) => /--refresh|pulumi (refresh|destroy)/.test(run))) expect(command).toContain("--run-program");
  });

  test("the jobs install production dependencies only, as the program must run with them", () => {
    const setup = action("./.github/actions/pulumi-stack");
    expect(setup.runs.steps.map((step) => step.run ?? "").filter((run) => run.startsWith("npm "))).toEqual(["npm ci --omit=dev --no-audit --no-fund"]);
  });
});

describe("the verify step's guard", () => {
  const script = action("./.github/actions/reminder-cron-verify").runs.steps[0].run!;
  let bin: string;
  beforeAll(() => {
    // Stand-ins for npx and pulumi on the PATH that record how they were called, so the guard runs for real.
    bin = mkdtempSync(join(tmpdir(), "verify-guard-"));
    for (const [tool, output] of [["npx", ""], ["pulumi", "30 5 * * 1-5"]]) {
      writeFileSync(join(bin, tool), `#!/bin/sh\nfor a in "$@"; do printf '[%s]' "$a" >> "${bin}/calls"; done\necho >> "${bin}/calls"\n${output ? `echo '${output}'\n` : ""}`);
      chmodSync(join(bin, tool), 0o755);
    }
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  const run = (env: Record<string, string>) =>
    spawnSync("bash", ["-e", "-c", script], { env: { PATH: `${bin}:${process.env.PATH}`, STACK: "prod", ...env }, encoding: "utf8" });
  const calls = () => (existsSync(join(bin, "calls")) ? readFileSync(join(bin, "calls"), "utf8") : "");

  test("without the token or the project reference it skips with a notice naming both secrets, and succeeds", () => {
    for (const env of [{}, { SUPABASE_ACCESS_TOKEN: "sbp_x" }, { SUPABASE_PROJECT_REF: "abcdefghijklmnopqrst" }] as Record<string, string>[]) {
      const result = run(env);
      expect(result.status).toBe(0);
      expect(result.stdout).toContain("::notice title=reminder-cron verify skipped (prod)::The prod environment has no PROD_SUPABASE_ACCESS_TOKEN or PROD_SUPABASE_PROJECT_REF secret");
    }
    expect(calls()).toBe("");
  });

  test("with both it runs npx reminder-cron verify with the stack's schedule, and never prints the token", () => {
    const result = run({ SUPABASE_ACCESS_TOKEN: "sbp_secret_token_value", SUPABASE_PROJECT_REF: "abcdefghijklmnopqrst" });
    expect(result.status).toBe(0);
    expect(calls()).toBe("[stack][output][schedule][--stack][prod]\n[reminder-cron][verify][--schedule][30 5 * * 1-5]\n");
    expect(result.stdout + result.stderr).not.toContain("sbp_secret_token_value");
  });
});
