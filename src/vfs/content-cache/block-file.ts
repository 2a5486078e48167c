// The files of the content cache on disk, and how each proves its bytes.
//
//   <cache dir>/content/<id>/meta.json        one file version (meta.ts)
//   <cache dir>/content/<id>/<i>.<n>.<crc>.<boot>   block i: n bytes
//
// A block is written to a temporary name in the same folder and renamed into
// place once written, so a reader never sees half a block, and a write that
// fails (a full disk) leaves only a temporary file, removed then or at the
// next start. The name carries the block's length and the CRC-32 of its
// bytes, and the boot it was written in (the first 8 hex digits of the
// kernel's boot id): a block renamed in this boot is whole (the kernel keeps
// what a process wrote even if the process is killed), while one from an
// earlier boot may have lost bytes in a power cut (a rename can reach the
// disk before the data), so it is checked against its CRC the first time it
// is read, and renamed to this boot's tag once it passed. Everything the
// cache needs at start is in the names: one readdir per version, no reads.
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';

export const META_FILE = 'meta.json';

export interface BlockName {
  index: number;
  length: number;
  crc: number;
  boot: string;
}

const BLOCK_NAME = /^(\d+)\.(\d+)\.([0-9a-f]{8})\.([0-9a-z]{8})$/;

export function blockFileName(b: BlockName): string {
  return `${b.index}.${b.length}.${b.crc.toString(16).padStart(8, '0')}.${b.boot}`;
}

export function parseBlockFileName(name: string): BlockName | null {
  const m = BLOCK_NAME.exec(name);
  if (!m) return null;
  return { index: Number(m[1]), length: Number(m[2]), crc: Number.parseInt(m[3]!, 16), boot: m[4]! };
}

/** A temporary name for block `index` (never a block's name: it starts with a dot). */
export function tempFileName(index: number, nonce: string): string {
  return `.${index}.${nonce}.tmp`;
}

export function isTempFileName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

/** CRC-32 of a block's bytes (given in parts, in order). */
export function blockChecksum(data: Uint8Array | readonly Uint8Array[]): number {
  if (data instanceof Uint8Array) return crc32(data) >>> 0;
  let crc = 0;
  for (const part of data) crc = crc32(part, crc);
  return crc >>> 0;
}

let bootTag: string | undefined;
/** The tag of a system without a boot id: never proof of anything. */
const NO_BOOT = 'noboot00';

/**
 * This boot's tag: the first 8 hex digits of the kernel's boot id; a tag no
 * block can have when there is none (every block is then checked once read).
 */
export function currentBootTag(): string {
  if (bootTag === undefined) {
    try {
      bootTag = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').replace(/[^0-9a-f]/gi, '').slice(0, 8).toLowerCase();
    } catch {
      bootTag = '';
    }
    if (bootTag.length !== 8) bootTag = NO_BOOT;
  }
  return bootTag;
}

/** True when a block tagged `tag` was written in this boot (so it is whole). */
export function isThisBoot(tag: string): boolean {
  return tag === currentBootTag() && tag !== NO_BOOT;
}
