// The doctor's look at the site, from one plain request to its API
// (GET /api/rest/v1/folders/?per_page=1, without credentials: any HTTP answer
// proves the site is there), made with the trust the mount would use (the
// default CAs plus --ca-file):
//   site   it answers, and how fast
//   TLS    the protocol, the certificate chain the server sent, whether it is
//          trusted and for how long (plain HTTP: fine to this machine, the
//          emulator; a warning elsewhere, the key would cross the network in
//          clear)
//   clock  this machine's clock against the server's Date header: presigned
//          URLs expire and certificates start and end by the clock
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { secureContextWithExtraCa } from '../client/index.js';
import { fail, ok, skip, warn, type CheckResult } from './check.js';

/** A clock this far off is worth a warning, this far off a failure (seconds). */
const CLOCK_WARN_S = 30;
const CLOCK_FAIL_S = 300;
/** A certificate that ends within this many days is worth a warning. */
const CERT_WARN_DAYS = 14;
const API_PROBE = '/api/rest/v1/folders/?per_page=1';

export interface SiteCheckOptions {
  baseUrl: string;
  /** Extra CA certificates (PEM), as --ca-file. */
  caPem?: string;
  sourceIp?: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** The local clock (tests). */
  now?: () => number;
}

export interface SiteCheck {
  results: CheckResult[];
  /** The site answered over HTTP (the next checks can ask it things). */
  reachable: boolean;
}

interface Probe {
  status: number;
  date: string | undefined;
  sentAt: number;
  answeredAt: number;
  tls?: { protocol: string | null; authorized: boolean; error: string | undefined; chain: PeerCertificate[] };
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || (isIP(h) === 4 && h.startsWith('127.')) || h === '::1';
}

function probe(options: SiteCheckOptions): Promise<Probe> {
  const url = new URL(options.baseUrl.replace(/\/+$/, '') + API_PROBE);
  const now = options.now ?? Date.now;
  const https = url.protocol === 'https:';
  const secureContext = https ? secureContextWithExtraCa(options.caPem) : undefined;
  return new Promise((resolve, reject) => {
    const sentAt = now();
    const req = (https ? httpsRequest : httpRequest)(url, {
      method: 'GET',
      headers: { accept: 'application/json', 'user-agent': 'filesfs-doctor' },
      timeout: options.connectTimeoutMs,
      ...(options.sourceIp ? { localAddress: options.sourceIp } : {}),
      // Inspected below rather than refused, so the answer can say why.
      ...(https ? { rejectUnauthorized: false, ...(secureContext ? { secureContext } : {}) } : {}),
      agent: false,
    }, (res: IncomingMessage) => {
      const answeredAt = now();
      const socket = res.socket as TLSSocket;
      const tls = https ? {
        protocol: socket.getProtocol?.() ?? null,
        authorized: socket.authorized === true,
        error: socket.authorizationError ? String((socket.authorizationError as Error & { code?: string }).code ?? socket.authorizationError) : undefined,
        chain: chainOf(socket.getPeerCertificate(true)),
      } : undefined;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, date: res.headers.date, sentAt, answeredAt, ...(tls ? { tls } : {}) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${options.connectTimeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

function chainOf(leaf: PeerCertificate | undefined): PeerCertificate[] {
  const chain: PeerCertificate[] = [];
  let cert = leaf as (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined;
  while (cert && Object.keys(cert).length > 0 && !chain.includes(cert) && chain.length < 10) {
    chain.push(cert);
    const next = cert.issuerCertificate;
    if (!next || next === cert || next.fingerprint256 === cert.fingerprint256) break;
    cert = next as PeerCertificate & { issuerCertificate?: PeerCertificate };
  }
  return chain;
}

function nameOf(cert: PeerCertificate): string {
  const pick = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.join(',') : v);
  return pick(cert.subject?.CN) ?? pick(cert.subject?.O) ?? '?';
}

export async function checkSite(options: SiteCheckOptions): Promise<SiteCheck> {
  const url = new URL(options.baseUrl);
  let answer: Probe;
  try {
    answer = await probe(options);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code && !e.message.includes(e.code) ? `${e.message} (${e.code})` : e.message;
    return {
      reachable: false,
      results: [
        fail('site', `cannot reach ${options.baseUrl}: ${why}`, 'check that the site is up and its URL (--base-url, or the mount source), then DNS, firewall and proxy; --connect-timeout, --source-ip'),
        skip('TLS', 'not checked (no connection)'),
        skip('clock', 'not checked (no answer)'),
      ],
    };
  }
  const ms = Math.max(0, Math.round(answer.answeredAt - answer.sentAt));
  const results: CheckResult[] = [ok('site', `${options.baseUrl} answers (HTTP ${answer.status} in ${ms} ms)`)];

  if (!answer.tls) {
    results.push(isLoopback(url.hostname)
      ? ok('TLS', 'none: plain HTTP to this machine')
      : warn('TLS', 'none: plain HTTP, so the API key and every file cross the network unencrypted', `use the site's https:// URL`));
  } else {
    const { protocol, authorized, error, chain } = answer.tls;
    const names = chain.map(nameOf).join(' ← ');
    const leaf = chain[0];
    const until = leaf?.valid_to ? new Date(leaf.valid_to) : undefined;
    const daysLeft = until ? Math.floor((until.getTime() - (options.now ?? Date.now)()) / 86_400_000) : undefined;
    const validity = until ? `valid until ${until.toISOString().slice(0, 10)}` : 'validity unknown';
    if (!authorized) {
      results.push(fail('TLS', `${protocol ?? 'TLS'}, certificate chain ${names || '(none)'} is not trusted: ${error ?? 'unknown reason'}`,
        'if a TLS-inspecting proxy or a private CA signs it, pass that CA with --ca-file CA.pem (-o ca_file=) or NODE_EXTRA_CA_CERTS; otherwise you may not be talking to the site'));
    } else if (daysLeft !== undefined && daysLeft < CERT_WARN_DAYS) {
      results.push(warn('TLS', `${protocol}, chain ${names}, trusted, but ${validity} (${daysLeft} days)`, 'the site\'s certificate must be renewed; check the clock below too'));
    } else {
      results.push(ok('TLS', `${protocol}, chain ${names}, trusted, ${validity}`));
    }
  }

  if (!answer.date || Number.isNaN(Date.parse(answer.date))) {
    results.push(warn('clock', 'the server sent no Date header: not compared', 'make sure this machine keeps time (NTP: timedatectl set-ntp true, or chrony)'));
  } else {
    // The Date header has whole seconds; compare with the middle of the exchange.
    const skew = (Date.parse(answer.date) - (answer.sentAt + answer.answeredAt) / 2) / 1000;
    const abs = Math.abs(skew);
    const text = abs < 1.5 ? 'within a second of the server\'s (Date header)' : `${abs.toFixed(0)} s ${skew > 0 ? 'behind' : 'ahead of'} the server's (Date header)`;
    const fix = 'sync this machine\'s clock (NTP: timedatectl set-ntp true, or chrony): presigned URLs expire, and certificates start and end, by the clock';
    if (abs > CLOCK_FAIL_S) results.push(fail('clock', text, fix));
    else if (abs > CLOCK_WARN_S) results.push(warn('clock', text, fix));
    else results.push(ok('clock', text));
  }
  return { reachable: true, results };
}
