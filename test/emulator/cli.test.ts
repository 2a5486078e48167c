// `filesfs emulator` as a process: flags, the base URL as the only stdout
// line, logs on stderr without secrets, HTTPS with --tls, SIGTERM → exit 0.
// Uses dist/ when it is up to date (npm test builds it), else compiles the
// CLI and the emulator alone into a temp dir.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { testDir } from '../support/emulator.js';
import { API } from './helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, name.name);
    newest = Math.max(newest, name.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Path of a runnable cli/main.js. */
function cliMain(): string {
  const stamp = join(root, 'dist', '.build-stamp');
  const main = join(root, 'dist', 'cli', 'main.js');
  const fresh = existsSync(stamp) && existsSync(join(root, 'dist', 'cli', 'commands', 'emulator.js'))
    && statSync(stamp).mtimeMs >= Math.max(newestSource(join(root, 'src', 'emulator')), newestSource(join(root, 'src', 'cli')));
  if (fresh) return main;
  const out = testDir('cli-build-');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '--outDir', join(out, 'dist'), '--rootDir', join(root, 'src'), '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
    '--target', 'ES2022', '--lib', 'ES2023', '--strict', '--skipLibCheck', '--types', 'node', join(root, 'src/cli/main.ts'), join(root, 'src/cli/commands/emulator.ts')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`compiling the CLI failed:\n${r.stdout}${r.stderr}`);
  copyFileSync(join(root, 'package.json'), join(out, 'package.json'));
  return join(out, 'dist', 'cli', 'main.js');
}

interface Running {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function startCli(main: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Running> {
  const child = spawn(process.execPath, [main, 'emulator', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, url: out.slice(0, nl), stdout: () => out, stderr: () => err, exit });
    });
    void exit.then((code) => reject(new Error(`emulator exited (${code}) before printing its URL:\n${err}`)));
  });
}

describe('filesfs emulator (CLI)', () => {
  let main = '';
  beforeAll(() => {
    main = cliMain();
  }, 60_000);

  it('prints usage with --help', () => {
    const r = spawnSync(process.execPath, [main, 'emulator', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const flag of ['--data', '--port', '--host', '--api-key', '--user', '--latency-ms', '--bandwidth', '--fault-rate', '--faults', '--download-ttl', '--tls', '--tls-cert', '--tls-key', '--seed-demo', '--log-level', '--fault-seed', '--stall-ms']) {
      expect(r.stdout).toContain(flag);
    }
  });

  it('refuses bad flags with one line and exit status 2', () => {
    for (const args of [['--bogus'], ['--fault-rate', '2'], ['--faults', 'meteor'], ['--bandwidth', 'fast'], ['--tls-cert', 'x'], ['--api-key', ':k3y'], ['--fault-seed', '-1'], ['--stall-ms', 'soon']]) {
      const r = spawnSync(process.execPath, [main, 'emulator', ...args], { encoding: 'utf8' });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
  });

  it('serves the demo with an API key; only the URL on stdout; no secret in the logs; SIGTERM stops it', async () => {
    const data = testDir('cli-');
    const key = 'cliSecretKey987654321';
    const carolKey = 'carolSecretKey12345';
    const emu = await startCli(main, ['--data', data, '--api-key', key, '--api-key', `carol:${carolKey}`, '--user', 'bob:hunter22pass', '--seed-demo', '--log-level', 'debug',
      '--bandwidth', '10M', '--faults', '429,reset', '--fault-rate', '0', '--fault-seed', '5', '--stall-ms', '1500', '--download-ttl', '30']);
    // A failed assertion must not leave the emulator running.
    const children = [emu.child];
    try {
      expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await request(`${emu.url}${API}/folders/`)).statusCode).toBe(401);
      const list = await request(`${emu.url}${API}/folders/Reports`, { headers: { 'X-FilesAPI-Key': key } });
      const names = ((await list.body.json()) as Array<{ path: string }>).map((e) => e.path);
      expect(names).toEqual(['Reports/Archive 2023', 'Reports/Q1 Résumé.txt', 'Reports/Q1.pdf']);
      const login = await request(`${emu.url}${API}/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bob', password: 'hunter22pass' }) });
      const session = ((await login.body.json()) as { id: string }).id;
      const config = (await (await request(`${emu.url}/__emulator/config`)).body.json()) as Record<string, unknown>;
      expect(config).toEqual({ latencyMs: 0, bandwidth: 10 * 1024 * 1024, faultRate: 0, faults: ['429', 'reset'], stallMs: 1500, faultSeed: 5 });
      // Each key acts as its own user: the unnamed one as admin, carol's as carol.
      const whoAmI = async (k: string) => ((await (await request(`${emu.url}${API}/api_key`, { headers: { 'X-FilesAPI-Key': k } })).body.json()) as { user_id: number }).user_id;
      const [adminId, carolId] = [await whoAmI(key), await whoAmI(carolKey)];
      expect(adminId).toBeGreaterThan(0);
      expect(carolId).toBeGreaterThan(0);
      expect(carolId).not.toBe(adminId);
      const file = await request(`${emu.url}${API}/files/Data/random-3MiB.bin`, { headers: { 'X-FilesAPI-Auth': session } });
      expect(new URL(((await file.body.json()) as { download_uri: string }).download_uri).searchParams.get('X-Amz-Expires')).toBe('30');
      emu.child.kill('SIGTERM');
      expect(await emu.exit).toBe(0);
      expect(emu.stdout()).toBe(emu.url + '\n');
      expect(emu.stderr()).toContain('listening on');
      for (const secret of [key, carolKey, 'hunter22pass', session]) expect(emu.stderr()).not.toContain(secret);
      // The data stays (it was --data), and a restart does not seed twice.
      const again = await startCli(main, ['--data', data, '--seed-demo'], { FILES_EMULATOR_API_KEY: key });
      children.push(again.child);
      const root = await request(`${again.url}${API}/folders/`, { headers: { 'X-FilesAPI-Key': key } });
      expect(((await root.body.json()) as unknown[]).length).toBe(7); // 5 seeded top-level entries + 2 folders
      again.child.kill('SIGINT');
      expect(await again.exit).toBe(0);
    } finally {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('serves HTTPS with --tls and a certificate in <data>/tls/cert.pem', async () => {
    const data = testDir('cli-tls-');
    const emu = await startCli(main, ['--data', data, '--tls']);
    try {
      expect(emu.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = join(data, 'tls', 'cert.pem');
      expect(existsSync(ca)).toBe(true);
      const { readFileSync } = await import('node:fs');
      const agent = new Agent({ connect: { ca: readFileSync(ca, 'utf8') } });
      for (const host of ['127.0.0.1', 'localhost']) {
        const r = await request(emu.url.replace('127.0.0.1', host) + `${API}/folders/`, { dispatcher: agent });
        expect(r.statusCode).toBe(200);
        await r.body.text();
      }
      await agent.close();
      // Without trusting it, the connection is refused.
      await expect(request(`${emu.url}${API}/folders/`)).rejects.toThrow();
    } finally {
      emu.child.kill('SIGTERM');
      await emu.exit;
    }
  });
});
