// Which names stay local: the files desktops and editors make for themselves
// (Finder's .DS_Store and ._ resource forks, Windows' Thumbs.db and
// desktop.ini, Office's ~$ owner files, LibreOffice's .~lock files, vim's
// swap files, NFS's silly-renamed files). Shared with colleagues they are
// noise at best, and some (owner files) mean something false on another
// machine. Patterns are shell globs (`*`, `?`, `[...]`) matched against a
// file's name, case-insensitively like the site's names.

/** The default patterns (docs/semantics.md, "OS junk stays local"). */
export const DEFAULT_LOCAL_ONLY = Object.freeze([
  '.DS_Store',
  '._*',
  'Thumbs.db',
  'desktop.ini',
  '~$*',
  '.~lock.*#',
  '.*.swp',
  '.*.swx',
  '.nfs*',
]);

export class LocalOnlyPatterns {
  private readonly regexes: RegExp[];

  constructor(readonly globs: readonly string[]) {
    this.regexes = globs.map(globToRegExp);
  }

  /** True when a file with this name stays local. */
  matches(name: string): boolean {
    for (const re of this.regexes) if (re.test(name)) return true;
    return false;
  }

  get empty(): boolean {
    return this.regexes.length === 0;
  }
}

/** A shell glob for one name as an anchored, case-insensitive RegExp. */
export function globToRegExp(glob: string): RegExp {
  if (glob === '' || glob.includes('/')) throw new Error(`local-only pattern ${JSON.stringify(glob)}: expected a file name pattern (no "/")`);
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
        continue;
      }
      let set = glob.slice(i + 1, close);
      if (set.startsWith('!')) set = '^' + set.slice(1);
      out += `[${set.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 'is');
}
