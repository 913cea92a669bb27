/**
 * The stack's configuration, typed and validated before any resource is registered: a bad value stops the
 * program with every problem at once, each naming the key (or environment variable), the value and the
 * fix, and nothing changes. Secrets are never quoted.
 *
 * Precedence for the two values the task card names as environment variables:
 *   REMINDER_CRON_EXPRESSION  >  reminder-cron:cronExpression  >  '0 6 * * *'
 *   REMINDER_FUNCTION_URL     >  reminder-cron:functionUrl     (required)
 * An environment variable set to the empty string counts as unset (CI often expands a missing variable so).
 * The variables count only where reminder-cron:allowEnvOverrides is true or the database is local: a
 * variable left in a shell must not repoint prod's job on `pulumi up --stack prod`. Either way the program
 * says so with pulumi.log.warn.
 */
import * as pulumi from "@pulumi/pulumi";
import * as ts from "typescript";
import { defaultCronExpression, defaultJobName, minimumSigningKeyLength, vaultSecrets } from "./sql/names";
import { jobNamePattern } from "./providers/cron-job";
import {
  certificateFileProblem,
  DbConnection,
  dbConfigKeys,
  dbDefaults,
  defaultSslMode,
  isLocalHost,
  projectName,
  resolveCertPath,
  SslMode,
  sslModes,
  sslRootCertFix,
  verifiesCertificate,
} from "./providers/db";
import { bundleFix, functionBundle } from "./providers/function-bundle";
import { defaultManagementApiUrl, managementApiUrlProblem, managementConfigKeys, projectRefPattern } from "./providers/management-api";
import { nextRun, normalizeSchedule, ParsedSchedule, parseSchedule, shortestGapSeconds } from "./providers/pg-cron-schedule";
import { Interval, intervalWords, readInterval, RetryFix, retryPolicyProblems, retryRangeProblems, RetrySetting } from "./retry-settings";
import { intervalSettings, maximumRetries, retryLimitSetting } from "./sql/operations-names";
import { scheduleWords } from "./schedule-words";

export const configKeys = {
  cronExpression: "cronExpression",
  functionUrl: "functionUrl",
  jobName: "jobName",
  jobActive: "jobActive",
  pgCronVersion: "pgCronVersion",
  manageExtensions: "manageExtensions",
  adoptRole: "adoptRole",
  allowEnvOverrides: "allowEnvOverrides",
  protect: "protect",
  signingKey: "signingKey",
  sharedSecret: "sharedSecret",
  previousSigningKey: "previousSigningKey",
  retries: "retries",
  retryBackoff: "retryBackoff",
  retryDeadline: "retryDeadline",
  ...dbConfigKeys,
  ...managementConfigKeys,
} as const;

/** The keys set with `pulumi config set --secret`: never read as plain values, never quoted. */
export const secretConfigKeys = ["password", "signingKey", "sharedSecret", "previousSigningKey", "accessToken"] as const;
type SecretKey = (typeof secretConfigKeys)[number];

/** The Edge Function pulumi up deploys, relative to the project root, and the secrets it is given. */
export const reminderFunction = {
  slug: "reminder-scheduler",
  entrypoint: "supabase/functions/reminder-scheduler/index.ts",
  importMap: "supabase/functions/reminder-scheduler/deno.json",
  secrets: { signingKey: "REMINDER_SIGNING_KEY", sharedSecret: "REMINDER_SHARED_SECRET", previousSigningKey: "REMINDER_SIGNING_KEY_PREVIOUS" },
} as const;

export const envOverrides = {
  cronExpression: "REMINDER_CRON_EXPRESSION",
  functionUrl: "REMINDER_FUNCTION_URL",
} as const;

/** The pg_cron version assumed when the stack does not declare one: 1.4 accepts only what every version accepts. */
export const defaultPgCronVersion = "1.4";

export const exampleFunctionUrl = "https://<project-ref>.supabase.co/functions/v1/reminder-scheduler";

/** Where a value came from, as outputs and error messages name it. */
export type Source = string;

