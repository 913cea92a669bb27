/**
 * pg_cron's schedule model, once, in TypeScript: what it accepts, and when it runs what it accepted.
 *
 * `readAsPgCron` is a character-for-character port of pg_cron's parser (src/entry.c `parse_cron_entry`
 * with misc.c's buffer reader, and src/job_metadata.c `TryParseInterval`) as of the tags v1.4.2, v1.5.2,
 * v1.6.4 and v1.6.5+ (see the version notes at each difference). `runsAt` is pg_cron's `ShouldRunTask`
 * (src/pg_cron.c). Both are checked against the real pg_cron of the local stack on a generated corpus
 * (tests/integration/schedule-corpus.test.ts), and the SQL copy the catch-up reads
 * (public.cron_schedule_fields in infra/sql/operations-migration.ts) against this one.
 *
 * `parseSchedule` is what the stack and the CLI accept: what pg_cron accepts, minus these deliberate
 * refusals, each of which pg_cron takes and then runs differently from what the text says (or never):
 * - anything after the fifth field or after an @ name (pg_cron ignores it: the six-field "0 0 6 * * *",
 *   06:00 in a seconds-first reading, would silently become "00:00 on the 6th of each month");
 * - characters pg_cron skips (`5% * * * *`, `*x`, `*-5`), comment lines and line breaks;
 * - a range whose start is after its end (1.4/1.5 never run it; 1.6 runs a byte-pattern of it);
 * - a step larger than the field's highest value (1.6.5+ refuses it, 1.6.0-1.6.4 may overflow);
 * - a number pg_cron reads as another (atoi: 4294967302 is read as 6) or a signed seconds count;
 * - `@reboot`/`@restart` (no clock) and `@yearly`/`@annually` (1.6 sets no month: it never runs);
 * - a schedule that never runs (`0 6 31 2 *`).
 *
 * No imports, on purpose: the CronJob provider's `check` uses this, and everything a provider references
 * is serialized into state with it.
 */

/** The minutes, hours, days, months and weekdays pg_cron runs a five-field schedule at, and its flags. */
export interface CronFields {
  minutes: number[];
  hours: number[];
  /** 1-31. */
  daysOfMonth: number[];
  /** 1-12. */
  months: number[];
  /** 0-7, Sunday as both 0 and 7 (pg_cron sets both). */
  daysOfWeek: number[];
  /** The day-of-month field starts with '*' (DOM_STAR). */
  domStar: boolean;
  /** The day-of-week field starts with '*', or an @ name says so (DOW_STAR). */
  dowStar: boolean;
  /** '$': the last day of the month (DOM_LAST, pg_cron 1.6+). */
  domLast: boolean;
  /** @reboot/@restart: at scheduler start-up, never on the clock. */
  reboot: boolean;
}

/** What pg_cron makes of a schedule it accepts. */
export type PgCronEntry = ({ kind: "cron" } & CronFields) | { kind: "interval"; seconds: number };

/** A schedule we accept: the text as pg_cron will store it, and what pg_cron makes of it. */
export type ParsedSchedule = { kind: "cron"; expression: string; fields: CronFields } | { kind: "interval"; expression: string; seconds: number };

const example = "'0 6 * * *' (06:00 UTC daily)";

const versionParts = (version: string) =>
  version
    .replace(/-.*$/, "")
    .split(".")
    .map((part) => Number.parseInt(part, 10) || 0);

/** True when pg_cron `version` (pg_extension.extversion such as "1.4-1", or "1.6", "1.6.5") is at least `wanted`. */
export function pgCronAtLeast(version: string, wanted: string): boolean {
  const have = versionParts(version);
  const want = versionParts(wanted);
  for (let i = 0; i < Math.max(have.length, want.length); i++) {
    if ((have[i] ?? 0) !== (want[i] ?? 0)) return (have[i] ?? 0) > (want[i] ?? 0);
  }
  return true;
}

interface FieldSpec {
  name: string;
  low: number;
  high: number;
  names?: string[];
}

