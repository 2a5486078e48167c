#!/usr/bin/env node
// Builds fuse-native's C binding from source with our patch applied
// (native/fuse-native.patch), into node_modules/fuse-native/build/Release,
// which fuse-native's loader prefers over its bundled prebuilds.
//
// Why we own a patch: fuse-native 2.2.6 passes atime twice to utimens (so
// mtime is lost and `cp -p`/`rsync -t` could not keep times), turns
// UTIME_NOW/UTIME_OMIT into times in 1970, never lets libfuse pass a
// single-time utimens (`touch -m -d`), does not pass open flags to create,
// cannot serve reads/writes on a file unlinked while open under hard_remove,
// lets child processes inherit /dev/fuse, and leaves a dead mount behind when
// libfuse rejects an option.
// The patch's header explains each change. The binding links against the
// system libfuse.so.2 (Debian libfuse2).
//
// `--if-needed` skips the build when the stamp says this exact patch was
// already built for this fuse-native. Run by scripts/setup.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { spawnSync, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'package.json'));
const pkgDir = dirname(require.resolve('fuse-native/package.json'));
const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
const patchFile = join(here, 'fuse-native.patch');
const patch = readFileSync(patchFile);
const wanted = createHash('sha256').update(version).update(patch).digest('hex');
const stampFile = join(pkgDir, 'build', 'filesfs-patch.sha256');
const binding = join(pkgDir, 'build', 'Release', 'fuse.node');

if (process.argv.includes('--if-needed') && existsSync(binding) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === wanted) {
  process.exit(0);
}

console.error(`setup: building fuse-native ${version} with native/fuse-native.patch`);
const source = join(pkgDir, 'fuse-native.c');
const pristine = join(pkgDir, 'fuse-native.c.orig');
if (!existsSync(pristine)) copyFileSync(source, pristine);
copyFileSync(pristine, source);
const applied = spawnSync('patch', ['--forward', '--batch', '-p1', '-i', patchFile], { cwd: pkgDir, stdio: ['ignore', 'pipe', 'pipe'] });
if (applied.status !== 0) {
  console.error(`setup: native/fuse-native.patch does not apply to fuse-native ${version}:\n${applied.stdout}${applied.stderr}`);
  process.exit(1);
}

const nodeGyp = findNodeGyp();
const args = [nodeGyp, 'rebuild'];
const nodedir = findNodeHeaders();
if (nodedir) args.push(`--nodedir=${nodedir}`);
const built = spawnSync(process.execPath, args, { cwd: pkgDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });
if (built.status !== 0 || !existsSync(binding)) {
  console.error(`setup: building fuse-native failed (needs g++, make, python3 and Node's headers):\n${built.stdout}${built.stderr}`);
  process.exit(1);
}
writeFileSync(stampFile, wanted + '\n');

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    candidates.push(join(execFileSync('npm', ['root', '-g'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(), 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  } catch { /* npm not on PATH */ }
  candidates.push(join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    console.error('setup: cannot find node-gyp (it ships with npm); looked in:\n  ' + candidates.join('\n  '));
    process.exit(1);
  }
  return found;
}

// Node's headers installed beside the node binary (Debian/NodeSource layout
// /usr/include/node, or an official tarball's <prefix>/include/node): use them
// rather than letting node-gyp download headers, which offline machines cannot.
function findNodeHeaders() {
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}
