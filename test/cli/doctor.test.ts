// `filesfs doctor` against the emulator, as a user runs it: everything
// passes (exit 0); a wrong key, a site that is down, an untrusted
// certificate, uploads left in a cache dir, an fstab mount with a key file
// others can read: the failing line says what to do, and the exit status
// is 1. The key never appears in the output.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { startTestEmulator, useEmulator } from '../support/emulator.js';
import { cliEnv, runCli, scratch, startMount, stopMounts } from '../support/mount.js';

const API_KEY = 'doctorKey42XYZ';
const emu = useEmulator({ apiKey: API_KEY });

afterEach(stopMounts);

function keyFile(content = API_KEY, mode = 0o600): string {
  const file = join(scratch('doctor-key'), 'key');
  writeFileSync(file, `${content}\n`, { mode });
  return file;
}

async function doctor(args: string[]) {
  const r = await runCli(['doctor', ...args], { env: cliEnv(), timeoutMs: 60_000 });
  const lines = r.stdout.trimEnd().split('\n');
  const line = (name: string): string => lines.find((l) => l.slice(6).startsWith(`${name}:`)) ?? `(no ${name} line)`;
  expect(r.stdout + r.stderr).not.toContain(API_KEY);
  return { ...r, lines, line };
}

describe('filesfs doctor', () => {
  test('against the emulator: every check passes, in order, exit 0', async () => {
    const cache = join(scratch('doctor-cache'), 'c');
    const r = await doctor(['--base-url', emu().url, '--api-key-file', keyFile(), '--cache-dir', cache]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.lines[0]).toBe(`filesfs ${(await import('../../src/version.js')).VERSION} doctor: ${emu().url}`);
    expect(r.lines.slice(1, -1).map((l) => l.slice(0, 6) + l.slice(6).split(':')[0])).toEqual([
      'ok    FUSE device', 'ok    FUSE library', 'ok    fusermount', 'ok    allow_other', 'ok    native binding',
      'ok    credentials', 'ok    site', 'ok    TLS', 'ok    clock', 'ok    permission', 'ok    cache dir', 'ok    pending uploads',
    ]);
    expect(r.line('credentials')).toMatch(/^ok {4}credentials: an API key from --api-key-file \S+ \(mode 0600, owner root\)$/);
    expect(r.line('site')).toMatch(new RegExp(`^ok {4}site: ${emu().url.replace(/[.]/g, '\\.')} answers \\(HTTP 401 in \\d+ ms\\)$`));
    expect(r.line('TLS')).toBe('ok    TLS: none: plain HTTP to this machine');
    expect(r.line('clock')).toBe('ok    clock: within a second of the server\'s (Date header)');
    expect(r.line('permission')).toBe('ok    permission: the credentials may list the site root');
    expect(r.line('cache dir')).toMatch(/not created yet; made at the first mount\): .* free on /);
    expect(r.lines.at(-1)).toBe('all 12 checks passed');
  });

  test('a wrong key: the permission check fails with what to do, exit 1', async () => {
    const r = await doctor(['--base-url', emu().url, '--api-key-file', keyFile('wrongKey123')]);
    expect(r.code).toBe(1);
    expect(r.line('credentials')).toMatch(/^ok {4}credentials: an API key from --api-key-file/);
    expect(r.line('site')).toMatch(/^ok /);
    expect(r.line('permission')).toMatch(new RegExp(`^FAIL  permission: ${emu().url.replace(/[.]/g, '\\.')} refused the credentials from --api-key-file \\S+: .* → check the key \\(revoked, expired, or another site's`));
    expect(r.lines.at(-1)).toBe('1 of 12 checks failed');
  });

  test('a site that is down: the site fails, what depends on it is skipped, exit 1', async () => {
    const down = await startTestEmulator();
    const url = down.url;
    await down.stop();
    const r = await doctor(['--base-url', url, '--api-key-file', keyFile(), '--connect-timeout', '3']);
    expect(r.code).toBe(1);
    expect(r.line('site')).toMatch(new RegExp(`^FAIL  site: cannot reach ${url.replace(/[.]/g, '\\.')}: .*ECONNREFUSED.* → check that the site is up and its URL`));
    expect(r.line('TLS')).toBe('skip  TLS: not checked (no connection)');
    expect(r.line('clock')).toBe('skip  clock: not checked (no answer)');
    expect(r.line('permission')).toBe('skip  permission: not checked (the site cannot be reached)');
    expect(r.lines.at(-1)).toBe('1 of 12 checks failed (3 skipped)');
  });

  test('no credentials at all: the credentials check says every way to give them', async () => {
    const r = await doctor(['--base-url', emu().url]);
    expect(r.code).toBe(1);
    expect(r.line('credentials')).toMatch(/^FAIL  credentials: no credentials for 127\.0\.0\.1: set FILES_API_KEY, or pass --api-key-file PATH/);
    expect(r.line('permission')).toBe('skip  permission: not checked (no credentials)');
  });

  test('TLS: the chain is trusted with --ca-file, and not without (with what to do)', async () => {
    const tls = await startTestEmulator({ apiKey: API_KEY, tls: true });
    try {
      const trusted = await doctor(['--base-url', tls.url, '--api-key-file', keyFile(), '--ca-file', tls.caCertFile!]);
      expect(trusted.code, trusted.stdout).toBe(0);
      expect(trusted.line('TLS')).toMatch(/^ok {4}TLS: TLSv1\.[23], chain .+, trusted, valid until \d{4}-\d\d-\d\d$/);
      const untrusted = await doctor(['--base-url', tls.url, '--api-key-file', keyFile()]);
      expect(untrusted.code).toBe(1);
      expect(untrusted.line('TLS')).toMatch(/^FAIL  TLS: TLSv1\.[23], certificate chain .+ is not trusted: DEPTH_ZERO_SELF_SIGNED_CERT → if a TLS-inspecting proxy or a private CA signs it, pass that CA with --ca-file/);
    } finally {
      await tls.stop();
    }
  });

  test('the cache dir: uploads left by an earlier mount are a warning; a mount using it is named', async () => {
    const cache = join(scratch('doctor-pending'), 'c');
    mkdirSync(join(cache, 'journal'), { recursive: true, mode: 0o700 });
    writeFileSync(join(cache, 'journal', 'abc.json'), JSON.stringify({ format: 1, id: 'abc', path: 'a.txt', size: 1536 }));
    const left = await doctor(['--base-url', emu().url, '--api-key-file', keyFile(), '--cache-dir', cache]);
    expect(left.code).toBe(0);
    expect(left.line('pending uploads')).toBe('WARN  pending uploads: 1 file (1.5 KiB) written through an earlier mount are not on the server yet → mount the same site and root again (with this cache dir): they upload in the background; do not delete the cache dir');
    expect(left.lines.at(-1)).toBe('all 12 checks passed (1 warning)');

    const m = await startMount({ url: emu().url, apiKey: API_KEY });
    const busy = await doctor(['--base-url', emu().url, '--api-key-file', keyFile(), '--cache-dir', m.cacheDir]);
    expect(busy.line('pending uploads')).toBe(`ok    pending uploads: none; the cache dir is in use by the mount at ${m.mountpoint} (pid ${m.pid}): filesfs status ${m.mountpoint} shows more`);
  });

  test('an /etc/fstab mount: its site and options, what mount(8) needs, and its key file as mount(8) reads it', async () => {
    const dir = scratch('doctor-fstab');
    const key = keyFile(API_KEY, 0o644);
    const fstab = join(dir, 'fstab');
    writeFileSync(fstab, `# test\n${emu().url} /mnt/doctor-files fuse.filesfs _netdev,api_key_file=${key},cache_dir=${join(dir, 'cache')} 0 0\n`);
    const r = await doctor(['/mnt/doctor-files', '--fstab', fstab]);
    expect(r.code).toBe(1);
    expect(r.lines[0]).toMatch(new RegExp(`doctor: /mnt/doctor-files from ${fstab} line 2 \\(${emu().url.replace(/[.]/g, '\\.')}\\)$`));
    for (const name of ['mount helper', 'node for mount(8)', 'umount helper']) expect(r.line(name)).toMatch(/^(ok |WARN|FAIL)/);
    expect(r.line('credentials')).toBe(`FAIL  credentials: api_key_file ${key} is readable by other users (mode 0644); only its owner may read it: chown root:root ${key} && chmod 600 ${key}`);
    expect(r.line('permission')).toBe('skip  permission: not checked (no credentials)');
    expect(r.line('cache dir')).toContain(join(dir, 'cache'));

    const missing = await runCli(['doctor', '/mnt/elsewhere', '--fstab', fstab], { env: cliEnv() });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`filesfs: ${fstab} has no filesfs line for /mnt/elsewhere\n`);
  });
});