export interface Settings {
  /** As pg_cron will store it: trimmed, one space between fields. */
  cronExpression: string;
  cronExpressionSource: Source;
  schedule: ParsedSchedule;
  functionUrl: string;
  functionUrlSource: Source;
  jobName: string;
  jobActive: boolean;
  pgCronVersion: string;
  manageExtensions: boolean;
  /** Adopt an existing cron_runner (made by an earlier `supabase db push`) instead of creating it. */
  adoptRole: boolean;
  /** Mark every resource `protect`ed, so `pulumi destroy` or a replacement stops instead of removing it (prod). */
  protect: boolean;
  /** What the program tells the user with pulumi.log.warn: an environment override used or ignored. */
  notices: string[];
  /** The connection the dynamic providers also read (`user` is the login name: `<role>.<project-ref>` on Supabase's pooler). */
  db: Omit<DbConnection, "password"> & {
    /** The role the session runs as: the login name without a pooler's `.<project-ref>`. */
    role: string;
  };
  /** Where the Edge Function and its secrets are deployed; the access token stays in the stack config, read by the providers. */
  management: { projectRef: string; apiUrl: string };
  /**
   * Retries of a failed run, as pulumi up writes them to Vault (backoff and deadline exactly as stored, e.g.
   * '1 minute'), checked as the database checks them, against this schedule.
   */
  retry: RetrySettings;
}

export interface RetrySettings {
  retries: number;
  backoff: string;
  deadline: string;
  backoffSeconds: number;
  deadlineSeconds: number;
}

export interface StackConfig extends Settings {
  dbPassword?: pulumi.Output<string>;
  /** Vault's reminder_signing_key; the function holds the same as REMINDER_SIGNING_KEY. */
  signingKey: pulumi.Output<string>;
  /** The function's REMINDER_SHARED_SECRET, the credential for calls by hand. */
  sharedSecret: pulumi.Output<string>;
  /** During a rotation: the key being replaced, the function's REMINDER_SIGNING_KEY_PREVIOUS. */
  previousSigningKey?: pulumi.Output<string>;
}

/** The plain (non-secret) values as the stack config holds them, whether each secret is set, and what may be said of them without their values. */
export interface RawConfig {
  values: Partial<Record<Exclude<keyof typeof configKeys, SecretKey>, string>>;
  secretsSet: { password: boolean; signingKey: boolean } & Partial<Record<"sharedSecret" | "previousSigningKey" | "accessToken", boolean>>;
  /** Characters in the signing key, when set: never its value. */
  signingKeyLength?: number;
  sharedSecretLength?: number;
  previousSigningKeyLength?: number;
  /** The previous key equals the current one (a rotation half-done). */
  previousSigningKeyIsCurrent?: boolean;
  /** The access token has the shape of a personal access token (sbp_...). */
  accessTokenWellFormed?: boolean;
  /** Why Supabase could not bundle the function pulumi up deploys (./providers/function-bundle.ts), if it could not. */
  functionBundleProblems?: string[];
}

const full = (key: string) => `${projectName}:${key}`;
const blank = (value: string | undefined): value is undefined => value === undefined || value.trim() === "";
const isPlaceholder = (value: string) => /<[^>]*>/.test(value);

/**
 * Pure validation: raw config, environment and stack name in; settings out, or one Error listing every
 * problem. Used by loadStackConfig and directly by the tests.
 */
