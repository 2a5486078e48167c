// The npm package as an operator installs it: `npm pack`, then
// `npm install -g --prefix DIR` of the tarball (dependencies from the
// registry, or npm's cache), and filesfs from DIR/bin on PATH: --version,
// --help, a doctor that passes against the emulator, and a demo mount. The
// install's postinstall builds our patched binding; nothing from the
// checkout is used. Slow (an npm install, ~20-40 s): it packs dist/ as built,
// without rebuilding it (`--ignore-scripts` on pack; the install runs its
// scripts).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { VERSION } from '../../src/version.js';
import { useEmulator } from '../support/emulator.js';
import { cliEnv, inMountTable, isMounted, q, REPO, runProgram, scratch, sh, waitUnmounted } from '../support/mount.js';

const API_KEY = 'packageKey42XYZ';
const emu = useEmulator({ apiKey: API_KEY });

const INSTALL_TIMEOUT_MS = 150_000;
let demo: ChildProcess | undefined;
let demoMountpoint: string | undefined;

afterAll(async () => {
  if (demo && demo.exitCode === null && demo.signalCode === null) demo.kill('SIGKILL');
  if (demoMountpoint && (await inMountTable(demoMountpoint))) await runProgram('fusermount', ['-uz', demoMountpoint]);
});

describe('npm pack, npm install -g, filesfs from PATH', () => {
  test('installs into a fresh prefix and mounts from there', { timeout: 240_000 }, async () => {
    const dir = scratch('package');
    const packed = await runProgram('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--loglevel=error'], { cwd: REPO, timeoutMs: 60_000 });
    expect(packed.code, packed.stderr).toBe(0);
    const tarball = join(dir, `filesfs-${VERSION}.tgz`);
    expect(existsSync(tarball)).toBe(true);
    // What ships: the built CLI, the launcher, native/, the install script; no sources or tests.
    const listing = (await runProgram('tar', ['tzf', tarball])).stdout.split('\n');
    expect(listing).toContain('package/bin/filesfs.js');
    expect(listing).toContain('package/dist/cli/main.js');
    expect(listing).toContain('package/scripts/postinstall.mjs');
    expect(listing.some((f) => f.startsWith('package/native/'))).toBe(true);
    expect(listing.some((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toBe(false);

    const prefix = join(dir, 'prefix');
    const installed = await runProgram('npm', ['install', '-g', '--prefix', prefix, tarball, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: dir, timeoutMs: INSTALL_TIMEOUT_MS });
    expect(installed.code, installed.stderr).toBe(0);
    const pkg = join(prefix, 'lib', 'node_modules', 'filesfs');
    // Runtime dependencies only; the patched binding was built by the postinstall.
    const modules = readdirSync(join(pkg, 'node_modules'));
    expect(modules).toEqual(expect.arrayContaining(['fuse-native', 'prom-client', 'undici', 'lru-cache', 'p-queue']));
    expect(modules).not.toContain('vitest');
    expect(modules).not.toContain('typescript');
    expect(existsSync(join(pkg, 'node_modules', 'fuse-native', 'build', 'filesfs-patch.sha256'))).toBe(true);

    const env = cliEnv({ PATH: `${join(prefix, 'bin')}:${process.env.PATH}` });
    const which = await sh('command -v filesfs', { env });
    expect(which.stdout.trim()).toBe(join(prefix, 'bin', 'filesfs'));
    expect(await sh('filesfs --version', { env })).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    const help = await sh('filesfs --help', { env });
    expect(help.code).toBe(0);
    for (const command of ['mount', 'unmount', 'status', 'doctor', 'demo']) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));

    const key = join(dir, 'key');
    writeFileSync(key, `${API_KEY}\n`, { mode: 0o600 });
    const doctor = await sh(`filesfs doctor --base-url ${q(emu().url)} --api-key-file ${q(key)} --cache-dir ${q(join(dir, 'cache'))}`, { env });
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    expect(doctor.stdout).toContain('ok    native binding: built with our patch, and it loads');

    // The demo: its own emulator with demo content, mounted in the foreground; Ctrl-C ends it.
    demoMountpoint = join(dir, 'demo');
    mkdirSync(demoMountpoint);
    let output = '';
    demo = spawn('filesfs', ['demo', '--mountpoint', demoMountpoint], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    demo.stdout!.setEncoding('utf8').on('data', (c: string) => { output += c; });
    demo.stderr!.setEncoding('utf8').on('data', (c: string) => { output += c; });
    const exited = new Promise<number | null>((resolve) => demo!.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!(await isMounted(demoMountpoint)) && Date.now() < deadline && demo.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    expect(await isMounted(demoMountpoint), output).toBe(true);
    const ls = await sh(`ls ${q(demoMountpoint)}`);
    expect(ls.stdout).toContain('README.txt');
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(await waitUnmounted(demoMountpoint)).toBe(true);
  });
});