const fieldSpecs: FieldSpec[] = [
  { name: "minute", low: 0, high: 59 },
  { name: "hour", low: 0, high: 23 },
  { name: "day of month", low: 1, high: 31 },
  // entry.c MonthNames and DowNames, compared with strcasecmp; the second "Sun" (7) is never reached by name.
  { name: "month", low: 1, high: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] },
  { name: "day of week", low: 0, high: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"] },
];

const EOF = -1;
const NUL = 0;
const [TAB, NL, SP, HASH, DOLLAR, STAR, COMMA, DASH, SLASH, AT] = ["\t", "\n", " ", "#", "$", "*", ",", "-", "/", "@"].map((c) => c.charCodeAt(0));
const isAlnum = (ch: number) => (ch >= 48 && ch <= 57) || (ch >= 65 && ch <= 90) || (ch >= 97 && ch <= 122);
const isDigit = (ch: number) => ch >= 48 && ch <= 57;
const isBlank = (ch: number) => ch === SP || ch === TAB;

/** glibc's atoi: strtol (saturating at 2^63-1), then the low 32 bits as a signed int. */
function atoi(digits: string): number {
  const value = BigInt(digits);
  const saturated = value > 0x7fffffffffffffffn ? 0x7fffffffffffffffn : value;
  return Number(BigInt.asIntN(32, saturated));
}
const int32 = (n: number) => Number(BigInt.asIntN(32, BigInt(n)));

/** Why pg_cron refuses, as far as its parser says (an ecode of entry.c, or its length limit). */
type Reading = { entry: PgCronEntry } | { refused: string };

/**
 * Exactly what pg_cron `version` does with `schedule` in cron.schedule: the entry it stores, or a refusal.
 * 1.6.0-1.6.4 write outside the field on a step that overflows; that is reported as refused, not guessed.
 */
export function readAsPgCron(schedule: string, version: string): Reading {
  const cron = readCronEntry(schedule, version);
  if ("entry" in cron || !pgCronAtLeast(version, "1.5")) return cron;
  const seconds = tryParseInterval(schedule);
  return seconds === undefined ? cron : { entry: { kind: "interval", seconds } };
}

