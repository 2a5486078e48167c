#!/usr/bin/env node
// The `filesfs` command: runs the compiled CLI, or says how to build it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('filesfs: not built yet. Run `npm run setup` (or `npm run build`) in the filesfs checkout first.');
  process.exit(1);
}
await import(main.href);
