/**
 * The exit codes of `reminder-cron`, one meaning each, so a monitor or a script can act on them without
 * reading the output. docs/operations.md lists the same table; tests/unit/cli-docs.test.ts keeps the two in
 * step, and tests/integration/cli-exit-codes.test.ts checks each command and cause against it.
 */
export const exitCodes = {
  /** Done; for `status`, healthy; for `run-now`, the run succeeded. */
  ok: 0,
  /** Not healthy: `status` raised an alert, the run `run-now` started failed or was skipped, or `verify` found drift. */
  alert: 1,
  /**
   * Refused, nothing changed: bad input, checked before any connection where it can be (unknown command or
   * option, a schedule, a bad --since or DATABASE_URL, a malformed project ref), or a paused job's run-now.
   */
  usage: 2,
  /** Could not do it: no database, the database or the Management API refused or is unreachable, or the job is not registered. */
  unavailable: 3,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** An error the CLI reports as one line and turns into its exit code. */
export interface CliError extends Error {
  exitCode: ExitCode;
}

export function cliError(exitCode: ExitCode, message: string): CliError {
  return Object.assign(new Error(message), { exitCode });
}

export function isCliError(error: unknown): error is CliError {
  return error instanceof Error && typeof (error as Partial<CliError>).exitCode === "number";
}
