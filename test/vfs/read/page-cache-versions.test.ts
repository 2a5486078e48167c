// When the kernel may keep a file's pages across opens: only for the same version, never for local content.
import { describe, expect, it } from 'vitest';
import { PageCacheVersions } from '../../../src/vfs/read/page-cache-versions.js';

describe('PageCacheVersions', () => {
  it('keeps the pages for the same version (any spelling of the path), drops them for another, local content or a write', () => {
    const pages = new PageCacheVersions();
    expect(pages.opened('Docs/a.txt', '5:1000:1000/0')).toBe(false); // nothing in the kernel yet
    expect(pages.opened('docs/A.TXT', '5:1000:1000/0')).toBe(true);
    expect(pages.opened('docs/a.txt', '5:1000:2000/0')).toBe(false); // another upload, same size and time
    expect(pages.opened('docs/a.txt', '5:1000:2000/0')).toBe(true);
    expect(pages.opened('docs/a.txt', '5:1000:2000/1')).toBe(false); // our own rewrite within the second
    expect(pages.opened('docs/a.txt', null)).toBe(false); // local changes
    expect(pages.opened('docs/a.txt', '5:1000:2000/1')).toBe(false);
    pages.written('docs/a.txt');
    expect(pages.opened('docs/a.txt', '5:1000:2000/1')).toBe(false);
  });
});