function readCronEntry(schedule: string, version: string): Reading {
  const v16 = pgCronAtLeast(version, "1.6");
  const v165 = pgCronAtLeast(version, "1.6.5");
  // pg_cron reads bytes; text is UTF-8, and every non-ASCII byte is neither blank nor alphanumeric.
  const data = new TextEncoder().encode(schedule);
  if (data.length >= 1000) return { refused: "it is 1000 bytes or longer" };

  // misc.c get_char over the in-memory buffer: the bytes, one NUL, then EOF; unget_char pushes back.
  let pointer = 0;
  const pushed: number[] = [];
  const get = (): number => {
    if (pushed.length > 0) return pushed.pop()!;
    if (pointer === data.length) {
      pointer++;
      return NUL;
    }
    if (pointer > data.length) return EOF;
    return data[pointer++];
  };
  const skipBlanks = (c: number) => {
    while (isBlank(c)) c = get();
    return c;
  };
  const skipNonblanks = (c: number) => {
    while (c !== TAB && c !== SP && c !== NL && c !== EOF && c !== NUL) c = get();
    return c;
  };

  // skip_comments: blank lines and '#' lines before the entry are skipped.
  let ch: number;
  while ((ch = get()) !== EOF) {
    while (isBlank(ch)) ch = get();
    if (ch === EOF) break;
    if (ch !== NL && ch !== HASH) break;
    while (ch !== NL && ch !== EOF) ch = get();
  }
  if (ch !== EOF) pushed.push(ch);
  ch = get();
  if (ch === EOF) return { refused: "it is empty" };

  const fields: CronFields = { minutes: [], hours: [], daysOfMonth: [], months: [], daysOfWeek: [], domStar: false, dowStar: false, domLast: false, reboot: false };
  const all = (spec: FieldSpec) => Array.from({ length: spec.high - spec.low + 1 }, (_, i) => spec.low + i);
  const [minute, hour, dom, month, dow] = fieldSpecs;

  if (ch === AT) {
    // get_string(cmd, MAX_COMMAND, file, " \t\n"): a NUL ends it too (strchr finds the terminator).
    let name = "";
    while ((ch = get()) !== EOF && ch !== SP && ch !== TAB && ch !== NL && ch !== NUL) if (name.length < 999) name += String.fromCharCode(ch);
    const at = (m: number[], h: number[], d: number[], mo: number[], w: number[]) => {
      Object.assign(fields, { minutes: m, hours: h, daysOfMonth: d, months: mo, daysOfWeek: w });
    };
    if (name === "reboot" || name === "restart") fields.reboot = true;
    // 1.6 sets the month of @yearly with FIRST_MINUTE (0), which set_element refuses: no month at all.
    else if (name === "yearly" || name === "annually") (at([0], [0], [1], v16 ? [] : [1], all(dow)), (fields.dowStar = true));
    else if (name === "monthly") (at([0], [0], [1], all(month), all(dow)), (fields.dowStar = true));
    // 1.4/1.5 flag @weekly DOM_STAR, 1.6 DOW_STAR: either makes both day fields have to match.
    else if (name === "weekly") (at([0], [0], all(dom), all(month), [0, 7]), v16 ? (fields.dowStar = true) : (fields.domStar = true));
    else if (name === "daily" || name === "midnight") at([0], [0], all(dom), all(month), all(dow));
    else if (name === "hourly") at([0], all(hour), all(dom), all(month), all(dow));
    else return { refused: `'@${name}' is not one of pg_cron's @ names` };
    return { entry: { kind: "cron", ...fields } };
  }

  /** get_number: an alphanumeric run, a name (case-insensitive) or all digits (atoi). */
  const getNumber = (low: number, names: string[] | undefined): { ch: number; value: number } | undefined => {
    let temp = "";
    let allDigits = true;
    while (isAlnum(ch)) {
      if (temp.length + 1 >= 1000) return undefined;
      temp += String.fromCharCode(ch);
      if (!isDigit(ch)) allDigits = false;
      ch = get();
    }
    if (temp === "") return undefined;
    const named = names?.indexOf(temp.toLowerCase()) ?? -1;
    if (named >= 0) return { ch, value: named + low };
    return allDigits ? { ch, value: atoi(temp) } : undefined;
  };

  /** get_range: one of `*`, `n`, `n-m`, then `/step` after `*` or a range. Sets bits; false on refusal. */
  const getRange = (bits: boolean[], spec: FieldSpec): boolean => {
    const { low, high, names } = spec;
    let num1: number, num2: number, num3: number;
    if (ch === STAR) {
      num1 = low;
      num2 = high;
      ch = get();
      if (ch === EOF) return false;
    } else {
      const first = getNumber(low, names);
      if (!first) return false;
      num1 = first.value;
      if (ch !== DASH) {
        if (ch === SLASH) return false; // a step needs a range: 1/20 is refused
        if (num1 < low || num1 > high) return false;
        bits[num1 - low] = true;
        return true;
      }
      ch = get();
      if (ch === EOF) return false;
      const second = getNumber(low, names);
      if (!second) return false;
      num2 = second.value;
    }
    if (ch === SLASH) {
      ch = get();
      if (ch === EOF) return false;
      const step = getNumber(0, undefined);
      if (!step || step.value <= 0) return false;
      num3 = step.value;
    } else {
      num3 = 1;
    }
    if (num1 < low || num1 > high || num2 < low || num2 > high) return false;
    if (v165 && num3 > high) return false; // 1.6.5: "Fix possible buffer underflow issue in cron parsing"
    if (!v16) {
      // 1.4/1.5: for (i = num1; i <= num2; i += num3) set_element(...); built with -fwrapv, so it wraps.
      for (let i = num1; i <= num2; i = int32(i + num3)) {
        if (i < low || i > high) return false;
        bits[i - low] = true;
      }
      return true;
    }
    // 1.6 set_range: bit_nset for a step of 1 (bitstring.h, byte by byte), a loop otherwise.
    const start = num1 - low;
    const stop = num2 - low;
    if (num3 === 1) {
      const setByte = (byte: number, mask: number) => {
        for (let bit = 0; bit < 8; bit++) if (mask & (1 << bit)) bits[byte * 8 + bit] = true;
      };
      const startByte = start >> 3;
      const stopByte = stop >> 3;
      if (startByte === stopByte) setByte(startByte, (0xff << (start & 7)) & (0xff >> (7 - (stop & 7))) & 0xff);
      else {
        // A reversed range across bytes sets the tail of the start's byte and the head of the stop's.
        setByte(startByte, (0xff << (start & 7)) & 0xff);
        for (let byte = startByte + 1; byte < stopByte; byte++) setByte(byte, 0xff);
        setByte(stopByte, 0xff >> (7 - (stop & 7)));
      }
      return true;
    }
    for (let i = start; i <= stop; i += num3) {
      if (i + num3 > 0x7fffffff && i + num3 - 0x100000000 <= stop) return false; // wraps to a negative index: undefined
      bits[i] = true;
    }
    return true;
  };

  /** get_list: ranges separated by ','; then whatever is not blank is skipped, and the blanks after it. */
  const getList = (spec: FieldSpec): number[] | undefined => {
    const bits: boolean[] = [];
    for (;;) {
      if (!getRange(bits, spec)) return undefined;
      if (ch !== COMMA) break;
      ch = get();
    }
    ch = skipBlanks(skipNonblanks(ch));
    return all(spec).filter((value) => bits[value - spec.low]);
  };

  const refusal = (spec: FieldSpec) => ({ refused: `pg_cron cannot read its ${spec.name} field` });
  const minutes = getList(minute);
  if (!minutes) return refusal(minute);
  const hours = getList(hour);
  if (!hours) return refusal(hour);
  let daysOfMonth: number[] | undefined = [];
  if (v16 && ch === DOLLAR) {
    ch = get();
    if (!isBlank(ch)) return refusal(dom);
    ch = skipBlanks(ch);
    fields.domLast = true;
  } else {
    if (ch === STAR) fields.domStar = true;
    daysOfMonth = getList(dom);
    if (!daysOfMonth) return refusal(dom);
  }
  const months = getList(month);
  if (!months) return refusal(month);
  if (ch === STAR) fields.dowStar = true;
  let daysOfWeek = getList(dow);
  if (!daysOfWeek) return refusal(dow);
  // "make sundays equivalent"
  if (daysOfWeek.includes(0) || daysOfWeek.includes(7)) daysOfWeek = [...new Set([0, ...daysOfWeek, 7])].sort((a, b) => a - b);
  return { entry: { kind: "cron", ...fields, minutes, hours, daysOfMonth, months, daysOfWeek } };
}

