#!/usr/bin/env node
// `npm run conformance`: the POSIX conformance run of filesfs with pjdfstest,
// the suite other FUSE and network filesystems publish scores with. Starts an
// emulator (its own process, a fresh data dir), mounts it as root with
// --allow-other and otherwise default options (pjdfstest switches to other
// users, who must see the mount), runs `prove -r -v` over pjdfstest's tests
// with the working directory inside the mount (as pjdfstest requires), and
// prints the subtests passed per group and the failing files
// (scripts/conformance/report.mjs). Whatever happens (a failure, a hang, a
// crash of the mount, Ctrl-C) it stops prove, unmounts, stops the emulator
// and checks that no mount is left behind. Not part of `npm test`: a full
// run takes 10-40 minutes.
//
// pjdfstest is not an npm or Debian package: it is built from source beside
// the checkout (or where --pjdfstest / $PJDFSTEST_DIR says); when it is not
// there, this says how to build it and exits 2.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatReport, summarize } from './conformance/report.mjs';
import { ProveOutput } from './conformance/tap.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
/** A subtest that prints nothing for this long is hung (the slowest pjdfstest subtests sleep 1-2 s). */
const STALL_MS = 5 * 60_000;
/** Time the mount gets after SIGTERM to drain its uploads and unmount, before SIGKILL and fusermount -uz. */
const UNMOUNT_MS = 60_000;
/** Exit codes: the run completed; the run was cut short (hang, crash, a step failed); usage or a missing prerequisite; Ctrl-C. */
const EXIT = { done: 0, incomplete: 1, usage: 2, interrupted: 130 };

const USAGE = `Usage: npm run conformance -- [options]   (as root)

Mounts a fresh emulator with filesfs (default options, --allow-other) and runs
pjdfstest's tests in it; prints the subtests passed per group, the total, the
total without the link group (filesfs has no hard links), and the failing test
files with their failing subtest numbers.

Options:
  --pjdfstest DIR   a built pjdfstest checkout (default $PJDFSTEST_DIR, else
                    ../pjdfstest beside this checkout)
  --only GROUP      run only this group of tests, e.g. chmod (repeatable)
  --json FILE       also write the results as JSON (every failing subtest with
                    what it tried)
  --keep-log FILE   keep the mount's log there
  -h, --help        show this help

Exit status: 0 the run completed (whatever the score), 1 it was cut short (a
hang, the mount died), 2 usage or a missing prerequisite, 130 interrupted.`;

class UsageError extends Error {}

/** @param {string[]} argv */
function parseArgs(argv, env = process.env) {
  const options = { pjdfstest: undefined, pjdfstestFrom: '', only: [], json: undefined, keepLog: undefined, help: false };
  const valueFlags = { '--pjdfstest': 'pjdfstest', '--only': 'only', '--json': 'json', '--keep-log': 'keepLog' };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) [arg, value] = [arg.slice(0, eq), arg.slice(eq + 1)];
    if (arg === '-h' || arg === '--help') {
      options.help = true;
      continue;
    }
    const key = valueFlags[arg];
    if (!key) throw new UsageError(`unknown option ${JSON.stringify(argv[i])}`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
    }
    if (value === '') throw new UsageError(`${arg} needs a value`);
    if (key === 'only') options.only.push(value);
    else options[key] = value;
  }
  if (options.pjdfstest !== undefined) options.pjdfstestFrom = '--pjdfstest';
  else if (env.PJDFSTEST_DIR) [options.pjdfstest, options.pjdfstestFrom] = [env.PJDFSTEST_DIR, '$PJDFSTEST_DIR'];
  else [options.pjdfstest, options.pjdfstestFrom] = [join(ROOT, '..', 'pjdfstest'), 'the default, ../pjdfstest beside this checkout'];
  options.pjdfstest = resolve(options.pjdfstest);
  return options;
}

/** What is missing to run, as a message for people; undefined when nothing is. */
function missingPjdfstest(dir, from) {
  const build = [
    'pjdfstest is not an npm or Debian package; build it from source:',
    `  git clone https://github.com/pjd/pjdfstest ${dir}`,
    `  cd ${dir} && autoreconf -ifs && ./configure && make pjdfstest`,
    '(needs autoconf, automake, libtool, a C compiler, make, and perl for prove:',
    ' apt-get install autoconf automake libtool gcc make perl), then run',
    `  npm run conformance -- --pjdfstest ${dir}    (or set PJDFSTEST_DIR)`,
  ].join('\n');
  if (!existsSync(join(dir, 'tests', 'misc.sh')) || !existsSync(join(dir, 'tests', 'conf'))) return `pjdfstest is not at ${dir} (${from}): no tests/misc.sh there.\n${build}`;
  try {
    accessSync(join(dir, 'pjdfstest'), constants.X_OK);
  } catch {
    return `pjdfstest's sources are at ${dir} (${from}) but it is not built: no ${join(dir, 'pjdfstest')} program.\n${build}`;
  }
  return undefined;
}

