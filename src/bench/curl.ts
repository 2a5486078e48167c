// "curl", the second limit of the sequential transfers: the same bytes moved
// by Debian's curl (C, libcurl), against the same emulator. raw (undici, in
// Node) measures what filesfs's own HTTP stack can reach; curl measures what
// the machine can: one connection, no JavaScript, no FUSE.
//   - download: one GET of the whole file on its presigned URL, to /dev/null;
//   - upload: begin_upload (through the API, as raw does), then the 5 MiB
//     parts PUT by one `curl --parallel` with raw's concurrency (8), each part
//     a file cut from the source beforehand (untimed), then `end`.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk } from './procs.js';
import { encodePath, RAW_PART_CONCURRENCY, RAW_PART_SIZE, type RawHttp } from './raw.js';
import { now } from './units.js';

export const CURL_METHOD = `curl: one GET of the whole file; ${RAW_PART_SIZE / (1024 * 1024)} MiB part PUTs ${RAW_PART_CONCURRENCY} at a time (curl --parallel)`;

interface PartSlot {
  part_number: number;
  upload_uri: string;
  http_method?: string;
  ref: string;
}

/** Downloads `remote` whole with curl; the seconds it took (the URL asked through the API first, untimed). */
export async function curlDownload(curl: string, raw: RawHttp, remote: string, size: number): Promise<number> {
  const uri = await raw.downloadUri(remote);
  const started = now();
  const r = await runOk(curl, ['-sS', '--fail', '-o', '/dev/null', '-w', '%{size_download}', uri], { timeoutMs: 30 * 60_000 });
  const seconds = now() - started;
  if (Number(r.stdout.trim()) !== size) throw new Error(`curl GET ${remote}: ${r.stdout.trim()} bytes, expected ${size}`);
  return seconds;
}

/** Cuts `source` into part files of RAW_PART_SIZE in `dir` (once per run); their paths in order. */
export async function partFiles(source: string, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const existing = (await readdir(dir)).filter((n) => n.startsWith('part.')).sort();
  if (existing.length > 0) return existing.map((n) => join(dir, n));
  await runOk('split', ['-b', String(RAW_PART_SIZE), '-a', '5', '-d', source, join(dir, 'part.')], { timeoutMs: 10 * 60_000 });
  return (await readdir(dir)).filter((n) => n.startsWith('part.')).sort().map((n) => join(dir, n));
}

/** Uploads `size` bytes as `remote`: begin_upload, the parts with curl, end; the seconds it took. */
export async function curlUpload(curl: string, raw: RawHttp, parts: readonly string[], remote: string, size: number, configDir: string): Promise<number> {
  const started = now();
  const { body: slots } = await raw.api<PartSlot[]>('POST', `/file_actions/begin_upload/${encodePath(remote)}`, { size, part: 1, parts: parts.length, mkdir_parents: true });
  if (!Array.isArray(slots) || slots.length < parts.length) throw new Error(`begin_upload ${remote}: ${Array.isArray(slots) ? slots.length : 'no'} part slots for ${parts.length} parts`);
  // A config file, not the command line: presigned URLs carry signatures (and would make a very long one).
  const config = join(configDir, 'curl-upload.conf');
  const lines = ['silent', 'show-error', 'parallel', `parallel-max = ${RAW_PART_CONCURRENCY}`];
  for (let i = 0; i < parts.length; i++) {
    // One operation per part (`next` starts the next; --fail belongs to each).
    if (i > 0) lines.push('next');
    lines.push('fail', `request = "${slots[i]!.http_method ?? 'PUT'}"`, `upload-file = "${parts[i]}"`, `url = "${slots[i]!.upload_uri}"`, 'output = "/dev/null"');
  }
  await writeFile(config, lines.join('\n') + '\n', { mode: 0o600 });
  try {
    await runOk(curl, ['-K', config], { timeoutMs: 30 * 60_000 });
  } finally {
    await rm(config, { force: true });
  }
  await raw.api('POST', `/files/${encodePath(remote)}`, { action: 'end', ref: slots[0]!.ref, size });
  return now() - started;
}
