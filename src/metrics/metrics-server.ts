// The HTTP endpoint Prometheus scrapes: GET /metrics on the address of
// --metrics (default host 127.0.0.1). Anything else is 404 (405 for another
// method on /metrics). A failure to listen (address in use, not permitted) is
// the user's to fix, so it is a ConfigError naming the option, and the mount
// does not start.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../options/config-error.js';
import { formatListenAddress, type ListenAddress } from '../options/listen-address.js';
import type { Logger } from '../log/logger.js';
import type { MountMetrics } from './mount-metrics.js';

export interface MetricsServer {
  /** The address actually bound (port 0 resolved). */
  readonly address: ListenAddress;
  /** "http://127.0.0.1:9464/metrics". */
  readonly url: string;
  close(): Promise<void>;
}

export async function serveMetrics(metrics: MountMetrics, address: ListenAddress, logger: Logger, option = '--metrics'): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('filesfs serves its metrics at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('GET /metrics\n');
      return;
    }
    metrics.scrape().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : body),
      (err: unknown) => {
        logger.warn('metrics scrape failed: %s', err instanceof Error ? err.message : String(err));
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('scrape failed; see the mount log\n');
      },
    );
  });
  // A scrape that hangs must not keep the mount process from exiting.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why = err.code === 'EADDRINUSE' ? 'the address is in use (another mount or exporter?)'
        : err.code === 'EACCES' ? 'not permitted (ports below 1024 need root)'
          : err.code === 'EADDRNOTAVAIL' ? 'no such address on this machine'
            : err.message;
      reject(new ConfigError(`${option} ${formatListenAddress(address)}: cannot listen: ${why}`));
    };
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const actual: ListenAddress = { host: address.host, port: bound.port };
  return {
    address: actual,
    url: `http://${formatListenAddress(actual)}/metrics`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
