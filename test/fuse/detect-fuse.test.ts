// FUSE detection, with each probe redirected: every missing piece is named
// with what to do.
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { detectFuse, formatFuseProblems } from '../../native/detect-fuse.mjs';

describe('detectFuse', () => {
  test('this machine is ready (npm run setup has run)', () => {
    const r = detectFuse();
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.libfuse).toMatch(/libfuse3\.so\.3$/);
    expect(r.fusermount).toMatch(/fusermount3$/);
  });

  test('nothing installed: four problems, each with its fix', async () => {
    const empty = await mkdtemp(join(process.env.FILESFS_TEST_ROOT ?? tmpdir(), 'detect-'));
    const r = detectFuse({ ldconfigOutput: '', libraryDirs: [empty], pathEnv: empty, devFuse: join(empty, 'fuse'), fuseNativeDir: empty });
    expect(r.ok).toBe(false);
    const text = formatFuseProblems(r.problems);
    expect(text).toContain('the FUSE 3 library libfuse3.so.3 is not installed: install the Debian packages libfuse3-3 and fuse3: sudo apt-get install libfuse3-3 fuse3');
    expect(text).toContain('fusermount3 is not on PATH');
    expect(text).toContain('is missing: load the fuse kernel module (sudo modprobe fuse); in Docker add --device /dev/fuse --cap-add SYS_ADMIN');
    expect(text).toContain('our fuse-native binding is not built: run npm run setup');
    // Each problem says which part of the setup it is about (filesfs doctor's lines).
    expect(r.problems.map((p) => p.check)).toEqual(['library', 'fusermount', 'device', 'binding']);
  });

  test('ldconfig output and library folders are both consulted', async () => {
    const dir = await mkdtemp(join(process.env.FILESFS_TEST_ROOT ?? tmpdir(), 'detect-'));
    const ld = '\tlibfuse.so.2 (libc6,x86-64) => /opt/lib/libfuse.so.2\n\tlibfuse3.so.3 (libc6,x86-64) => /opt/lib/libfuse3.so.3\n';
    expect(detectFuse({ ldconfigOutput: ld }).libfuse).toBe('/opt/lib/libfuse3.so.3');
    // libfuse 2 alone is not enough.
    expect(detectFuse({ ldconfigOutput: '\tlibfuse.so.2 (libc6,x86-64) => /opt/lib/libfuse.so.2\n', libraryDirs: [dir] }).libfuse).toBeUndefined();
    await writeFile(join(dir, 'libfuse3.so.3'), '');
    expect(detectFuse({ ldconfigOutput: '', libraryDirs: [dir] }).libfuse).toBe(join(dir, 'libfuse3.so.3'));
  });

  test('a binding built from other sources is reported', async () => {
    const pkg = await mkdtemp(join(process.env.FILESFS_TEST_ROOT ?? tmpdir(), 'detect-'));
    await mkdir(join(pkg, 'build', 'Release'), { recursive: true });
    await writeFile(join(pkg, 'package.json'), JSON.stringify({ version: '2.2.6' }));
    await writeFile(join(pkg, 'build', 'Release', 'fuse.node'), '');
    await writeFile(join(pkg, 'build', 'filesfs-patch.sha256'), 'old\n');
    const r = detectFuse({ fuseNativeDir: pkg });
    expect(r.problems).toEqual([{ check: 'binding', problem: 'the fuse-native binding was built from other sources than native/ has now', fix: 'run npm run setup (it builds fuse-native from native/ on libfuse 3)' }]);
  });

  test('not Linux', () => {
    expect(formatFuseProblems(detectFuse({ platform: 'darwin' }).problems)).toMatch(/on Linux; this is darwin/);
  });

  test('a /dev/fuse that is not a device', async () => {
    const dir = await mkdtemp(join(process.env.FILESFS_TEST_ROOT ?? tmpdir(), 'detect-'));
    await writeFile(join(dir, 'fuse'), '');
    expect(detectFuse({ devFuse: join(dir, 'fuse') }).problems.map((p) => p.problem)).toEqual([`${join(dir, 'fuse')} is not a character device`]);
  });
});
