// Test runner configuration. Files run in separate forked processes (FUSE and
// native code must not share a worker), two at a time on the 2-core machines
// we run on. The global setup owns the scratch root under which every test puts
// its temp dirs and mountpoints, and unmounts anything left there at the end.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    globalSetup: ['test/support/global-setup.ts'],
    // Every transition of a pending file checks its invariants, in the tests
    // and in the mount processes they start (which inherit the environment).
    env: { FILESFS_CHECK_INVARIANTS: '1' },
    reporters: ['default'],
  },
});