/**
 * job_metadata.c TryParseInterval: sscanf(lower-cased text, " %u secon%c%c %c"), then 0 < n < 60.
 * %u is glibc's strtoul (a sign allowed, saturating at 2^64-1) stored in 32 bits.
 */
function tryParseInterval(schedule: string): number | undefined {
  const text = schedule.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const isSpace = (c: string | undefined) => c !== undefined && " \t\n\v\f\r".includes(c);
  let i = 0;
  while (isSpace(text[i])) i++;
  let negative = false;
  if (text[i] === "+" || text[i] === "-") negative = text[i++] === "-";
  const digits = /^\d+/.exec(text.slice(i))?.[0];
  if (!digits) return undefined;
  i += digits.length;
  let value = BigInt(digits);
  if (value > 0xffffffffffffffffn) value = 0xffffffffffffffffn;
  else if (negative) value = BigInt.asUintN(64, -value);
  const seconds = Number(BigInt.asUintN(32, value));
  while (isSpace(text[i])) i++;
  if (!text.startsWith("secon", i)) return undefined;
  i += 5;
  const lastChar = text[i++];
  if (lastChar !== "d") return undefined;
  const plural = text[i++];
  let parts = 2;
  if (plural !== undefined) {
    parts = 3;
    while (isSpace(text[i])) i++;
    if (text[i] !== undefined) parts = 4;
  }
  if (parts === 2 || (parts === 3 && plural === "s")) return seconds > 0 && seconds < 60 ? seconds : undefined;
  return undefined;
}