export function parseSettings(raw: RawConfig, env: Record<string, string | undefined>, stack: string): Settings {
  const problems: string[] = [];
  const setCommand = (key: string, example: string, secret = false) =>
    `pulumi config set ${secret ? "--secret " : ""}${full(key)} ${example} --stack ${stack}`;

  const notices: string[] = [];
  /** A value from the environment (when set, not empty and allowed) or the stack config, and how to name it. */
  const pick = (key: keyof typeof envOverrides) => {
    const fromEnv = env[envOverrides[key]];
    if (!blank(fromEnv) && !overridesAllowed) {
      notices.push(
        `${envOverrides[key]} is set in this shell but ignored: stack ${stack} takes ${full(configKeys[key])} from its config. ` +
          `To override it for one run: ${setCommand(configKeys.allowEnvOverrides, "true")}; to change it for good: ${setCommand(configKeys[key], `'${fromEnv}'`)}`,
      );
    } else if (!blank(fromEnv)) {
      notices.push(
        `${envOverrides[key]} = '${fromEnv}' overrides ${full(configKeys[key])} for this run (${full(configKeys.allowEnvOverrides)} or a local database allows it); ` +
          `the next run without it changes the job back.`,
      );
      return {
        value: fromEnv,
        source: envOverrides[key],
        label: `${envOverrides[key]} = '${fromEnv}' (environment; overrides ${full(configKeys[key])})`,
        fix: (example: string) => `export ${envOverrides[key]}='${example}', or unset it to use ${full(configKeys[key])}`,
      };
    }
    const fromConfig = raw.values[key];
    return {
      value: blank(fromConfig) ? undefined : fromConfig,
      source: full(configKeys[key]),
      label: `${full(configKeys[key])} = '${fromConfig}'`,
      fix: (example: string) => setCommand(configKeys[key], `'${example}'`),
    };
  };
  const plain = (key: keyof RawConfig["values"]) => (blank(raw.values[key]) ? undefined : raw.values[key]!.trim());
  const label = (key: keyof RawConfig["values"]) => `${full(configKeys[key])} = '${raw.values[key]}'`;

  function booleanOf(key: "jobActive" | "manageExtensions" | "adoptRole" | "allowEnvOverrides" | "protect", fallback: boolean): boolean {
    const value = plain(key);
    if (value === undefined) return fallback;
    if (value === "true" || value === "false") return value === "true";
    problems.push(`${label(key)} is not true or false. Fix: ${setCommand(configKeys[key], String(fallback))}`);
    return fallback;
  }

  // Before any pick(): a shell variable counts only where the stack opted in, or the database is local.
  const hostSetting = plain("host");
  const overridesAllowed = booleanOf("allowEnvOverrides", false) || (hostSetting !== undefined && isLocalHost(hostSetting));

  // pg_cron version first: what the schedule may use depends on it.
  let pgCronVersion = plain("pgCronVersion") ?? defaultPgCronVersion;
  if (!/^1\.\d+(\.\d+)?$/.test(pgCronVersion)) {
    problems.push(
      `${label("pgCronVersion")} is not a pg_cron version such as 1.6. Fix: read it with select extversion from pg_extension where extname = 'pg_cron'; then ${setCommand(configKeys.pgCronVersion, "1.6")}`,
    );
    pgCronVersion = defaultPgCronVersion;
  }

  const cron = pick("cronExpression");
  const cronExpression = normalizeSchedule(cron.value ?? defaultCronExpression);
  let schedule = (parseSchedule(defaultCronExpression, defaultPgCronVersion) as { parsed: ParsedSchedule }).parsed;
  const parsed = parseSchedule(cronExpression, pgCronVersion);
  const scheduleRead = !("problem" in parsed);
  if ("problem" in parsed) problems.push(`${cron.label} is not a schedule pg_cron ${pgCronVersion} (${full(configKeys.pgCronVersion)}) accepts: ${parsed.problem}. Fix: ${cron.fix(defaultCronExpression)}`);
  else schedule = parsed.parsed;

  const url = pick("functionUrl");
  const functionUrl = url.value?.trim() ?? "";
  const urlProblem = functionUrlProblem(functionUrl);
  if (url.value === undefined) {
    problems.push(`${full(configKeys.functionUrl)} is not set (nor ${envOverrides.functionUrl}): the job has nothing to call. Fix: ${setCommand(configKeys.functionUrl, exampleFunctionUrl)}`);
  } else if (urlProblem) {
    problems.push(`${url.label} ${urlProblem}. Fix: ${url.fix(exampleFunctionUrl)}`);
  }

  const jobName = plain("jobName") ?? defaultJobName;
  if (!jobNamePattern.test(jobName)) {
    problems.push(`${label("jobName")} is not a safe job name: use lower-case letters, digits, '-' and '_', at most 63 characters. Fix: ${setCommand(configKeys.jobName, defaultJobName)}`);
  } else if (jobName !== defaultJobName) {
    // The committed migration registers defaultJobName on every apply; a second name would be a second
    // job, and every reminder run would be dispatched twice.
    problems.push(
      `${label("jobName")} differs from '${defaultJobName}', the job the migration registers on every apply, so both would run and dispatch every reminder run twice. ` +
        `Fix: pulumi config rm ${full(configKeys.jobName)} --stack ${stack}, or rename defaultJobName in infra/sql/names.ts and run npm run migration:generate.`,
    );
  }

  const jobActive = booleanOf("jobActive", true);
  const manageExtensions = booleanOf("manageExtensions", false);
  const adoptRole = booleanOf("adoptRole", false);
  const protect = booleanOf("protect", false);

  const host = plain("host");
  if (host === undefined) {
    problems.push(`${full(configKeys.host)} is not set. Fix: ${setCommand(configKeys.host, "db.<project-ref>.supabase.co")}`);
  } else if (isPlaceholder(host) || !/^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:]+\]$/.test(host)) {
    problems.push(`${label("host")} is ${isPlaceholder(host) ? "still the placeholder of the committed stack file" : "not a host name"}. Fix: ${setCommand(configKeys.host, "db.<project-ref>.supabase.co")}`);
  }
  const local = host !== undefined && isLocalHost(host);

  const portText = plain("port") ?? String(dbDefaults.port);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    problems.push(`${label("port")} is not a port from 1 to 65535. Fix: ${setCommand(configKeys.port, String(dbDefaults.port))}`);
  }

  const database = plain("database") ?? dbDefaults.database;
  if (!/^[A-Za-z_][A-Za-z0-9_-]{0,62}$/.test(database)) {
    problems.push(`${label("database")} is not a database name. Fix: ${setCommand(configKeys.database, dbDefaults.database)}`);
  }

  const user = plain("user") ?? dbDefaults.user;
  // Supabase's pooler (Supavisor) logs in `<role>.<project-ref>`; the session's role is the part before the dot.
  const poolerUser = /^[a-z_][a-z0-9_]{0,62}\.[a-z0-9]{20}$/;
  const supabaseDirect = host?.match(/^db\.([a-z0-9]{20})\.supabase\.co$/);
  if (!/^[a-z_][a-z0-9_]{0,62}(\.[a-z0-9]+)?$/.test(user)) {
    problems.push(`${label("user")} is not a role name (or <role>.<project-ref> for Supabase's pooler). Fix: ${setCommand(configKeys.user, dbDefaults.user)}`);
  } else if (host !== undefined && isSupabasePooler(host) && !poolerUser.test(user)) {
    problems.push(
      `${label("user")} cannot log in through Supabase's pooler ${host}: it takes <role>.<project-ref>, the 20-character reference of the project. ` +
        `Fix: ${setCommand(configKeys.user, "postgres.<project-ref>")}`,
    );
  } else if (supabaseDirect && user.includes(".")) {
    problems.push(
      `${label("user")} is a pooler login name, but ${host} is the project's direct host, which takes the bare role. ` +
        `Fix: ${setCommand(configKeys.user, user.split(".")[0])}, or connect through the pooler: ${setCommand(configKeys.host, "aws-0-<region>.pooler.supabase.com")}`,
    );
  }

  const sslMode = (plain("sslMode") ?? defaultSslMode(host ?? "")) as SslMode;
  const certSetting = plain("sslRootCert");
  const sslRootCert = certSetting === undefined ? undefined : resolveCertPath(certSetting);
  if (!sslModes.includes(sslMode)) {
    problems.push(`${label("sslMode")} is not one of ${sslModes.join(", ")}. Fix: ${setCommand(configKeys.sslMode, "verify-full")}`);
  } else if (sslMode === "disable" && host !== undefined && !local) {
    problems.push(`${label("sslMode")} would send the database password in clear to ${host}; only a local host may go without TLS. Fix: ${setCommand(configKeys.sslMode, "verify-full")}`);
  } else if (verifiesCertificate(sslMode) && sslRootCert === undefined) {
    const mode = raw.values.sslMode === undefined ? `${full(configKeys.sslMode)} defaults to '${sslMode}' for ${host}` : `${label("sslMode")}`;
    problems.push(
      `${full(configKeys.sslRootCert)} is not set, and ${mode}, which checks the server's certificate against it. ` +
        `Fix: ${sslRootCertFix(stack)}; or, accepting an unverified server, ${setCommand(configKeys.sslMode, "require")}`,
    );
  } else if (verifiesCertificate(sslMode) && certificateFileProblem(sslRootCert!)) {
    problems.push(`${label("sslRootCert")} ${certificateFileProblem(sslRootCert!)}. Fix: ${sslRootCertFix(stack)}`);
  } else if (!verifiesCertificate(sslMode) && sslRootCert !== undefined) {
    // libpq would verify the chain with a root certificate even under require, while Node would not: one meaning for all three.
    problems.push(`${label("sslRootCert")} is set, but ${label("sslMode")} does not check certificates. Fix: ${setCommand(configKeys.sslMode, "verify-full")}, or pulumi config rm ${full(configKeys.sslRootCert)} --stack ${stack}`);
  }

  if (!raw.secretsSet.password && host !== undefined && !local) {
    problems.push(`${full(configKeys.password)} is not set, and ${host} needs a password. Fix: ${setCommand(configKeys.password, "<the database password>", true)}`);
  }
  const newKey = `"$(openssl rand -hex 32)"`;
  const keyFix = `${setCommand(configKeys.signingKey, newKey, true)} (pulumi up gives Vault and the function, as ${reminderFunction.secrets.signingKey}, the same key)`;
  if (!raw.secretsSet.signingKey) {
    problems.push(`${full(configKeys.signingKey)} is not set: the job signs each request with it (Vault ${vaultSecrets.signingKey}). Fix: ${keyFix}`);
  } else if ((raw.signingKeyLength ?? 0) < minimumSigningKeyLength) {
    problems.push(`${full(configKeys.signingKey)} is shorter than ${minimumSigningKeyLength} characters, short enough to guess. Fix: ${keyFix}`);
  }
  const secretFix = `${setCommand(configKeys.sharedSecret, newKey, true)}`;
  if (!raw.secretsSet.sharedSecret) {
    problems.push(`${full(configKeys.sharedSecret)} is not set: the function refuses to start without ${reminderFunction.secrets.sharedSecret}, the credential for calls by hand. Fix: ${secretFix}`);
  } else if ((raw.sharedSecretLength ?? 0) < minimumSigningKeyLength) {
    problems.push(`${full(configKeys.sharedSecret)} is shorter than ${minimumSigningKeyLength} characters, short enough to guess, and the function refuses to start with it. Fix: ${secretFix}`);
  }
  if (raw.secretsSet.previousSigningKey) {
    const dropIt = `pulumi config rm ${full(configKeys.previousSigningKey)} --stack ${stack}`;
    if ((raw.previousSigningKeyLength ?? 0) < minimumSigningKeyLength) {
      problems.push(`${full(configKeys.previousSigningKey)} is shorter than ${minimumSigningKeyLength} characters, and the function refuses to start with it. Fix: set it to the signing key being replaced (pulumi config get ${full(configKeys.signingKey)} before changing it), or ${dropIt}`);
    } else if (raw.previousSigningKeyIsCurrent) {
      problems.push(`${full(configKeys.previousSigningKey)} equals ${full(configKeys.signingKey)}, so no rotation is under way. Fix: ${dropIt}, or set ${full(configKeys.signingKey)} to the new key: ${setCommand(configKeys.signingKey, newKey, true)}`);
    }
  }

  const management = managementSettings();
  function managementSettings(): Settings["management"] {
    const refExample = "<project-ref>";
    const projectRef = plain("projectRef");
    if (projectRef === undefined) {
      problems.push(
        `${full(configKeys.projectRef)} is not set: pulumi up deploys the Edge Function and its secrets to that project through Supabase's Management API. ` +
          `Fix: ${setCommand(configKeys.projectRef, refExample)}, the <ref> of https://<ref>.supabase.co (Project Settings > General)`,
      );
    } else if (!projectRefPattern.test(projectRef)) {
      problems.push(`${label("projectRef")} is ${isPlaceholder(projectRef) ? "still the placeholder of the committed stack file" : "not a project ref (20 lower-case letters)"}. Fix: ${setCommand(configKeys.projectRef, refExample)}, the <ref> of https://<ref>.supabase.co`);
    } else {
      // The same project everywhere: a function deployed to one project and called in another would never answer.
      const named = [
        { key: configKeys.functionUrl, ref: /^([a-z]{20})\.supabase\.co$/.exec(safeHost(functionUrl) ?? "")?.[1] },
        { key: configKeys.host, ref: /^db\.([a-z]{20})\.supabase\.co$/.exec(host ?? "")?.[1] },
        { key: configKeys.user, ref: host !== undefined && isSupabasePooler(host) ? user.split(".")[1] : undefined },
      ];
      const others = named.filter(({ ref }) => ref !== undefined && ref !== projectRef);
      if (others.length > 0) {
        problems.push(
          `${label("projectRef")} is not the project ${others.map(({ key, ref }) => `${full(key)} names ('${ref}')`).join(" or ")}, so the function would be deployed where the job does not call. ` +
            `Fix: ${setCommand(configKeys.projectRef, others[0].ref!)}, or correct ${others.map(({ key }) => full(key)).join(" and ")}`,
        );
      }
    }
    const apiUrl = plain("apiUrl") ?? defaultManagementApiUrl;
    const apiProblem = managementApiUrlProblem(apiUrl);
    if (apiProblem) problems.push(`${label("apiUrl")} ${apiProblem}. Fix: pulumi config rm ${full(configKeys.apiUrl)} --stack ${stack} (Supabase's own, ${defaultManagementApiUrl}, is the default)`);
    const tokenFix = setCommand(configKeys.accessToken, "<a personal access token from supabase.com/dashboard/account/tokens>", true);
    if (!raw.secretsSet.accessToken) {
      problems.push(`${full(configKeys.accessToken)} is not set: the Edge Function and its secrets are deployed with it through Supabase's Management API. Fix: ${tokenFix}`);
    } else if (raw.accessTokenWellFormed === false) {
      problems.push(`${full(configKeys.accessToken)} is not a Supabase personal access token (those start with sbp_ and hold no spaces). Fix: ${tokenFix}`);
    }
    return { projectRef: projectRef ?? "", apiUrl: apiUrl.replace(/\/+$/, "") };
  }
  const retry = retrySettings();
  function retrySettings(): RetrySettings {
    const { retryBackoff, retryDeadline } = intervalSettings;
    const keyOf = { retries: configKeys.retries, backoff: configKeys.retryBackoff, deadline: configKeys.retryDeadline } as const;
    const defaults = { retries: String(retryLimitSetting.default), backoff: retryBackoff.default, deadline: retryDeadline.default };
    const typed = { retries: plain("retries"), backoff: plain("retryBackoff"), deadline: plain("retryDeadline") };
    const quote = (value: string) => (/^\S+$/.test(value) ? value : `'${value}'`);
    const setTo = (setting: RetrySetting, value: string) => setCommand(keyOf[setting], quote(value));
    // A default is named as one, so a refusal of a key nobody set says where its value came from.
    const labelOf = (setting: RetrySetting) => (typed[setting] === undefined ? `${full(keyOf[setting])} (not set, so '${defaults[setting]}')` : `${full(keyOf[setting])} = '${typed[setting]}'`);

    let retries: number = retryLimitSetting.default;
    let readable = true;
    if (typed.retries !== undefined) {
      if (/^[+-]?\d{1,9}$/.test(typed.retries)) retries = Number(typed.retries);
      else {
        problems.push(`${labelOf("retries")} is not a whole number of retries: give 0 (no retries) to ${maximumRetries}. Fix: ${setTo("retries", defaults.retries)}`);
        readable = false;
      }
    }
    const intervalOf = (setting: "backoff" | "deadline"): Interval | undefined => {
      const read = readInterval(typed[setting] ?? defaults[setting]);
      if ("interval" in read) return read.interval;
      problems.push(`${labelOf(setting)} ${read.problem}. Fix: ${setTo(setting, defaults[setting])}`);
      return undefined;
    };
    const backoff = intervalOf("backoff");
    const deadline = intervalOf("deadline");
    // Against the schedule only when it was read: a refused schedule is reported above, and the default in its place would mislead.
    // Where a value could not be read, only the others' ranges are checked: a combination with a stand-in would mislead as much.
    const against = scheduleRead ? { expression: cronExpression, gapSeconds: shortestGapSeconds(schedule) } : undefined;
    const policyProblems =
      readable && backoff && deadline ? retryPolicyProblems({ retries, backoff, deadline }, against) : retryRangeProblems({ ...(readable ? { retries } : {}), backoff, deadline });
    for (const problem of policyProblems) {
      problems.push(`${labelOf(problem.setting)} would be refused by the database: ${problem.sentence} Fix: ${retryFix(problem.fix)}`);
    }
    function retryFix(fix: RetryFix): string {
      switch (fix.kind) {
        case "default":
          return fix.settings.map((setting) => setTo(setting, defaults[setting])).join("; ");
        case "retry-or-not":
          return `to retry, ${setTo("retries", defaults.retries)}; to never retry, ${setTo("backoff", "0")}`;
        case "deadline-under":
          // Under a minute is no deadline at all (retries are looked for once a minute): then the schedule leaves no room to retry.
          return fix.suggestedSeconds >= 60
            ? `keep it under ${intervalWords(fix.gapSeconds)}, e.g. ${setTo("deadline", intervalWords(fix.suggestedSeconds))}`
            : `the schedule runs too often to retry between runs: ${setTo("retries", "0")}; ${setTo("backoff", "0")}`;
      }
    }
    return {
      retries,
      backoff: backoff?.text ?? defaults.backoff,
      deadline: deadline?.text ?? defaults.deadline,
      backoffSeconds: backoff?.seconds ?? 0,
      deadlineSeconds: deadline?.seconds ?? 0,
    };
  }

  for (const problem of raw.functionBundleProblems ?? []) {
    problems.push(`The Edge Function ${reminderFunction.slug} cannot be deployed: ${problem}. Fix: ${bundleFix(reminderFunction.entrypoint)}`);
  }

  if (problems.length > 0) {
    throw new Error(`Invalid configuration for stack ${stack}; nothing was changed:\n${problems.map((problem) => `- ${problem}`).join("\n")}`);
  }
  return {
    cronExpression,
    cronExpressionSource: cron.value === undefined ? "default" : cron.source,
    schedule,
    functionUrl,
    functionUrlSource: url.source,
    jobName,
    jobActive,
    pgCronVersion,
    manageExtensions,
    adoptRole,
    protect,
    notices,
    db: { host: host!, port, database, user, role: user.split(".")[0], sslMode, ...(sslRootCert === undefined ? {} : { sslRootCert }) },
    management,
    retry,
  };
}

