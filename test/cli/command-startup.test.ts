// The commands that only talk to a running mount (status, unmount, retry,
// discard, refresh, cache) start small: they load neither the native FUSE
// binding, nor the HTTP client, nor the filesystem layer. People run
// `filesfs status` in watch loops and scripts that wait for uploads; loading
// everything made each call cost ~0.5 s of CPU, taken from the mount it asks.
import { describe, expect, test } from 'vitest';
import { assertBuilt, cliEnv, CLI, runProgram } from '../support/mount.js';

/** Prints every module the process resolves, one "LOADED <url>" line each, on stderr. */
const RESOLVE_HOOK = 'export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write("LOADED " + r.url + "\\n"); return r; }';
const dataUrl = (source: string): string => `data:text/javascript;base64,${Buffer.from(source).toString('base64')}`;
const TRACE_RESOLVE = dataUrl(`import { register } from "node:module"; register(${JSON.stringify(dataUrl(RESOLVE_HOOK))});`);

async function loaded(args: string[]): Promise<string[]> {
  const r = await runProgram(process.execPath, ['--import', TRACE_RESOLVE, CLI, ...args], { env: cliEnv() });
  expect(r.stderr).toMatch(/is not (mounted|inside a filesfs mount)/);
  return [...r.stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1]!);
}

describe('commands that ask a running mount', () => {
  test.each([
    ['status', '/nonexistent-mount', '--json'],
    ['unmount', '/nonexistent-mount'],
    ['retry', '/nonexistent-mount'],
    ['discard', '/nonexistent-mount', 'file'],
    ['refresh', '/nonexistent-mount'],
    ['cache', 'clear', '/nonexistent-mount'],
  ])('filesfs %s loads only what it needs', async (...args) => {
    assertBuilt();
    const urls = await loaded(args);
    expect(urls.some((u) => u.endsWith(`/dist/cli/commands/${args[0]}.js`))).toBe(true);
    const heavy = urls.filter((u) => /node_modules\/(fuse-native|undici|lru-cache|p-queue)\/|\/dist\/(vfs\/(write-back|read|content-cache|metadata)|client|fuse\/(adapter|mount|binding)\.js)/.test(u));
    expect(heavy).toEqual([]);
  });
});