/** ShouldRunTask's day rule: both day fields must match when either starts with '*', else either. */
function runsOnDay(fields: CronFields, day: Date): boolean {
  const tomorrow = new Date(day.getTime() + 86_400_000);
  const dom = (fields.domLast && tomorrow.getUTCDate() === 1) || fields.daysOfMonth.includes(day.getUTCDate());
  const dow = fields.daysOfWeek.includes(day.getUTCDay());
  return fields.months.includes(day.getUTCMonth() + 1) && (fields.domStar || fields.dowStar ? dom && dow : dom || dow);
}

/** pg_cron's ShouldRunTask for one minute, read in UTC (1.4 always; 1.5+ with cron.timezone unset, as on Supabase). */
export function runsAt(fields: CronFields, minute: Date): boolean {
  return !fields.reboot && fields.minutes.includes(minute.getUTCMinutes()) && fields.hours.includes(minute.getUTCHours()) && runsOnDay(fields, minute);
}

/** Long enough for any date pattern to repeat: weekdays and leap years together repeat every 28 years until 2100. */
const searchDays = 29 * 366;

/**
 * The minutes pg_cron runs the schedule at, from `from` onwards (direction 1) or backwards (-1), one day at
 * a time; undefined when none within about 29 years (then it never runs).
 */
function firstRun(fields: CronFields, from: Date, direction: 1 | -1): Date | undefined {
  if (fields.reboot || fields.minutes.length === 0 || fields.hours.length === 0) return undefined;
  const start = Math.floor(from.getTime() / 60_000) * 60_000;
  const dayStart = (t: number) => Math.floor(t / 86_400_000) * 86_400_000;
  const times = fields.hours.flatMap((h) => fields.minutes.map((m) => (h * 60 + m) * 60_000));
  if (direction === -1) times.reverse();
  for (let d = 0, day = dayStart(start); d < searchDays; d++, day += direction * 86_400_000) {
    if (!runsOnDay(fields, new Date(day))) continue;
    for (const offset of times) {
      const at = day + offset;
      if (direction === 1 ? at >= start : at <= start) return new Date(at);
    }
  }
  return undefined;
}

/** The first minute strictly after `after` at which pg_cron runs the schedule (UTC); undefined if never. */
export function nextRun(fields: CronFields, after: Date): Date | undefined {
  return firstRun(fields, new Date(Math.floor(after.getTime() / 60_000) * 60_000 + 60_000), 1);
}

/** The last minute at or before `atOrBefore` at which pg_cron ran the schedule (UTC); undefined if never. */
export function previousRun(fields: CronFields, atOrBefore: Date): Date | undefined {
  return firstRun(fields, atOrBefore, -1);
}

/** The SQL's span (cron_shortest_gap): 28 years, after which weekdays and leap years repeat (until 2100). */
const gapSearchDays = 28 * 366;

/**
 * The shortest time between two consecutive runs, in minutes, computed as the SQL's cron_shortest_gap does
 * so that the stack refuses exactly the retry deadlines the database would: the least step between two
 * minutes of a day, and between the last run of a matching day and the first of the next one, from today
 * on. Undefined when it runs once or never. The retry deadline must stay under it.
 */