/** The test groups: the folders of tests/, e.g. chmod, chown, … */
function listGroups(testsDir) {
  return readdirSync(testsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && readdirSync(join(testsDir, d.name)).some((f) => f.endsWith('.t')))
    .map((d) => d.name)
    .sort();
}

/** Checks everything a run needs before starting anything; exits 2 with the reason. */
function preflight(options) {
  const fail = (message) => {
    console.error(`conformance: ${message}`);
    process.exit(EXIT.usage);
  };
  const missing = missingPjdfstest(options.pjdfstest, options.pjdfstestFrom);
  if (missing) fail(missing);
  const testsDir = join(options.pjdfstest, 'tests');
  const allGroups = listGroups(testsDir);
  const unknown = options.only.filter((g) => !allGroups.includes(g));
  if (unknown.length) fail(`no test group ${unknown.map((g) => JSON.stringify(g)).join(', ')} in ${testsDir}; groups: ${allGroups.join(', ')}`);
  if (spawnSync('prove', ['--version'], { stdio: 'ignore' }).status !== 0) fail('`prove` (Perl\'s test harness) is missing: apt-get install perl');
  if (process.getuid?.() !== 0) fail('run as root: pjdfstest changes users and owners (it needs root), and the mount is shared with them (--allow-other)');
  if (!existsSync('/dev/fuse')) fail('/dev/fuse is missing: this machine (or container) has no FUSE');
  if (!existsSync(CLI) || !existsSync(join(ROOT, 'dist', 'fuse', 'mountinfo.js'))) fail('filesfs is not built: run `npm run build` (or `npm run setup`) first');
  return { testsDir, groups: options.only.length ? allGroups.filter((g) => options.only.includes(g)) : allGroups };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A detached child (its own process group, so that Ctrl-C reaches only us and we stop it in order). */
function startChild(command, args, options) {
  const child = spawn(command, args, { detached: true, ...options });
  child.exitedPromise = new Promise((r) => child.once('close', (code, signal) => r({ code, signal })));
  child.once('error', () => {});
  return child;
}

const alive = (child) => child && child.exitCode === null && child.signalCode === null;

/** Signals a child's whole process group, then SIGKILL after `graceMs`; resolves when it is gone. */
async function stopGroup(child, graceMs) {
  if (!alive(child)) return;
  const kill = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {}
  };
  kill('SIGTERM');
  const exited = await Promise.race([child.exitedPromise.then(() => true), sleep(graceMs).then(() => false)]);
  if (!exited) {
    kill('SIGKILL');
    await Promise.race([child.exitedPromise, sleep(5_000)]);
  }
}

/** The first line a child prints on stdout (the emulator's URL). */
function firstLine(child, timeoutMs) {
  return new Promise((resolveLine, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`no output within ${timeoutMs / 1000} s`)), timeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      lines.removeAllListeners('close');
      child.stdout.resume();
      resolveLine(line.trim());
    });
    lines.once('close', () => {
      clearTimeout(timer);
      reject(new Error('exited before printing its URL'));
    });
  });
}

const tail = (file, lines = 20) => {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
};

