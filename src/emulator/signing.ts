// Presigned transfer URLs, S3 style: the emulator's upload and download URLs
// authorise themselves with an HMAC over method, path and query, plus
// X-Amz-Date/X-Amz-Expires, so that no client needs (or sends) API headers to
// them (docs/files-api.md §4, §5, §12). The S3 style matters: with it, Go-style
// clients ask begin_upload for each part's URL instead of reusing one.
//
// The key lives in <data>/signing-key (created once, mode 0600), so URLs stay
// valid across a restart on the same data dir.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

export type Verdict = 'ok' | 'expired' | 'invalid';

/** 20240530T153059Z */
export function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

function parseAmzDate(text: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return null;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

export class Signer {
  private constructor(private readonly key: Buffer) {}

  static async load(dataDir: string): Promise<Signer> {
    const file = join(dataDir, 'signing-key');
    try {
      const hex = (await readFile(file, 'utf8')).trim();
      if (/^[0-9a-f]{64}$/.test(hex)) return new Signer(Buffer.from(hex, 'hex'));
    } catch {
      // first start on this data dir
    }
    const key = randomBytes(32);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, key.toString('hex') + '\n', { mode: 0o600 });
    await rename(tmp, file);
    return new Signer(key);
  }

  private mac(method: string, pathname: string, query: URLSearchParams): Buffer {
    const pairs = [...query.entries()].filter(([k]) => k !== 'X-Amz-Signature').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const canonical = [method.toUpperCase(), pathname, ...pairs.map(([k, v]) => `${k}=${v}`)].join('\n');
    return createHmac('sha256', this.key).update(canonical).digest();
  }

  /** The query string (without '?') of a URL valid for `ttlSeconds` from `now`. */
  sign(method: string, pathname: string, extra: Record<string, string>, ttlSeconds: number, now = Date.now()): string {
    const date = amzDate(now);
    const query = new URLSearchParams({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `EMULATOR/${date.slice(0, 8)}/us-east-1/s3/aws4_request`,
      'X-Amz-Date': date,
      'X-Amz-Expires': String(Math.max(1, Math.round(ttlSeconds))),
      'X-Amz-SignedHeaders': 'host',
      ...extra,
    });
    query.set('X-Amz-Signature', this.mac(method, pathname, query).toString('hex'));
    return query.toString();
  }

  verify(method: string, pathname: string, query: URLSearchParams, now = Date.now()): Verdict {
    const given = query.get('X-Amz-Signature') ?? '';
    if (!/^[0-9a-f]{64}$/.test(given)) return 'invalid';
    const expected = this.mac(method, pathname, query);
    if (!timingSafeEqual(expected, Buffer.from(given, 'hex'))) return 'invalid';
    const date = parseAmzDate(query.get('X-Amz-Date') ?? '');
    const expires = Number(query.get('X-Amz-Expires'));
    if (date === null || !Number.isFinite(expires)) return 'invalid';
    return now > date + expires * 1000 ? 'expired' : 'ok';
  }

  /** When a signed query stops being valid (ms since the epoch). */
  static expiryOf(query: URLSearchParams): number {
    return (parseAmzDate(query.get('X-Amz-Date') ?? '') ?? 0) + Number(query.get('X-Amz-Expires') ?? 0) * 1000;
  }
}
