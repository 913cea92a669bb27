// Runs before `npm start` and `npm test` (npm's pre-scripts): installs the locked dependencies when
// node_modules is missing or older than package-lock.json, so a fresh clone needs no separate step.
// Plain JavaScript on purpose: it must run before any dependency exists.
const { execFileSync } = require("node:child_process");
const { existsSync, statSync } = require("node:fs");
const { join } = require("node:path");

const root = join(__dirname, "..");
const lock = join(root, "package-lock.json");
const marker = join(root, "node_modules", ".package-lock.json");

const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs);
if (stale) {
  process.stderr.write("reminder-cron: installing npm dependencies (npm ci)\n");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
}
