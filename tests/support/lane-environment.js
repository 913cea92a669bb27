/**
 * The jest test environment of the integration and clock projects: Node's, with this worker's
 * REMINDER_CRON_LOCAL_DIR pointed at its own lane (tests/support/lanes.ts). It is set on the worker's real
 * process environment before the sandbox copies it, so the test modules and every child process they start
 * (CLI, functions server, `npm start`) find the same stack. With DATABASE_URL there is one database and
 * jest.config.js runs one worker: nothing moves.
 */
const { join } = require("node:path");
const { TestEnvironment } = require("jest-environment-node");

class LaneEnvironment extends TestEnvironment {
  constructor(config, context) {
    const lanes = process.env.REMINDER_CRON_TEST_LANES;
    if (!process.env.DATABASE_URL) {
      if (!lanes) throw new Error("REMINDER_CRON_TEST_LANES is not set: run the tests through `npm test` or `npx jest`, whose global setup sets it.");
      process.env.REMINDER_CRON_LOCAL_DIR = join(lanes, `worker-${process.env.JEST_WORKER_ID ?? "1"}`);
    }
    super(config, context);
  }
}

module.exports = LaneEnvironment;
