// Folder listings page by page (docs/files-api.md §2): GET /folders/{path} with
// per_page, then again with `cursor` set to the previous page's X-Files-Cursor
// header, until a page comes without one (what all four SDKs do; the
// -Next/-Prev variants are ignored). As in the Go SDK, an empty page that still
// carries a cursor is not the end, and a cursor seen twice is a server fault
// (it would loop forever). Each page is one retried, idempotent API call, so a
// fault on page 40 repeats page 40 only. A filter (`type`, and
// `modified_at_datetime` with it, §13) goes with every page.
import { routeFor } from './api-path.js';
import type { ApiClient } from './api.js';
import { parseEntryList } from './entry.js';
import { ServerError } from './errors.js';
import type { ListFilter, RemoteEntry } from './files-client.js';
import { header } from './transport.js';

export interface PageOptions {
  perPage: number;
  filter?: ListFilter | undefined;
  signal?: AbortSignal | undefined;
}

/** `modified_at_datetime` as the API writes times: RFC 3339 UTC, whole seconds (§1). */
function wireTime(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export async function* listPages(api: ApiClient, path: string, options: PageOptions): AsyncGenerator<RemoteEntry[], void, undefined> {
  const route = routeFor('/folders', path);
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const res = await api.call<unknown>({
      method: 'GET',
      route,
      query: {
        per_page: options.perPage,
        cursor,
        type: options.filter?.type,
        modified_at_datetime: options.filter?.modifiedAfter ? wireTime(options.filter.modifiedAfter) : undefined,
      },
      kind: 'listing',
      items: options.perPage,
      signal: options.signal,
    });
    const page = parseEntryList(res.body, `GET ${route}`);
    const next = header(res.headers, 'x-files-cursor');
    if (page.length > 0) yield page;
    if (!next) return;
    if (seen.has(next)) {
      throw new ServerError({ message: `GET ${route}: the server sent the same page cursor twice`, operation: `GET ${route}` });
    }
    seen.add(next);
    cursor = next;
  }
}
