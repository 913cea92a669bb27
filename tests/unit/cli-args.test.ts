/**
 * The CLI's command line and --since: what it accepts, and the one-line refusal (exit 2) of everything else,
 * before any database is touched.
 */
import { commandHelp, parseArgs, usage } from "../../cli/args";
import { exitCodes, isCliError } from "../../cli/exit-codes";
import { parseSince } from "../../cli/since";
import { defaultJobName } from "../../infra/sql/names";

function refusal(fn: () => unknown): { exitCode: number; message: string } {
  try {
    fn();
  } catch (error) {
    if (isCliError(error)) return { exitCode: error.exitCode, message: error.message };
    throw error;
  }
  throw new Error("expected a refusal, got none");
}

describe("parseArgs", () => {
  test.each([
    [["status"], { command: "status", json: false, job: defaultJobName }],
    [["status", "--json"], { command: "status", json: true, job: defaultJobName }],
    [["pause", "--job", "reminder-eval-catch-up"], { command: "pause", json: false, job: "reminder-eval-catch-up" }],
    [["resume", "--job=reminder-eval-catch-up"], { command: "resume", json: false, job: "reminder-eval-catch-up" }],
    [["run-now"], { command: "run-now", json: false, job: defaultJobName }],
    [["reschedule", "30 5 * * *"], { command: "reschedule", expression: "30 5 * * *" }],
    // Unquoted, the shell hands over five arguments (when the stars match no file): the operator meant one expression.
    [["reschedule", "30", "5", "*", "*", "*", "--json"], { command: "reschedule", expression: "30 5 * * *", json: true }],
    [["logs", "--since", "7d"], { command: "logs", since: "7d" }],
    [["logs", "--since=2026-11-28T06:00Z"], { command: "logs", since: "2026-11-28T06:00Z" }],
    [["logs"], { command: "logs" }],
    [["--help"], { command: "help" }],
    [["help"], { command: "help" }],
    // A command's own help, however it is asked for, even beside options that would otherwise be refused.
    [["status", "--help"], { command: "help", topic: "status" }],
    [["run-now", "-h", "--job", "x"], { command: "help", topic: "run-now" }],
    [["help", "reschedule"], { command: "help", topic: "reschedule" }],
    [["--version"], { command: "version" }],
    [["status", "-V"], { command: "version" }],
    [["run-now", "--even-if-paused"], { command: "run-now", evenIfPaused: true }],
    [["verify"], { command: "verify", json: false }],
    [["verify", "--project-ref", "abcdefghijklmnopqrst", "--schedule", "30 5 * * *", "--json"], { command: "verify", projectRef: "abcdefghijklmnopqrst", schedule: "30 5 * * *", json: true }],
    [["verify", "--project-ref=abcdefghijklmnopqrst", "--schedule=@daily"], { command: "verify", projectRef: "abcdefghijklmnopqrst", schedule: "@daily" }],
  ])("%j is understood", (argv, expected) => {
    expect(parseArgs(argv as string[])).toMatchObject(expected);
  });

  test.each([
    [[], /^no command given: use one of status, pause, resume, run-now, reschedule, logs, verify\. Run reminder-cron --help/],
    [["stats"], /^unknown command "stats": use one of status, pause, resume, run-now, reschedule, logs, verify\./],
    [["status", "--verbose"], /^unknown option "--verbose"\./],
    [["status", "now"], /^status takes no argument, and got "now"\./],
    [["status", "--since", "1h"], /^--since belongs to logs, not status\./],
    [["status", "--project-ref", "abc"], /^--project-ref belongs to verify, not status\./],
    [["logs", "--schedule", "0 6 * * *"], /^--schedule belongs to verify, not logs\./],
    [["logs", "--since"], /^--since needs a value\./],
    [["help", "stauts"], /^no help for "stauts": it is not a command; use one of status, pause, resume, run-now, reschedule, logs, verify\./],
    [["pause", "--even-if-paused"], /^--even-if-paused belongs to run-now, not pause\./],
    [["reschedule"], /^reschedule needs a cron expression in UTC, quoted, e\.g\. reminder-cron reschedule '30 5 \* \* \*'\./],
  ])("%j is refused with exit 2 and a message naming the fix", (argv, message) => {
    const { exitCode, message: said } = refusal(() => parseArgs(argv as string[]));
    expect(exitCode).toBe(exitCodes.usage);
    expect(said).toMatch(message);
    expect(said).not.toContain("\n");
  });
});

describe("help", () => {
  test.each(Object.entries(commandHelp))("%s --help names the command, its options and its exit codes", (command, help) => {
    expect(help.startsWith(`usage: reminder-cron ${command}`)).toBe(true);
    expect(help).toMatch(/^exit codes: 0 /m);
    for (const option of help.split("\n")[0].matchAll(/--[a-z-]+/g)) expect(help.split("\n").slice(1).join("\n")).toContain(option[0]);
  });

  test("the overview names every command and the per-command help", () => {
    for (const command of Object.keys(commandHelp)) expect(usage).toMatch(new RegExp(`^  ${command} `, "m"));
    expect(usage).toContain("<command> --help");
    expect(usage).toContain("--version");
  });
});

describe("parseSince", () => {
  const now = new Date("2026-11-28T12:00:00Z");

  test.each([
    ["90s", "2026-11-28T11:58:30.000Z"],
    ["30m", "2026-11-28T11:30:00.000Z"],
    ["24h", "2026-11-27T12:00:00.000Z"],
    ["7d", "2026-11-21T12:00:00.000Z"],
    ["2w", "2026-11-14T12:00:00.000Z"],
    ["1h30m", "2026-11-28T10:30:00.000Z"],
    ["2026-11-28", "2026-11-28T00:00:00.000Z"],
    ["2026-11-28T06:00", "2026-11-28T06:00:00.000Z"],
    ["2026-11-28 06:00:30", "2026-11-28T06:00:30.000Z"],
    ["2026-11-28T06:00:00Z", "2026-11-28T06:00:00.000Z"],
    ["2026-11-28T07:00+01:00", "2026-11-28T06:00:00.000Z"],
    ["2026-11-28T07:00+0100", "2026-11-28T06:00:00.000Z"],
  ])("%s means %s (timestamps without a zone are UTC)", (value, expected) => {
    expect(parseSince(value, now).toISOString()).toBe(expected);
  });

  test.each([
    ["yesterday", "is neither a duration nor a timestamp"],
    ["24", "is neither a duration nor a timestamp"],
    ["-1h", "is neither a duration nor a timestamp"],
    ["0m", "is a duration of zero"],
    ["2026-02-30", "is not a real date and time"],
    ["2026-11-28T25:00", "is not a real date and time"],
    ["2026-11-29T06:00Z", "is in the future"],
  ])("%s is refused: %s", (value, why) => {
    const { exitCode, message } = refusal(() => parseSince(value, now));
    expect(exitCode).toBe(exitCodes.usage);
    expect(message).toBe(
      `--since ${JSON.stringify(value)} ${why}: give a duration back from now (30m, 24h, 7d, 1h30m) or a UTC timestamp (2026-11-28T06:00:00Z).`,
    );
  });
});
