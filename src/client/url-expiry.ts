// When a presigned URL stops working, read from the URL itself
// (docs/files-api.md §4): S3 X-Amz-Date + X-Amz-Expires, Files-hosted X-Files-Date
// + X-Files-Expires (both "YYYYMMDDTHHMMSSZ" plus seconds), GCS X-Goog-Date +
// X-Goog-Expires, Azure `se` (an ISO time). Returns the server-clock instant,
// or null when the URL says nothing we understand.

/** "20240530T153059Z" → epoch ms. */
export function parseCompactUtc(value: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isNaN(t) ? null : t;
}

function param(params: URLSearchParams, name: string): string | null {
  // Query parameter names are case-sensitive, but signers differ in case.
  for (const [k, v] of params) if (k.toLowerCase() === name.toLowerCase()) return v;
  return null;
}

/** The instant (server clock, epoch ms) after which `uri` no longer works, or null. */
export function urlExpiry(uri: string): number | null {
  let params: URLSearchParams;
  try {
    params = new URL(uri).searchParams;
  } catch {
    return null;
  }
  for (const prefix of ['X-Amz', 'X-Files', 'X-Goog']) {
    const date = param(params, `${prefix}-Date`);
    const expires = param(params, `${prefix}-Expires`);
    if (date !== null && expires !== null && /^\d+$/.test(expires)) {
      const start = parseCompactUtc(date);
      if (start !== null) return start + Number(expires) * 1000;
    }
  }
  const se = param(params, 'se');
  if (se !== null) {
    const t = Date.parse(se);
    if (!Number.isNaN(t)) return t;
  }
  return null;
}
