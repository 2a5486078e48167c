// `filesfs emulator`: runs the local Files.com API emulator in the foreground.
// The first line on stdout is the base URL and nothing else goes to stdout
// (scripts read it); logs go to stderr. SIGINT/SIGTERM stop it cleanly.
import { ConfigError } from '../../options/config-error.js';
import { parseBytes, parseChoice, parseInteger, parseNumber, parseSeconds } from '../../options/parse.js';
import { createLogger, isLogLevel, LOG_LEVELS, registerSecret, type LogLevel } from '../../log/logger.js';
import { FAULT_KINDS, isFaultKind, type FaultKind } from '../../emulator/index.js';
import { startEmulator, type ApiKeyGrant, type EmulatorOptions } from '../../emulator/index.js';
import { parseCommandLine } from '../args.js';
import type { Command } from '../command.js';

const usage = `Usage: filesfs emulator [options]

Runs a local, stateful Files.com API emulator. Prints its base URL as the first
line on stdout; control endpoints live under <url>/__emulator/ (stats,
reset-stats, config).

Options:
  --data DIR            on-disk store (default: a fresh temp dir, removed at exit)
  --port N              port (default 0: any free port)
  --host H              address to listen on (default 127.0.0.1)
  --api-key [NAME:]KEY  require an API key (X-FilesAPI-Key) or a session; the
                        key acts as user NAME (default: admin). Repeatable, so
                        several users each have their own key. Also read from
                        FILES_EMULATOR_API_KEY
  --user NAME:PASSWORD  a user that may log in with POST /sessions (repeatable)
  --latency-ms N        delay added to every request (default 0)
  --bandwidth RATE      bytes per second for upload and download bodies,
                        e.g. 10M (default: unlimited)
  --fault-rate P        probability (0…1) that a request is faulted (default 0)
  --faults LIST         fault kinds, comma-separated: ${FAULT_KINDS.join(',')}
                        (default: all of them when --fault-rate is set)
  --fault-seed N        draw faults from a generator seeded with N (the same
                        requests in the same order meet the same faults)
  --stall-ms N          how long a stalled request is held before its
                        connection is dropped (default 300000: 5 minutes)
  --download-ttl S      presigned download URL lifetime in seconds (default 60)
  --upload-ttl S        presigned upload URL lifetime in seconds (default 900)
  --tls                 serve HTTPS with a self-signed certificate for 127.0.0.1
                        and localhost, written to <data>/tls/cert.pem
  --tls-cert FILE       serve HTTPS with this certificate (with --tls-key)
  --tls-key FILE
  --seed-demo           add demo folders and files when the store is empty
  --log-level L         ${LOG_LEVELS.join(', ')} (default info)
  -h, --help            show this help`;

export function parseEmulatorArgs(args: string[], env: NodeJS.ProcessEnv = process.env): EmulatorOptions & { logLevel: LogLevel } {
  const { values, positionals } = parseCommandLine(args, {
    data: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'api-key': { type: 'string', multiple: true },
    user: { type: 'string', multiple: true },
    'latency-ms': { type: 'string' },
    bandwidth: { type: 'string' },
    'fault-rate': { type: 'string' },
    faults: { type: 'string' },
    'fault-seed': { type: 'string' },
    'stall-ms': { type: 'string' },
    'download-ttl': { type: 'string' },
    'upload-ttl': { type: 'string' },
    tls: { type: 'boolean' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'seed-demo': { type: 'boolean' },
    'log-level': { type: 'string' },
  });
  if (positionals.length) throw new ConfigError(`emulator: unexpected argument ${JSON.stringify(positionals[0])}`);
  const options: EmulatorOptions & { logLevel: LogLevel } = { logLevel: 'info' };
  if (values.data !== undefined) options.dataDir = values.data;
  if (values.port !== undefined) options.port = parseInteger('--port', values.port, { min: 0, max: 65535 });
  if (values.host !== undefined) options.host = values.host;
  const keys = values['api-key'] ?? (env.FILES_EMULATOR_API_KEY ? [env.FILES_EMULATOR_API_KEY] : []);
  const grants: ApiKeyGrant[] = [];
  for (const k of keys) {
    // Keys are alphanumeric (the Python SDK refuses others), so a colon separates a user name.
    const i = k.lastIndexOf(':');
    const key = i < 0 ? k : k.slice(i + 1);
    registerSecret(key);
    if (key === '' || i === 0) throw new ConfigError('--api-key: expected KEY or NAME:KEY');
    grants.push(i < 0 ? { key } : { key, username: k.slice(0, i) });
  }
  if (grants.length > 0) options.apiKeys = grants;
  if (values.user) {
    options.users = values.user.map((u) => {
      const i = u.indexOf(':');
      if (i <= 0) throw new ConfigError('--user: expected NAME:PASSWORD');
      registerSecret(u.slice(i + 1));
      return { username: u.slice(0, i), password: u.slice(i + 1) };
    });
  }
  if (values['latency-ms'] !== undefined) options.latencyMs = parseNumber('--latency-ms', values['latency-ms'], { min: 0 });
  if (values.bandwidth !== undefined) options.bandwidth = parseBytes('--bandwidth', values.bandwidth, { min: 1 });
  if (values['fault-rate'] !== undefined) options.faultRate = parseNumber('--fault-rate', values['fault-rate'], { min: 0, max: 1 });
  if (values.faults !== undefined) {
    const kinds = values.faults.split(',').map((s) => s.trim()).filter(Boolean);
    for (const k of kinds) if (!isFaultKind(k)) throw new ConfigError(`--faults: unknown fault ${JSON.stringify(k)} (expected some of ${FAULT_KINDS.join(', ')})`);
    options.faults = kinds as FaultKind[];
  } else if (options.faultRate) {
    options.faults = [...FAULT_KINDS];
  }
  if (values['fault-seed'] !== undefined) options.faultSeed = parseInteger('--fault-seed', values['fault-seed'], { min: 0, max: Number.MAX_SAFE_INTEGER });
  if (values['stall-ms'] !== undefined) options.stallMs = parseNumber('--stall-ms', values['stall-ms'], { min: 0 });
  if (values['download-ttl'] !== undefined) options.downloadTtlSeconds = parseSeconds('--download-ttl', values['download-ttl'], { min: 1 });
  if (values['upload-ttl'] !== undefined) options.uploadTtlSeconds = parseSeconds('--upload-ttl', values['upload-ttl'], { min: 1 });
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('--tls-cert and --tls-key go together');
  if (cert !== undefined && key !== undefined) options.tls = { certFile: cert, keyFile: key };
  else if (values.tls) options.tls = true;
  if (values['seed-demo']) options.seedDemo = true;
  if (values['log-level'] !== undefined) options.logLevel = parseChoice('--log-level', values['log-level'], LOG_LEVELS);
  return options;
}

export const command: Command = {
  summary: 'run the local Files.com API emulator',
  usage,
  async run(args) {
    const { logLevel, ...options } = parseEmulatorArgs(args);
    const logger = createLogger({ level: isLogLevel(logLevel) ? logLevel : 'info', component: 'emulator' });
    const emulator = await startEmulator({ ...options, logger });
    process.stdout.write(emulator.url + '\n');
    if (emulator.caCertFile) logger.info('TLS certificate (trust it with NODE_EXTRA_CA_CERTS or curl --cacert): %s', emulator.caCertFile);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info('%s received, stopping', signal);
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        resolve();
      };
      const onInt = () => stop('SIGINT');
      const onTerm = () => stop('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
    });
    await emulator.stop();
    return 0;
  },
};
