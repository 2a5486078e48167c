// `filesfs demo` (npm start without the setup): an emulator child with demo
// content mounted at the given folder, tips on stdout; SIGINT unmounts, stops
// the emulator, removes its temp data and the mountpoint it created.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { CLI, cliEnv, inMountTable, isMounted, q, REPO, runProgram, scratch, sh } from '../support/mount.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

test('mounts demo content, prints what to try; SIGINT cleans everything up', { timeout: 60_000 }, async () => {
  const base = scratch('demo');
  const tmp = join(base, 'tmp');
  await runProgram('mkdir', ['-p', tmp]);
  const mnt = join(base, 'mnt');
  const child = spawn(process.execPath, [CLI, 'demo', '--mountpoint', mnt], { cwd: REPO, env: cliEnv({ TMPDIR: tmp }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
  child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  cleanups.push(async () => {
    // SIGTERM first: a SIGKILLed demo cannot stop its emulator (a process of its own group).
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const late = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(late);
    }
    const ps = await runProgram('ps', ['-eo', 'pid=,args=']);
    for (const line of ps.stdout.split('\n').filter((l) => l.includes(`emulator --seed-demo --data ${tmp}`))) {
      process.kill(Number(line.trim().split(' ')[0]), 'SIGKILL');
    }
    if (await inMountTable(mnt)) await runProgram('fusermount3', ['-uz', mnt]);
  });

  const deadline = Date.now() + 30_000;
  while (!stdout.includes('Ctrl-C here unmounts') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  expect(stdout, stderr).toContain('Ctrl-C here unmounts, stops the emulator and deletes its data.');
  expect(stdout).toContain(`ls -l ${mnt}`);
  expect(await isMounted(mnt)).toBe(true);
  const url = /\(emulator (http:\/\/127\.0\.0\.1:\d+)\)/.exec(stdout)![1]!;

  expect((await sh(`ls ${q(mnt)}`)).stdout).toContain('README.txt');
  expect((await sh(`cat ${q(`${mnt}/reports/q1 resume.txt`)}`)).stdout).toContain('Q1 résumé');
  // The generated key is in the emulator's environment, in no process's argv.
  const ps = await runProgram('ps', ['-eo', 'pid=,args=']);
  const emulatorLine = ps.stdout.split('\n').find((l) => l.includes(`emulator --seed-demo --data ${tmp}`));
  expect(emulatorLine).toBeDefined();
  expect(emulatorLine).not.toContain('--api-key');
  const environ = readFileSync(`/proc/${emulatorLine!.trim().split(' ')[0]}/environ`, 'utf8').split('\0');
  const key = environ.find((e) => e.startsWith('FILES_EMULATOR_API_KEY='))!.slice('FILES_EMULATOR_API_KEY='.length);
  expect(key).toMatch(/^[0-9a-f]{36}$/);
  expect(ps.stdout).not.toContain(key);
  expect(stdout + stderr).not.toContain(key);
  const temp = readdirSync(tmp).filter((n) => n.startsWith('filesfs-demo-'));
  expect(temp).toHaveLength(1);

  child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(await inMountTable(mnt)).toBe(false);
  expect(existsSync(mnt)).toBe(false);
  expect(existsSync(join(tmp, temp[0]!))).toBe(false);
  expect((await runProgram('curl', ['-s', '-o', '/dev/null', '--max-time', '2', `${url}/__emulator/stats`])).code).not.toBe(0);
  expect((await runProgram('ps', ['-eo', 'args='])).stdout).not.toContain(`emulator --seed-demo --data ${tmp}`);
});
