// The emulator's own name rules (src/emulator/names.ts, written apart from the
// client's validator), over HTTP: what normalisation removes, what is
// refused with which error, and the documented choices where the API facts
// are silent (trailing \v and \f refused, trailing NBSP and U+3000 accepted,
// lengths in code points, invalid UTF-8 in the URL).
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API, call, enc, upload } from './helpers.js';

describe('name rules', () => {
  const emu = useEmulator();
  const mkdir = (path: string) => call(emu(), 'POST', `${API}/folders/${enc(path)}`, { json: { mkdir_parents: true } });
  const stat = (path: string) => call(emu(), 'GET', `${API}/file_actions/metadata/${enc(path)}`);

  it('refuses a name ending in space, tab, CR, LF, VT or FF — in any segment, for folders, uploads and move destinations', async () => {
    for (const ws of [' ', '\t', '\r', '\n', '\v', '\f']) {
      const r = await mkdir(`ws/name${ws}`);
      expect(r.status, JSON.stringify(ws)).toBe(400);
      expect(r.json.type).toBe('bad-request/path-cannot-have-trailing-whitespace');
    }
    expect((await mkdir('ws/parent /child')).json.type).toBe('bad-request/path-cannot-have-trailing-whitespace');
    expect((await upload(emu(), 'ws/file.txt ', Buffer.from('x'))).json.type).toBe('bad-request/path-cannot-have-trailing-whitespace');
    await upload(emu(), 'ws/ok.txt', Buffer.from('x'));
    const mv = await call(emu(), 'POST', `${API}/file_actions/move/ws/ok.txt`, { json: { destination: 'ws/moved.txt\t' } });
    expect(mv.json.type).toBe('bad-request/path-cannot-have-trailing-whitespace');
    // Leading white space is fine.
    expect((await mkdir('ws/ leading')).status).toBe(201);
  });

  it('accepts a trailing NBSP or ideographic space (unconfirmed); such a name compares equal to the name without it', async () => {
    const nbsp = await mkdir('uni/nbsp\u00a0');
    expect(nbsp.status).toBe(201);
    expect(nbsp.json.display_name).toBe('nbsp\u00a0');
    expect((await stat('uni/nbsp')).json.display_name).toBe('nbsp\u00a0');
    expect((await mkdir('uni/wide\u3000')).status).toBe(201);
    expect((await mkdir('uni/wide')).json.type).toBe('processing-failure/destination-exists');
  });

  it('normalises: NUL deleted, backslash a separator, empty, . and .. segments dropped (not resolved)', async () => {
    expect((await mkdir('norm/a\u0000b')).json.path).toBe('norm/ab');
    expect((await mkdir('norm\\back\\slash')).json.path).toBe('norm/back/slash');
    expect((await mkdir('norm//./x/../y/')).json.path).toBe('norm/x/y');
    expect((await mkdir('/')).json.type).toBe('bad-request/invalid-path');
    expect((await mkdir('./..')).json.type).toBe('bad-request/invalid-path');
  });

  it('allows 512 characters per name and 5,000 per path, counted in code points', async () => {
    expect((await mkdir(`len/${'n'.repeat(512)}`)).status).toBe(201);
    expect((await mkdir(`len/${'😀'.repeat(512)}`)).status).toBe(201);
    const long = await mkdir(`len/${'n'.repeat(513)}`);
    expect(long.status).toBe(422);
    expect(long.json.type).toBe('processing-failure/filename-too-long');
    const segments = Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(500, 'p'));
    const deep = await mkdir(segments.join('/'));
    expect(deep.status).toBe(422);
    expect(deep.json.type).toBe('processing-failure/path-too-long');
    expect((await mkdir(segments.slice(0, 9).join('/'))).status).toBe(201); // 4,508 characters
  });

  it('refuses a URL path that is not UTF-8, and a lone surrogate in a parameter, as invalid-input-encoding', async () => {
    const latin1 = await call(emu(), 'POST', `${API}/folders/caf%E9`);
    expect(latin1.status).toBe(400);
    expect(latin1.json.type).toBe('bad-request/invalid-input-encoding');
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/%C3%28`)).json.type).toBe('bad-request/invalid-input-encoding');
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/100%zz`)).json.type).toBe('bad-request/invalid-path');
    await upload(emu(), 'enc/f.txt', Buffer.from('f'));
    const surrogate = await call(emu(), 'POST', `${API}/file_actions/move/enc/f.txt`, { body: '{"destination":"enc/\\ud800.txt"}', headers: { 'content-type': 'application/json' } });
    expect(surrogate.json.type).toBe('bad-request/invalid-input-encoding');
  });
});
