import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveCredentials } from '../../src/mount/credentials.js';
import { findNetrcEntry } from '../../src/mount/netrc.js';
import { defaultCacheDir } from '../../src/mount/cache-dir.js';
import { preparePrivateDir } from '../../src/options/private-dir.js';
import { createLogger } from '../../src/log/logger.js';
import { statSync } from 'node:fs';

const dir = mkdtempSync(join(process.env.FILESFS_TEST_ROOT ?? tmpdir(), 'cred-'));
const none = join(dir, 'no-netrc');
const base = { baseUrl: 'https://acme.files.com', netrcFile: none };

describe('resolveCredentials', () => {
  it('prefers --api-key-file and warns when others can read it', () => {
    const file = join(dir, 'key');
    writeFileSync(file, 'abc123KEY\n');
    chmodSync(file, 0o644);
    const lines: string[] = [];
    const creds = resolveCredentials({ ...base, apiKeyFile: file, env: { FILES_API_KEY: 'other1234' }, logger: createLogger({ sink: (l) => lines.push(l) }) });
    expect(creds).toMatchObject({ kind: 'api-key', apiKey: 'abc123KEY' });
    expect(lines.join()).toMatch(/readable by other users.*chmod 600/);
    expect(lines.join()).not.toContain('abc123KEY');
    chmodSync(file, 0o600);
    lines.length = 0;
    resolveCredentials({ ...base, apiKeyFile: file, logger: createLogger({ sink: (l) => lines.push(l) }) });
    expect(lines).toHaveLength(0);
  });

  it('privateKeyFile (mounts through mount(8)): a key file others can read is refused, naming the fix, never the key', () => {
    const file = join(dir, 'fstab-key');
    writeFileSync(file, 'abc123KEY\n');
    chmodSync(file, 0o640);
    expect(() => resolveCredentials({ ...base, apiKeyFile: file, privateKeyFile: true })).toThrow(/^api_key_file .*fstab-key is readable by other users \(mode 0640\); only its owner may read it: chown .* && chmod 600 /);
    try {
      resolveCredentials({ ...base, apiKeyFile: file, privateKeyFile: true });
    } catch (err) {
      expect((err as Error).message).not.toContain('abc123KEY');
    }
    chmodSync(file, 0o600);
    expect(resolveCredentials({ ...base, apiKeyFile: file, privateKeyFile: true })).toMatchObject({ kind: 'api-key', apiKey: 'abc123KEY' });
  });

  it('reads FILES_API_KEY, then FILESCOM_API_KEY', () => {
    expect(resolveCredentials({ ...base, env: { FILESCOM_API_KEY: 'k2k2k2' } })).toMatchObject({ apiKey: 'k2k2k2', source: '$FILESCOM_API_KEY' });
    expect(resolveCredentials({ ...base, env: { FILES_API_KEY: 'k1k1k1', FILESCOM_API_KEY: 'k2k2k2' } })).toMatchObject({ apiKey: 'k1k1k1' });
  });

  it('uses a session from FILES_USERNAME/FILES_PASSWORD, and needs both', () => {
    expect(resolveCredentials({ ...base, env: { FILES_USERNAME: 'ann', FILES_PASSWORD: 'pw-secret' } })).toMatchObject({ kind: 'session', username: 'ann' });
    expect(() => resolveCredentials({ ...base, env: { FILES_USERNAME: 'ann' } })).toThrow(/both FILES_USERNAME and FILES_PASSWORD/);
  });

  it('falls back to ~/.netrc for the site host', () => {
    const netrcFile = join(dir, 'netrc');
    writeFileSync(netrcFile, 'machine other.files.com login x password y\n\nmachine ACME.files.com\n  login "bob smith"\n  password s3cr3t\n');
    expect(resolveCredentials({ baseUrl: base.baseUrl, netrcFile, env: {} })).toMatchObject({ kind: 'session', username: 'bob smith', password: 's3cr3t' });
  });

  it('says every way to give credentials when there are none, without secrets', () => {
    expect(() => resolveCredentials({ ...base, env: {} })).toThrow(/FILES_API_KEY.*--api-key-file.*FILES_USERNAME.*machine acme\.files\.com/);
  });

  it('refuses a key file that is missing or not a key', () => {
    expect(() => resolveCredentials({ ...base, apiKeyFile: join(dir, 'missing'), env: {} })).toThrow(/no such file/);
    const bad = join(dir, 'bad');
    writeFileSync(bad, 'not a key at all');
    expect(() => resolveCredentials({ ...base, apiKeyFile: bad, env: {} })).toThrow(/does not look like/);
  });
});

describe('netrc', () => {
  it('finds the default entry and skips macdef blocks', () => {
    const text = 'macdef init\ncd /\nls\n\ndefault login anon password guest\n';
    expect(findNetrcEntry(text, 'x.example')).toEqual({ login: 'anon', password: 'guest' });
    expect(findNetrcEntry('', 'x')).toBeUndefined();
  });
});

describe('cache dir', () => {
  it('is keyed by site and root, and private', () => {
    const env = { XDG_CACHE_HOME: dir };
    const a = defaultCacheDir('https://a.files.com/', '/Docs/', env);
    expect(a).toBe(defaultCacheDir('https://a.files.com', 'Docs', env));
    expect(a).not.toBe(defaultCacheDir('https://a.files.com', 'Other', env));
    expect(a.startsWith(join(dir, 'filesfs'))).toBe(true);
    preparePrivateDir(a);
    expect(statSync(a).mode & 0o777).toBe(0o700);
  });
});
