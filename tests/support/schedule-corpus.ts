/**
 * A deterministic corpus of pg_cron schedules for checking our reading against pg_cron's: well-formed
 * expressions of every shape, and the nasty ones a user types or pg_cron's C reads oddly (numbers of five
 * or more digits, numbers and steps at and past 2^31 and 2^32, reversed ranges, steps past the field,
 * characters pg_cron skips, '$', @ names in any case, seconds in every spelling, comment lines).
 */

/** mulberry32: a small seeded generator, so a failure names a schedule that fails again. */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const fieldRanges: [number, number, string[]?][] = [[0, 59], [0, 23], [1, 31], [1, 12, months], [0, 7, days]];

/** Numbers as a user or a script might write them, including those C's atoi reads as something else. */
const oddNumbers = ["00000", "000006", "0000000000059", "2147483647", "2147483648", "4294967296", "4294967297", "4294967302", "9223372036854775807", "9223372036854775808", "18446744073709551621", "99999999999999999999999"];
const oddSteps = ["0", "1", "00001", "59", "60", "100", "2147483600", "2147483646", "2147483647", "2147483648", "4294967296", "4294967297", "4294967298", "18446744073709551617"];
const junk = ["%", "x", "-5", "?", "L", "#", "/", "-", ",", "$", "*", "W", "!"];
const atNames = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@reboot", "@restart", "@Daily", "@HOURLY", "@Weekly", "@weekdays", "@", "@every"];
const seconds = [
  "30 seconds", "1 second", "59 seconds", "60 seconds", "0 seconds", "1 seconds", "2 second", "30 SECONDS", "30seconds", " 30 seconds ",
  "+30 seconds", "-1 seconds", "-4294967295 seconds", "4294967326 seconds", "30 secs", "30 second s", "30 secondss", "30 second x", "030 seconds", "30 Seconds",
];

export function scheduleCorpus(seed: number, size: number): string[] {
  const next = random(seed);
  const int = (low: number, high: number) => low + Math.floor(next() * (high - low + 1));
  const pick = <T>(items: T[]) => items[int(0, items.length - 1)];

  const value = (low: number, high: number, names?: string[]) => {
    const roll = next();
    if (roll < 0.03) return pick(oddNumbers);
    if (roll < 0.05) return String(int(high + 1, high + 5)); // just past the field
    if (names && roll < 0.3) {
      const name = names[int(0, names.length - 1)];
      return next() < 0.2 ? name.toUpperCase() : name;
    }
    const n = int(low, high);
    return roll < 0.35 ? `0${n}` : String(n);
  };
  const step = () => (next() < 0.1 ? pick(oddSteps) : String(int(1, 20)));
  const item = (low: number, high: number, names?: string[]) => {
    let text: string;
    switch (int(0, 6)) {
      case 0:
      case 1:
        text = value(low, high, names);
        break;
      case 2: {
        // Mostly ordered ranges, sometimes reversed.
        const a = value(low, high, names);
        const b = value(low, high, names);
        text = `${a}-${b}`;
        break;
      }
      case 3:
        text = `${value(low, high)}-${value(low, high)}/${step()}`;
        break;
      case 4:
        text = `*/${step()}`;
        break;
      case 5:
        text = next() < 0.3 ? `${value(low, high)}/${step()}` : "*";
        break;
      default:
        text = "*";
    }
    return next() < 0.03 ? text + pick(junk) : text;
  };
  const field = (index: number) => {
    const [low, high, names] = fieldRanges[index];
    if (index === 2 && next() < 0.06) return pick(["$", "$", "$,1", "$x", "1,$", "$-5"]);
    if (next() < 0.3) return "*";
    return Array.from({ length: int(1, 3) }, () => item(low, high, names)).join(",");
  };
  const cron = () => {
    const fields = [0, 1, 2, 3, 4].map(field);
    const shape = next();
    if (shape < 0.04) fields.pop(); // four fields
    else if (shape < 0.08) fields.push(pick(["*", "0", "extra", "echo hi"])); // a sixth
    const separator = () => (next() < 0.05 ? pick(["  ", "\t", " \t "]) : " ");
    let text = fields.map((f, i) => (i === 0 ? f : separator() + f)).join("");
    const around = next();
    if (around < 0.03) text = `  ${text}  `;
    else if (around < 0.05) text = `# a comment\n${text}`;
    else if (around < 0.06) text = `\n${text}`;
    else if (around < 0.07) text = `${text}\n`;
    return text;
  };

  const fixed = [
    "0 6 * * *", "00000 6 * * *", "0 6 */2 * 1", "0 6 1-31/2 * 1", "0 6 1 * 1", "0 6 * * 1", "0 6 $ * *", "0 6 $ * 1", "30-10 * * * *", "58-1 * * * *",
    "0 22-3 * * *", "0 0 25-5 * *", "0 0 * 11-2 *", "0 0 * * 5-1", "0 0 * * sat-sun", "*/2147483647 * * * *", "0 0 */2147483647 * *", "0 0 */2147483646 * *",
    "48-59/2147483600 * * * *", "0 0 1 1/2 *", "0 6 31 2 *", "0 6 30 2 *", "0 6 29 2 *", "0 6 */29 2 1", "5% * * * *", "*x * * * *", "*-5 * * * *", "",
    "   ", "#", "# only a comment", "0 6 * *", "0 0 6 * * *", "@daily extra", "@daily\textra", "0 6 * * 7", "0 6 * * 0,7", "0 6 * * sun", "0 6 * * Sun",
  ];
  const corpus = [...fixed, ...atNames, ...atNames.map((n) => `${n} *`), ...seconds];
  while (corpus.length < size) corpus.push(cron());
  return corpus;
}
