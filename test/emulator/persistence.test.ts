// Restart persistence: the tree, contents, times, uploads in progress and the
// URL signing key survive a stop and a start on the same data dir; a torn
// journal line (a crash mid-write) is ignored; orphaned blobs are removed.
import { randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/emulator/hasher.js';
import { startTestEmulator, testDir } from '../support/emulator.js';
import { API, MiB, call, download, enc, upload } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every blob directory's entries, sorted. */
function blobContents(dataDir: string): string[][] {
  const root = join(dataDir, 'blobs');
  return readdirSync(root).flatMap((shard) => readdirSync(join(root, shard)).map((id) => readdirSync(join(root, shard, id)).sort()));
}

describe('persistence', () => {
  it('keeps everything across restarts on the same data dir', async () => {
    const dataDir = testDir('persist-');
    let emu = await startTestEmulator({ dataDir });
    const big = randomBytes(5 * MiB + 99);
    await call(emu, 'POST', `${API}/folders/${enc('Keep/Empty Ünïcode')}`, { json: { mkdir_parents: true, provided_mtime: '2001-01-01T00:00:00Z' } });
    await upload(emu, 'Keep/big.bin', big, { providedMtime: '2010-10-10T10:10:10Z' });
    await upload(emu, 'Keep/Small.TXT', Buffer.from('small'));
    await upload(emu, 'Keep/deleted.txt', Buffer.from('gone'));
    await call(emu, 'DELETE', `${API}/files/Keep/deleted.txt`);
    await call(emu, 'POST', `${API}/file_actions/move/Keep/Small.TXT`, { json: { destination: 'Keep/small.txt' } });
    await emu.idle();
    // An upload in progress, one part received.
    const slot = (await call(emu, 'POST', `${API}/file_actions/begin_upload/Keep/later.txt`, { json: { parts: 2 } })).json;
    const part = await request(slot[0].upload_uri, { method: 'PUT', body: 'later', headers: { 'content-length': '5' } });
    await part.body.text();
    const url = (await call(emu, 'GET', `${API}/files/Keep/big.bin`)).json.download_uri as string;
    const before = (await call(emu, 'GET', `${API}/folders/Keep`)).json;
    await emu.stop();

    emu = await startTestEmulator({ dataDir });
    try {
      const after = (await call(emu, 'GET', `${API}/folders/Keep`)).json;
      expect(after).toEqual(before);
      expect(after.map((e: { path: string }) => e.path)).toEqual(['Keep/Empty Ünïcode', 'Keep/big.bin', 'Keep/small.txt']);
      expect(after[1]).toMatchObject({ provided_mtime: '2010-10-10T10:10:10Z', size: big.length, md5: expect.stringMatching(/^[0-9a-f]{32}$/) });
      expect(after[0].provided_mtime).toBe('2001-01-01T00:00:00Z');
      expect((await download(emu, 'keep/BIG.bin')).body.equals(big)).toBe(true);
      // The old download URL (on the old port) still verifies on the new server: same signing key.
      const moved = new URL(url);
      const again = await request(`${emu.url}${moved.pathname}${moved.search}`, { headers: { Range: 'bytes=0-9' } });
      expect(again.statusCode).toBe(206);
      expect(Buffer.from(await again.body.arrayBuffer()).equals(big.subarray(0, 10))).toBe(true);
      // The upload in progress can still be completed.
      const end = await call(emu, 'POST', `${API}/files/Keep/later.txt`, { json: { action: 'end', ref: slot[0].ref } });
      expect(end.status).toBe(201);
      expect((await download(emu, 'Keep/later.txt')).body.toString()).toBe('later');
    } finally {
      await emu.stop();
    }

    // A third start still agrees (the journal was folded into the snapshot).
    emu = await startTestEmulator({ dataDir });
    try {
      expect((await call(emu, 'GET', `${API}/folders/Keep`)).json.length).toBe(4);
    } finally {
      await emu.stop();
    }
  });

  it('keeps locks (owners, tokens, expiry), custom_metadata, behaviors and user ids across restarts', async () => {
    const dataDir = testDir('persist-extras-');
    const keys = [{ key: 'aliceKey0000000001', username: 'alice' }, { key: 'bobKey000000000002', username: 'bob' }];
    const as = (i: number) => ({ 'X-FilesAPI-Key': keys[i]!.key });
    let emu = await startTestEmulator({ dataDir, apiKeys: keys });
    await upload(emu, 'Ext/doc.txt', Buffer.from('d'), { headers: as(0) });
    await call(emu, 'PATCH', `${API}/files/Ext/doc.txt`, { json: { custom_metadata: { state: 'review' } }, headers: as(0) });
    await call(emu, 'PATCH', `${API}/files/Ext`, { json: { custom_metadata: { team: 'blue' } }, headers: as(0) });
    const lock = (await call(emu, 'POST', `${API}/locks/Ext/doc.txt`, { json: { exclusive: true, timeout: 3600 }, headers: as(0) })).json;
    const short = (await call(emu, 'POST', `${API}/locks/Ext/short.txt`, { json: { timeout: 1 }, headers: as(0) })).json;
    expect(short.timeout).toBe(1);
    const behavior = (await call(emu, 'POST', `${API}/behaviors`, { json: { path: 'Ext', behavior: 'limit_file_extensions', value: { extensions: ['txt'] } }, headers: as(0) })).json;
    const ids = [(await call(emu, 'GET', `${API}/api_key`, { headers: as(0) })).json.user_id, (await call(emu, 'GET', `${API}/api_key`, { headers: as(1) })).json.user_id];
    await emu.stop();

    // Restart with the users listed the other way round (and a new one): ids stay.
    emu = await startTestEmulator({ dataDir, apiKeys: [keys[1]!, { key: 'carolKey0000000003', username: 'carol' }, keys[0]!] });
    try {
      expect((await call(emu, 'GET', `${API}/api_key`, { headers: as(0) })).json.user_id).toBe(ids[0]);
      expect((await call(emu, 'GET', `${API}/api_key`, { headers: as(1) })).json.user_id).toBe(ids[1]);
      const carol = (await call(emu, 'GET', `${API}/api_key`, { headers: { 'X-FilesAPI-Key': 'carolKey0000000003' } })).json.user_id;
      expect(new Set([...ids, carol]).size).toBe(3);
      const listed = (await call(emu, 'GET', `${API}/locks/Ext/doc.txt`, { headers: as(1) })).json;
      expect(listed).toEqual([{ ...lock, timeout: expect.any(Number) }]);
      expect(listed[0].timeout).toBeGreaterThan(3500);
      const refused = await upload(emu, 'Ext/doc.txt', Buffer.from('bob'), { headers: as(1) });
      expect(refused.json.type).toBe('processing-failure/file-locked');
      const entry = (await call(emu, 'GET', `${API}/file_actions/metadata/Ext/doc.txt`, { headers: as(1) })).json;
      expect(entry).toMatchObject({ custom_metadata: { state: 'review' }, is_locked: true });
      expect((await call(emu, 'GET', `${API}/file_actions/metadata/Ext`, { headers: as(1) })).json.custom_metadata).toEqual({ team: 'blue' });
      expect((await call(emu, 'GET', `${API}/behaviors/${behavior.id}`, { headers: as(1) })).json).toEqual(behavior);
      expect((await upload(emu, 'Ext/pic.png', Buffer.from('p'), { headers: as(1) })).json.type).toBe('processing-failure/destination-folder-limited');
      // The short lock expired on its own time, restart or not.
      for (let i = 0; i < 50 && (await call(emu, 'GET', `${API}/locks/Ext/short.txt`, { headers: as(1) })).json.length > 0; i++) await sleep(100);
      expect((await call(emu, 'GET', `${API}/locks/Ext/short.txt`, { headers: as(1) })).json).toEqual([]);
      expect((await call(emu, 'DELETE', `${API}/locks/Ext/doc.txt`, { query: { token: lock.token }, headers: as(0) })).status).toBe(204);
    } finally {
      await emu.stop();
    }
  });

  it('a completed upload keeps exactly the parts `end` named and its manifest; a one-part file gets its md5 and crc32', async () => {
    const dataDir = testDir('blob-');
    const emu = await startTestEmulator({ dataDir });
    try {
      const slots = (await call(emu, 'POST', `${API}/file_actions/begin_upload/three.bin`, { json: { parts: 3 } })).json as Array<{ upload_uri: string; ref: string }>;
      const first = randomBytes(5 * MiB);
      const bodies = [first, Buffer.from('second, replaced'), Buffer.from('third, left out')];
      for (const [i, body] of bodies.entries()) {
        const r = await request(slots[i]!.upload_uri, { method: 'PUT', body, headers: { 'content-length': String(body.length) } });
        await r.body.text();
      }
      const again = Buffer.from('second');
      const r = await request(slots[1]!.upload_uri, { method: 'PUT', body: again, headers: { 'content-length': String(again.length) } });
      const etag2 = String(r.headers.etag);
      await r.body.text();
      const etag1 = createHash('md5').update(first).digest('hex');
      const end = await call(emu, 'POST', `${API}/files/three.bin`, { json: { action: 'end', ref: slots[0]!.ref, etags: [{ part: 1, etag: etag1 }, { part: 2, etag: etag2 }] } });
      expect(end.status).toBe(201);
      const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
      const expected = [`1-${etag1}`, `2-${md5(again)}`, 'manifest.json'];
      for (let i = 0; i < 100 && JSON.stringify(blobContents(dataDir)) !== JSON.stringify([expected]); i++) await sleep(20);
      expect(blobContents(dataDir)).toEqual([expected]);
      expect((await download(emu, 'three.bin')).body.equals(Buffer.concat([first, again]))).toBe(true);

      const small = randomBytes(4096);
      await upload(emu, 'small.bin', small);
      await emu.idle();
      const entry = (await call(emu, 'GET', `${API}/file_actions/metadata/small.bin`)).json;
      expect(entry).toMatchObject({ md5: md5(small), crc32: crc32(small).toString(16) });
    } finally {
      await emu.stop();
    }
  });

  it('discards at start an upload whose upload.json is torn (begin_upload never answered)', async () => {
    const dataDir = testDir('torn-upload-');
    let emu = await startTestEmulator({ dataDir });
    await emu.stop();
    const dir = join(dataDir, 'uploads', 'put-1234567890');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'upload.json'), '{"ref":"put-12');
    emu = await startTestEmulator({ dataDir });
    try {
      expect(existsSync(dir)).toBe(false);
      const end = await call(emu, 'POST', `${API}/files/x.txt`, { json: { action: 'end', ref: 'put-1234567890' } });
      expect(end.status).toBe(404);
    } finally {
      await emu.stop();
    }
  });

  it('ignores a torn last journal line and removes orphaned blobs', async () => {
    const dataDir = testDir('torn-');
    let emu = await startTestEmulator({ dataDir });
    await upload(emu, 'a.txt', Buffer.from('a'));
    await emu.stop();
    emu = await startTestEmulator({ dataDir });
    await upload(emu, 'b.txt', Buffer.from('b'));
    await emu.stop();
    const journal = join(dataDir, 'meta', 'journal.jsonl');
    expect(readFileSync(journal, 'utf8').length).toBeGreaterThan(0);
    appendFileSync(journal, '{"q":999999,"o":"put","n":{"id":77,"p":0,"nm":"torn');
    const orphan = join(dataDir, 'blobs', 'ff', 'ff0000000000000000000000');
    mkdirSync(orphan, { recursive: true });
    writeFileSync(join(orphan, '1-x'), 'junk');
    emu = await startTestEmulator({ dataDir });
    try {
      expect((await call(emu, 'GET', `${API}/folders/`)).json.map((e: { path: string }) => e.path)).toEqual(['a.txt', 'b.txt']);
      expect((await download(emu, 'b.txt')).body.toString()).toBe('b');
      expect(existsSync(orphan)).toBe(false);
    } finally {
      await emu.stop();
    }
  });
});
