// The crash journal on the filesystem layer (mock client): a record is
// durable before close returns, names the staging file and everything the
// upload needs, goes (with the staging file) once the server has the file,
// and a new WriteBack on the same cache dir resumes every pending upload and
// shows the files meanwhile. Leftovers of a crash are tidied.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/client/errors.js';
import { decode, encode, type JournalRecord } from '../../../src/vfs/write-back/journal.js';
import { MockFilesClient } from '../../support/mock-files-client.js';
import { readAll } from '../helpers.js';
import { cacheDirFor, mockSetup, O_CREAT, O_WRONLY, until, writeFile } from './helpers.js';

const records = (cacheDir: string): JournalRecord[] =>
  readdirSync(join(cacheDir, 'journal')).filter((n) => n.endsWith('.json')).map((n) => decode(readFileSync(join(cacheDir, 'journal', n), 'utf8')));

describe('journal', () => {
  it('flush (close) writes the record before it returns; release does not wait for the upload', async () => {
    const { fs, client, cacheDir } = await mockSetup({ writeBack: { uploadDelayMs: 0 } });
    client.serverMkdirs('docs');
    const release = client.gate('upload');
    const fh = await fs.create('/docs/a.txt', 0o644, O_CREAT | O_WRONLY);
    await fs.write('/docs/a.txt', fh, Buffer.from('hello'), 0);
    expect(records(cacheDir)).toEqual([]); // written, not closed
    await fs.flush('/docs/a.txt', fh);
    const [record] = records(cacheDir);
    expect(record).toMatchObject({ path: 'docs/a.txt', size: 5, generation: 2, remote: false, state: 'pending' });
    expect(readFileSync(join(cacheDir, 'staging', record!.staging), 'utf8')).toBe('hello');
    await fs.release('/docs/a.txt', fh); // returns while the upload is held
    await until(() => client.counts.upload === 1, 5_000, 'the upload to start');
    expect(records(cacheDir)).toHaveLength(1);
    release();
    await until(() => records(cacheDir).length === 0, 5_000, 'the record to go');
    await until(() => readdirSync(join(cacheDir, 'staging')).length === 0, 5_000, 'the staging file to go');
    expect(client.serverRead('docs/a.txt').toString()).toBe('hello');
  });

  it('a new mount on the same cache dir shows pending files at once and uploads them in the background', async () => {
    const cacheDir = cacheDirFor();
    const first = await mockSetup({ cacheDir, writeBack: { uploadDelayMs: 60_000 } });
    first.client.serverMkdirs('sub');
    await writeFile(first.fs, '/one.txt', 'first file');
    await writeFile(first.fs, '/sub/two.txt', 'second');
    const when = new Date('2001-02-03T04:05:06Z');
    await first.fs.utimens('/one.txt', null, when);
    await first.writeBack.close(); // as after kill -9: nothing was uploaded
    expect(first.client.counts.upload).toBe(0);

    const client = new MockFilesClient();
    client.serverMkdirs('sub');
    const release = client.gate('upload');
    const second = await mockSetup({ cacheDir, client });
    expect(second.writeBack.recovery.files).toHaveLength(2);
    expect((await second.fs.getattr('/one.txt')).mtime).toEqual(when);
    expect((await readAll(second.fs, '/sub/two.txt')).toString()).toBe('second');
    release();
    await until(() => records(cacheDir).length === 0, 5_000, 'recovered uploads');
    expect(client.serverRead('one.txt').toString()).toBe('first file');
    expect(client.serverStat('one.txt')!.mtime).toEqual(when);
    expect(client.serverRead('sub/two.txt').toString()).toBe('second');
    await until(() => readdirSync(join(cacheDir, 'staging')).length === 0, 5_000, 'the staging files to go');
  });

  it('recovery deletes staging files no record names and temp records, keeps unreadable records aside, drops a record whose staging is gone', async () => {
    const cacheDir = cacheDirFor();
    const first = await mockSetup({ cacheDir, writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(first.fs, '/kept.txt', 'kept');
    await writeFile(first.fs, '/lost.txt', 'lost');
    // A file written but never closed: staging without a record.
    const fh = await first.fs.create('/open.txt', 0o644, O_CREAT | O_WRONLY);
    await first.fs.write('/open.txt', fh, Buffer.from('never closed'), 0);
    await first.writeBack.close();
    const byPath = new Map(records(cacheDir).map((r) => [r.path, r]));
    const { rmSync } = await import('node:fs');
    rmSync(join(cacheDir, 'staging', byPath.get('lost.txt')!.staging));
    writeFileSync(join(cacheDir, 'journal', 'abcdef0123.json.tmp'), '{"torn');
    writeFileSync(join(cacheDir, 'journal', 'abcdef0124.json'), 'not json');

    const second = await mockSetup({ cacheDir });
    expect(second.writeBack.recovery.files.map((f) => f.path)).toEqual(['kept.txt']);
    expect(second.writeBack.recovery.problems.join('\n')).toMatch(/abcdef0124\.json is unreadable[\s\S]*lost\.txt is missing/);
    expect(existsSync(join(cacheDir, 'journal', 'abcdef0124.json.bad'))).toBe(true);
    expect(existsSync(join(cacheDir, 'journal', 'abcdef0123.json.tmp'))).toBe(false);
    await until(() => second.client.serverStat('kept.txt') !== null, 5_000, 'kept upload');
    await until(() => readdirSync(join(cacheDir, 'staging')).length === 0, 5_000, 'staging emptied');
    expect(second.client.serverStat('open.txt')).toBeNull();
    expect(second.client.serverStat('lost.txt')).toBeNull();
  });

  it('two records for one path (crash inside a rename onto a pending file): the newest wins', async () => {
    const cacheDir = cacheDirFor();
    const first = await mockSetup({ cacheDir, writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(first.fs, '/doc.txt', 'old');
    await writeFile(first.fs, '/doc.txt.tmp', 'new');
    await first.writeBack.close();
    const [a, b] = records(cacheDir).sort((x, y) => x.path.localeCompare(y.path));
    // The replacing record was written, the replaced one not yet removed.
    writeFileSync(join(cacheDir, 'journal', `${b!.id}.json`), encode({ ...b!, path: 'doc.txt', updatedAt: new Date(a!.updatedAt.getTime() + 1000) }));
    const second = await mockSetup({ cacheDir, writeBack: { uploadDelayMs: 0 } });
    expect(second.writeBack.recovery.files).toHaveLength(1);
    await until(() => second.client.serverStat('doc.txt') !== null, 5_000, 'upload');
    expect(second.client.serverRead('doc.txt').toString()).toBe('new');
    expect(second.client.serverPaths()).toEqual(['doc.txt']);
  });

  it('an upload refused in an earlier mount is tried again at once at the next mount', async () => {
    const cacheDir = cacheDirFor();
    const first = await mockSetup({ cacheDir, writeBack: { uploadDelayMs: 0 } });
    first.client.failNext('upload', new BadRequestError({ message: 'refused', status: 400, type: 'bad-request' }), 10);
    await writeFile(first.fs, '/stubborn.txt', 'kept');
    await until(() => first.writeBack.status().failedUploads === 1, 5_000, 'the refusal');
    await first.writeBack.close();
    expect(records(cacheDir)[0]).toMatchObject({ path: 'stubborn.txt', state: 'failed', reason: expect.stringMatching(/refused/) });

    const second = await mockSetup({ cacheDir });
    expect(second.writeBack.recovery.files[0]!.failure).toMatchObject({ permanent: true });
    await until(() => second.client.serverStat('stubborn.txt') !== null, 5_000, 'the retried upload');
    expect(second.client.serverRead('stubborn.txt').toString()).toBe('kept');
  });

  it('records round-trip; malformed ones are refused with a reason', () => {
    const record: JournalRecord = { id: '0123456789abcdef01234567', path: 'a/b c.txt', staging: '0123456789abcdef01234567.data', size: 5, mtime: new Date('2020-01-01T00:00:00.123Z'), generation: 3, remote: true, state: 'failed', reason: 'refused', updatedAt: new Date() };
    expect(decode(encode(record))).toEqual(record);
    expect(() => decode(JSON.stringify({ ...JSON.parse(encode(record)), staging: '../x' }))).toThrow(/staging/);
    expect(() => decode(JSON.stringify({ ...JSON.parse(encode(record)), format: 2 }))).toThrow(/format/);
    expect(() => decode(JSON.stringify({ ...JSON.parse(encode(record)), size: -1 }))).toThrow(/size/);
  });
});
