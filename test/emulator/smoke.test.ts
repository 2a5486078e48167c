import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API, call, download, enc, upload } from './helpers.js';

describe('emulator smoke', () => {
  const emu = useEmulator();
  it('creates, uploads, lists, downloads, moves, deletes', async () => {
    expect((await call(emu(), 'POST', `${API}/folders/${enc('Reports')}`)).status).toBe(201);
    const up = await upload(emu(), 'Reports/Q1.pdf', Buffer.from('hello world'));
    expect(up.status).toBe(201);
    expect(up.json).toMatchObject({ path: 'Reports/Q1.pdf', size: 11, type: 'file' });
    const list = await call(emu(), 'GET', `${API}/folders/${enc('/')}`);
    expect(list.json.map((e: { path: string }) => e.path)).toEqual(['Reports']);
    const meta = await call(emu(), 'GET', `${API}/file_actions/metadata/REPORTS/q1.PDF`);
    expect(meta.json.path).toBe('Reports/Q1.pdf');
    const d = await download(emu(), 'reports/q1.pdf');
    expect(d.body.toString()).toBe('hello world');
    const mv = await call(emu(), 'POST', `${API}/file_actions/move/${enc('Reports/Q1.pdf')}`, { json: { destination: 'Reports/Q2.pdf' } });
    expect(mv.json).toEqual({ status: 'completed' });
    expect((await call(emu(), 'DELETE', `${API}/files/Reports`)).status).toBe(422);
    expect((await call(emu(), 'DELETE', `${API}/files/Reports`, { query: { recursive: true } })).status).toBe(204);
  });
});
