#!/usr/bin/env node
// Measures the Files.com client against curl on the same local emulator, one
// run on loopback (not a test; numbers depend on the machine):
//   1. upload of a 1 GiB file: client.upload({file}) vs curl PUTs of the same
//      5 MiB parts, 8 at a time (xargs -P 8), between the same begin_upload
//      and end calls;
//   2. download of it: client.createReadStream vs curl -o /dev/null of the
//      presigned download_uri;
//   3. HTTP connections the client opens for 1,000 small requests (stat),
//      sequential and 32 at a time (emulator stats().connections).
// The emulator runs in its own Node process (as curl does), so the client
// does not share its JavaScript thread with the server it is measured against.
// Usage: npm run build && node scripts/client-throughput.mjs [--size-mib N] [--keep]
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createWriteStream, mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';

const dist = new URL('../dist/', import.meta.url);
const { HttpFilesClient } = await import(new URL('client/http-files-client.js', dist).href);

const { values } = parseArgs({ options: { 'size-mib': { type: 'string', default: '1024' }, keep: { type: 'boolean', default: false } } });
const MiB = 1024 * 1024;
const SIZE = Number(values['size-mib']) * MiB;
const PART = 5 * MiB;
const KEY = 'benchKey0001';

const work = mkdtempSync(join(tmpdir(), 'filesfs-client-bench-'));
const source = join(work, 'source.bin');
const partsDir = join(work, 'parts');

function writeSource() {
  // Pseudo-random content (incompressible), written once.
  execFileSync('sh', ['-c', `head -c ${SIZE} /dev/urandom > '${source}' && mkdir '${partsDir}' && split -b ${PART} -d -a 5 '${source}' '${partsDir}/p'`]);
}

const mbps = (bytes, ms) => (bytes / MiB / (ms / 1000)).toFixed(1);

