// The conformance run's report: per pjdfstest group the subtests passed out of
// the total, the total, and the total without the `link` group (filesfs has no
// hard links, so the figure without them is the one that tracks our work;
// both are printed), then each failing test file with its failing subtest
// numbers. Groups whose every file exits at once with "1..1 ok 1" are tests
// pjdfstest does not run on this OS or filesystem (chflags, granular and
// posix_fallocate on Linux): they count the way prove counts them, and the
// table says so.

/** Left out of the headline figure: filesfs has no hard links (EPERM by design). */
export const EXCLUDED_GROUP = 'link';

/** A failing file's subtests in the printed list; --json has them all. */
const MAX_RANGES_CHARS = 160;

/** "4-8, 10, 14-18"; past `maxChars`, cut at a comma with "… (N more)". */
export function ranges(numbers, maxChars = Infinity) {
  const sorted = [...numbers].sort((a, b) => a - b);
  const parts = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  const text = parts.join(', ');
  if (text.length <= maxChars) return text;
  const cut = text.lastIndexOf(', ', maxChars);
  const shown = text.slice(0, cut);
  const more = sorted.length - shown.split(', ').reduce((s, p) => s + (p.includes('-') ? Number(p.split('-')[1]) - Number(p.split('-')[0]) + 1 : 1), 0);
  return `${shown} … (${more} more)`;
}

const percent = (passed, total) => (total ? ((100 * passed) / total).toFixed(1) : '-');

/** pjdfstest's "not applicable here" exit: one subtest, plan 1..1, passed. */
const notApplicable = (f) => f.planned === 1 && f.total === 1 && f.failed.length === 0;

/**
 * Sums the file results per group, in the order of `groups`.
 * @param {string[]} groups
 * @param {import('./tap.mjs').FileResult[]} files
 */
export function summarize(groups, files) {
  const rows = groups.map((group) => {
    const mine = files.filter((f) => f.group === group);
    return {
      group,
      files: mine.length,
      failingFiles: mine.filter((f) => f.failed.length > 0).length,
      passed: mine.reduce((s, f) => s + f.passed, 0),
      total: mine.reduce((s, f) => s + f.total, 0),
      notApplicable: mine.length > 0 && mine.every(notApplicable),
    };
  });
  const sum = (list) => ({ passed: list.reduce((s, r) => s + r.passed, 0), total: list.reduce((s, r) => s + r.total, 0) });
  return { rows, total: sum(rows), withoutLink: sum(rows.filter((r) => r.group !== EXCLUDED_GROUP)) };
}

/**
 * The table and the failing files, as printed.
 * @param {ReturnType<typeof summarize>} summary
 * @param {import('./tap.mjs').FileResult[]} files
 */
export function formatReport(summary, files) {
  const lines = [];
  const row = (name, passed, total, note = '') =>
    `${name.padEnd(22)}${String(passed).padStart(7)}${String(total).padStart(7)}${percent(passed, total).padStart(8)}  ${note}`.trimEnd();
  lines.push(`${'group'.padEnd(22)}${'passed'.padStart(7)}${'total'.padStart(7)}${'%'.padStart(8)}  failing files`);
  for (const r of summary.rows) {
    const note = r.files === 0 ? 'not run' : r.notApplicable ? `${r.failingFiles}/${r.files} (not run on this OS: 1 placeholder pass per file)` : `${r.failingFiles}/${r.files}`;
    lines.push(row(r.group, r.passed, r.total, note));
  }
  lines.push('-'.repeat(46));
  lines.push(row('total', summary.total.passed, summary.total.total));
  lines.push(row(`total without ${EXCLUDED_GROUP}`, summary.withoutLink.passed, summary.withoutLink.total));
  const failing = files.filter((f) => f.failed.length > 0);
  lines.push('');
  if (failing.length === 0) lines.push('No failing test file.');
  else {
    lines.push(`Failing test files (${failing.length}), with their failing subtests (--json has each one's message):`);
    const width = Math.max(...failing.map((f) => f.file.length));
    for (const f of failing) {
      const stopped = f.complete ? '' : ' (incomplete)';
      lines.push(`  ${f.file.padEnd(width)}  ${String(f.failed.length).padStart(4)}/${String(f.total).padEnd(4)} ${ranges(f.failed.map((x) => x.n), MAX_RANGES_CHARS)}${stopped}`);
    }
  }
  return lines.join('\n');
}