export function shortestGapMinutes(fields: CronFields, from: Date = new Date()): number | undefined {
  const times = [...new Set(fields.hours.flatMap((h) => fields.minutes.map((m) => h * 60 + m)))].sort((a, b) => a - b);
  if (fields.reboot || times.length === 0) return undefined;
  let best: number | undefined;
  for (let i = 1; i < times.length; i++) best = Math.min(best ?? Infinity, times[i] - times[i - 1]);
  let lastDay: number | undefined;
  let day = Math.floor(from.getTime() / 86_400_000);
  for (let i = 0; i <= gapSearchDays && best !== 1; i++, day++) {
    if (!runsOnDay(fields, new Date(day * 86_400_000))) continue;
    if (lastDay !== undefined) best = Math.min(best ?? Infinity, (day - lastDay) * 1440 + times[0] - times[times.length - 1]);
    lastDay = day;
  }
  return best;
}

/** The same in seconds for any schedule we accept: an 'N seconds' schedule runs N seconds apart. */
export function shortestGapSeconds(parsed: ParsedSchedule, from: Date = new Date()): number | undefined {
  if (parsed.kind === "interval") return parsed.seconds;
  const minutes = shortestGapMinutes(parsed.fields, from);
  return minutes === undefined ? undefined : minutes * 60;
}

/** The text pg_cron should store: trimmed, fields separated by one space, so diffs compare like with like. */
export function normalizeSchedule(schedule: string): string {
  return schedule.trim().split(/\s+/).join(" ");
}