/** Supabase's shared pooler (Supavisor): `aws-0-<region>.pooler.supabase.com` and its kin. */
export const isSupabasePooler = (host: string) => /\.pooler\.supabase\.com$/i.test(host);

/** The next time pg_cron runs the schedule after `from`, in UTC (ISO 8601); pg_cron's clock is UTC here. */
export function nextRunUtc(parsed: ParsedSchedule, from: Date): string {
  if (parsed.kind === "interval") return new Date(from.getTime() + parsed.seconds * 1000).toISOString();
  return nextRun(parsed.fields, from)?.toISOString() ?? "never";
}

/** The schedule in words, e.g. "At 06:00, every day (UTC)". */
export function scheduleInWords(parsed: ParsedSchedule): string {
  const words = scheduleWords(parsed, { verbose: true }) ?? `'${parsed.expression}', which never runs on a clock`;
  return parsed.kind === "interval" ? words : `${words} (UTC)`;
}

/** Why `url` cannot be the function URL, or undefined. It lands in outputs and Vault, so it must hold no credential. */
export function functionUrlProblem(url: string): string | undefined {
  if (isPlaceholder(url)) return "is still the placeholder of the committed stack file";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL";
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return `uses ${parsed.protocol.replace(/:$/, "")}; pg_net calls https (or http on a local stack)`;
  if (parsed.protocol === "http:" && !isLocalHost(parsed.hostname)) return "must use https: only a local host (localhost, 127.0.0.1, host.docker.internal) may use http";
  if (parsed.username || parsed.password) return "holds a user name or password; the URL lands in stack outputs and Vault in plain text, and the job authenticates with reminder-cron:signingKey";
  const credentialParameters = [...parsed.searchParams.keys()].filter((name) => /key|token|secret|password|auth/i.test(name));
  if (credentialParameters.length > 0) {
    return `carries a credential in its query (${credentialParameters.join(", ")}); the URL lands in stack outputs in plain text, and the job authenticates with reminder-cron:signingKey`;
  }
  return undefined;
}

