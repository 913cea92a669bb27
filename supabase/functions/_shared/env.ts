/**
 * Start-up configuration from the environment. A function checks its environment before it serves, and a
 * missing or bad variable is one error that names every problem and how to fix it, never a value.
 */

export type EnvReader = (name: string) => string | undefined;

/** Returns every named variable, or throws one error naming all that are missing or empty. */
export function requireEnv<Name extends string>(read: EnvReader, names: readonly Name[], howToSet: string): Record<Name, string> {
  const missing = names.filter((name) => (read(name) ?? "").trim() === "");
  if (missing.length > 0) {
    throw new Error(`Missing environment variable${missing.length > 1 ? "s" : ""} ${missing.join(", ")}: ${howToSet}`);
  }
  return Object.fromEntries(names.map((name) => [name, read(name) as string])) as Record<Name, string>;
}

/** An optional whole number within [min, max], or `fallback` when unset. */
export function optionalIntegerEnv(read: EnvReader, name: string, fallback: number, min: number, max: number): number {
  const raw = (read(name) ?? "").trim();
  if (raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}=${JSON.stringify(raw)} is not a whole number from ${min} to ${max}; set one in that range, or unset it for ${fallback}.`);
  }
  return value;
}