/** Where the strict grammar (what we accept) finds fault with one field, or undefined. */
function fieldProblem(spec: FieldSpec, text: string, version: string): string | undefined {
  if (spec.name === "day of month" && text === "$") {
    return pgCronAtLeast(version, "1.6") ? undefined : `'$' (last day of the month) needs pg_cron 1.6 or later, not ${version}`;
  }
  for (const item of text.split(",")) {
    const match = /^(?:(\*)|([A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?)(?:\/([0-9]+))?$/.exec(item);
    if (!match) return `${spec.name} '${item}' is not '*', a number, a range 'a-b' or a step '*/n' or 'a-b/n'`;
    const [, star, from, to, step] = match;
    if (step !== undefined && !star && to === undefined) {
      return `${spec.name} '${item}' steps from a single value, which pg_cron refuses; write '${from}-${spec.high}/${step}' or '*/${step}'`;
    }
    if (step !== undefined && BigInt(step) === 0n) return `${spec.name} '${item}' has a step of 0`;
    if (step !== undefined && BigInt(step) > BigInt(spec.high)) {
      return `${spec.name} '${item}' steps by more than ${spec.high}, so it means its first value only (pg_cron 1.6.5 refuses it); write that value`;
    }
    if (star) continue;
    const values: number[] = [];
    for (const token of to === undefined ? [from] : [from, to]) {
      if (/^\d+$/.test(token)) {
        const value = BigInt(token);
        if (value < BigInt(spec.low) || value > BigInt(spec.high)) {
          return `${spec.name} ${token} is outside ${spec.low}-${spec.high}` + (atoi(token) !== Number(value) && atoi(token) >= spec.low && atoi(token) <= spec.high ? ` (pg_cron would read it as ${atoi(token)})` : "");
        }
        values.push(Number(value));
        continue;
      }
      const named = spec.names?.indexOf(token.toLowerCase()) ?? -1;
      if (named < 0) {
        return spec.names
          ? `${spec.name} '${token}' is neither a number from ${spec.low} to ${spec.high} nor a three-letter name such as '${spec.names[1]}'`
          : `${spec.name} '${token}' is not a number from ${spec.low} to ${spec.high}`;
      }
      values.push(named + spec.low);
    }
    if (values.length === 2 && values[0] > values[1]) {
      return `${spec.name} range '${item}' starts after it ends, which pg_cron ${pgCronAtLeast(version, "1.6") ? "reads as a pattern of bits, not a wrap-around" : "never runs"}; write it as two ranges, e.g. '${values[0]}-${spec.high},${spec.low}-${values[1]}'`;
    }
  }
  return undefined;
}

/** The strict grammar's verdict on a five-field or @ schedule; undefined when it has nothing against it. */
function strictProblem(text: string, version: string): string | undefined {
  if (text === "") return `it is empty; pg_cron needs five fields (minute hour day-of-month month day-of-week, UTC), e.g. ${example}`;
  if (/[^\x20-\x7e]/.test(text)) return `it holds a line break, tab or other character outside printable ASCII, which pg_cron skips or reads as a new line; write it on one line, e.g. ${example}`;
  if (text.startsWith("#")) return `it starts with '#', which pg_cron reads as a comment line; e.g. ${example}`;
  if (text.startsWith("@")) {
    const [name, ...rest] = text.split(" ");
    if (name === "@reboot" || name === "@restart") return `${name} runs whenever pg_cron's scheduler starts, not on a clock; use a cron expression such as ${example}`;
    if (name === "@yearly" || name === "@annually") return `${name} never runs on pg_cron 1.6 (it sets no month); write '0 0 1 1 *', which runs at 00:00 UTC on 1 January on every version`;
    const known = ["@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
    if (!known.includes(name)) {
      const sameLetters = known.find((k) => k === name.toLowerCase());
      return sameLetters
        ? `pg_cron matches @ names case-sensitively and knows no '${name}'; write '${sameLetters}'`
        : `pg_cron knows no '${name}'; it knows ${known.join(", ")} (and @yearly, @annually, @reboot, which are refused here)`;
    }
    if (rest.length > 0) return `pg_cron ignores everything after '${name}' ('${rest.join(" ")}'); write '${name}' alone or five fields, e.g. ${example}`;
    return undefined;
  }
  const parts = text.split(" ");
  if (parts.length !== 5) {
    const hint =
      parts.length === 6
        ? "; pg_cron has no seconds field and would read the first five fields only, shifting their meaning"
        : parts.length > 6
          ? `; pg_cron would read the first five only and ignore '${parts.slice(5).join(" ")}'`
          : "";
    return `it has ${parts.length} fields; pg_cron needs exactly 5 (minute hour day-of-month month day-of-week, UTC)${hint}. Example: ${example}`;
  }
  for (const [index, spec] of fieldSpecs.entries()) {
    const problem = fieldProblem(spec, parts[index], version);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * What the stack and the CLI accept: pg_cron `pgCronVersion`'s verdict (readAsPgCron) minus the
 * deliberate refusals above. Returns the parsed schedule, or a reason naming what is wrong and what to write.
 */
export function parseSchedule(schedule: string, pgCronVersion: string): { parsed: ParsedSchedule } | { problem: string } {
  const text = normalizeSchedule(schedule);
  const reading = readAsPgCron(text, pgCronVersion);
  const interval = /^[+-]?\d+\s*seconds?$/i.test(text);
  if (interval) {
    if (!pgCronAtLeast(pgCronVersion, "1.5")) return { problem: `'N seconds' schedules need pg_cron 1.5 or later, not ${pgCronVersion}` };
    if (/^[+-]/.test(text)) return { problem: `'${text}' has a sign, which pg_cron reads modulo 2^32; write the number of seconds (1-59) alone, e.g. '30 seconds'` };
    const seconds = BigInt(/\d+/.exec(text)![0]);
    if (!("entry" in reading) || reading.entry.kind !== "interval") return { problem: `pg_cron runs 'N seconds' schedules for N from 1 to 59 only, not ${seconds}` };
    return { parsed: { kind: "interval", expression: text, seconds: reading.entry.seconds } };
  }
  const strict = strictProblem(text, pgCronVersion);
  if (!("entry" in reading)) return { problem: strict ?? `pg_cron ${pgCronVersion} refuses it: ${reading.refused}; e.g. ${example}` };
  if (strict) return { problem: strict };
  if (reading.entry.kind !== "cron") return { problem: `pg_cron reads it as an 'N seconds' schedule; write it as 'N seconds'` };
  const fields: CronFields = { ...reading.entry };
  delete (fields as Partial<{ kind: string }>).kind;
  if (!nextRun(fields, new Date(Date.UTC(2025, 0, 1)))) {
    return { problem: `it never runs: no date matches its day-of-month, month and day-of-week fields; e.g. ${example}` };
  }
  return { parsed: { kind: "cron", expression: text, fields } };
}
