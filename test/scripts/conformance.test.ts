// `npm run conformance` (scripts/conformance.mjs) without pjdfstest: its
// options, and the paths that must stop before anything starts (pjdfstest
// missing or not built, an unknown group, a bad option), each with exit 2 and
// a message that says what to do. And its reading of `prove -v` output into
// the per-group figures it prints. The run itself (a mount, 10-40 minutes) is
// not part of the suite.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { REPO, runProgram, scratch } from '../support/mount.js';

const SCRIPT = join(REPO, 'scripts', 'conformance.mjs');

function conformance(args: string[], env: Record<string, string | undefined> = {}) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.PJDFSTEST_DIR;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  return runProgram(process.execPath, [SCRIPT, ...args], { env: childEnv, timeoutMs: 30_000 });
}

/** A pjdfstest checkout's shape: tests/misc.sh, tests/conf, one group; built or not. */
function fakePjdfstest(built: boolean): string {
  const dir = scratch('fake-pjdfstest');
  mkdirSync(join(dir, 'tests', 'chmod'), { recursive: true });
  writeFileSync(join(dir, 'tests', 'misc.sh'), '');
  writeFileSync(join(dir, 'tests', 'conf'), '');
  writeFileSync(join(dir, 'tests', 'chmod', '00.t'), '#!/bin/sh\necho 1..1\necho ok 1\n');
  if (built) {
    writeFileSync(join(dir, 'pjdfstest'), '#!/bin/sh\nexit 1\n');
    chmodSync(join(dir, 'pjdfstest'), 0o755);
  }
  return dir;
}

