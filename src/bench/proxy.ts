// A delaying HTTP proxy in front of rclone's WebDAV server, so that rclone
// pays the same per-request latency as filesfs does against the emulator
// (`--latency-ms`: every request waits N ms before it is handled). The proxy
// does the same: each request waits `delayMs` after its headers arrived, then
// goes upstream over a keep-alive connection, bodies streamed both ways. It
// also counts requests per method (rclone's API requests, the counterpart of
// the emulator's statistics). Used only when latency is on: at 0 ms rclone
// talks to its server directly, without the proxy's copying in between.
import { createServer, request as httpRequest, Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Hop-by-hop headers a proxy must not forward (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

export class DelayProxy {
  private readonly counts = new Map<string, number>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  private constructor(private readonly server: Server, readonly url: string, public delayMs: number) {}

  static async start(upstream: string, delayMs: number): Promise<DelayProxy> {
    const target = new URL(upstream);
    let proxy: DelayProxy | undefined;
    const server = createServer((req, res) => proxy!.handle(req, res, target));
    // WebDAV clients keep connections open; never let the server time them out mid-benchmark.
    server.keepAliveTimeout = 60_000;
    server.headersTimeout = 0;
    server.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    proxy = new DelayProxy(server, `http://127.0.0.1:${port}/`, delayMs);
    return proxy;
  }

  /** Requests seen since the last reset, per method, and in total. */
  stats(): { total: number; requests: Record<string, number> } {
    const requests = Object.fromEntries(this.counts);
    return { total: [...this.counts.values()].reduce((a, b) => a + b, 0), requests };
  }

  resetStats(): void {
    this.counts.clear();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }

  private handle(req: IncomingMessage, res: ServerResponse, target: URL): void {
    const method = req.method ?? 'GET';
    this.counts.set(method, (this.counts.get(method) ?? 0) + 1);
    // Hold the request body until the delay is over (it stays in the socket's buffers).
    req.pause();
    const forward = (): void => {
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
      }
      headers.host = target.host;
      const upstream = httpRequest({
        host: target.hostname,
        port: target.port,
        method,
        path: req.url,
        headers,
        agent: this.agent,
      }, (answer) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
        }
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, out);
        answer.pipe(res);
      });
      upstream.on('error', (err) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy: ${err.message}`);
      });
      req.on('aborted', () => upstream.destroy());
      req.pipe(upstream);
      req.resume();
    };
    if (this.delayMs > 0) setTimeout(forward, this.delayMs);
    else forward();
  }
}
