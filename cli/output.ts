/** What each command hands back to main.ts: its exit code, its --json value and its text for a person. */
import { ExitCode } from "./exit-codes";

export interface Outcome {
  exitCode: ExitCode;
  json: unknown;
  text: string;
}

/** Progress for a person, on stderr so stdout stays the result (and valid JSON with --json). */
export type Progress = (line: string) => void;
