/**
 * The PostgreSQL 17 root is used only when it is whole: a build that stopped half-way, one from another
 * recipe, or one missing a program is found out (and, by ensureDebianRoot, removed and built again).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDebianRoot, rootProblem, wantedMarker } from "../../stack/debian-root";

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "reminder-cron-root-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const marker = () => join(dir, ".reminder-cron-root.json");

test("a root that is not there yet is to be built", () => {
  expect(rootProblem(join(dir, "none"))).toBe("it does not exist yet");
});

test("a root without its completion marker (debootstrap or apt-get stopped half-way) is not used", () => {
  mkdirSync(join(dir, "usr/lib/postgresql/17/bin"), { recursive: true });
  expect(rootProblem(dir)).toBe("it has no completion marker (an interrupted build?)");
});

test("a root built from another recipe, or for another postgres uid, is not used", () => {
  writeFileSync(marker(), wantedMarker().replace('"trixie"', '"bookworm"'));
  expect(rootProblem(dir)).toBe("it was built from another recipe or for another postgres uid");
  writeFileSync(marker(), wantedMarker({ uid: 4242, gid: 4242 }));
  expect(rootProblem(dir)).toBe("it was built from another recipe or for another postgres uid");
});

test("a root with its marker but a program gone names what it lacks", () => {
  writeFileSync(marker(), wantedMarker());
  for (const file of ["usr/lib/postgresql/17/bin/postgres", "usr/lib/postgresql/17/bin/initdb", "usr/sbin/chroot", "usr/share/postgresql/17/extension/pgtap.control"]) {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), "");
  }
  expect(rootProblem(dir)).toBe("it lacks /usr/lib/postgresql/17/bin/pg_ctl, /usr/share/postgresql/17/extension/pg_cron.control");
});

test("a user who is not root is told in one line, before anything is built or mounted, and how to run on 15 alone", () => {
  const getuid = jest.spyOn(process, "getuid").mockReturnValue(1000);
  const log = jest.fn();
  try {
    expect(() => ensureDebianRoot(log)).toThrow(
      new Error(
        "PostgreSQL 17 runs from a Debian 13 root that only root can build and enter (chroot), and this is not root. Run as root. " +
          "To run on PostgreSQL 15 alone, set REMINDER_CRON_PG=15 (for example `REMINDER_CRON_PG=15 npm test`).",
      ),
    );
    expect(log).not.toHaveBeenCalled();
  } finally {
    getuid.mockRestore();
  }
});
