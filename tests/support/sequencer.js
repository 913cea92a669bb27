/**
 * Starts the suites that wait on pg_cron's clock (tests/clock/) first, one per worker, so their minutes of
 * waiting overlap the rest of the run instead of ending it; the others follow in jest's own order
 * (last failures, then the longest known, then the largest file).
 */
const Sequencer = require("@jest/test-sequencer").default;
const { sep } = require("node:path");

const isClock = (test) => test.path.includes(`${sep}tests${sep}clock${sep}`);

class ClockFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    return [...sorted.filter(isClock), ...sorted.filter((test) => !isClock(test))];
  }
}

module.exports = ClockFirstSequencer;
