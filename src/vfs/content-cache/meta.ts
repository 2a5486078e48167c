// meta.json of one cached file version: which remote file it was (its path,
// for the start-up index and renames), which version (content-version.ts),
// the download's ETag once seen, and the block size its block files are cut
// in. Written to a temporary name and renamed, so it is either the old or the
// new one; a version folder without a readable meta.json is removed at start.
import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { META_FILE } from './block-file.js';
import type { ContentVersion } from './content-version.js';

const FORMAT = 1;

export interface VersionMeta {
  path: string;
  blockSize: number;
  version: ContentVersion;
  etag: string | null;
}

interface MetaJson {
  format: number;
  path: string;
  blockSize: number;
  size: number;
  mtime: number;
  serverMtime: number | null;
  md5: string | null;
  crc32: string | null;
  etag: string | null;
}

export async function writeMeta(dir: string, meta: VersionMeta): Promise<void> {
  const json: MetaJson = { format: FORMAT, path: meta.path, blockSize: meta.blockSize, ...meta.version, etag: meta.etag };
  const temp = join(dir, `.meta.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, JSON.stringify(json), { mode: 0o600, flag: 'wx' });
    await rename(temp, join(dir, META_FILE));
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isTextOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** The meta of a version folder, or null when it is missing or not ours. */
export async function readMeta(dir: string): Promise<VersionMeta | null> {
  let json: Partial<MetaJson>;
  try {
    json = JSON.parse(await readFile(join(dir, META_FILE), 'utf8')) as Partial<MetaJson>;
  } catch {
    return null;
  }
  if (json.format !== FORMAT || typeof json.path !== 'string' || !isNumber(json.blockSize) || !isNumber(json.size) || !isNumber(json.mtime)) return null;
  if (!(json.serverMtime === null || isNumber(json.serverMtime)) || !isTextOrNull(json.md5) || !isTextOrNull(json.crc32) || !isTextOrNull(json.etag)) return null;
  return {
    path: json.path,
    blockSize: json.blockSize,
    version: { size: json.size, mtime: json.mtime, serverMtime: json.serverMtime, md5: json.md5, crc32: json.crc32 },
    etag: json.etag,
  };
}
