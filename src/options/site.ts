// The mount source of `mount -t fuse.filesfs SITE DIR` (and of an /etc/fstab
// line): the site to mount, written either as its base URL
// ("https://example.files.com", "http://127.0.0.1:8080" for the emulator) or
// as a bare host name ("example.files.com", which means https). The remote
// folder is the `root=` option, not a path in SITE: a URL path would be
// ambiguous with a site behind a path-prefixed proxy.
import { ConfigError } from './config-error.js';
import { parseBaseUrl } from './parse.js';

/** host or host:port, with at least one dot (or localhost): never a bare word such as a mistyped command. */
const HOST = /^(localhost|[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+)(:\d{1,5})?$/;

/** True when `text` reads as a site (a URL or a host name), as opposed to, e.g., a command name. */
export function looksLikeSite(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) || HOST.test(text);
}

/** The base URL a SITE stands for; ConfigError naming `name` when it is neither form. */
export function parseSite(name: string, site: string): string {
  const text = site.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    const url = parseBaseUrl(name, text);
    const path = new URL(url).pathname;
    if (path !== '/' && path !== '') throw new ConfigError(`${name} ${JSON.stringify(site)}: give the site without a path, and the folder as root=${decodeURIComponent(path.replace(/^\/+/, ''))}`);
    if (new URL(url).search || new URL(url).hash) throw new ConfigError(`${name} ${JSON.stringify(site)}: a query or fragment is not part of a site URL`);
    return url;
  }
  if (HOST.test(text)) return parseBaseUrl(name, `https://${text}`);
  throw new ConfigError(`${name} ${JSON.stringify(site)}: expected the site's URL (https://example.files.com) or host name (example.files.com)`);
}
