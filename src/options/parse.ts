// Parsers for option values, shared by every command and options type. Each
// takes the option's name for the message, so a bad value reads e.g.
// "--attr-ttl: expected a number of seconds ≥ 0, got \"abc\"".
import { ConfigError } from './config-error.js';

export function parseNumber(name: string, raw: string, range: { min?: number; max?: number; integer?: boolean } = {}): number {
  const value = Number(raw.trim());
  const kind = range.integer ? 'an integer' : 'a number';
  const bounds = [range.min !== undefined ? `≥ ${range.min}` : '', range.max !== undefined ? `≤ ${range.max}` : ''].filter(Boolean).join(' and ');
  if (raw.trim() === '' || !Number.isFinite(value) || (range.integer && !Number.isInteger(value))
    || (range.min !== undefined && value < range.min) || (range.max !== undefined && value > range.max)) {
    throw new ConfigError(`${name}: expected ${kind}${bounds ? ' ' + bounds : ''}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function parseInteger(name: string, raw: string, range: { min?: number; max?: number } = {}): number {
  return parseNumber(name, raw, { ...range, integer: true });
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4 };

/** Byte sizes: "1048576", "512K", "8MiB", "1.5G" (binary units). */
export function parseBytes(name: string, raw: string, range: { min?: number; max?: number } = {}): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(`${name}: expected a size such as 65536, 512K, 8M or 1G, got ${JSON.stringify(raw)}`);
  const value = Math.round(Number(m[1]) * unit);
  if ((range.min !== undefined && value < range.min) || (range.max !== undefined && value > range.max)) {
    throw new ConfigError(`${name}: ${raw} is out of range (${range.min ?? 0} … ${range.max ?? '∞'} bytes)`);
  }
  return value;
}

/** Seconds as a number ("2", "0.5"); 0 allowed where `min` allows it. */
export function parseSeconds(name: string, raw: string, range: { min?: number; max?: number } = { min: 0 }): number {
  return parseNumber(name, raw, range);
}

export function parseChoice<T extends string>(name: string, raw: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigError(`${name}: expected one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`);
}

/** Octal file mode bits such as 022 or 0o022. */
export function parseOctal(name: string, raw: string, max = 0o7777): number {
  const m = /^(?:0o)?([0-7]{1,4})$/.exec(raw.trim());
  const value = m ? parseInt(m[1]!, 8) : NaN;
  if (!m || value > max) throw new ConfigError(`${name}: expected an octal mode such as 022, got ${JSON.stringify(raw)}`);
  return value;
}

/** An http(s) URL without credentials, returned without a trailing slash. */
export function parseBaseUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(`${name}: not a URL: ${JSON.stringify(raw)} (expected e.g. https://example.files.com)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${name}: only http and https URLs are supported, got ${url.protocol}`);
  if (url.username || url.password) throw new ConfigError(`${name}: do not put credentials in the URL; use FILES_API_KEY or --api-key-file`);
  return url.href.replace(/\/+$/, '');
}
