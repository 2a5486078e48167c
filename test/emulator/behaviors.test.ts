// Folder behaviors over HTTP, configured the way another client would (the
// SDKs' /behaviors routes): records (create, find, update, delete, lists),
// renaming uploads (override_upload_filename: the `end` answer carries the
// final path), refusing them (limit_file_extensions, limit_file_regex,
// limit_filename_length), recursion and its cancellation, and behaviors
// following their folder.
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API, call, enc, upload } from './helpers.js';

describe('folder behaviors', () => {
  const emu = useEmulator({ migrationMs: 30 });
  const create = (body: Record<string, unknown>) => call(emu(), 'POST', `${API}/behaviors`, { json: body });
  const mkdir = (path: string) => call(emu(), 'POST', `${API}/folders/${enc(path)}`, { json: { mkdir_parents: true } });
  const names = async (path: string) => ((await call(emu(), 'GET', `${API}/folders/${enc(path)}`)).json as Array<{ path: string }>).map((e) => e.path);

  async function waitForMigration(id: number): Promise<string> {
    for (let i = 0; i < 200; i++) {
      const m = (await call(emu(), 'GET', `${API}/file_migrations/${id}`)).json;
      if (m.status === 'completed' || m.status === 'failed') return m.status as string;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('migration did not finish');
  }

  it('keeps behavior records: create (value as JSON text, object or wrapped), find, update, list, list for a folder, delete', async () => {
    await mkdir('Rec/sub');
    const a = await create({ path: 'Rec', behavior: 'limit_file_extensions', value: JSON.stringify({ extensions: ['pdf'], mode: 'whitelist' }), name: 'PDFs only' });
    expect(a.status).toBe(201);
    expect(a.json).toEqual({
      id: expect.any(Number), path: 'Rec', attachment_url: null, behavior: 'limit_file_extensions', name: 'PDFs only', description: null,
      value: { extensions: ['pdf'], mode: 'whitelist' }, disable_parent_folder_behavior: false, recursive: true,
    });
    const b = await create({ path: 'rec/SUB', behavior: 'override_upload_filename', value: { override_upload_filename: { filename_override_pattern: '%Fb-x%Fe' } } });
    expect(b.json).toMatchObject({ path: 'Rec/sub', value: { filename_override_pattern: '%Fb-x%Fe' }, recursive: false });
    expect((await call(emu(), 'GET', `${API}/behaviors/${a.json.id}`)).json).toEqual(a.json);
    const upd = await call(emu(), 'PATCH', `${API}/behaviors/${b.json.id}`, { json: { value: { filename_override_pattern: '%Fb-y%Fe' }, recursive: true, description: 'rename' } });
    expect(upd.json).toMatchObject({ value: { filename_override_pattern: '%Fb-y%Fe' }, recursive: true, description: 'rename' });
    const all = (await call(emu(), 'GET', `${API}/behaviors`)).json as Array<{ id: number }>;
    expect(all.map((x) => x.id)).toEqual(expect.arrayContaining([a.json.id, b.json.id]));
    const filtered = (await call(emu(), 'GET', `${API}/behaviors`, { query: { 'filter[behavior]': 'override_upload_filename' } })).json as Array<{ id: number }>;
    expect(filtered.map((x) => x.id)).toEqual([b.json.id]);
    expect(((await call(emu(), 'GET', `${API}/behaviors/folders/Rec/sub`)).json as Array<{ id: number }>).map((x) => x.id)).toEqual([b.json.id]);
    const withAncestors = (await call(emu(), 'GET', `${API}/behaviors/folders/Rec/sub`, { query: { ancestor_behaviors: true } })).json as Array<{ id: number }>;
    expect(withAncestors.map((x) => x.id)).toEqual([a.json.id, b.json.id]);
    expect((await call(emu(), 'DELETE', `${API}/behaviors/${b.json.id}`)).status).toBe(204);
    expect((await call(emu(), 'GET', `${API}/behaviors/${b.json.id}`)).status).toBe(404);
    expect((await call(emu(), 'DELETE', `${API}/behaviors/${b.json.id}`)).status).toBe(404);
  });

  it('refuses unknown types (append_timestamp is gone), bad values, missing folders and files', async () => {
    await upload(emu(), 'Bad/file.txt', Buffer.from('f'));
    const bad = async (body: Record<string, unknown>, type = 'bad-request/request-params-invalid') => {
      const r = await create(body);
      expect(r.json.type, JSON.stringify(body)).toBe(type);
    };
    await bad({ path: 'Bad', behavior: 'append_timestamp', value: {} });
    await bad({ path: 'Bad', behavior: 'teleport' });
    await bad({ path: 'Bad', behavior: 'limit_file_extensions', value: { extensions: 'pdf', mode: 'greylist' } });
    await bad({ path: 'Bad', behavior: 'limit_file_regex', value: ['/(unclosed/'] });
    await bad({ path: 'Bad', behavior: 'limit_filename_length', value: { max_length: 0 } });
    await bad({ path: 'Bad', behavior: 'override_upload_filename', value: { time_zone: 'Mars/Olympus', filename_override_pattern: '%Y' } });
    await bad({ path: 'Bad', behavior: 'override_upload_filename', value: '{not json' });
    await bad({ path: 'Bad' }, 'bad-request/request-params-required');
    await bad({ path: 'Nowhere', behavior: 'limit_file_regex', value: ['/x/'] }, 'not-found');
    await bad({ path: 'Bad/file.txt', behavior: 'limit_file_regex', value: ['/x/'] }, 'bad-request/folder-must-not-be-a-file');
    // Other documented types are kept (without effect here).
    expect((await create({ path: 'Bad', behavior: 'file_expiration', value: 30 })).status).toBe(201);
  });

  it('renames uploads with override_upload_filename: the `end` answer carries the final path', async () => {
    await mkdir('Stamp/inner');
    await create({ path: 'Stamp', behavior: 'override_upload_filename', value: { filename_override_pattern: '%Fb-%Y%m%d%H%M%S%Fe' } });
    const r = await upload(emu(), 'Stamp/report.final.txt', Buffer.from('r'));
    expect(r.status).toBe(201);
    const m = /^Stamp\/report\.final-(\d{14})\.txt$/.exec(r.json.path as string);
    expect(m, r.json.path).not.toBeNull();
    expect(r.json.display_name).toBe(`report.final-${m![1]}.txt`);
    const stamp = m![1]!;
    const when = Date.UTC(+stamp.slice(0, 4), +stamp.slice(4, 6) - 1, +stamp.slice(6, 8), +stamp.slice(8, 10), +stamp.slice(10, 12), +stamp.slice(12, 14));
    expect(Math.abs(when - Date.now())).toBeLessThan(60_000);
    expect(await names('Stamp')).toEqual(['Stamp/inner', r.json.path]);
    // Not recursive: a subfolder's uploads keep their names.
    expect((await upload(emu(), 'Stamp/inner/plain.txt', Buffer.from('p'))).json.path).toBe('Stamp/inner/plain.txt');
    // A repeated `end` (clients retry POSTs) answers with the renamed file again.
    const slot = (await call(emu(), 'POST', `${API}/file_actions/begin_upload/Stamp/again.txt`)).json[0];
    await fetch(slot.upload_uri, { method: 'PUT', body: 'a' });
    const end1 = await call(emu(), 'POST', `${API}/files/Stamp/again.txt`, { json: { action: 'end', ref: slot.ref } });
    const end2 = await call(emu(), 'POST', `${API}/files/Stamp/again.txt`, { json: { action: 'end', ref: slot.ref } });
    expect(end2.status).toBe(201);
    expect(end2.json.path).toBe(end1.json.path);
    expect(end1.json.path).toMatch(/^Stamp\/again-\d{14}\.txt$/);
    // begin_upload still names the requested path.
    expect(slot.path).toBe('Stamp/again.txt');
  });

  it('renames with replace and regex steps, in a time zone, recursively unless a subfolder disables it', async () => {
    await mkdir('Zone/child/grandchild');
    await create({
      path: 'Zone', behavior: 'override_upload_filename', recursive: true,
      value: { filename_override_pattern: '%Fb_%z%Fe', time_zone: 'Tokyo', filename_replace_from: 'draft', filename_replace_to: 'final', filename_regex_replace_from: '^([a-z]+)-([a-z]+)', filename_regex_replace_to: '\\2-\\1' },
    });
    expect((await upload(emu(), 'Zone/one-draft.txt', Buffer.from('x'))).json.path).toBe('Zone/final-one_+0900.txt');
    expect((await upload(emu(), 'Zone/child/a-b.csv', Buffer.from('x'))).json.path).toBe('Zone/child/b-a_+0900.csv');
    await create({ path: 'Zone/child', behavior: 'override_upload_filename', disable_parent_folder_behavior: true, value: { filename_override_pattern: '%Ff' } });
    expect((await upload(emu(), 'Zone/child/a-b.csv', Buffer.from('x'))).json.path).toBe('Zone/child/a-b.csv');
    expect((await upload(emu(), 'Zone/child/grandchild/a-b.csv', Buffer.from('x'))).json.path).toBe('Zone/child/grandchild/a-b.csv');
  });

  it('refuses uploads by extension (whitelist, blacklist) and by name pattern, in subfolders too, at begin_upload', async () => {
    await mkdir('Only/sub');
    await create({ path: 'Only', behavior: 'limit_file_extensions', value: { extensions: ['pdf', '.CSV'], mode: 'whitelist' } });
    const refused = await call(emu(), 'POST', `${API}/file_actions/begin_upload/Only/sub/notes.txt`);
    expect(refused.status).toBe(422);
    expect(refused.json.type).toBe('processing-failure/destination-folder-limited');
    expect((await upload(emu(), 'Only/sub/table.csv', Buffer.from('c'))).status).toBe(201);
    expect((await upload(emu(), 'Only/paper.PDF', Buffer.from('p'))).status).toBe(201);
    expect((await upload(emu(), 'Only/README', Buffer.from('r'))).json.type).toBe('processing-failure/destination-folder-limited');

    await mkdir('Deny');
    await create({ path: 'Deny', behavior: 'limit_file_extensions', value: { extensions: ['exe'], mode: 'blacklist' } });
    expect((await upload(emu(), 'Deny/setup.EXE', Buffer.from('x'))).json.type).toBe('processing-failure/destination-folder-limited');
    expect((await upload(emu(), 'Deny/setup.txt', Buffer.from('x'))).status).toBe(201);

    await mkdir('Docs');
    await create({ path: 'Docs', behavior: 'limit_file_regex', value: ['/^Document-.*/'] });
    expect((await upload(emu(), 'Docs/Document-1.pdf', Buffer.from('d'))).status).toBe(201);
    expect((await upload(emu(), 'Docs/other.pdf', Buffer.from('d'))).json.type).toBe('processing-failure/destination-folder-limited');
  });

  it('checks the limits at `end` too: a behavior added while an upload was open refuses it', async () => {
    await mkdir('Late');
    const slot = (await call(emu(), 'POST', `${API}/file_actions/begin_upload/Late/a.txt`)).json[0];
    await fetch(slot.upload_uri, { method: 'PUT', body: 'a' });
    await create({ path: 'Late', behavior: 'limit_file_extensions', value: { extensions: ['pdf'] } });
    const end = await call(emu(), 'POST', `${API}/files/Late/a.txt`, { json: { action: 'end', ref: slot.ref } });
    expect(end.status).toBe(422);
    expect(end.json.type).toBe('processing-failure/destination-folder-limited');
  });

  it('shortens or refuses long names (limit_filename_length), keeping the extension', async () => {
    await mkdir('Short');
    await mkdir('Strict');
    await create({ path: 'Short', behavior: 'limit_filename_length', value: { max_length: 12, shorten: true } });
    await create({ path: 'Strict', behavior: 'limit_filename_length', value: { max_length: 12, shorten: false } });
    expect((await upload(emu(), 'Short/Text_file(1).TXT', Buffer.from('t'))).json.path).toBe('Short/Text_fil.TXT');
    expect((await upload(emu(), 'Short/tiny.txt', Buffer.from('t'))).json.path).toBe('Short/tiny.txt');
    const long = await upload(emu(), 'Strict/Text_file(1).TXT', Buffer.from('t'));
    expect(long.status).toBe(422);
    expect(long.json.type).toBe('processing-failure/filename-too-long');
  });

  it('limits moves and copies into limited folders; behaviors follow folder moves, go with deletes, and copy with copy_behaviors', async () => {
    await mkdir('Lim');
    await create({ path: 'Lim', behavior: 'limit_file_extensions', value: { extensions: ['pdf'] } });
    await upload(emu(), 'Loose/a.txt', Buffer.from('a'));
    await upload(emu(), 'Loose/b.pdf', Buffer.from('b'));
    await mkdir('Loose/folder');
    const mv = (from: string, to: string) => call(emu(), 'POST', `${API}/file_actions/move/${enc(from)}`, { json: { destination: to } });
    expect((await mv('Loose/a.txt', 'Lim/a.txt')).json.type).toBe('processing-failure/destination-folder-limited');
    expect((await mv('Loose/b.pdf', 'Lim/b.pdf')).status).toBe(201);
    expect((await mv('Loose/folder', 'Lim/folder')).json.type).toBe('processing-failure/destination-folder-limited');
    expect((await call(emu(), 'POST', `${API}/file_actions/copy/Loose/a.txt`, { json: { destination: 'Lim/c.txt' } })).json.type).toBe('processing-failure/destination-folder-limited');

    await mkdir('Carry/inside');
    const b = (await create({ path: 'Carry/inside', behavior: 'limit_file_regex', value: ['/^ok/'] })).json;
    const moved = await mv('Carry', 'Carried');
    expect(await waitForMigration(moved.json.file_migration_id)).toBe('completed');
    expect((await call(emu(), 'GET', `${API}/behaviors/${b.id}`)).json.path).toBe('Carried/inside');
    expect((await upload(emu(), 'Carried/inside/bad.txt', Buffer.from('x'))).json.type).toBe('processing-failure/destination-folder-limited');
    const cp = await call(emu(), 'POST', `${API}/file_actions/copy/Carried`, { json: { destination: 'Copied', copy_behaviors: true } });
    expect(await waitForMigration(cp.json.file_migration_id)).toBe('completed');
    const copies = (await call(emu(), 'GET', `${API}/behaviors/folders/Copied/inside`)).json as Array<{ id: number; value: unknown }>;
    expect(copies).toHaveLength(1);
    expect(copies[0]!.id).not.toBe(b.id);
    expect(copies[0]!.value).toEqual(['/^ok/']);
    const plain = await call(emu(), 'POST', `${API}/file_actions/copy/Carried`, { json: { destination: 'Plain' } });
    expect(await waitForMigration(plain.json.file_migration_id)).toBe('completed');
    expect((await call(emu(), 'GET', `${API}/behaviors/folders/Plain/inside`)).json).toEqual([]);
    expect((await call(emu(), 'DELETE', `${API}/files/Carried`, { query: { recursive: true } })).status).toBe(204);
    expect((await call(emu(), 'GET', `${API}/behaviors/${b.id}`)).status).toBe(404);
    expect((await upload(emu(), 'Carried/inside/bad.txt', Buffer.from('x'))).status).toBe(201);
  });
});
