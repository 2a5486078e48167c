// Reads the output of `prove -v` over pjdfstest's tests, line by line, into one
// result per test file: its plan, which subtests failed and what each tried
// (pjdfstest's "not ok N - tried 'OP ARGS', expected X, got Y"). prove's own
// summary is not used: it lists only the failing files and loses the
// messages. A subtest counts the way prove counts it: "ok" passes, a TODO or
// SKIP directive passes, "not ok" fails, and a planned subtest that never
// reported (the test died, or bailed out: "Bail out!", which also stops
// prove) fails.

/** `/…/tests/chmod/00.t ..` (prove pads the name with dots; verbose mode ends the line there). */
const HEADER = /^(.*\.t) \.+ ?$/;
const PLAN = /^1\.\.(\d+)/;
const RESULT = /^(not )?ok (\d+)\b(?: - )?(.*)$/;
const DIRECTIVE = /#\s*(TODO|SKIP)\b/i;
const BAIL_OUT = /^Bail out!/;

/**
 * One test file's outcome.
 * @typedef {object} FileResult
 * @property {string} file       path under tests/, e.g. "chmod/00.t"
 * @property {string} group      its folder, e.g. "chmod"
 * @property {number|undefined} planned
 * @property {number} total      the plan, or the highest subtest number seen when larger
 * @property {number} passed
 * @property {Array<{n: number, message: string}>} failed   "not ok" and planned-but-missing subtests
 * @property {number} todo       subtests that passed only through a TODO or SKIP directive
 * @property {boolean} complete  every planned subtest reported
 */

export class ProveOutput {
  /** @param {string} testsDir absolute path of pjdfstest's tests/ folder */
  constructor(testsDir) {
    this.prefix = testsDir.replace(/\/+$/, '') + '/';
    /** @type {FileResult[]} */
    this.files = [];
    /** @type {{file: string, group: string, planned?: number, seen: Map<number, {ok: boolean, directive: boolean, message: string}>, note?: string, bailOut?: string} | undefined} */
    this.current = undefined;
    /** The file that bailed out (prove runs nothing after it) and why, if one did. */
    this.bailedOut = undefined;
  }

  /** The file prove is running now, e.g. "chmod/00.t". */
  get running() {
    return this.current?.file;
  }

  /**
   * Feeds one line; returns the file result when this line closed a file
   * (the next file's header, or the summary), else undefined.
   * @param {string} line
   * @returns {FileResult | undefined}
   */
  line(line) {
    const header = HEADER.exec(line);
    if (header && header[1].startsWith(this.prefix)) {
      const done = this.finish();
      const file = header[1].slice(this.prefix.length);
      this.current = { file, group: file.split('/')[0], seen: new Map() };
      return done;
    }
    if (line.startsWith('Test Summary Report') || /^Files=\d+, Tests=\d+/.test(line)) return this.finish();
    const c = this.current;
    if (!c) return undefined;
    const plan = PLAN.exec(line);
    if (plan && c.planned === undefined && c.seen.size === 0) {
      c.planned = Number(plan[1]);
      return undefined;
    }
    if (BAIL_OUT.test(line)) {
      // pjdfstest prints its reason on the line before "Bail out!".
      c.bailOut = c.note ? `${c.note} ${line}` : line;
      this.bailedOut = { file: c.file, reason: c.bailOut };
      return undefined;
    }
    const result = RESULT.exec(line);
    if (!result) {
      if (line.trim() && !/^(ok|Failed \d+\/\d+ subtests|Dubious|All \d+ subtests|No subtests run|Bailout called)/.test(line)) c.note = line.trim();
      return undefined;
    }
    const rest = result[3];
    const directive = DIRECTIVE.test(rest);
    c.seen.set(Number(result[2]), { ok: !result[1] || directive, directive, message: rest.replace(/\s*#\s*(TODO|SKIP)\b.*$/i, '').trim() });
    return undefined;
  }

  /**
   * Closes the file being read (at the end of prove's output, or when prove
   * was stopped); returns its result.
   * @returns {FileResult | undefined}
   */
  finish() {
    const c = this.current;
    if (!c) return undefined;
    this.current = undefined;
    // Subtests beyond the plan still count (prove calls the file bad; so do we, through them).
    const total = Math.max(c.planned ?? 0, ...c.seen.keys());
    /** @type {FileResult['failed']} */
    const failed = [];
    let todo = 0;
    for (let n = 1; n <= total; n++) {
      const r = c.seen.get(n);
      if (!r) failed.push({ n, message: c.bailOut ? `no result (the test bailed out: ${c.bailOut})` : 'no result (the test stopped before this subtest)' });
      else if (!r.ok) failed.push({ n, message: r.message });
      else if (r.directive) todo++;
    }
    const complete = c.planned !== undefined && failed.every((f) => c.seen.has(f.n)) && total === c.planned;
    const result = { file: c.file, group: c.group, planned: c.planned, total, passed: total - failed.length, failed, todo, complete };
    this.files.push(result);
    return result;
  }
}
