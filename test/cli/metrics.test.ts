// --metrics on a real mount: after ls, a read, a write that uploads and a
// failed lookup, a scrape shows each of them: requests by kind and outcome
// with bytes, FUSE operations and errors, cache hits, the upload queue.
// Counts are compared with "at least", never with timings.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { cliEnv, inMountTable, q, runCli, scratch, sh, startMount, stopMounts } from '../support/mount.js';
import { waitDrained } from '../vfs/write-back/mount-helpers.js';

const API_KEY = 'metricsKey42XYZ';
const emu = useEmulator({ apiKey: API_KEY });

afterEach(stopMounts);

/** name{labels} → value, from the exposition text. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe('--metrics', () => {
  test('a scrape after real work through the mount', async () => {
    const content = 'n'.repeat(300_000);
    const source = join(scratch('metrics-src'), 'upload.bin');
    writeFileSync(source, content);
    const m = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--metrics', '127.0.0.1:0', '--upload-delay', '0'] });
    await until(() => /metrics at (http:\/\/\S+)/.test(m.stderr()));
    const url = /metrics at (http:\/\/\S+)/.exec(m.stderr())?.[1];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    expect((await sh(`cp ${q(source)} ${q(m.mountpoint)}/up.bin && ls -l ${q(m.mountpoint)}`)).code).toBe(0);
    await waitDrained(m);
    expect((await sh(`cat ${q(m.mountpoint)}/up.bin | wc -c`)).stdout.trim()).toBe(String(content.length));
    expect((await sh(`stat ${q(m.mountpoint)}/missing.txt`)).code).not.toBe(0);

    const res = await fetch(url!);
    expect(res.status).toBe(200);
    const metrics = parse(await res.text());
    const get = (key: string): number => metrics.get(key) ?? 0;

    expect(get('filesfs_http_requests_total{kind="list",outcome="200"}')).toBeGreaterThanOrEqual(1);
    expect(get('filesfs_http_requests_total{kind="begin_upload",outcome="200"}')).toBeGreaterThanOrEqual(1);
    expect(get('filesfs_http_requests_total{kind="upload_part",outcome="200"}')).toBeGreaterThanOrEqual(1);
    expect(get('filesfs_http_requests_total{kind="end_upload",outcome="201"}')).toBeGreaterThanOrEqual(1);
    expect(get('filesfs_http_request_duration_seconds_count{kind="list"}')).toBeGreaterThanOrEqual(1);
    expect(get('filesfs_http_sent_bytes_total{kind="upload_part"}')).toBeGreaterThanOrEqual(content.length);
    expect(get('filesfs_uploaded_files_total')).toBe(1);
    expect(get('filesfs_uploaded_bytes_total')).toBe(content.length);
    for (const state of ['pending', 'open', 'uploading', 'retrying', 'failed']) {
      expect(metrics.get(`filesfs_upload_queue_files{state="${state}"}`)).toBe(0);
      expect(metrics.get(`filesfs_upload_queue_bytes{state="${state}"}`)).toBe(0);
    }
    for (const op of ['getattr', 'readdir', 'create', 'write', 'release', 'open', 'read']) {
      expect(get(`filesfs_fuse_operation_duration_seconds_count{operation="${op}"}`), op).toBeGreaterThanOrEqual(1);
    }
    expect(get('filesfs_fuse_errors_total{operation="getattr",errno="ENOENT"}')).toBeGreaterThanOrEqual(1);
    expect(get('filesfs_cache_hits_total{cache="attributes"}')).toBeGreaterThanOrEqual(1);
    expect(metrics.has('filesfs_cache_misses_total{cache="blocks"}')).toBe(true);
    expect(get(`filesfs_info{version="${(await import('../../src/version.js')).VERSION}",site="${emu().url}",root="/"}`)).toBe(1);
    expect(get('process_resident_memory_bytes')).toBeGreaterThan(0);
    // The key never appears.
    expect([...metrics.keys()].join('\n')).not.toContain(API_KEY);

    await m.stop();
  });

  test('an address in use: the mount does not start, exit 2, one line', async () => {
    const { createServer } = await import('node:net');
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const port = (holder.address() as { port: number }).port;
    try {
      const mnt = join(scratch('metrics-busy'), 'mnt');
      mkdirSync(mnt);
      const r = await runCli(['mount', mnt, '--base-url', emu().url, '--cache-dir', join(scratch('metrics-cache'), 'c'), '-o', `metrics=127.0.0.1:${port}`], { env: cliEnv({ FILES_API_KEY: API_KEY }) });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`filesfs: -o metrics 127.0.0.1:${port}: cannot listen: the address is in use (another mount or exporter?)\n`);
      expect(await inMountTable(mnt)).toBe(false);
    } finally {
      holder.close();
    }
  });
});
