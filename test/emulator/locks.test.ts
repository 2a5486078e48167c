// Locks over HTTP, with two colleagues on one emulator, each with their own
// API key: the lock object, listing (paged, include_children), conflicts
// (destination-exists), what a lock refuses to others (file-locked /
// folder-locked) and allows its owner, release (token in the query or the
// body), expiry, and GET /api_key telling each key's user.
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API, call, enc, upload, type Reply } from './helpers.js';

const ALICE = 'aliceKey0123456789';
const BOB = 'bobKey0123456789ab';
const as = (key: string) => ({ 'X-FilesAPI-Key': key });

describe('locks', () => {
  const emu = useEmulator({ apiKeys: [{ key: ALICE, username: 'alice' }, { key: BOB, username: 'bob' }] });

  const lock = (key: string, path: string, body: Record<string, unknown> = {}): Promise<Reply> =>
    call(emu(), 'POST', `${API}/locks/${enc(path)}`, { json: body, headers: as(key) });
  const locks = (key: string, path: string, query: Record<string, string | number | boolean> = {}): Promise<Reply> =>
    call(emu(), 'GET', `${API}/locks/${enc(path)}`, { query, headers: as(key) });
  const unlock = (key: string, path: string, token: string): Promise<Reply> =>
    call(emu(), 'DELETE', `${API}/locks/${enc(path)}`, { query: { token }, headers: as(key) });
  const read = async (key: string, path: string): Promise<string> => {
    const meta = await call(emu(), 'GET', `${API}/files/${enc(path)}`, { headers: as(key) });
    return (await fetch(meta.json.download_uri)).text();
  };

  it('tells each API key its own user (GET /api_key)', async () => {
    const a = await call(emu(), 'GET', `${API}/api_key`, { headers: as(ALICE) });
    const b = await call(emu(), 'GET', `${API}/api_key`, { headers: as(BOB) });
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ id: expect.any(Number), user_id: expect.any(Number), key: null });
    expect(b.json.user_id).not.toBe(a.json.user_id);
    expect(JSON.stringify([a.json, b.json])).not.toContain(ALICE);
  });

  it('creates a lock (201, the SDK model\'s fields) and lists it; a path may be locked before it exists', async () => {
    const aliceId = (await call(emu(), 'GET', `${API}/api_key`, { headers: as(ALICE) })).json.user_id;
    const r = await lock(ALICE, 'Shape/Report.docx', { timeout: 600, exclusive: true, allow_access_by_any_user: true });
    expect(r.status).toBe(201);
    expect(r.json).toEqual({
      path: 'Shape/Report.docx', timeout: 600, depth: '0', recursive: false, owner: 'alice', scope: 'exclusive', exclusive: true,
      token: expect.stringMatching(/^[0-9a-f]{32}$/), type: 'write', allow_access_by_any_user: true, user_id: aliceId, username: 'alice',
    });
    const listed = await locks(BOB, 'shape/REPORT.docx');
    expect(listed.status).toBe(200);
    expect(listed.json).toEqual([r.json]);
    expect(listed.headers['x-files-cursor']).toBeUndefined();
    // Nothing exists there yet; the lock does.
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/Shape/Report.docx`, { headers: as(BOB) })).status).toBe(404);
    const shared = await lock(BOB, 'Shape/Notes', { recursive: true });
    expect(shared.json).toMatchObject({ exclusive: false, scope: 'shared', recursive: true, depth: 'infinity', timeout: 3600, owner: 'bob' });
  });

  it('lists covering locks, children with include_children, a page at a time', async () => {
    await lock(ALICE, 'List', { recursive: true });
    await lock(BOB, 'List/a.txt');
    await lock(BOB, 'List/b.txt');
    await lock(ALICE, 'List/sub/c.txt');
    expect((await locks(ALICE, 'List/a.txt')).json.map((l: { path: string }) => l.path)).toEqual(['List', 'List/a.txt']);
    expect((await locks(ALICE, 'List')).json.map((l: { path: string }) => l.path)).toEqual(['List']);
    const all = await locks(ALICE, 'List', { include_children: true });
    expect(all.json.map((l: { path: string }) => l.path)).toEqual(['List', 'List/a.txt', 'List/b.txt', 'List/sub/c.txt']);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await locks(ALICE, 'List', { include_children: true, per_page: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.json.map((l: { path: string }) => l.path));
      cursor = page.headers['x-files-cursor'] as string | undefined;
      if (cursor) expect(page.headers['x-files-cursor-next']).toBe(cursor);
    } while (cursor);
    expect(seen).toEqual(all.json.map((l: { path: string }) => l.path));
    expect((await locks(ALICE, 'List', { cursor: 'bogus' })).json.type).toBe('bad-request/invalid-cursor');
  });

  it('refuses overlapping locks with destination-exists: exclusive against anything, shared against exclusive, the owner too', async () => {
    const first = await lock(ALICE, 'Conflict/x.txt', { exclusive: true });
    expect(first.status).toBe(201);
    for (const [key, body] of [[BOB, { exclusive: true }], [BOB, {}], [ALICE, { exclusive: true }]] as const) {
      const again = await lock(key, 'conflict/X.TXT', body);
      expect(again.status).toBe(422);
      expect(again.json.type).toBe('processing-failure/destination-exists');
      expect(again.headers['x-files-error-class']).toBe('processing-failure/destination-exists');
    }
    expect((await lock(ALICE, 'Conflict/shared.txt')).status).toBe(201);
    expect((await lock(BOB, 'Conflict/shared.txt')).status).toBe(201);
    expect((await lock(BOB, 'Conflict/shared.txt', { exclusive: true })).status).toBe(422);
    // Recursive locks conflict with locks below them, and the other way round.
    expect((await lock(BOB, 'Conflict', { recursive: true, exclusive: true })).status).toBe(422);
    expect((await lock(BOB, 'Tree', { recursive: true, exclusive: true })).status).toBe(201);
    expect((await lock(ALICE, 'Tree/deep/file.txt')).status).toBe(422);
  });

  it('refuses changes of a locked path to others (file-locked, "exclusive lock") and allows them to the owner and reads to all', async () => {
    await upload(emu(), 'Owned/doc.txt', Buffer.from('v1'), { headers: as(ALICE) });
    const token = (await lock(ALICE, 'Owned/doc.txt', { exclusive: true })).json.token as string;
    const refused = (r: Reply, type = 'processing-failure/file-locked') => {
      expect(r.status).toBe(422);
      expect(r.json.type).toBe(type);
      expect(r.json.error).toContain('exclusive lock');
      expect(r.json.error).toContain('alice');
    };
    refused(await upload(emu(), 'owned/DOC.txt', Buffer.from('bob'), { headers: as(BOB) }));
    refused(await call(emu(), 'DELETE', `${API}/files/Owned/doc.txt`, { headers: as(BOB) }));
    refused(await call(emu(), 'PATCH', `${API}/files/Owned/doc.txt`, { json: { custom_metadata: { by: 'bob' } }, headers: as(BOB) }));
    refused(await call(emu(), 'POST', `${API}/file_actions/move/Owned/doc.txt`, { json: { destination: 'Owned/moved.txt' }, headers: as(BOB) }));
    await upload(emu(), 'Owned/bob.txt', Buffer.from('bob'), { headers: as(BOB) });
    refused(await call(emu(), 'POST', `${API}/file_actions/move/Owned/bob.txt`, { json: { destination: 'Owned/doc.txt', overwrite: true }, headers: as(BOB) }));
    refused(await call(emu(), 'POST', `${API}/file_actions/copy/Owned/bob.txt`, { json: { destination: 'Owned/doc.txt', overwrite: true }, headers: as(BOB) }));
    refused(await call(emu(), 'POST', `${API}/file_actions/move/Owned`, { json: { destination: 'Elsewhere' }, headers: as(BOB) }), 'processing-failure/folder-locked');
    refused(await call(emu(), 'DELETE', `${API}/files/Owned`, { query: { recursive: true }, headers: as(BOB) }), 'processing-failure/folder-locked');
    // Reading is never refused, and entries say they are locked.
    expect(await read(BOB, 'Owned/doc.txt')).toBe('v1');
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/Owned/doc.txt`, { headers: as(BOB) })).json.is_locked).toBe(true);
    const listing = (await call(emu(), 'GET', `${API}/folders/Owned`, { headers: as(BOB) })).json as Array<{ path: string; is_locked: boolean }>;
    expect(listing.map((e) => [e.path, e.is_locked])).toEqual([['Owned/bob.txt', false], ['Owned/doc.txt', true]]);
    // Copying a locked file elsewhere is reading it.
    expect((await call(emu(), 'POST', `${API}/file_actions/copy/Owned/doc.txt`, { json: { destination: 'Owned/copy.txt' }, headers: as(BOB) })).status).toBe(201);
    // The owner writes, moves it back and forth, and deletes it; the lock stays on its path.
    expect((await upload(emu(), 'Owned/doc.txt', Buffer.from('v2'), { headers: as(ALICE) })).status).toBe(201);
    expect((await call(emu(), 'PATCH', `${API}/files/Owned/doc.txt`, { json: { provided_mtime: '2020-01-01T00:00:00Z' }, headers: as(ALICE) })).status).toBe(200);
    expect((await call(emu(), 'POST', `${API}/file_actions/move/Owned/doc.txt`, { json: { destination: 'Owned/tmp.txt' }, headers: as(ALICE) })).status).toBe(201);
    expect((await call(emu(), 'POST', `${API}/file_actions/move/Owned/tmp.txt`, { json: { destination: 'Owned/doc.txt' }, headers: as(ALICE) })).status).toBe(201);
    expect((await call(emu(), 'DELETE', `${API}/files/Owned/doc.txt`, { headers: as(ALICE) })).status).toBe(204);
    expect((await locks(BOB, 'Owned/doc.txt')).json).toHaveLength(1);
    // Bob cannot take the (now empty) path until alice releases the lock.
    refused(await upload(emu(), 'Owned/doc.txt', Buffer.from('bob'), { headers: as(BOB) }));
    expect((await unlock(ALICE, 'Owned/doc.txt', token)).status).toBe(204);
    expect((await upload(emu(), 'Owned/doc.txt', Buffer.from('bob'), { headers: as(BOB) })).status).toBe(201);
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/Owned/doc.txt`, { headers: as(BOB) })).json.is_locked).toBe(false);
  });

  it('a recursive lock covers everything below its folder; shared locks let only their holders write', async () => {
    await call(emu(), 'POST', `${API}/folders/Project/src`, { json: { mkdir_parents: true }, headers: as(ALICE) });
    const token = (await lock(ALICE, 'Project', { recursive: true, exclusive: true })).json.token as string;
    const mkdir = await call(emu(), 'POST', `${API}/folders/Project/src/new`, { headers: as(BOB) });
    expect(mkdir.status).toBe(422);
    expect(mkdir.json.type).toBe('processing-failure/folder-locked');
    expect((await upload(emu(), 'Project/src/main.c', Buffer.from('x'), { headers: as(BOB) })).json.type).toBe('processing-failure/file-locked');
    expect((await upload(emu(), 'Project/src/main.c', Buffer.from('x'), { headers: as(ALICE) })).status).toBe(201);
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/Project/src/main.c`, { headers: as(BOB) })).json.is_locked).toBe(true);
    await unlock(ALICE, 'Project', token);

    await lock(ALICE, 'Shared.txt');
    await lock(BOB, 'Shared.txt');
    expect((await upload(emu(), 'Shared.txt', Buffer.from('a'), { headers: as(ALICE) })).status).toBe(201);
    expect((await upload(emu(), 'Shared.txt', Buffer.from('b'), { headers: as(BOB) })).status).toBe(201);
    await call(emu(), 'POST', `${API}/locks/Third.txt`, { json: {}, headers: as(ALICE) });
    const third = await upload(emu(), 'Third.txt', Buffer.from('c'), { headers: as(BOB) });
    expect(third.json.type).toBe('processing-failure/file-locked');
    expect(third.json.error).toContain('shared lock');
  });

  it('checks locks again at `end`: an upload opened before a colleague locked the path waits until the lock is gone', async () => {
    const slot = (await call(emu(), 'POST', `${API}/file_actions/begin_upload/Race.txt`, { headers: as(BOB) })).json[0];
    const put = await fetch(slot.upload_uri, { method: 'PUT', body: 'bob wins later' });
    expect(put.status).toBe(200);
    const token = (await lock(ALICE, 'Race.txt', { exclusive: true })).json.token as string;
    const end = () => call(emu(), 'POST', `${API}/files/Race.txt`, { json: { action: 'end', ref: slot.ref }, headers: as(BOB) });
    const blocked = await end();
    expect(blocked.status).toBe(422);
    expect(blocked.json.type).toBe('processing-failure/file-locked');
    expect((await unlock(ALICE, 'Race.txt', token)).status).toBe(204);
    expect((await end()).status).toBe(201);
    expect(await read(ALICE, 'Race.txt')).toBe('bob wins later');
  });

  it('releases with the token in the query or the JSON body; 404 for an unknown lock; only the owner unless any user may', async () => {
    const a = (await lock(ALICE, 'Release/a.txt')).json.token as string;
    expect((await unlock(ALICE, 'Release/a.txt', 'f'.repeat(32))).status).toBe(404);
    expect((await unlock(ALICE, 'Release/other.txt', a)).status).toBe(404);
    const noToken = await call(emu(), 'DELETE', `${API}/locks/Release/a.txt`, { headers: as(ALICE) });
    expect(noToken.status).toBe(400);
    const notHis = await unlock(BOB, 'Release/a.txt', a);
    expect(notHis.status).toBe(422);
    expect(notHis.json.type).toBe('processing-failure/resource-locked');
    // The JS SDK sends DELETE parameters as a JSON body (with `path` copied in).
    const body = await call(emu(), 'DELETE', `${API}/locks/${enc('Release/a.txt')}`, { json: { path: 'Release/a.txt', token: a }, headers: as(ALICE) });
    expect(body.status).toBe(204);
    expect((await unlock(ALICE, 'Release/a.txt', a)).status).toBe(404);
    const open = (await lock(ALICE, 'Release/b.txt', { allow_access_by_any_user: true })).json.token as string;
    expect((await unlock(BOB, 'Release/b.txt', open)).status).toBe(204);
    expect((await locks(ALICE, 'Release', { include_children: true })).json).toEqual([]);
  });

  it('expires a lock after its timeout; `timeout` counts down', async () => {
    const r = await lock(ALICE, 'Expiring.txt', { timeout: 1, exclusive: true });
    expect(r.json.timeout).toBe(1);
    expect((await upload(emu(), 'Expiring.txt', Buffer.from('b'), { headers: as(BOB) })).status).toBe(422);
    let left = 1;
    for (let i = 0; i < 100 && left > 0; i++) {
      await new Promise((res) => setTimeout(res, 100));
      left = (await locks(BOB, 'Expiring.txt')).json.length;
    }
    expect(left).toBe(0);
    expect((await upload(emu(), 'Expiring.txt', Buffer.from('b'), { headers: as(BOB) })).status).toBe(201);
    expect((await lock(BOB, 'Expiring.txt', { exclusive: true })).status).toBe(201);
  });

  it('refuses bad lock requests', async () => {
    expect((await lock(ALICE, '', {})).json.type).toBe('bad-request/invalid-path');
    expect((await lock(ALICE, 'Bad/name ', {})).json.type).toBe('bad-request/path-cannot-have-trailing-whitespace');
    expect((await lock(ALICE, 'Bad/t.txt', { timeout: -5 })).json.type).toBe('bad-request/request-params-invalid');
    expect((await call(emu(), 'POST', `${API}/locks/x`, { json: {} })).status).toBe(401);
  });
});

describe('locks without auth', () => {
  const emu = useEmulator();

  it('every caller is the same (default) user: a lock never stands in their way', async () => {
    const r = await call(emu(), 'POST', `${API}/locks/Solo.txt`, { json: { exclusive: true } });
    expect(r.json).toMatchObject({ username: 'admin', user_id: expect.any(Number) });
    expect((await upload(emu(), 'Solo.txt', Buffer.from('x'))).status).toBe(201);
    expect((await call(emu(), 'GET', `${API}/api_key`)).json.type).toBe('not-found/api-key-not-found');
  });
});
