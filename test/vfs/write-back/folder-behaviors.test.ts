// Folder settings on the server that rename or refuse uploads (the
// emulator's behaviors, set through the API as another client would): the
// mount shows the name the server stored and logs the change; a refusal
// reaches the writer at fsync, and status and the log give the server's reason
// while the content stays kept.
import { describe, expect, it } from 'vitest';
import { API_PREFIX, useEmulator, useEmulatorClients } from '../../support/emulator.js';
import { expectErrno, readAll } from '../helpers.js';
import { O_CREAT, O_TRUNC, O_WRONLY, until, writeBackFs, writeFile } from './helpers.js';

const API_KEY = 'behaviorsKey42';
const emu = useEmulator({ apiKey: API_KEY });
const client = useEmulatorClients(emu, API_KEY);

async function behavior(path: string, type: string, value: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${emu().url}${API_PREFIX}/behaviors`, {
    method: 'POST',
    headers: { 'x-filesapi-key': API_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ path, behavior: type, value }),
  });
  expect(res.status).toBe(201);
}

describe('folder behaviors', () => {
  it('a folder that renames uploads: the mount shows the stored name, the requested one goes, the log says why', async () => {
    const c = client();
    await c.mkdir('stamped');
    await behavior('stamped', 'override_upload_filename', { filename_override_pattern: '%Fb-stamped%Fe' });
    const { fs, writeBack, logs } = await writeBackFs(c, { writeBack: { uploadDelayMs: 0 } });
    await writeFile(fs, '/stamped/report.txt', 'quarterly');
    await writeBack.drain();
    await until(async () => (await fs.readdir('/stamped')).map((e) => e.name).join() === 'report-stamped.txt', 5_000, 'the stored name');
    expect((await readAll(fs, '/stamped/report-stamped.txt')).toString()).toBe('quarterly');
    await expectErrno(fs.getattr('/stamped/report.txt'), 'ENOENT');
    expect(logs.some((l) => l.includes('the server stored stamped/report.txt as stamped/report-stamped.txt'))).toBe(true);
    await writeBack.close();
  });

  it('a folder that refuses an extension: fsync fails with EIO, status and the log give the reason, the content stays', async () => {
    const c = client();
    await c.mkdir('no-exe');
    await behavior('no-exe', 'limit_file_extensions', { extensions: ['exe'], mode: 'blacklist' });
    const { fs, writeBack, logs } = await writeBackFs(c, { writeBack: { uploadDelayMs: 60_000 } });
    const fh = await fs.create('/no-exe/tool.exe', 0o644, O_CREAT | O_WRONLY | O_TRUNC);
    await fs.write('/no-exe/tool.exe', fh, Buffer.from('MZ...'), 0);
    await expectErrno(fs.fsync('/no-exe/tool.exe', fh, false), 'EIO');
    await fs.release('/no-exe/tool.exe', fh);
    const status = writeBack.status();
    expect(status.failedUploads).toBe(1);
    expect(status.files[0]!.error).toMatch(/destination-folder-limited/);
    expect(logs.some((l) => l.includes('WARN') && l.includes('tool.exe refused by the server'))).toBe(true);
    expect((await readAll(fs, '/no-exe/tool.exe')).toString()).toBe('MZ...');
    await writeBack.close();
  });
});
