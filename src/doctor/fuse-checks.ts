// The doctor's FUSE checks, from native/detect-fuse.mjs (whichever libfuse
// generation the binding is built for: it names the library and the
// fusermount it looks for) and from loading the binding itself:
//   FUSE device   /dev/fuse exists and this user may read and write it
//   FUSE library  the system libfuse the binding links against
//   fusermount    on PATH (mounting as a user, unmounting)
//   allow_other   needed only when asked for and not root: user_allow_other
//                 in /etc/fuse.conf
//   native binding  built with our patch, and it loads (dlopen finds libfuse)
import { readFile } from 'node:fs/promises';
import { detectFuse, type FuseDetection, type FuseProblem } from '../../native/detect-fuse.mjs';
import { fail, ok, skip, type CheckResult } from './check.js';

export interface FuseCheckOptions {
  /** The mount would use allow_other (--allow-other or -o allow_other). */
  allowOther: boolean;
  /** Replaces the detection (tests). */
  detect?: () => FuseDetection;
  /** Loads the binding; rejects with why it cannot (tests replace it). */
  loadBinding?: () => Promise<void>;
  fuseConf?: string;
  uid?: number;
}

/** Loading the module that loads the binding: the test a mount would fail first. */
async function loadBindingModule(): Promise<void> {
  await import('../fuse/filesfs-fuse.js');
}

export async function checkFuse(options: FuseCheckOptions): Promise<CheckResult[]> {
  const detection = (options.detect ?? detectFuse)();
  const of = (check: string): FuseProblem | undefined => detection.problems.find((p) => p.check === check);
  const asFailure = (name: string, p: FuseProblem): CheckResult => fail(name, p.problem, p.fix);
  const results: CheckResult[] = [];

  const platform = of('platform');
  if (platform) return [asFailure('FUSE', platform)];

  const device = of('device');
  results.push(device ? asFailure('FUSE device', device) : ok('FUSE device', '/dev/fuse is there and this user may read and write it'));
  const library = of('library');
  results.push(library ? asFailure('FUSE library', library) : ok('FUSE library', detection.libfuse ?? 'found'));
  const fusermount = of('fusermount');
  results.push(fusermount ? asFailure('fusermount', fusermount) : ok('fusermount', detection.fusermount ?? 'found'));
  results.push(await checkAllowOther(options));
  // A problem detect-fuse did not say the part of (another binding generation): shown as is.
  for (const p of detection.problems.filter((q) => !['platform', 'device', 'library', 'fusermount', 'binding'].includes(q.check))) results.push(asFailure('FUSE', p));

  const binding = of('binding');
  if (binding) {
    results.push(asFailure('native binding', binding));
  } else if (library) {
    results.push(skip('native binding', 'not loaded (the FUSE library is missing)'));
  } else {
    try {
      await (options.loadBinding ?? loadBindingModule)();
      results.push(ok('native binding', 'built with our patch, and it loads'));
    } catch (err) {
      results.push(fail('native binding', `does not load: ${err instanceof Error ? err.message : String(err)}`, 'rebuild it (npm run setup in a checkout, or node <filesfs>/native/build-fuse-native.mjs) and check the FUSE library above'));
    }
  }
  return results;
}

async function checkAllowOther(options: FuseCheckOptions): Promise<CheckResult> {
  if (!options.allowOther) return ok('allow_other', 'not asked for (only the mounting user will see into the mount)');
  const uid = options.uid ?? process.geteuid?.();
  if (uid === 0) return ok('allow_other', 'asked for; root may use it');
  const confPath = options.fuseConf ?? '/etc/fuse.conf';
  const conf = await readFile(confPath, 'utf8').catch(() => '');
  if (/^\s*user_allow_other\s*$/m.test(conf)) return ok('allow_other', `asked for; ${confPath} has user_allow_other`);
  return fail('allow_other', `asked for, but ${confPath} has no line "user_allow_other"`, `as root, add that line to ${confPath} (or mount as root)`);
}
