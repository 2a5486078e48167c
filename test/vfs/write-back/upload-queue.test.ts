// The upload queue on the filesystem layer (mock client): the delay after the
// last close coalesces rewrites, concurrency is bounded, a change during an
// upload aborts it and the newest generation lands last, utimens travels with
// the upload (or alone when the bytes are there), transient failures retry
// with backoff, refusals are kept and shown, fsync waits for the server.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { BadRequestError, ServiceUnavailableError } from '../../../src/client/errors.js';
import { decode, Journal } from '../../../src/vfs/write-back/journal.js';
import type { DrainProgress } from '../../../src/vfs/write-back/drain.js';
import { expectErrno, pattern } from '../helpers.js';
import { mockSetup, O_CREAT, O_RDWR, O_WRONLY, until, writeFile } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const unavailable = () => new ServiceUnavailableError({ message: 'Service Unavailable', status: 503, type: 'service-unavailable' });
const refusal = () => new BadRequestError({ message: 'Invalid path', status: 400, type: 'bad-request/invalid-path' });

describe('upload queue', () => {
  it('the upload starts after the last close plus the delay; rewrites within the delay upload once, with the last content', async () => {
    const { fs, client } = await mockSetup({ writeBack: { uploadDelayMs: 150 } });
    for (let i = 1; i <= 5; i++) {
      await writeFile(fs, '/saved.txt', `version ${i}`);
      await sleep(30);
    }
    expect(client.counts.upload).toBe(0);
    await until(() => client.counts.upload === 1, 5_000, 'the upload');
    await sleep(300);
    expect(client.counts.upload).toBe(1);
    expect(client.serverRead('saved.txt').toString()).toBe('version 5');
  });

  it('at most uploadConcurrency files larger than 256 KiB upload at once', async () => {
    const { fs, client } = await mockSetup({ writeBack: { uploadDelayMs: 0, uploadConcurrency: 3 } });
    let running = 0;
    let peak = 0;
    // Uploads are held until every file is written, so that however slow the writing (a busy
    // machine), all 12 are waiting for a slot when the first ones end.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    client.on('upload', async () => {
      running++;
      peak = Math.max(peak, running);
      await gate;
      await sleep(20);
      running--;
    });
    const content = pattern(256 * 1024 + 1, 7);
    for (let i = 0; i < 12; i++) await writeFile(fs, `/f${i}`, content);
    await until(() => running === 3, 5_000, 'three uploads under way');
    open();
    await until(() => client.serverPaths().length === 12, 5_000, '12 uploads');
    expect(peak).toBe(3);
  });

  it('small files (up to 256 KiB) upload smallUploadConcurrency at once, besides the uploadConcurrency others', async () => {
    const { fs, client } = await mockSetup({ writeBack: { uploadDelayMs: 0, uploadConcurrency: 1, smallUploadConcurrency: 5 } });
    let small = 0;
    let peakSmall = 0;
    let fullRounds = 0;
    let releaseBig!: () => void;
    const bigHeld = new Promise<void>((r) => (releaseBig = r));
    client.on('upload', async (call) => {
      if (call.path.startsWith('big')) return bigHeld;
      const round = fullRounds;
      small++;
      peakSmall = Math.max(peakSmall, small);
      if (small === 5) fullRounds++;
      // Each waits until its lane is full (20 files = 4 full rounds), however slow the machine.
      await until(() => fullRounds > round || peakSmall > 5, 10_000, 'a full small lane');
      small--;
    });
    await writeFile(fs, '/big.bin', pattern(256 * 1024 + 1, 3));
    for (let i = 0; i < 20; i++) await writeFile(fs, `/s${i}.txt`, pattern(256 * 1024, i));
    // The one slot of the other lane is held by big.bin: the small files have their own.
    await until(() => client.serverPaths().filter((p) => p.startsWith('s')).length === 20, 10_000, 'the small files');
    expect(peakSmall).toBe(5);
    releaseBig();
    await until(() => client.serverPaths().length === 21, 10_000, 'all uploads');
  });

  it('a slot is free once the requests are done: the next upload does not wait for the record removal (a directory fsync)', async () => {
    const original = Journal.prototype.remove;
    const spy = vi.spyOn(Journal.prototype, 'remove').mockImplementation(async function (this: Journal, id: string) {
      await sleep(300);
      return original.call(this, id);
    });
    try {
      const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 60_000, smallUploadConcurrency: 1 } });
      const started: number[] = [];
      client.on('upload', async () => {
        started.push(Date.now());
      });
      for (let i = 0; i < 3; i++) await writeFile(fs, `/r${i}.txt`, `file ${i}`);
      const t0 = Date.now();
      await writeBack.drain();
      expect(started).toHaveLength(3);
      // Each upload started before the previous one's record was gone.
      expect(started[2]! - t0).toBeLessThan(250);
      // Each is shown until its record is gone.
      expect(writeBack.status().pendingUploads).toBeGreaterThan(0);
      await until(() => writeBack.status().pendingUploads === 0, 5_000, 'the records removed');
      expect(readdirSync(join(writeBack.options.cacheDir, 'journal')).filter((n) => n.endsWith('.json'))).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });

  it('a change while uploading aborts that upload; the newest version lands last and alone', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 0 } });
    const landed: string[] = [];
    let first = true;
    client.on('upload', async (call) => {
      const signal = (call.args[0] as { signal?: AbortSignal }).signal!;
      if (first) {
        first = false;
        // The first upload is slow: it is still running when the file changes.
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, 5_000);
          signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
        });
      }
    });
    const original = client.upload.bind(client);
    client.upload = async (path, source, options) => {
      const entry = await original(path, source, options);
      landed.push(client.serverRead(path).toString());
      return entry;
    };
    await writeFile(fs, '/doc.txt', 'first');
    await until(() => writeBack.status().uploading === 1, 5_000, 'the first upload to start');
    const fh = await fs.open('/doc.txt', O_RDWR);
    await fs.write('/doc.txt', fh, Buffer.from('SECOND'), 0);
    await fs.release('/doc.txt', fh);
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'the second upload');
    expect(landed).toEqual(['SECOND']);
    expect(client.serverRead('doc.txt').toString()).toBe('SECOND');
  });

  it('utimens on a pending file travels with its upload (cp -p); on an uploaded one it is a separate mtime update', async () => {
    const { fs, client } = await mockSetup({ writeBack: { uploadDelayMs: 50 } });
    const when = new Date('1999-12-31T23:59:59Z');
    const fh = await fs.create('/p.txt', 0o644, O_CREAT | O_WRONLY);
    await fs.write('/p.txt', fh, Buffer.from('data'), 0);
    await fs.utimens('/p.txt', null, when); // cp -p sets times before closing
    await fs.release('/p.txt', fh);
    expect((await fs.getattr('/p.txt')).mtime).toEqual(when);
    await until(() => client.serverStat('p.txt') !== null, 5_000, 'upload');
    expect(client.serverStat('p.txt')!.mtime).toEqual(when);
    expect(client.counts.setMtime).toBe(0);
    expect(client.counts.upload).toBe(1);

    // A file opened for writing but only re-timed: no upload, one update of the entry.
    const later = new Date('2010-10-10T10:10:10Z');
    const again = await fs.open('/p.txt', O_RDWR);
    await fs.utimens('/p.txt', null, later);
    await fs.release('/p.txt', again);
    await until(() => client.counts.update === 1, 5_000, 'mtime update');
    expect(client.counts.upload).toBe(1);
    expect(client.serverStat('p.txt')!.mtime).toEqual(later);
  });

  it('a pending file shows the mtime (whole seconds, as the server keeps) it still has once uploaded', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 0 } });
    const fh = await fs.create('/t.txt', 0o644, O_CREAT | O_WRONLY);
    await fs.write('/t.txt', fh, Buffer.from('x'), 0);
    await fs.utimens('/t.txt', null, new Date('2020-01-01T00:00:00.750Z'));
    await fs.release('/t.txt', fh);
    const before = (await fs.getattr('/t.txt')).mtime;
    expect(before.toISOString()).toBe('2020-01-01T00:00:00.000Z');
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'upload');
    expect(client.serverStat('t.txt')!.mtime).toEqual(before);
    expect((await fs.getattr('/t.txt')).mtime).toEqual(before);
  });

  it('transient failures are retried with backoff until the upload lands', async () => {
    const { fs, client, writeBack, logs } = await mockSetup({ writeBack: { uploadDelayMs: 0, retryBaseDelayMs: 30, retryMaxDelayMs: 60 } });
    client.failNext('upload', unavailable(), 4);
    await writeFile(fs, '/flaky.txt', 'eventually');
    await until(() => writeBack.status().retryingUploads === 1, 5_000, 'retrying state');
    expect(writeBack.status().files[0]).toMatchObject({ path: '/flaky.txt', state: 'retrying', error: expect.stringMatching(/503/) });
    await until(() => client.serverStat('flaky.txt') !== null, 5_000, 'the upload to land');
    expect(client.counts.upload).toBe(5);
    expect(logs.some((l) => /upload of flaky\.txt failed \(Service Unavailable/.test(l))).toBe(true);
  });

  it('a refusal marks the file failed: kept in staging and the journal (state failed), shown by status, logged with the kept path', async () => {
    const { fs, client, writeBack, cacheDir, logs } = await mockSetup({ writeBack: { uploadDelayMs: 0 } });
    client.failNext('upload', refusal(), 100);
    await writeFile(fs, '/bad.txt', 'refused content');
    await until(() => writeBack.status().failedUploads === 1, 5_000, 'failed state');
    const status = writeBack.status();
    expect(status).toMatchObject({ pendingUploads: 1, pendingBytes: 15, uploading: 0, failedUploads: 1 });
    const entry = status.files[0]!;
    expect(entry).toMatchObject({ path: '/bad.txt', state: 'failed', size: 15, error: expect.stringMatching(/Invalid path.*400/) });
    expect(readFileSync(entry.stagingFile, 'utf8')).toBe('refused content');
    await until(() => readdirSync(join(cacheDir, 'journal')).some((n) => n.endsWith('.json') && decode(readFileSync(join(cacheDir, 'journal', n), 'utf8')).state === 'failed'), 5_000, 'failed record');
    expect(logs.some((l) => l.includes('WARN') && l.includes('refused by the server') && l.includes(entry.stagingFile))).toBe(true);
    expect(client.counts.upload).toBe(1); // retried rarely, not in a loop
    // Still readable locally.
    expect((await fs.getattr('/bad.txt')).size).toBe(15);
  });

  it('fsync returns once the server has the file; EIO when the server refuses it; EIO after fsyncTimeoutMs of transient failures (data stays pending)', async () => {
    const { fs, client } = await mockSetup({ writeBack: { uploadDelayMs: 60_000, fsyncTimeoutMs: 300, retryBaseDelayMs: 20, retryMaxDelayMs: 50 } });
    const fh = await fs.create('/sync.txt', 0o644, O_CREAT | O_WRONLY);
    await fs.write('/sync.txt', fh, Buffer.from('durable'), 0);
    client.delay('upload', 50);
    await fs.fsync('/sync.txt', fh, false);
    expect(client.serverRead('sync.txt').toString()).toBe('durable'); // on the server when fsync returns
    await fs.write('/sync.txt', fh, Buffer.from('!'), 7);
    client.clearHooks();
    client.failNext('upload', refusal(), 1);
    await expectErrno(fs.fsync('/sync.txt', fh, false), 'EIO');
    client.failNext('upload', unavailable(), 1000);
    await expectErrno(fs.fsync('/sync.txt', fh, false), 'EIO');
    expect(client.serverRead('sync.txt').toString()).toBe('durable');
    client.clearHooks();
    await fs.fsync('/sync.txt', fh, false); // the outage is over
    expect(client.serverRead('sync.txt').toString()).toBe('durable!');
    await fs.release('/sync.txt', fh);
  });

  it('drain uploads everything at once (ignoring the delay), reporting files and bytes left and the rate', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 60_000, uploadConcurrency: 2, smallUploadConcurrency: 2 } });
    client.delay('upload', 40);
    for (let i = 0; i < 6; i++) await writeFile(fs, `/d${i}.bin`, pattern(100_000, i + 1));
    // One still open: its content so far is uploaded too.
    const open = await fs.create('/open.bin', 0o644, O_CREAT | O_WRONLY);
    await fs.write('/open.bin', open, Buffer.from('partial'), 0);
    const reports: DrainProgress[] = [];
    const result = await writeBack.drain({ onProgress: (p) => reports.push(p), progressIntervalMs: 30 });
    expect(result).toMatchObject({ complete: true, forced: false, filesDone: 7, bytesDone: 600_007, filesLeft: 0, refused: [] });
    expect(reports[0]!.filesLeft).toBeGreaterThan(0);
    expect(reports.at(-1)).toMatchObject({ filesLeft: 0, bytesLeft: 0, filesDone: 7 });
    expect(reports.at(-1)!.bytesPerSecond).toBeGreaterThan(0);
    expect(client.serverRead('open.bin').toString()).toBe('partial');
    await fs.release('/open.bin', open);
  });

  it('a forced drain returns at once and leaves the rest in the journal', async () => {
    const { fs, client, writeBack, cacheDir } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    // An upload that only ends when aborted (like an HTTP transfer to a server that hangs).
    client.on('upload', (call) => new Promise<void>((_resolve, reject) => {
      const signal = (call.args[0] as { signal: AbortSignal }).signal;
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    }));
    await writeFile(fs, '/held.txt', 'held');
    const force = new AbortController();
    const draining = writeBack.drain({ signal: force.signal });
    await until(() => writeBack.status().uploading === 1, 5_000, 'upload started');
    force.abort();
    const result = await draining;
    expect(result).toMatchObject({ complete: false, forced: true, filesLeft: 1 });
    await writeBack.close();
    expect(writeBack.describeLeftovers()).toMatch(/1 upload \(4 B\) left pending in the journal/);
    expect(readdirSync(join(cacheDir, 'journal')).filter((n) => n.endsWith('.json'))).toHaveLength(1);
  });
});