const gitCommit = (dir) => {
  const r = spawnSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

const elapsed = (ms) => {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
};

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`conformance: ${err.message}\n\n${USAGE}`);
    process.exit(EXIT.usage);
  }
  if (options.help) {
    console.log(USAGE);
    process.exit(EXIT.done);
  }
  const { testsDir, groups } = preflight(options);
  const { findMount, fusermount } = await import(pathToFileURL(join(ROOT, 'dist', 'fuse', 'mountinfo.js')).href);

  const work = mkdtempSync(join(tmpdir(), 'filesfs-conformance-'));
  const dirs = { data: join(work, 'emulator'), mnt: join(work, 'mnt'), cache: join(work, 'cache'), run: join(work, 'run') };
  for (const d of [dirs.mnt, dirs.run]) mkdirSync(d, { mode: 0o700 });
  const mountLog = options.keepLog ? resolve(options.keepLog) : join(work, 'mount.log');
  const emulatorLog = join(work, 'emulator.log');
  const proveErrors = join(work, 'prove-stderr.log');
  const apiKey = randomBytes(16).toString('hex');
  // The mount registry and default caches in the work dir, never root's own; no credentials inherited.
  const env = { ...process.env, XDG_RUNTIME_DIR: dirs.run, XDG_CACHE_HOME: join(work, 'xdg-cache') };
  for (const name of ['FILES_API_KEY', 'FILESCOM_API_KEY', 'FILES_USERNAME', 'FILES_PASSWORD', 'FILES_BASE_URL', 'FILESCOM_BASE_URL', 'NETRC']) delete env[name];

  /** @type {Record<string, import('node:child_process').ChildProcess | undefined>} */
  const children = { emulator: undefined, mount: undefined, prove: undefined };
  const problems = [];
  let stopping = false;
  let cleaned;
  const cleanup = () =>
    (cleaned ??= (async () => {
      stopping = true;
      await stopGroup(children.prove, 5_000);
      // SIGTERM: the mount drains its pending uploads, unmounts and exits.
      if (alive(children.mount)) {
        try {
          process.kill(children.mount.pid, 'SIGTERM');
        } catch {}
        await Promise.race([children.mount.exitedPromise, sleep(UNMOUNT_MS)]);
        if (alive(children.mount)) problems.push(`the mount did not exit within ${UNMOUNT_MS / 1000} s of SIGTERM: killed`);
        await stopGroup(children.mount, 1_000);
      }
      if (await findMount(dirs.mnt)) {
        const r = await fusermount(dirs.mnt, true);
        if (!r.ok || (await findMount(dirs.mnt))) problems.push(`could not unmount ${dirs.mnt}: ${r.stderr}`);
      }
      await stopGroup(children.emulator, 10_000);
      const left = await findMount(dirs.mnt);
      if (left) {
        console.error(`conformance: ${dirs.mnt} is still mounted; run fusermount -uz ${dirs.mnt} (the work dir ${work} is kept)`);
        return false;
      }
      rmSync(work, { recursive: true, force: true });
      return true;
    })());

  const parser = new ProveOutput(testsDir);
  const startedAt = new Date();
  let proveStarted = 0;
  let proveMs = 0;
  let interrupted = false;

  const finish = (code) => {
    parser.finish();
    const summary = summarize(groups, parser.files);
    const header = [
      `pjdfstest ${gitCommit(options.pjdfstest) ?? ''} (${options.pjdfstest}) on filesfs ${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version} ${gitCommit(ROOT) ?? ''}`.replace(/ +/g, ' '),
      `mount options: defaults, --allow-other; ${proveStarted ? `prove ran ${elapsed(proveMs)}` : 'prove did not run'}`,
    ];
    if (parser.files.length) console.log(`\n${header.join('\n')}\n\n${formatReport(summary, parser.files)}`);
    for (const p of problems) console.log(`\nNOT COMPLETE: ${p}`);
    if (options.json) {
      const pct = (x) => ({ ...x, percent: x.total ? Math.round((1000 * x.passed) / x.total) / 10 : null });
      const report = {
        pjdfstest: { dir: options.pjdfstest, commit: gitCommit(options.pjdfstest) ?? null },
        filesfs: { commit: gitCommit(ROOT) ?? null },
        startedAt: startedAt.toISOString(),
        proveSeconds: Math.round(proveMs / 1000),
        complete: code === EXIT.done,
        problems,
        groups: summary.rows.map(pct),
        total: pct(summary.total),
        totalWithoutLink: pct(summary.withoutLink),
        files: parser.files,
      };
      writeFileSync(options.json, JSON.stringify(report, null, 2) + '\n');
    }
    if (options.keepLog) console.log(`\nmount log: ${mountLog}`);
    process.exit(code);
  };

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      console.error(`\nconformance: ${signal}: stopping prove, unmounting, stopping the emulator…`);
      problems.push(`interrupted (${signal})`);
      if (proveStarted && !proveMs) proveMs = Date.now() - proveStarted;
      void cleanup().finally(() => finish(EXIT.interrupted));
    });
  }

  try {
    const emulatorLogFd = openSync(emulatorLog, 'w');
    children.emulator = startChild(process.execPath, [CLI, 'emulator', '--data', dirs.data, '--log-level', 'warn'], {
      cwd: work,
      env: { ...env, FILES_EMULATOR_API_KEY: apiKey },
      stdio: ['ignore', 'pipe', emulatorLogFd],
    });
    closeSync(emulatorLogFd);
    let url;
    try {
      url = await firstLine(children.emulator, 30_000);
    } catch (err) {
      throw new Error(`the emulator did not start (${err.message}):\n${tail(emulatorLog)}`);
    }
    if (!/^https?:\/\//.test(url)) throw new Error(`the emulator printed ${JSON.stringify(url)} instead of its URL`);

    const mountLogFd = openSync(mountLog, 'w');
    children.mount = startChild(process.execPath, [CLI, 'mount', dirs.mnt, '--base-url', url, '--cache-dir', dirs.cache, '--allow-other'], {
      cwd: work,
      env: { ...env, FILES_API_KEY: apiKey },
      stdio: ['ignore', mountLogFd, mountLogFd],
    });
    closeSync(mountLogFd);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (interrupted) return;
      if ((await findMount(dirs.mnt))?.fstype === 'fuse.filesfs') break;
      if (!alive(children.mount)) throw new Error(`filesfs mount exited before mounting:\n${tail(mountLog)}`);
      if (Date.now() > deadline) throw new Error(`filesfs did not mount ${dirs.mnt} within 60 s:\n${tail(mountLog)}`);
      await sleep(50);
    }
    children.mount.once('close', (code, signal) => {
      if (!stopping) {
        problems.push(`the mount process exited (${signal ?? `code ${code}`}) during ${parser.running ?? 'the run'}; see the mount log`);
        void stopGroup(children.prove, 5_000);
      }
    });
    children.emulator.once('close', (code, signal) => {
      if (!stopping) {
        problems.push(`the emulator exited (${signal ?? `code ${code}`}) during ${parser.running ?? 'the run'}`);
        void stopGroup(children.prove, 5_000);
      }
    });

    console.error(`conformance: ${groups.length === 1 ? `group ${groups[0]}` : `${groups.length} groups`} of pjdfstest in ${dirs.mnt} (progress below; a full run takes 10-40 minutes)`);
    const proveErrorsFd = openSync(proveErrors, 'w');
    // The Console formatter prints each subtest as it comes (the default one, off a terminal, holds a file's output until it ends).
    const targets = options.only.length ? groups.map((g) => join(testsDir, g)) : [testsDir];
    proveStarted = Date.now();
    children.prove = startChild('prove', ['--formatter', 'TAP::Formatter::Console', '-r', '-v', ...targets], { cwd: dirs.mnt, env, stdio: ['ignore', 'pipe', proveErrorsFd] });
    closeSync(proveErrorsFd);
    let lastOutput = Date.now();
    let fileStarted = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastOutput > STALL_MS && alive(children.prove)) {
        problems.push(`hang: ${parser.running ?? 'prove'} printed nothing for ${elapsed(STALL_MS)} (stopped there; the mount log may say why)`);
        void stopGroup(children.prove, 5_000);
      }
    }, 5_000);
    const lines = createInterface({ input: children.prove.stdout });
    lines.on('line', (line) => {
      lastOutput = Date.now();
      const done = parser.line(line);
      if (done) {
        console.error(`  ${done.file.padEnd(22)} ${String(done.passed).padStart(4)}/${String(done.total).padEnd(4)} passed  ${elapsed(Date.now() - fileStarted)}`);
        fileStarted = Date.now();
      }
    });
    const { code } = await children.prove.exitedPromise;
    clearInterval(watchdog);
    proveMs = Date.now() - proveStarted;
    if (interrupted) return;
    parser.finish();
    if (parser.files.length === 0) problems.push(`prove ran no test (exit ${code}):\n${tail(proveErrors)}`);
    else if (problems.length === 0) {
      const expected = groups.reduce((n, g) => n + readdirSync(join(testsDir, g)).filter((f) => f.endsWith('.t')).length, 0);
      const missing = expected - parser.files.length;
      const why = parser.bailedOut ? `${parser.bailedOut.file} bailed out (${parser.bailedOut.reason}), which stops prove` : `prove exited (${code}) after ${parser.files.at(-1)?.file}`;
      if (missing > 0) problems.push(`${missing} of ${expected} test files did not run: ${why}`);
    }
  } catch (err) {
    if (!interrupted) problems.push(err instanceof Error ? err.message : String(err));
  }
  if (interrupted) return;
  const clean = await cleanup();
  if (!clean) problems.push(`left a mount at ${dirs.mnt}`);
  finish(problems.length ? EXIT.incomplete : EXIT.done);
}

await main();
