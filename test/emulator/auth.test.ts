// Authentication (docs/files-api.md §1): open when no key and no users are set;
// with a key every API call needs it or a session; sessions from users;
// presigned transfer URLs and control endpoints never need credentials.
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API, call, upload } from './helpers.js';

describe('auth off', () => {
  const emu = useEmulator();
  it('answers without credentials and ignores any sent', async () => {
    expect((await call(emu(), 'GET', `${API}/folders/`)).status).toBe(200);
    expect((await call(emu(), 'GET', `${API}/folders/`, { headers: { 'X-FilesAPI-Key': 'whatever' } })).status).toBe(200);
    const login = await call(emu(), 'POST', `${API}/sessions`, { json: { username: 'u', password: 'p' } });
    expect(login.status).toBe(401);
    expect(login.json.type).toBe('not-authenticated/invalid-username-or-password');
  });
});

describe('auth on', () => {
  const KEY = 'k3y0123456789abcdef';
  const emu = useEmulator({ apiKey: KEY, users: [{ username: 'alice', password: 'wonder land' }] });

  it('refuses a missing or wrong key with 401 and accepts the right one', async () => {
    const none = await call(emu(), 'GET', `${API}/folders/`);
    expect(none.status).toBe(401);
    expect(none.json.type).toBe('not-authenticated/authentication-required');
    expect(none.headers['x-files-error-class']).toBe('not-authenticated/authentication-required');
    const wrong = await call(emu(), 'GET', `${API}/folders/`, { headers: { 'X-FilesAPI-Key': 'nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.json.type).toBe('not-authenticated/invalid-credentials');
    expect(JSON.stringify(wrong.json)).not.toContain(KEY);
    expect((await call(emu(), 'GET', `${API}/folders/`, { headers: { 'X-FilesAPI-Key': KEY } })).status).toBe(200);
    // Every route checks it, not only listing.
    for (const [method, path] of [['POST', 'folders/x'], ['GET', 'files/x'], ['DELETE', 'files/x'], ['POST', 'file_actions/begin_upload/x'], ['GET', 'file_migrations/1']] as const) {
      expect((await call(emu(), method, `${API}/${path}`)).status, `${method} ${path}`).toBe(401);
    }
  });

  it('logs users in and out with sessions (X-FilesAPI-Auth)', async () => {
    const bad = await call(emu(), 'POST', `${API}/sessions`, { json: { username: 'alice', password: 'wrong' } });
    expect(bad.status).toBe(401);
    expect(bad.json.type).toBe('not-authenticated/invalid-username-or-password');
    const login = await call(emu(), 'POST', `${API}/sessions`, { form: 'username=alice&password=wonder+land' });
    expect(login.status).toBe(201);
    const id = login.json.id as string;
    expect(id).toMatch(/^[A-Za-z0-9]{20,}$/);
    expect(login.json).toMatchObject({ read_only: false, sftp_insecure_ciphers: false });
    const session = { 'X-FilesAPI-Auth': id };
    expect((await call(emu(), 'POST', `${API}/folders/by-session`, { headers: session })).status).toBe(201);
    expect((await upload(emu(), 'by-session/f.txt', Buffer.from('s'), { headers: session })).status).toBe(201);
    expect((await call(emu(), 'DELETE', `${API}/sessions`, { headers: session })).status).toBe(204);
    const after = await call(emu(), 'GET', `${API}/folders/`, { headers: session });
    expect(after.status).toBe(401);
    expect(after.json.type).toBe('not-authenticated/invalid-session');
    expect((await call(emu(), 'DELETE', `${API}/sessions`, { headers: session })).status).toBe(401);
  });

  it('needs no credentials on presigned URLs or control endpoints', async () => {
    // upload() sends the key to the API calls only; its part PUTs carry none.
    expect((await upload(emu(), 'nokey/f.txt', Buffer.from('x'), { headers: { 'X-FilesAPI-Key': KEY } })).status).toBe(201);
    const meta = await call(emu(), 'GET', `${API}/files/nokey/f.txt`, { headers: { 'X-FilesAPI-Key': KEY } });
    const res = await fetch(meta.json.download_uri);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('x');
    expect((await call(emu(), 'GET', '/__emulator/stats')).status).toBe(200);
  });
});
