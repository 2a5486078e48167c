// The data every way works on, made before anything is mounted and timed:
//   local      sources/big.bin (random bytes), sources/small/ (N random 4 KiB files)
//   emulator   read/read-<pass>.bin, read/random.bin and read/warm.bin (server-side copies of
//              one upload: they share content but are separate files, so
//              each cold read is a file filesfs never saw), small-0/ and
//              small-20/ (the copy-out sources of each latency), ls/ (the
//              listing folder), write/ (empty)
//   rclone     the same tree in the folder rclone serves (copies, hard links)
// Random bytes, so that nothing on the way can compress them.
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bench } from './context.js';
import { runOk } from './procs.js';
import { eachLimit } from './raw.js';

/** Requests in flight while seeding (not measured; just quick). */
const SEED_CONCURRENCY = 16;

export const smallName = (i: number): string => `f-${String(i).padStart(5, '0')}.bin`;
export const listName = (i: number): string => `entry-${String(i).padStart(5, '0')}.txt`;
export const readName = (pass: number): string => `read/read-${pass + 1}.bin`;
export const RANDOM_FILE = 'read/random.bin';
/** The file read again after a remount (workloads/warm-read.ts): neither mount read it before. */
export const WARM_FILE = 'read/warm.bin';
export const smallSource = (latencyMs: number): string => `small-${latencyMs}`;

export async function makeLocalSources(bench: Bench): Promise<void> {
  const { sources } = bench.paths;
  await mkdir(join(sources, 'small'), { recursive: true });
  // head reads /dev/urandom in large blocks: ~1 GiB in a few seconds.
  await runOk('sh', ['-c', `head -c ${bench.scale.bigBytes} /dev/urandom > "$1"`, 'sh', join(sources, 'big.bin')]);
  for (let i = 0; i < bench.scale.smallFiles; i++) await writeFile(join(sources, 'small', smallName(i)), randomBytes(bench.scale.smallFileBytes));
}

export async function seedEmulator(bench: Bench, latencies: readonly number[]): Promise<void> {
  const { raw, scale } = bench;
  await raw.uploadFile(join(bench.paths.sources, 'big.bin'), readName(0), scale.bigBytes);
  for (let pass = 1; pass < scale.passes; pass++) await raw.copy(readName(0), readName(pass));
  await raw.copy(readName(0), RANDOM_FILE);
  await raw.copy(readName(0), WARM_FILE);
  await raw.mkdir('write');
  const small = await smallBuffers(bench);
  for (const latency of latencies) {
    await eachLimit(small, SEED_CONCURRENCY, async (data, i) => raw.uploadBuffer(`${smallSource(latency)}/${smallName(i)}`, data));
  }
  await raw.uploadBuffer(`ls/${listName(0)}`, Buffer.from('entry\n'));
  const rest = Array.from({ length: scale.listEntries - 1 }, (_, i) => i + 1);
  await eachLimit(rest, SEED_CONCURRENCY, async (i) => raw.copy(`ls/${listName(0)}`, `ls/${listName(i)}`));
}

export async function seedRcloneBackend(bench: Bench, latencies: readonly number[]): Promise<void> {
  const backend = bench.paths.rcloneBackend;
  const { scale } = bench;
  await mkdir(join(backend, 'read'), { recursive: true });
  await mkdir(join(backend, 'write'), { recursive: true });
  await mkdir(join(backend, 'ls'), { recursive: true });
  await copyFile(join(bench.paths.sources, 'big.bin'), join(backend, readName(0)));
  for (let pass = 1; pass < scale.passes; pass++) await link(join(backend, readName(0)), join(backend, readName(pass)));
  await link(join(backend, readName(0)), join(backend, RANDOM_FILE));
  await link(join(backend, readName(0)), join(backend, WARM_FILE));
  for (const latency of latencies) {
    await runOk('cp', ['-r', join(bench.paths.sources, 'small'), join(backend, smallSource(latency))]);
  }
  for (let i = 0; i < scale.listEntries; i++) await writeFile(join(backend, 'ls', listName(i)), 'entry\n');
}

async function smallBuffers(bench: Bench): Promise<Buffer[]> {
  return Promise.all(Array.from({ length: bench.scale.smallFiles }, (_, i) => readFile(join(bench.paths.sources, 'small', smallName(i)))));
}
