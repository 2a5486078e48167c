// Sequential write of the large file until durable, and sequential cold read
// of it, the three ways.
//
// Write: `cp sources/big.bin <mount>/write/…`, timed from the start of cp
// until the data is on the server (filesfs: `filesfs status` shows nothing
// pending or uploading; rclone: see rclone.ts waitDurable; raw: the `end`
// call returned), then checked there and removed (untimed) so storage does
// not grow pass after pass.
// Read: page cache dropped, then `dd if=<mount>/read/read-N.bin of=/dev/null
// bs=1M`; each pass reads a file neither mount has read before, so the
// mounts' own caches are empty too. raw downloads the same file with
// parallel range requests (raw.ts).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { countEmulatorRequests, dropCaches, type Bench } from '../context.js';
import { runOk } from '../procs.js';
import type { Row } from '../report.js';
import { readName } from '../seed.js';
import { formatSize, now, timed } from '../units.js';
import { measure, type PassResult, type WayOrReason } from './common.js';
import { curlDownload, curlUpload, partFiles } from '../curl.js';

const DURABLE_TIMEOUT_MS = 15 * 60_000;

function filesfsWay(bench: Bench): string | undefined {
  return typeof bench.filesfs === 'string' ? bench.filesfs : undefined;
}

export async function sequentialWrite(bench: Bench): Promise<Row> {
  const size = bench.scale.bigBytes;
  const source = join(bench.paths.sources, 'big.bin');
  const name = (who: string, pass: number): string => `write/${who}-${pass + 1}.bin`;

  const filesfs: WayOrReason = filesfsWay(bench) ?? bench.filesfsWrites ?? (async (pass) => {
    const mount = bench.filesfs as Exclude<Bench['filesfs'], string>;
    const remote = name('filesfs', pass);
    const { value, requests } = await countEmulatorRequests(bench, async () => {
      const started = now();
      const cp = await runOk('cp', [source, join(mount.mountpoint, remote)]);
      const durableAt = await mount.waitDurable(DURABLE_TIMEOUT_MS);
      return { seconds: durableAt - started, copySeconds: cp.seconds };
    });
    await expectOnServer(bench, remote, size);
    bench.filesfsBytesMoved += size;
    await rm(join(mount.mountpoint, remote));
    return { ...value, bytes: size, requests };
  });

  const raw: WayOrReason = async (pass) => {
    const remote = name('raw', pass);
    const { value, requests } = await countEmulatorRequests(bench, () => timed(() => bench.raw.uploadFile(source, remote, size)));
    await expectOnServer(bench, remote, size);
    await bench.raw.remove(remote);
    return { seconds: value.seconds, bytes: size, requests };
  };

  const rclone: WayOrReason = typeof bench.rclone === 'string' ? bench.rclone : async (pass) => {
    const side = bench.rclone as Exclude<Bench['rclone'], string>;
    const remote = name('rclone', pass);
    const started = now();
    const cp = await runOk('cp', [source, join(side.direct.mountpoint, remote)]);
    const durableAt = await side.direct.waitDurable(bench.paths.rcloneBackend, [{ path: remote, size }], DURABLE_TIMEOUT_MS);
    const result: PassResult = { seconds: durableAt - started, copySeconds: cp.seconds, bytes: size };
    await rm(join(side.direct.mountpoint, remote));
    return result;
  };

  const curlPath = bench.tools.curl.path;
  const curl: WayOrReason = curlPath ? async (pass) => {
    const remote = name('curl', pass);
    const parts = await partFiles(source, join(bench.paths.work, 'parts'));
    const { value: seconds, requests } = await countEmulatorRequests(bench, () => curlUpload(curlPath, bench.raw, parts, remote, size, bench.paths.work));
    await expectOnServer(bench, remote, size);
    await bench.raw.remove(remote);
    return { seconds, bytes: size, requests };
  } : bench.tools.curl.reason ?? 'curl is not installed';

  const cells = await measure(bench, 'sequential write', bench.scale.writePasses, { filesfs, raw, rclone, curl });
  return { workload: 'seq_write', title: `seq write ${formatSize(size)} (until durable)`, bytes: size, latency_ms: 0, ...cells };
}

async function expectOnServer(bench: Bench, remote: string, size: number): Promise<void> {
  const found = await bench.raw.size(remote);
  if (found !== size) throw new Error(`${remote}: the server has ${found ?? 'no file'} instead of ${size} bytes`);
}

/** `dd` of a file to /dev/null with 1 MiB reads; checks the byte count dd reports. */
async function ddRead(path: string, size: number): Promise<number> {
  const result = await runOk('dd', [`if=${path}`, 'of=/dev/null', 'bs=1M']);
  const m = /^(\d+) bytes/m.exec(result.stderr);
  if (!m || Number(m[1]) !== size) throw new Error(`dd ${path}: read ${m?.[1] ?? '?'} bytes, expected ${size}`);
  return result.seconds;
}

export async function sequentialRead(bench: Bench): Promise<Row> {
  const size = bench.scale.bigBytes;

  const filesfs: WayOrReason = filesfsWay(bench) ?? (async (pass) => {
    const mount = bench.filesfs as Exclude<Bench['filesfs'], string>;
    await dropCaches(bench);
    const { value: seconds, requests } = await countEmulatorRequests(bench, () => ddRead(join(mount.mountpoint, readName(pass)), size));
    bench.filesfsBytesMoved += size;
    return { seconds, bytes: size, requests };
  });

  const raw: WayOrReason = async (pass) => {
    await dropCaches(bench);
    const { value, requests } = await countEmulatorRequests(bench, () => timed(() => bench.raw.download(readName(pass), size)));
    return { seconds: value.seconds, bytes: size, requests };
  };

  const rclone: WayOrReason = typeof bench.rclone === 'string' ? bench.rclone : async (pass) => {
    const side = bench.rclone as Exclude<Bench['rclone'], string>;
    await dropCaches(bench);
    return { seconds: await ddRead(join(side.direct.mountpoint, readName(pass)), size), bytes: size };
  };

  const curlPath = bench.tools.curl.path;
  const curl: WayOrReason = curlPath ? async (pass) => {
    await dropCaches(bench);
    const { value: seconds, requests } = await countEmulatorRequests(bench, () => curlDownload(curlPath, bench.raw, readName(pass), size));
    return { seconds, bytes: size, requests };
  } : bench.tools.curl.reason ?? 'curl is not installed';

  const cells = await measure(bench, 'sequential read', bench.scale.passes, { filesfs, raw, rclone, curl });
  return { workload: 'seq_read', title: `seq read ${formatSize(size)} (cold)`, bytes: size, latency_ms: 0, ...cells };
}
