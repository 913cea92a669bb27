/** The `postgres` OS user that Debian's postgresql package creates: the server's, on the host and in the root. */
import { readFileSync } from "node:fs";

export interface OsIds {
  uid: number;
  gid: number;
}

export function postgresOsUser(): OsIds {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((entry) => entry.startsWith("postgres:"));
  if (!line) throw new Error("There is no `postgres` OS user to run the server as: install Debian's postgresql package.");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}
