// The outside tools the benchmark uses and where they come from: rclone (the
// peer) and fio (random reads) are Debian packages, installed here with
// apt-get when missing and we are root, like scripts/setup does for libfuse.
// When a tool cannot be had, its absence is a reason shown in the report (the
// rclone column, or the random-read row), and the rest of the run goes on.
import { run, which } from './procs.js';

export interface Tool {
  path?: string;
  version?: string;
  /** Why it is not available (when path is undefined). */
  reason?: string;
}

export interface Tools {
  rclone: Tool;
  fio: Tool;
  /** The second limit for sequential transfers (curl.ts). */
  curl: Tool;
}

const APT_TIMEOUT_MS = 10 * 60_000;

async function version(path: string, args: string[]): Promise<string> {
  const result = await run(path, args).catch(() => undefined);
  return result?.stdout.split('\n')[0]?.trim() ?? 'unknown';
}

async function aptInstall(packages: string[], log: (line: string) => void): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root, so it cannot be installed here (apt-get install ' + packages.join(' ') + ')';
  if (!(await which('apt-get'))) return 'no apt-get on this machine to install it with';
  log(`bench: installing Debian packages: ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = await run('apt-get', ['update', '-qq'], { env, timeoutMs: APT_TIMEOUT_MS });
  if (update.code !== 0) return `apt-get update failed: ${update.stderr.trim().split('\n').pop() ?? ''}`;
  const install = await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env, timeoutMs: APT_TIMEOUT_MS });
  if (install.code !== 0) return `apt-get install ${packages.join(' ')} failed: ${install.stderr.trim().split('\n').pop() ?? ''}`;
  return undefined;
}

/** Finds rclone and fio, installing the missing ones when possible. */
export async function ensureTools(log: (line: string) => void): Promise<Tools> {
  const missing: string[] = [];
  if (!(await which('rclone'))) missing.push('rclone');
  if (!(await which('fio'))) missing.push('fio');
  if (!(await which('curl'))) missing.push('curl');
  const installFailure = missing.length ? await aptInstall(missing, log) : undefined;
  const find = async (name: string, versionArgs: string[]): Promise<Tool> => {
    const path = await which(name);
    if (path) return { path, version: await version(path, versionArgs) };
    return { reason: `${name} is not installed: ${installFailure ?? 'installation did not provide it'}` };
  };
  return { rclone: await find('rclone', ['version']), fio: await find('fio', ['--version']), curl: await find('curl', ['--version']) };
}
