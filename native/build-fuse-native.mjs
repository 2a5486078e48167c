#!/usr/bin/env node
// Builds fuse-native's native binding from our source, against the system
// libfuse 3, into node_modules/fuse-native/build/Release (which fuse-native's
// loader prefers over its bundled prebuilds, built for libfuse 2):
//   - native/fuse-native.c and native/binding.gyp are copied over the
//     package's own (the binding is ours: a port of fuse-native's to the
//     libfuse 3 API; fuse-native.c's header lists what it changes and why);
//   - native/fuse-native-index.patch is applied to the package's index.js,
//     which stays the JavaScript face (the lock and flock operations, rename
//     flags, fusermount3; its header lists each change);
//   - node-gyp builds it; binding.gyp asks pkg-config for fuse3's flags, so
//     the binding links the system libfuse3.so.3 (Debian libfuse3-3, built
//     against libfuse3-dev).
// The package's originals are kept beside them (*.orig) and restored before
// each build, so a build never stacks on a previous one.
//
// `--if-needed` skips the build when the stamp says these exact sources were
// already built for this fuse-native. Run by scripts/setup.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { spawnSync, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bindingSourceHash, OWN_FILES, PATCHED_FILES } from './binding-sources.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'package.json'));
const pkgDir = dirname(require.resolve('fuse-native/package.json'));
const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
const wanted = bindingSourceHash(version, here);
const stampFile = join(pkgDir, 'build', 'filesfs-patch.sha256');
const binding = join(pkgDir, 'build', 'Release', 'fuse.node');

if (process.argv.includes('--if-needed') && existsSync(binding) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === wanted) {
  process.exit(0);
}

console.error(`setup: building fuse-native ${version} on libfuse 3 (native/fuse-native.c)`);
const pkgConfig = spawnSync('pkg-config', ['--modversion', 'fuse3'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
if (pkgConfig.status !== 0) {
  console.error(`setup: pkg-config does not find libfuse 3 (install the Debian packages libfuse3-dev and pkg-config): ${(pkgConfig.stderr || pkgConfig.error?.message || '').trim()}`);
  process.exit(1);
}

for (const [ours, theirs] of OWN_FILES) {
  keepOriginal(theirs);
  copyFileSync(join(here, ours), join(pkgDir, theirs));
}
for (const [patchFile, target] of PATCHED_FILES) {
  keepOriginal(target);
  copyFileSync(join(pkgDir, `${target}.orig`), join(pkgDir, target));
  const applied = spawnSync('patch', ['--forward', '--batch', '-p1', '-i', join(here, patchFile)], { cwd: pkgDir, stdio: ['ignore', 'pipe', 'pipe'] });
  if (applied.status !== 0) {
    console.error(`setup: native/${patchFile} does not apply to fuse-native ${version}:\n${applied.stdout}${applied.stderr}`);
    process.exit(1);
  }
}

const nodeGyp = findNodeGyp();
const args = [nodeGyp, 'rebuild'];
const nodedir = findNodeHeaders();
if (nodedir) args.push(`--nodedir=${nodedir}`);
const built = spawnSync(process.execPath, args, { cwd: pkgDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });
if (built.status !== 0 || !existsSync(binding)) {
  console.error(`setup: building fuse-native failed (needs g++, make, python3, pkg-config, libfuse3-dev and Node's headers):\n${built.stdout}${built.stderr}`);
  process.exit(1);
}
writeFileSync(stampFile, wanted + '\n');

/** The package's own copy of `file`, kept once as `file.orig`. */
function keepOriginal(file) {
  const original = join(pkgDir, `${file}.orig`);
  if (!existsSync(original)) copyFileSync(join(pkgDir, file), original);
}

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
