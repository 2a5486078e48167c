// Can this machine mount filesfs? Checks everything outside our code that a
// FUSE mount needs, and says for each missing piece what to do:
//   - Linux (FUSE through libfuse 3 is what our binding uses);
//   - the system libfuse3.so.3 (Debian/Ubuntu package libfuse3-3), which our
//     fuse-native binding links against;
//   - `fusermount3` on PATH (Debian package fuse3), which libfuse runs to
//     mount as a normal user and which unmount uses;
//   - the /dev/fuse device, readable and writable (containers need it passed in);
//   - our fuse-native binding, built by `npm run setup`
//     (native/build-fuse-native.mjs writes a stamp of the sources it built).
// Plain JavaScript so the CLI, scripts/setup and the tests can all use it;
// detect-fuse.d.mts gives TypeScript its types. Every probe can be redirected
// for tests through `DetectOptions`.
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bindingSourceHash } from './binding-sources.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const INSTALL_DEBIAN = 'install the Debian packages libfuse3-3 and fuse3: sudo apt-get install libfuse3-3 fuse3';

/** The libfuse 3 library our binding links against. */
const LIBFUSE = 'libfuse3.so.3';

/** Where distributions put libfuse3.so.3 when ldconfig is unavailable or says nothing. */
const LIBRARY_DIRS = [
  '/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu',
  '/lib/arm-linux-gnueabihf', '/usr/lib/arm-linux-gnueabihf',
  '/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/local/lib',
];

const LDCONFIG_CANDIDATES = ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig'];

/**
 * @param {import('./detect-fuse.d.mts').DetectOptions} [options]
 * @returns {import('./detect-fuse.d.mts').FuseDetection}
 */
export function detectFuse(options = {}) {
  const platform = options.platform ?? process.platform;
  const problems = [];
  if (platform !== 'linux') {
    problems.push({ check: 'platform', problem: `filesfs mounts through FUSE on Linux; this is ${platform}`, fix: 'run filesfs on Linux (or in a Linux container with --device /dev/fuse --cap-add SYS_ADMIN)' });
    return { ok: false, problems, libfuse: undefined, fusermount: undefined };
  }

  const libfuse = findLibfuse(options);
  if (!libfuse) problems.push({ check: 'library', problem: `the FUSE 3 library ${LIBFUSE} is not installed`, fix: INSTALL_DEBIAN });

  const fusermount = findOnPath('fusermount3', options.pathEnv ?? process.env.PATH ?? '');
  if (!fusermount) problems.push({ check: 'fusermount', problem: 'fusermount3 is not on PATH', fix: INSTALL_DEBIAN });

  const devFuse = options.devFuse ?? '/dev/fuse';
  const device = checkDevice(devFuse);
  if (device) problems.push(device);

  const binding = checkBinding(options.fuseNativeDir ?? fuseNativeDir(), options.nativeDir ?? here);
  if (binding) problems.push(binding);

  return { ok: problems.length === 0, problems, libfuse, fusermount };
}

/** One message for all problems, each with what to do. */
export function formatFuseProblems(problems) {
  if (problems.length === 0) return '';
  const lines = problems.map((p) => `  - ${p.problem}: ${p.fix}`);
  return `cannot mount with FUSE on this machine:\n${lines.join('\n')}`;
}

function findLibfuse(options) {
  if (options.ldconfigOutput !== undefined) {
    const hit = parseLdconfig(options.ldconfigOutput);
    if (hit) return hit;
  } else {
    for (const cmd of LDCONFIG_CANDIDATES) {
      const run = spawnSync(cmd, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      if (run.status === 0) {
        const hit = parseLdconfig(run.stdout);
        if (hit) return hit;
        break;
      }
    }
  }
  for (const dir of options.libraryDirs ?? LIBRARY_DIRS) {
    const candidate = join(dir, LIBFUSE);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** "\tlibfuse3.so.3 (libc6,x86-64) => /lib/x86_64-linux-gnu/libfuse3.so.3" → the path. */
function parseLdconfig(text) {
  for (const line of text.split('\n')) {
    const m = /^\s*libfuse3\.so\.3 \(.*\) => (\S+)/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

function findOnPath(name, pathEnv) {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function checkDevice(devFuse) {
  let st;
  try {
    st = statSync(devFuse);
  } catch {
    return {
      check: 'device',
      problem: `${devFuse} is missing`,
      fix: 'load the fuse kernel module (sudo modprobe fuse); in Docker add --device /dev/fuse --cap-add SYS_ADMIN (and --security-opt apparmor:unconfined where AppArmor blocks mounts)',
    };
  }
  if (!st.isCharacterDevice()) return { check: 'device', problem: `${devFuse} is not a character device`, fix: 'recreate it: sudo mknod -m 666 /dev/fuse c 10 229' };
  try {
    accessSync(devFuse, constants.R_OK | constants.W_OK);
  } catch {
    return { check: 'device', problem: `no read/write permission on ${devFuse}`, fix: `ask an administrator for access (e.g. sudo chmod 666 ${devFuse}, or add your user to the group owning it)` };
  }
  return undefined;
}

function fuseNativeDir() {
  try {
    const require = createRequire(join(here, '..', 'package.json'));
    return dirname(require.resolve('fuse-native/package.json'));
  } catch {
    return undefined;
  }
}

/** Mirrors native/build-fuse-native.mjs: the stamp holds the hash of the sources it built (binding-sources.mjs). */
function checkBinding(pkgDir, nativeDir) {
  const fix = 'run npm run setup (it builds fuse-native from native/ on libfuse 3)';
  if (!pkgDir) return { check: 'binding', problem: 'the npm package fuse-native is not installed', fix: 'run npm run setup (or npm ci)' };
  const stamp = join(pkgDir, 'build', 'filesfs-patch.sha256');
  if (!existsSync(join(pkgDir, 'build', 'Release', 'fuse.node')) || !existsSync(stamp)) {
    return { check: 'binding', problem: 'our fuse-native binding is not built', fix };
  }
  try {
    const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
    if (readFileSync(stamp, 'utf8').trim() !== bindingSourceHash(version, nativeDir)) return { check: 'binding', problem: 'the fuse-native binding was built from other sources than native/ has now', fix };
  } catch (err) {
    return { check: 'binding', problem: `cannot check the fuse-native binding (${err instanceof Error ? err.message : String(err)})`, fix };
  }
  return undefined;
}
