import { describe, expect, it } from 'vitest';
import { parseCompactUtc, urlExpiry } from '../../src/client/url-expiry.js';
import { DownloadUrlCache, FALLBACK_URL_LIFETIME_MS, sameVersion, usableUntil } from '../../src/client/download-url-cache.js';

const T0 = Date.UTC(2024, 4, 30, 15, 30, 59);

describe('urlExpiry', () => {
  it('reads S3, Files-hosted, GCS and Azure forms', () => {
    expect(parseCompactUtc('20240530T153059Z')).toBe(T0);
    expect(urlExpiry('https://s3.amazonaws.com/b/k?X-Amz-Algorithm=AWS4&X-Amz-Date=20240530T153059Z&X-Amz-Expires=60&X-Amz-Signature=ab')).toBe(T0 + 60_000);
    expect(urlExpiry('https://app-us-east-1.files.com/download/x?X-Files-Date=20240530T153059Z&X-Files-Expires=180&jwt=e.y.z')).toBe(T0 + 180_000);
    expect(urlExpiry('https://storage.googleapis.com/b/o?X-Goog-Date=20240530T153059Z&X-Goog-Expires=900')).toBe(T0 + 900_000);
    expect(urlExpiry('https://a.blob.core.windows.net/c/b?sv=2020&se=2024-05-30T15%3A40%3A59Z&sig=x')).toBe(T0 + 600_000);
  });

  it('is null for URLs without a readable expiry', () => {
    expect(urlExpiry('https://example.com/file')).toBeNull();
    expect(urlExpiry('https://example.com/file?X-Amz-Date=yesterday&X-Amz-Expires=60')).toBeNull();
    expect(urlExpiry('https://example.com/file?X-Amz-Date=20240530T153059Z&X-Amz-Expires=soon')).toBeNull();
    expect(urlExpiry('not a url')).toBeNull();
  });
});

describe('usableUntil', () => {
  const s3 = (expires: number) => `https://h/k?X-Amz-Date=20240530T153059Z&X-Amz-Expires=${expires}`;
  it('keeps a margin of 20 % of the lifetime, at most 10 s', () => {
    expect(usableUntil(s3(60), T0)).toBe(T0 + 50_000);
    expect(usableUntil(s3(10), T0)).toBe(T0 + 8_000);
    expect(usableUntil(s3(900), T0)).toBe(T0 + 890_000);
  });
  it('moves the expiry onto the local clock with the server Date', () => {
    // The local clock is 30 s ahead of the server's.
    expect(usableUntil(s3(60), T0 + 30_000, T0)).toBe(T0 + 30_000 + 50_000);
  });
  it('falls back to a conservative lifetime, and treats expired URLs as unusable', () => {
    expect(usableUntil('https://h/k', T0)).toBe(T0 + FALLBACK_URL_LIFETIME_MS);
    expect(usableUntil(s3(60), T0 + 120_000)).toBe(T0 + 120_000);
  });
});

describe('DownloadUrlCache', () => {
  it('shares one entry between spellings the server treats as one file, until expiry', () => {
    let now = T0;
    const cache = new DownloadUrlCache(() => now);
    cache.store('Reports/Q1.pdf', 'https://h/k?X-Amz-Date=20240530T153059Z&X-Amz-Expires=60', { size: 5, serverMtime: 1 }, T0);
    expect(cache.usable('reports/q1.PDF')?.version.size).toBe(5);
    expect(cache.usable('/REPORTS//Q1.pdf')).toBeDefined();
    now = T0 + 50_000;
    expect(cache.usable('Reports/Q1.pdf')).toBeUndefined();
    expect(cache.version('Reports/Q1.pdf')).toEqual({ size: 5, serverMtime: 1 });
  });

  it('expire keeps the version; invalidate forgets it, for a tree too', () => {
    const cache = new DownloadUrlCache(() => T0);
    const url = 'https://h/k?X-Amz-Date=20240530T153059Z&X-Amz-Expires=60';
    cache.store('a/b.txt', url, { size: 1, serverMtime: null }, T0);
    cache.store('a/c/d.txt', url, { size: 2, serverMtime: null }, T0);
    cache.store('ab.txt', url, { size: 3, serverMtime: null }, T0);
    cache.expire('a/b.txt');
    expect(cache.usable('a/b.txt')).toBeUndefined();
    expect(cache.version('a/b.txt')?.size).toBe(1);
    cache.invalidate('A');
    expect(cache.version('a/b.txt')).toBeUndefined();
    expect(cache.version('a/c/d.txt')).toBeUndefined();
    expect(cache.version('ab.txt')?.size).toBe(3);
    cache.touch('ab.txt', 42);
    expect(cache.version('ab.txt')?.serverMtime).toBe(42);
  });

  it('compares versions by size and, when both have one, server mtime', () => {
    expect(sameVersion({ size: 1, serverMtime: 5 }, { size: 1, serverMtime: 5 })).toBe(true);
    expect(sameVersion({ size: 1, serverMtime: 5 }, { size: 2, serverMtime: 5 })).toBe(false);
    expect(sameVersion({ size: 1, serverMtime: 5 }, { size: 1, serverMtime: 6 })).toBe(false);
    expect(sameVersion({ size: 1, serverMtime: null }, { size: 1, serverMtime: 6 })).toBe(true);
  });
});
