// Tree operations (docs/files-api.md §6, §8): folders, delete, move, copy (files
// at once, folders through file migrations), PATCH, and case- and
// accent-insensitive identity with case-preserving names.
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API, call, download, enc, upload } from './helpers.js';

type Emu = Parameters<typeof call>[0];
const names = async (emu: Emu, folder: string): Promise<string[]> =>
  (await call(emu, 'GET', `${API}/folders/${enc(folder)}`)).json.map((e: { path: string }) => e.path);

async function waitForMigration(emu: Emu, id: number): Promise<{ statuses: string[]; final: Record<string, unknown> }> {
  const statuses: string[] = [];
  for (let i = 0; i < 100; i++) {
    const r = await call(emu, 'GET', `${API}/file_migrations/${id}`);
    expect(r.status).toBe(200);
    if (statuses[statuses.length - 1] !== r.json.status) statuses.push(r.json.status);
    if (r.json.status === 'completed' || r.json.status === 'failed') return { statuses, final: r.json };
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error('migration did not finish');
}

describe('tree operations', () => {
  const emu = useEmulator({ migrationMs: 300 });

  it('creates folders: 201, parents on request, 422 when it exists, 409 without a parent, 422 under a file', async () => {
    const r = await call(emu(), 'POST', `${API}/folders/Top`, { json: { provided_mtime: '2020-02-02T02:02:02Z' } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ path: 'Top', type: 'directory', provided_mtime: '2020-02-02T02:02:02Z' });
    expect((await call(emu(), 'POST', `${API}/folders/top`)).json.type).toBe('processing-failure/destination-exists');
    const orphan = await call(emu(), 'POST', `${API}/folders/x/y/z`);
    expect(orphan.status).toBe(409);
    expect(orphan.json.type).toBe('processing-failure/destination-parent-does-not-exist');
    expect((await call(emu(), 'POST', `${API}/folders/x/y/z`, { json: { mkdir_parents: true } })).status).toBe(201);
    expect(await names(emu(), 'x/y')).toEqual(['x/y/z']);
    await upload(emu(), 'Top/f.txt', Buffer.from('f'));
    expect((await call(emu(), 'POST', `${API}/folders/Top/f.txt/sub`, { json: { mkdir_parents: true } })).json.type).toBe('processing-failure/destination-parent-conflict');
  });

  it('finds entries case- and accent-insensitively and keeps the names as created', async () => {
    await upload(emu(), 'Reports/Q1.pdf', Buffer.from('pdf'));
    await upload(emu(), 'Reports/Résumé Ĳssel.txt', Buffer.from('cv'));
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/REPORTS/q1.PDF`)).json.path).toBe('Reports/Q1.pdf');
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/${enc('reports/RESUME ijssel.TXT')}`)).json.path).toBe('Reports/Résumé Ĳssel.txt');
    expect((await download(emu(), 'rEpOrTs/Q1.PDF')).body.toString()).toBe('pdf');
    // Writing FILE under another case overwrites the one file, keeping its name.
    await upload(emu(), 'REPORTS/q1.PDF', Buffer.from('new pdf'));
    expect(await names(emu(), 'reports')).toEqual(['Reports/Q1.pdf', 'Reports/Résumé Ĳssel.txt']);
    expect((await download(emu(), 'Reports/Q1.pdf')).body.toString()).toBe('new pdf');
    expect((await call(emu(), 'POST', `${API}/folders/REPORTS`)).status).toBe(422);
  });

  it('renames when only the case changes, and refuses a move onto itself', async () => {
    await upload(emu(), 'case/a.txt', Buffer.from('a'));
    const r = await call(emu(), 'POST', `${API}/file_actions/move/case/a.txt`, { json: { destination: 'case/A.txt' } });
    expect(r.status).toBe(201);
    expect(r.json).toEqual({ status: 'completed' });
    expect(await names(emu(), 'case')).toEqual(['case/A.txt']);
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/case/a.txt`)).json.display_name).toBe('A.txt');
    const same = await call(emu(), 'POST', `${API}/file_actions/move/case/A.txt`, { json: { destination: 'case/A.txt' } });
    expect(same.json.type).toBe('bad-request/destination-same');
  });

  it('moves and copies files at once, with overwrite, 422 on an existing destination, 409 without a parent', async () => {
    await upload(emu(), 'mv/one.txt', Buffer.from('one'));
    await upload(emu(), 'mv/two.txt', Buffer.from('two'));
    const exists = await call(emu(), 'POST', `${API}/file_actions/move/mv/one.txt`, { json: { destination: 'mv/two.txt' } });
    expect(exists.status).toBe(422);
    expect(exists.json.type).toBe('processing-failure/destination-exists');
    const noParent = await call(emu(), 'POST', `${API}/file_actions/move/mv/one.txt`, { json: { destination: 'nowhere/one.txt' } });
    expect(noParent.status).toBe(409);
    expect(noParent.json.type).toBe('processing-failure/destination-parent-does-not-exist');
    const over = await call(emu(), 'POST', `${API}/file_actions/move/mv/one.txt`, { json: { destination: 'mv/two.txt', overwrite: true } });
    expect(over.json).toEqual({ status: 'completed' });
    expect(await names(emu(), 'mv')).toEqual(['mv/two.txt']);
    expect((await download(emu(), 'mv/two.txt')).body.toString()).toBe('one');
    const copy = await call(emu(), 'POST', `${API}/file_actions/copy/mv/two.txt`, { json: { destination: 'mv/three.txt' } });
    expect(copy.status).toBe(201);
    expect(copy.json).toEqual({ status: 'completed' });
    expect((await download(emu(), 'mv/three.txt')).body.toString()).toBe('one');
    expect((await call(emu(), 'POST', `${API}/file_actions/copy/mv/missing`, { json: { destination: 'mv/x' } })).status).toBe(404);
    expect((await call(emu(), 'POST', `${API}/file_actions/copy/mv/two.txt`, {})).json.type).toBe('bad-request/request-params-required');
  });

  it('moves and copies folders asynchronously: pending, then completed, visible only then', async () => {
    for (const f of ['src/a.txt', 'src/sub/b.txt', 'src/sub/deeper/c.txt']) await upload(emu(), f, Buffer.from(f));
    const mv = await call(emu(), 'POST', `${API}/file_actions/move/src`, { json: { destination: 'dst' } });
    expect(mv.status).toBe(201);
    expect(mv.json).toMatchObject({ status: 'pending', file_migration_id: expect.any(Number) });
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/dst`)).status).toBe(404);
    const { statuses, final } = await waitForMigration(emu(), mv.json.file_migration_id);
    expect(statuses[0]).toBe('pending');
    expect(statuses).toContain('in_progress');
    expect(final).toMatchObject({ status: 'completed', operation: 'move', path: 'src', dest_path: 'dst', files_total: 3, files_moved: 3, failure_message: null });
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/src`)).status).toBe(404);
    expect((await download(emu(), 'dst/sub/deeper/c.txt')).body.toString()).toBe('src/sub/deeper/c.txt');

    const cp = await call(emu(), 'POST', `${API}/file_actions/copy/dst`, { json: { destination: 'dst-copy' } });
    expect(cp.json.status).toBe('pending');
    expect((await waitForMigration(emu(), cp.json.file_migration_id)).final.status).toBe('completed');
    expect((await download(emu(), 'dst-copy/sub/b.txt')).body.toString()).toBe('src/sub/b.txt');
    expect((await download(emu(), 'dst/sub/b.txt')).body.toString()).toBe('src/sub/b.txt');
    // The copy is independent: deleting the original keeps the copy's content.
    expect((await call(emu(), 'DELETE', `${API}/files/dst`, { query: { recursive: true } })).status).toBe(204);
    expect((await download(emu(), 'dst-copy/a.txt')).body.toString()).toBe('src/a.txt');

    const into = await call(emu(), 'POST', `${API}/file_actions/move/dst-copy`, { json: { destination: 'dst-copy/sub/inside' } });
    expect(into.status).toBe(400);
    expect(into.json.type).toBe('bad-request/invalid-path');
    await call(emu(), 'POST', `${API}/folders/other`);
    expect((await call(emu(), 'POST', `${API}/file_actions/move/dst-copy`, { json: { destination: 'other' } })).json.type).toBe('processing-failure/destination-exists');
    expect((await call(emu(), 'GET', `${API}/file_migrations/99999`)).status).toBe(404);
  });

  it('reports a folder migration that cannot finish as failed', async () => {
    await upload(emu(), 'gone/x.txt', Buffer.from('x'));
    const mv = await call(emu(), 'POST', `${API}/file_actions/move/gone`, { json: { destination: 'gone2' } });
    await call(emu(), 'DELETE', `${API}/files/gone`, { query: { recursive: true } });
    const { final } = await waitForMigration(emu(), mv.json.file_migration_id);
    expect(final.status).toBe('failed');
    expect(String(final.failure_message)).toContain('not-found');
  });

  it('deletes: 204, 422 folder-not-empty without recursive, 404 when missing', async () => {
    await upload(emu(), 'del/sub/f.txt', Buffer.from('f'));
    const notEmpty = await call(emu(), 'DELETE', `${API}/files/del`);
    expect(notEmpty.status).toBe(422);
    expect(notEmpty.json).toMatchObject({ type: 'processing-failure/folder-not-empty', error: 'Folder del not empty' });
    // The JS SDK sends DELETE parameters as a JSON body.
    expect((await call(emu(), 'DELETE', `${API}/files/${enc('DEL')}`, { json: { path: 'DEL', recursive: true } })).status).toBe(204);
    expect((await call(emu(), 'DELETE', `${API}/files/del`)).status).toBe(404);
    await call(emu(), 'POST', `${API}/folders/empty-dir`);
    expect((await call(emu(), 'DELETE', `${API}/files/empty-dir`)).status).toBe(204);
  });

  it('sets provided_mtime with PATCH on files and folders; a folder mtime moves with its contents', async () => {
    await upload(emu(), 'p/f.txt', Buffer.from('f'));
    const f = await call(emu(), 'PATCH', `${API}/files/p/f.txt`, { json: { provided_mtime: '2001-09-09T01:46:40Z' } });
    expect(f.status).toBe(200);
    expect(f.json.provided_mtime).toBe('2001-09-09T01:46:40Z');
    const d = await call(emu(), 'PATCH', `${API}/files/p`, { json: { provided_mtime: '1999-12-31T23:59:59Z' } });
    expect(d.json).toMatchObject({ type: 'directory', provided_mtime: '1999-12-31T23:59:59Z' });
    expect((await call(emu(), 'PATCH', `${API}/files/p/missing`, { json: { provided_mtime: '1999-12-31T23:59:59Z' } })).status).toBe(404);
    const store = emu().internals.store;
    const dir = store.resolve('p')!;
    dir.mtime = 1_000_000; // pretend it is old
    await upload(emu(), 'p/g.txt', Buffer.from('g'));
    expect(store.resolve('p')!.mtime).toBeGreaterThan(1_000_000);
  });
});
