// Reading a filesfs line of /etc/fstab, for `filesfs doctor MOUNTPOINT`
// (which then checks that mount, with its site and options). fstab(5): six
// fields separated by blanks, "#" comments, spaces in a field written \040;
// a filesfs line has type fuse.filesfs (or filesfs, through mount.filesfs),
// or the older type fuse with the source filesfs#SITE.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface FstabEntry {
  /** The mount source: the site. */
  site: string;
  mountpoint: string;
  type: string;
  /** The options field as written ("defaults" when empty). */
  options: string;
  line: number;
}

/** fstab's octal escapes: \040 space, \011 tab, \012 newline, \134 backslash. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Every filesfs line of an fstab text. */
export function parseFstab(text: string): FstabEntry[] {
  const out: FstabEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/).map(unescape);
    if (fields.length < 3) return;
    const [source, mountpoint, type, options] = fields as [string, string, string, string | undefined];
    let site = source;
    if (type === 'fuse' && source.startsWith('filesfs#')) site = source.slice('filesfs#'.length);
    else if (type !== 'fuse.filesfs' && type !== 'filesfs') return;
    out.push({ site, mountpoint, type, options: options ?? 'defaults', line: index + 1 });
  });
  return out;
}

/** The filesfs line of `fstabFile` for `mountpoint` (compared as absolute paths), if any. */
export function findFstabEntry(mountpoint: string, fstabFile = '/etc/fstab'): FstabEntry | undefined {
  let text: string;
  try {
    text = readFileSync(fstabFile, 'utf8');
  } catch {
    return undefined;
  }
  const wanted = resolve(mountpoint).replace(/\/+$/, '') || '/';
  return parseFstab(text).find((e) => (resolve(e.mountpoint).replace(/\/+$/, '') || '/') === wanted);
}
