// Restart persistence: the tree, contents, times, uploads in progress and the
// URL signing key survive a stop and a start on the same data dir; a torn
// journal line (a crash mid-write) is ignored; orphaned blobs are removed.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startTestEmulator, testDir } from '../support/emulator.js';
import { API, MiB, call, download, enc, upload } from './helpers.js';

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
