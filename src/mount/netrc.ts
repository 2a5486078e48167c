// A reader for ~/.netrc (the format curl, ftp and git use): `machine HOST
// login USER password PASS`, `default` entries, `macdef` blocks skipped. Used
// as one of the ways to give filesfs a Files.com username and password without
// putting them on the command line.

export interface NetrcEntry {
  login?: string;
  password?: string;
  account?: string;
}

/** Returns the entry for `host` (exact, case-insensitive), else the `default` entry. */
export function findNetrcEntry(text: string, host: string): NetrcEntry | undefined {
  const tokens = tokenize(text);
  let machine: string | null | undefined; // undefined: before any; null: default
  let current: NetrcEntry = {};
  const entries: Array<{ machine: string | null; entry: NetrcEntry }> = [];
  const flush = (): void => {
    if (machine !== undefined) entries.push({ machine, entry: current });
    current = {};
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    switch (token) {
      case 'machine':
        flush();
        machine = tokens[++i] ?? '';
        break;
      case 'default':
        flush();
        machine = null;
        break;
      case 'login':
      case 'password':
      case 'account':
        current[token] = tokens[++i];
        break;
      case 'macdef': {
        // A macro runs to the next empty line; tokenize marks that with ''.
        while (i + 1 < tokens.length && tokens[i + 1] !== '') i++;
        break;
      }
      default:
        break;
    }
  }
  flush();
  const wanted = host.toLowerCase();
  return entries.find((e) => e.machine?.toLowerCase() === wanted)?.entry ?? entries.find((e) => e.machine === null)?.entry;
}

/** Splits on white space, honouring "double quoted" tokens; '' marks a blank line. */
function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      out.push('');
      continue;
    }
    if (line.trimStart().startsWith('#')) continue;
    const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(line))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  }
  return out.filter((t, i, a) => t !== '' || (i > 0 && a[i - 1] !== ''));
}