async function api(emu, method, path, body) {
  const res = await request(`${emu.url}/api/rest/v1${path}`, {
    method,
    headers: { 'x-filesapi-key': KEY, 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function curlUpload(emu, path) {
  const parts = readdirSync(partsDir).sort();
  const started = performance.now();
  const slots = await api(emu, 'POST', `/file_actions/begin_upload/${path}`, { size: SIZE, part: 1, parts: parts.length, mkdir_parents: true });
  const lines = slots.map((s, i) => `${join(partsDir, parts[i])} ${s.upload_uri}\n`).join('');
  const etagsFile = join(work, 'etags.txt');
  // Each line: file url → curl PUT, print part number and ETag header.
  const script = `xargs -P 8 -n 2 sh -c 'curl -sS -f -X PUT -T "$0" -D - -o /dev/null "$1" | tr -d "\\r" | sed -n "s/^[Ee][Tt][Aa][Gg]: *//p" | sed "s|^|$0 |"' > '${etagsFile}'`;
  // Asynchronous: the emulator runs in this process and must keep answering.
  if ((await run('sh', ['-c', script], lines)) !== 0) throw new Error('curl upload failed');
  const etags = readFileSync(etagsFile, 'utf8').trim().split('\n').map((l) => {
    const [file, etag] = l.split(' ');
    return { part: parts.indexOf(file.slice(file.lastIndexOf('/') + 1)) + 1, etag: etag.replace(/"/g, '') };
  });
  if (etags.length !== parts.length) throw new Error(`curl returned ${etags.length} ETags for ${parts.length} parts: ${readFileSync(etagsFile, 'utf8')}`);
  await api(emu, 'POST', `/files/${path}`, { action: 'end', ref: slots[0].ref, etags, size: SIZE });
  return performance.now() - started;
}

function run(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
    if (input !== undefined) child.stdin.end(input);
  });
}

async function curlDownload(uri) {
  const started = performance.now();
  if ((await run('curl', ['-sS', '-f', '-o', '/dev/null', uri])) !== 0) throw new Error('curl download failed');
  return performance.now() - started;
}

/** The emulator in a child process; stats and reset through its control endpoints. */
async function startEmulatorProcess(dataDir) {
  const code = `const { startEmulator } = await import(${JSON.stringify(new URL('emulator/index.js', dist).href)});
    const emu = await startEmulator({ dataDir: ${JSON.stringify(dataDir)}, apiKey: ${JSON.stringify(KEY)} });
    console.log(emu.url);
    process.stdin.on('data', async () => { await emu.idle(); console.log('idle'); });
    process.stdin.on('end', async () => { await emu.stop(); process.exit(0); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  const waiters = [];
  child.stdout.setEncoding('utf8');
  let buffered = '';
  child.stdout.on('data', (d) => {
    buffered += d;
    let i;
    while ((i = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      const w = waiters.shift();
      if (w) w(line); else lines.push(line);
    }
  });
  const nextLine = () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((r) => waiters.push(r)));
  const url = await nextLine();
  const control = async (method, what) => {
    const res = await request(`${url}/__emulator/${what}`, { method });
    const text = await res.body.text();
    return text ? JSON.parse(text) : undefined;
  };
  let stats;
  return {
    url,
    /** Waits for the emulator's background hashing to finish. */
    idle: async () => { child.stdin.write('idle\n'); await nextLine(); },
    resetStats: () => control('POST', 'reset-stats'),
    fetchStats: async () => (stats = await control('GET', 'stats')),
    stats: () => stats,
    stop: () => new Promise((r) => { child.on('close', r); child.stdin.end(); }),
  };
}

async function main() {
  console.log(`preparing a ${SIZE / MiB} MiB file in ${work} …`);
  writeSource();
  const emu = await startEmulatorProcess(join(work, 'emu'));
  const client = new HttpFilesClient({ baseUrl: emu.url, credentials: { apiKey: KEY }, logLevel: 'warn', partConcurrency: 8 });
  const results = {};
  try {
    // Upload: curl first, then the client (each to its own path), twice each; best of two.
    const up = { curl: [], client: [] };
    for (let round = 0; round < 2; round++) {
      up.curl.push(await curlUpload(emu, `bench/curl-${round}.bin`));
      await emu.idle();
      const t = performance.now();
      await client.upload(`bench/client-${round}.bin`, { file: source });
      up.client.push(performance.now() - t);
      await emu.idle();
    }
    // Download: the client's stream vs curl on a fresh presigned URL.
    const down = { curl: [], client: [], undici: [] };
    // Loopback throughput on a shared machine is noisy: best of five.
    for (let round = 0; round < 5; round++) {
      const { download_uri: uri } = await api(emu, 'GET', `/files/bench/client-0.bin`);
      down.curl.push(await curlDownload(uri));
      const t = performance.now();
      let n = 0;
      for await (const chunk of await client.createReadStream('bench/client-0.bin')) n += chunk.length;
      if (n !== SIZE) throw new Error(`client read ${n} bytes`);
      down.client.push(performance.now() - t);
      // The ceiling for any Node client: undici's own request, body counted and dropped.
      const t2 = performance.now();
      let m = 0;
      for await (const chunk of (await request(uri)).body) m += chunk.length;
      if (m !== SIZE) throw new Error(`undici read ${m} bytes`);
      down.undici.push(performance.now() - t2);
    }
    const best = (a) => Math.min(...a);
    results.upload = { curlMs: best(up.curl), clientMs: best(up.client), curlMiBps: mbps(SIZE, best(up.curl)), clientMiBps: mbps(SIZE, best(up.client)), clientToCurl: (best(up.curl) / best(up.client)).toFixed(2) };
    results.download = { curlMs: best(down.curl), clientMs: best(down.client), curlMiBps: mbps(SIZE, best(down.curl)), clientMiBps: mbps(SIZE, best(down.client)), clientToCurl: (best(down.curl) / best(down.client)).toFixed(2), rawUndiciMiBps: mbps(SIZE, best(down.undici)), rawUndiciToCurl: (best(down.curl) / best(down.undici)).toFixed(2) };

    // Connections for 1,000 small requests.
    await client.mkdir('small');
    const fresh = new HttpFilesClient({ baseUrl: emu.url, credentials: { apiKey: KEY }, logLevel: 'warn' });
    await emu.resetStats();
    for (let i = 0; i < 1000; i++) await fresh.stat('small');
    await emu.fetchStats();
    results.sequential1000 = { requests: emu.stats().total, connections: emu.stats().connections };
    await fresh.close();
    const wide = new HttpFilesClient({ baseUrl: emu.url, credentials: { apiKey: KEY }, logLevel: 'warn' });
    await emu.resetStats();
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => { while (next++ < 1000) await wide.stat('small'); }));
    await emu.fetchStats();
    results.parallel1000 = { requests: emu.stats().total, connections: emu.stats().connections, concurrency: 32, poolPerOrigin: 16 };
    await wide.close();
  } finally {
    await client.close();
    await emu.stop();
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  }
  console.log(JSON.stringify(results, null, 2));
}

await main();
