#!/usr/bin/env node
// npm's postinstall for an installed filesfs (`npm install -g filesfs-*.tgz`):
// builds our patched fuse-native binding (native/build-fuse-native.mjs, which
// does nothing when this exact build is already there). A build that fails
// does not fail the install: the package is there, and this says what is
// missing and the one command to run once it is installed; `filesfs doctor`
// and every mount say the same until then. Not Linux: nothing to build.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = join(root, 'native', 'build-fuse-native.mjs');
const say = (line) => process.stderr.write(`filesfs: ${line}\n`);

if (process.platform !== 'linux') {
  say(`FUSE mounts need Linux; skipping the native build on ${process.platform}`);
  process.exit(0);
}
const run = spawnSync(process.execPath, [build, '--if-needed'], { cwd: root, stdio: 'inherit' });
if (run.status !== 0) {
  say('the native FUSE binding could not be built (see above). filesfs is installed, but cannot mount until it is.');
  say('install what the build needs (Debian/Ubuntu: sudo apt-get install g++ make python3 patch libfuse2 fuse), then run:');
  say(`  node ${build}`);
  say('filesfs doctor checks the rest.');
}
process.exit(0);
