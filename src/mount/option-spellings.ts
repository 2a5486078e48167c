// The `-o` spelling of every `filesfs mount` flag, as sshfs and s3fs take
// theirs, so that a mount can be written as one option list: an /etc/fstab
// line, a systemd .mount unit's Options=, or `mount -t fuse.filesfs SITE DIR
// -o OPTIONS`. `--attr-ttl 10` is `-o attr_ttl=10`, `--read-only` is
// `-o read_only` (or `ro`), and so on: the flag's name with "_" for "-".
//
// A `-o` list is split here into
//   - filesfs's own options, turned into the flag values parseArgs would have
//     produced (a value for a string flag, none for a boolean one);
//   - options for mount(8) and systemd that reach a mount helper (_netdev,
//     nofail, noauto, x-systemd.*, comment=, ...): accepted and ignored here,
//     they were for the tools before us;
//   - everything else, checked as libfuse options by src/fuse, which
//     refuses an unknown one with its own one-line reason (or, for a near
//     miss of one of ours, "did you mean attr_ttl?").
// The API key is never a mount option: a mount line is readable by every
// user (/etc/fstab, `ps`, the unit file), so `api_key=` is refused with what
// to do instead.
import { ConfigError } from '../options/config-error.js';
import { parseExtraOptions } from '../fuse/index.js';

/** What parseArgs produces for the flags (a string, a boolean, or a list for -o). */
export type FlagValues = Partial<Record<string, string | boolean | string[]>>;

/** The flag spec shape these functions need (MOUNT_FLAGS). */
export type FlagSpec = Readonly<Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>>;

/** Flags that have no -o spelling, and why (the message for a user who tries one). */
const NO_SPELLING: Readonly<Record<string, string>> = {
  o: '',
  daemon: 'a mount through mount(8) always runs in the background; `filesfs mount` takes --daemon',
  'api-key': 'a key on a mount line is readable by every user (/etc/fstab, ps, unit files); put it in a file only root can read (chmod 600) and pass api_key_file=FILE',
};

/** Short spellings mount(8) users know, for flags of ours. */
const ALIASES: Readonly<Record<string, string>> = { ro: 'read-only' };

/** Options meant for mount(8), systemd or the fstab reader, which a mount helper may still be handed. */
const FOR_OTHER_TOOLS = new Set(['_netdev', 'nofail', 'noauto', 'auto', 'user', 'nouser', 'users', 'nousers', 'owner', 'group', 'defaults']);
const FOR_OTHER_TOOLS_PREFIXES = ['x-', 'X-', 'comment='];

export interface SplitOptions {
  /** Flag values from -o, by flag name (e.g. "attr-ttl" → "10", "read-only" → true; a list for a repeatable flag). */
  flags: Record<string, string | boolean | string[]>;
  /** Which -o item gave each flag (for messages), by flag name. */
  spelledAs: Record<string, string>;
  /** The items left for libfuse, in order. */
  fuse: string[];
  /** The items ignored as options for other tools. */
  ignored: string[];
}

/** "attr-ttl" → "attr_ttl". */
export function optionSpelling(flag: string): string {
  return flag.replace(/-/g, '_');
}

/** The -o names of filesfs's own options, sorted (for help and messages). */
export function ownOptionNames(flags: FlagSpec): string[] {
  return Object.keys(flags).filter((f) => !(f in NO_SPELLING)).map(optionSpelling).sort();
}

/** Splits -o lists (each "a,b=c,..."); throws ConfigError for a refused or malformed item. */
export function splitMountOptions(lists: readonly string[], flags: FlagSpec): SplitOptions {
  const byName = new Map<string, string>();
  for (const flag of Object.keys(flags)) if (!(flag in NO_SPELLING)) byName.set(optionSpelling(flag), flag);
  const out: SplitOptions = { flags: {}, spelledAs: {}, fuse: [], ignored: [] };
  for (const list of lists) {
    for (const raw of list.split(',')) {
      const item = raw.trim();
      if (item === '') continue;
      const eq = item.indexOf('=');
      const name = eq < 0 ? item : item.slice(0, eq);
      const value = eq < 0 ? undefined : item.slice(eq + 1);
      if (FOR_OTHER_TOOLS.has(name) || FOR_OTHER_TOOLS_PREFIXES.some((p) => item.startsWith(p))) {
        out.ignored.push(item);
        continue;
      }
      const refusedFlag = Object.keys(NO_SPELLING).find((f) => f !== 'o' && (optionSpelling(f) === name || f === name));
      if (refusedFlag) throw new ConfigError(`-o ${name}: not accepted: ${NO_SPELLING[refusedFlag]}`);
      const flag = byName.get(name) ?? ALIASES[name];
      if (flag === undefined) {
        try {
          parseExtraOptions([item]);
        } catch (err) {
          // Not a libfuse option either: perhaps one of ours, misspelt.
          const near = nearest(name, [...byName.keys()]);
          if (near) throw new ConfigError(`-o ${name}: unknown mount option; did you mean ${near}? (filesfs's own options are spelled with "_": ${[...byName.keys()].sort().join(', ')})`);
          throw err;
        }
        out.fuse.push(item);
        continue;
      }
      const spec = flags[flag]!;
      if (spec.type === 'boolean') {
        if (value !== undefined) throw new ConfigError(`-o ${name}: takes no value (write -o ${name}, not -o ${item})`);
        out.flags[flag] = true;
      } else {
        if (value === undefined || value === '') throw new ConfigError(`-o ${name}: expected ${name}=VALUE`);
        if (spec.multiple) out.flags[flag] = [...((out.flags[flag] as string[] | undefined) ?? []), value];
        else out.flags[flag] = value;
      }
      out.spelledAs[flag] = name;
    }
  }
  return out;
}

/**
 * Flag values with the -o spellings applied: `values.o` keeps only the
 * libfuse items. A flag given both as --flag and as -o is refused (which one
 * was meant?); between two -o items the later one wins, as in mount(8).
 */
export function applyOptionSpellings(values: FlagValues, flags: FlagSpec): { values: FlagValues; label: (flag: string) => string } {
  const lists = (values.o as string[] | undefined) ?? [];
  const split = splitMountOptions(lists, flags);
  const merged: FlagValues = { ...values, o: split.fuse };
  for (const [flag, value] of Object.entries(split.flags)) {
    const given = values[flag];
    // A repeatable flag takes both: --local-only A -o local_only=B is A and B.
    if (Array.isArray(value) && (given === undefined || Array.isArray(given))) {
      merged[flag] = [...((given as string[] | undefined) ?? []), ...value];
      continue;
    }
    if (given !== undefined) throw new ConfigError(`--${flag} and -o ${split.spelledAs[flag]} are both given; keep one`);
    merged[flag] = value;
  }
  // A bad value is reported under the name it was given by: "-o attr_ttl: ...".
  const label = (flag: string): string => (split.spelledAs[flag] ? `-o ${split.spelledAs[flag]}` : `--${flag}`);
  return { values: merged, label };
}

/** A name of ours within two edits of `name` (a typo, or "-" for "_"), if there is exactly one best. */
function nearest(name: string, names: readonly string[]): string | undefined {
  const wanted = name.replace(/-/g, '_').toLowerCase();
  if (names.includes(wanted)) return wanted;
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of names) {
    const d = editDistance(wanted, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  // A short name is too easily two edits from anything (e.g. "dev" → "gid").
  return best !== undefined && bestDistance <= Math.min(2, Math.floor(wanted.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
