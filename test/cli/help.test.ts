// `--help` of the commands this area owns: exit 0, the usage line, and (for
// mount) every flag the parser accepts, with its default where it has one.
import { describe, expect, test } from 'vitest';
import { MOUNT_FLAGS } from '../../src/mount/mount-config.js';
import { cliEnv, runCli } from '../support/mount.js';

describe('--help', () => {
  test.each(['mount', 'unmount', 'demo', 'emulator', 'refresh'])('filesfs %s --help', async (name) => {
    const r = await runCli([name, '--help'], { env: cliEnv() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: filesfs ${name}`));
    expect(r.stderr).toBe('');
  });

  test('mount --help lists every flag it accepts (but --api-key, which it refuses) and the defaults', async () => {
    const { stdout } = await runCli(['mount', '-h'], { env: cliEnv() });
    for (const [name, spec] of Object.entries(MOUNT_FLAGS)) {
      if (name === 'api-key') continue;
      expect(stdout, name).toContain('short' in spec ? `-${spec.short} ` : `--${name}`);
    }
    for (const text of ['else\n                        https://app.files.com', 'default 5;', 'default 022', 'default 16M;', 'default\n                        16M;', 'default 10G;', 'default 2G)', 'default 10)', 'default 60)', 'default 3;', 'default 16)', 'default 1000;', 'default info', 'FILES_API_KEY', 'FILES_USERNAME', '.netrc']) {
      expect(stdout).toContain(text);
    }
  });

  test('filesfs lists the commands', async () => {
    const r = await runCli(['--help'], { env: cliEnv() });
    expect(r.code).toBe(0);
    for (const name of ['mount', 'unmount', 'status', 'refresh', 'emulator', 'demo']) expect(r.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });
});
