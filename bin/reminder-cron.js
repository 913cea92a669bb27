#!/usr/bin/env node
// `npx reminder-cron <command>`: runs cli/main.ts through tsx, so the CLI needs no build step. tsx's CommonJS
// hook compiles the TypeScript as it is required; the exit code is the CLI's (see cli/exit-codes.ts).
"use strict";
const path = require("node:path");

require("tsx/cjs");
const { main } = require(path.join(__dirname, "..", "cli", "main.ts"));

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`reminder-cron: ${error && error.message ? error.message : String(error)}\n`);
    process.exitCode = 3;
  },
);
