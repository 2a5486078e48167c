// A TCP address to listen on, as operators write it for exporters:
// "HOST:PORT" ("127.0.0.1:9464", "0.0.0.0:9464", "[::1]:9464", "localhost:9464"),
// or a bare "PORT", which listens on 127.0.0.1 only: metrics stay on the
// machine unless an address says otherwise. Port 0 takes any free port.
import { isIP } from 'node:net';
import { ConfigError } from './config-error.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export const DEFAULT_LISTEN_HOST = '127.0.0.1';

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

export function parseListenAddress(name: string, raw: string): ListenAddress {
  const text = raw.trim();
  const fail = (why: string): never => {
    throw new ConfigError(`${name}: ${why}, got ${JSON.stringify(raw)} (expected HOST:PORT such as 127.0.0.1:9464 or 0.0.0.0:9464, or a port alone for 127.0.0.1)`);
  };
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2]!;
    if (isIP(host) !== 6) fail('not an IPv6 address in brackets');
  } else if (/^\d+$/.test(text)) {
    host = DEFAULT_LISTEN_HOST;
    portText = text;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon <= 0) fail('no port');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) fail('an IPv6 address needs brackets, e.g. [::1]:9464');
    if (isIP(host) === 0 && !HOST_NAME.test(host)) fail('not a host name or IP address');
  }
  if (!/^\d+$/.test(portText)) fail('the port is not a number');
  const port = Number(portText);
  // 0: any free port (the mount's log says which).
  if (port > 65535) fail('the port must be 0 to 65535');
  return { host, port };
}

/** "127.0.0.1:9464", "[::1]:9464". */
export function formatListenAddress(address: ListenAddress): string {
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
