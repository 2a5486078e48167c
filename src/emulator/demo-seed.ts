// Demo content for `--seed-demo` (and `npm start`): a few folders and files
// worth looking at through a mount — mixed case and accented names, a nested
// folder, small text files, a few-MiB binary and two image files. Written
// through the same upload path as API uploads, so they are ordinary files.
import { createHash } from 'node:crypto';
import type { EmulatorContext } from './context.js';
import { parseClientTime } from './times.js';
import { completeUpload } from './upload-flow.js';
import { PART_SIZE } from './uploads.js';

/** Deterministic pseudo-random bytes (so the demo binary has a stable checksum). */
function pseudoRandom(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/** A 256×256 colour gradient as a binary PPM (any image viewer opens it). */
function gradientPpm(): Buffer {
  const w = 256;
  const h = 256;
  const header = Buffer.from(`P6\n${w} ${h}\n255\n`, 'ascii');
  const pixels = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      pixels[i] = x;
      pixels[i + 1] = y;
      pixels[i + 2] = 255 - ((x + y) >> 1);
    }
  }
  return Buffer.concat([header, pixels]);
}

const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 120 120">
  <rect width="120" height="120" rx="16" fill="#1e6fd9"/>
  <text x="60" y="74" font-family="sans-serif" font-size="40" fill="#fff" text-anchor="middle">fs</text>
</svg>
`;

export const DEMO_FILES: Array<{ path: string; data: () => Buffer; mtime?: string }> = [
  { path: 'README.txt', data: () => Buffer.from('Welcome to the filesfs demo.\n\nEverything here lives in the local Files.com emulator.\nEdit, copy, rename and delete freely.\n'), mtime: '2024-01-15T09:30:00Z' },
  { path: 'Reports/Q1 Résumé.txt', data: () => Buffer.from('Q1 résumé\n=========\nRevenue: up 12 %\nCafé budget: unchanged\n'), mtime: '2024-04-02T16:45:00Z' },
  { path: 'Reports/Q1.pdf', data: () => Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'), mtime: '2024-04-03T08:00:00Z' },
  { path: 'Reports/Archive 2023/Notes.md', data: () => Buffer.from('# Notes 2023\n\n- Mixed-case names: `REPORTS/q1.PDF` finds `Reports/Q1.pdf`.\n- Accents fold too: `resume` ≈ `Résumé`.\n') },
  { path: 'Photos/Sunset.ppm', data: gradientPpm },
  { path: 'Photos/logo.svg', data: () => Buffer.from(LOGO_SVG) },
  { path: 'Data/random-3MiB.bin', data: () => pseudoRandom(3 * 1024 * 1024, 'filesfs demo') },
  { path: 'Ünïcödé Fòlder/naïve café.txt', data: () => Buffer.from('Ça marche.\n') },
];

export const DEMO_FOLDERS = ['Empty Folder', 'Projects/filesfs/docs'];

export async function seedDemo(ctx: EmulatorContext): Promise<void> {
  for (const folder of DEMO_FOLDERS) ctx.store.mkdir(folder, { parents: true });
  for (const file of DEMO_FILES) {
    const data = file.data();
    const upload = await ctx.uploads.create(file.path, true);
    for (let off = 0, n = 1; off < data.length || n === 1; off += PART_SIZE, n++) {
      await ctx.uploads.writePart(upload.ref, n, data.subarray(off, off + PART_SIZE));
    }
    await completeUpload(ctx, upload, file.path, { etags: null, size: data.length, provided: parseClientTime(file.mtime), mkdirParents: true, who: { user: ctx.users.defaultUser, apiKeyId: null } });
  }
  await ctx.store.sync();
}