describe('large files', () => {
  it('at most two files larger than one part upload at once; small files take the other slots meanwhile', async () => {
    const { fs, client } = await mockSetup({ writeBack: { uploadDelayMs: 0, uploadConcurrency: 4, smallUploadConcurrency: 1 } });
    let large = 0;
    let peakLarge = 0;
    let releaseLarge!: () => void;
    const largeHeld = new Promise<void>((r) => (releaseLarge = r));
    client.on('upload', async (call) => {
      if (!call.path.startsWith('big')) return;
      large++;
      peakLarge = Math.max(peakLarge, large);
      await largeHeld;
      large--;
    });
    const big = pattern(5 * 1024 * 1024 + 1, 3);
    for (let i = 0; i < 5; i++) await writeFile(fs, `/big${i}.bin`, big, { chunk: 1024 * 1024 });
    // Larger than 256 KiB: they share the uploadConcurrency slots with the large files.
    for (let i = 0; i < 6; i++) await writeFile(fs, `/small${i}.txt`, pattern(300 * 1024, i));
    // With every slot taken by large files, the small ones could not land while those are held.
    await until(() => client.serverPaths().filter((p) => p.startsWith('small')).length === 6, 10_000, 'the small files');
    expect(large).toBe(2);
    releaseLarge();
    await until(() => client.serverPaths().length === 11, 10_000, 'all uploads');
    expect(peakLarge).toBe(2);
  });
});
