/**
 * Three projects, as the folders say: unit tests need nothing running; integration tests and the clock
 * suites (which wait on pg_cron's real minutes) get one local stack per jest worker (tests/support/lanes.ts).
 * Inside a worker files run one at a time, so a file owns its worker's database and scheduler while it runs.
 * What one leaves there (a late pg_net answer, a lease, a run in flight) is settled before the next starts:
 * tests/support/lane-settle.ts.
 * @type {import('jest').Config}
 */
const transform = { "^.+\\.ts$": ["ts-jest", { tsconfig: { isolatedModules: true } }] };
const withStack = {
  testEnvironment: "<rootDir>/tests/support/lane-environment.js",
  transform,
  setupFilesAfterEnv: ["<rootDir>/tests/support/lane-stack.ts"],
};

module.exports = {
  projects: [
    { displayName: "unit", testEnvironment: "node", transform, testMatch: ["<rootDir>/tests/unit/**/*.test.ts"] },
    { displayName: "integration", ...withStack, testMatch: ["<rootDir>/tests/integration/**/*.test.ts"] },
    { displayName: "clock", ...withStack, testMatch: ["<rootDir>/tests/clock/**/*.test.ts"] },
  ],
  globalSetup: "<rootDir>/tests/support/global-setup.ts",
  globalTeardown: "<rootDir>/tests/support/global-teardown.ts",
  testSequencer: "<rootDir>/tests/support/sequencer.js",
  // One database behind DATABASE_URL: every file in turn. Otherwise the clock suites each take a worker and
  // the rest share the others; more workers than cores is right here, since the clock suites mostly sleep.
  maxWorkers: process.env.DATABASE_URL ? 1 : Number(process.env.REMINDER_CRON_TEST_WORKERS ?? 6),
  testTimeout: 120000,
};