/** Reads and validates the current stack's config (and the environment overrides). Throws before any resource exists. */
export function loadStackConfig(env: Record<string, string | undefined> = process.env): StackConfig {
  const config = new pulumi.Config(projectName);
  const values: RawConfig["values"] = {};
  for (const key of Object.keys(configKeys) as (keyof typeof configKeys)[]) {
    if ((secretConfigKeys as readonly string[]).includes(key)) continue;
    values[key as Exclude<keyof typeof configKeys, SecretKey>] = config.get(configKeys[key]);
  }
  const dbPassword = config.getSecret(configKeys.password);
  const signingKey = config.getSecret(configKeys.signingKey);
  const sharedSecret = config.getSecret(configKeys.sharedSecret);
  const previousSigningKey = config.getSecret(configKeys.previousSigningKey);
  const accessToken = config.getSecret(configKeys.accessToken);
  // What may be said of the secrets without their values, to refuse a bad one before anything changes;
  // the values stay secret Outputs, and the access token never leaves the config (the providers read it).
  const plainSecret = (key: SecretKey) => config.get(configKeys[key]);
  const settings = parseSettings(
    {
      values,
      secretsSet: {
        password: dbPassword !== undefined,
        signingKey: signingKey !== undefined,
        sharedSecret: sharedSecret !== undefined,
        previousSigningKey: previousSigningKey !== undefined && plainSecret("previousSigningKey")!.trim() !== "",
        accessToken: accessToken !== undefined && plainSecret("accessToken")!.trim() !== "",
      },
      signingKeyLength: plainSecret("signingKey")?.length,
      sharedSecretLength: plainSecret("sharedSecret")?.length,
      previousSigningKeyLength: plainSecret("previousSigningKey")?.length,
      previousSigningKeyIsCurrent: plainSecret("previousSigningKey") !== undefined && plainSecret("previousSigningKey") === plainSecret("signingKey"),
      accessTokenWellFormed: accessTokenWellFormed(plainSecret("accessToken")),
      functionBundleProblems: bundleProblems(),
    },
    env,
    pulumi.getStack(),
  );
  for (const notice of settings.notices) pulumi.log.warn(notice);
  return {
    ...settings,
    dbPassword,
    signingKey: signingKey!,
    sharedSecret: sharedSecret!,
    ...(previousSigningKey !== undefined && plainSecret("previousSigningKey")!.trim() !== "" ? { previousSigningKey } : {}),
  };
}

function bundleProblems(): string[] {
  const bundle = functionBundle(ts, reminderFunction.entrypoint, reminderFunction.importMap);
  return "problems" in bundle ? bundle.problems : [];
}

/** A personal access token's shape (sbp_ and no spaces); whether Supabase takes it only the API can say. */
export const accessTokenWellFormed = (token: string | undefined) => token === undefined || /^sbp_\S{16,}$/.test(token.trim());

const safeHost = (url: string) => {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
};