describe('scripts/conformance.mjs before it starts anything', () => {
  test('--help prints the usage and the options, exit 0', async () => {
    const r = await conformance(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npm run conformance/);
    for (const flag of ['--pjdfstest DIR', '--only GROUP', '--json FILE', '--keep-log FILE']) expect(r.stdout).toContain(flag);
  });

  test('an unknown option or a missing value: exit 2 with the usage', async () => {
    const unknown = await conformance(['--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown option "--bogus"');
    expect(unknown.stderr).toContain('Usage: npm run conformance');
    const noValue = await conformance(['--only']);
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toContain('--only needs a value');
  });

  test('pjdfstest missing (--pjdfstest): exit 2, says where it looked and how to build it', async () => {
    const dir = join(scratch('no-pjdfstest'), 'pjdfstest');
    const r = await conformance(['--pjdfstest', dir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`pjdfstest is not at ${dir} (--pjdfstest)`);
    expect(r.stderr).toContain('git clone https://github.com/pjd/pjdfstest');
    expect(r.stderr).toContain('autoreconf -ifs && ./configure && make pjdfstest');
  });

  test('the directory comes from $PJDFSTEST_DIR when --pjdfstest is not given', async () => {
    const dir = join(scratch('no-pjdfstest'), 'elsewhere');
    const r = await conformance([], { PJDFSTEST_DIR: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`pjdfstest is not at ${dir} ($PJDFSTEST_DIR)`);
  });

  test('sources without the built program: exit 2, "not built"', async () => {
    const dir = fakePjdfstest(false);
    const r = await conformance(['--pjdfstest', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`it is not built: no ${join(dir, 'pjdfstest')} program`);
    expect(r.stderr).toContain('make pjdfstest');
  });

  test('--only with a group pjdfstest does not have: exit 2, lists the groups', async () => {
    const dir = fakePjdfstest(true);
    const r = await conformance(['--pjdfstest', dir, '--only', 'chmod', '--only', 'nosuch']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no test group "nosuch"');
    expect(r.stderr).toContain('groups: chmod');
  });
});

interface FileResult {
  file: string;
  group: string;
  planned: number | undefined;
  total: number;
  passed: number;
  failed: Array<{ n: number; message: string }>;
  todo: number;
  complete: boolean;
}
interface ProveOutput {
  bailedOut: { file: string; reason: string } | undefined;
  line(line: string): FileResult | undefined;
  finish(): FileResult | undefined;
  files: FileResult[];
}
interface Summary {
  rows: Array<{ group: string; passed: number; total: number; files: number; failingFiles: number; notApplicable: boolean }>;
  total: { passed: number; total: number };
  withoutLink: { passed: number; total: number };
}
const tap = (await import(pathToFileURL(join(REPO, 'scripts', 'conformance', 'tap.mjs')).href)) as { ProveOutput: new (testsDir: string) => ProveOutput };
const report = (await import(pathToFileURL(join(REPO, 'scripts', 'conformance', 'report.mjs')).href)) as {
  summarize(groups: string[], files: FileResult[]): Summary;
  formatReport(summary: Summary, files: FileResult[]): string;
  ranges(numbers: number[], maxChars?: number): string;
};

// What `prove --formatter TAP::Formatter::Console -r -v` prints over pjdfstest (shortened).
const PROVE = `/p/tests/chflags/00.t .. 
1..1
ok 1
ok
/p/tests/chmod/00.t ..... 
1..6
ok 1
not ok 2 - tried 'chmod pjdfstest_a 0111', expected 0, got EPERM
not ok 3 - tried 'stat pjdfstest_a mode', expected 0111, got 0644
ok 4 # TODO FreeBSD: known
ok 5
not ok 6 # TODO Linux: expected
Failed 2/6 subtests 
/p/tests/link/00.t ...... 
1..4
ok 1
not ok 2 - tried 'link a b', expected 0, got EPERM
Failed 3/4 subtests 
/p/tests/mkdir/00.t ..... 
1..2
ok 1
ok 2
ok

Test Summary Report
-------------------
/p/tests/chmod/00.t (Wstat: 0 Tests: 6 Failed: 2)
  Failed tests:  2-3
Files=4, Tests=13,  1 wallclock secs
Result: FAIL
`;

describe('reading prove -v output', () => {
  const parse = () => {
    const out = new tap.ProveOutput('/p/tests/');
    for (const line of PROVE.split('\n')) out.line(line);
    out.finish();
    return out.files;
  };

  test('one result per file: failed subtests with what they tried; TODO passes; unreported planned subtests fail', () => {
    const files = parse();
    expect(files.map((f) => f.file)).toEqual(['chflags/00.t', 'chmod/00.t', 'link/00.t', 'mkdir/00.t']);
    const chmod = files[1]!;
    expect(chmod).toMatchObject({ group: 'chmod', planned: 6, total: 6, passed: 4, todo: 2, complete: true });
    expect(chmod.failed).toEqual([
      { n: 2, message: "tried 'chmod pjdfstest_a 0111', expected 0, got EPERM" },
      { n: 3, message: "tried 'stat pjdfstest_a mode', expected 0111, got 0644" },
    ]);
    const link = files[2]!;
    expect(link).toMatchObject({ total: 4, passed: 1, complete: false });
    expect(link.failed.map((f) => f.n)).toEqual([2, 3, 4]);
  });

  test('the table: per group, the total, the total without link; then the failing files and their subtests', () => {
    const files = parse();
    const summary = report.summarize(['chflags', 'chmod', 'link', 'mkdir', 'rename'], files);
    expect(summary.total).toEqual({ passed: 1 + 4 + 1 + 2, total: 1 + 6 + 4 + 2 });
    expect(summary.withoutLink).toEqual({ passed: 7, total: 9 });
    expect(summary.rows.find((r) => r.group === 'chflags')?.notApplicable).toBe(true);
    const text = report.formatReport(summary, files);
    expect(text).toMatch(/^chmod +4 +6 +66\.7 +1\/1$/m);
    expect(text).toMatch(/^rename +0 +0 +- +not run$/m);
    expect(text).toMatch(/^total without link +7 +9 +77\.8$/m);
    expect(text).toMatch(/^ +chmod\/00\.t +2\/6 +2-3$/m);
    expect(text).toMatch(/^ +link\/00\.t +3\/4 +2-4 \(incomplete\)$/m);
    expect(report.ranges([10, 4, 5, 6, 8, 1])).toBe('1, 4-6, 8, 10');
    expect(report.ranges([1, 2, 3, 5, 7, 9, 11], 10)).toBe('1-3, 5, 7 … (2 more)');
  });

  test('a test that bails out: its unreported subtests fail with the reason pjdfstest printed, and the parser says which file stopped prove', () => {
    const out = new tap.ProveOutput('/p/tests');
    const text = `/p/tests/utimensat/09.t .. 
1..3
ok 1
Could not determine if file system has 32-bit or 64-bit st_* fields (probe_atime='5')
Bailout called.  Further testing stopped:  
Bail out!
Dubious, test returned 1 (wstat 256, 0x100)
Failed 2/3 subtests 
`;
    for (const line of text.split('\n')) out.line(line);
    out.finish();
    const reason = "Could not determine if file system has 32-bit or 64-bit st_* fields (probe_atime='5') Bail out!";
    expect(out.files[0]).toMatchObject({ file: 'utimensat/09.t', total: 3, passed: 1, complete: false });
    expect(out.files[0]!.failed).toEqual([2, 3].map((n) => ({ n, message: `no result (the test bailed out: ${reason})` })));
    expect(out.bailedOut).toEqual({ file: 'utimensat/09.t', reason });
  });
});
