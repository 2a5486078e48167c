// The transliteration table of the official Files.com SDKs' PathUtil
// (docs/files-api.md §9): 179 code points folded to ASCII after NFKC and before
// lower-casing. Kept as "target ← sources" rows, the shape the SDKs document.

const ROWS: ReadonlyArray<readonly [string, string]> = [
  ['A', 'ÀÁÂÃÄÅĀĂĄ'], ['a', 'àáâãäåāăą'],
  ['AE', 'Æ'], ['ae', 'æ'],
  ['C', 'ÇĆĈĊČ'], ['c', 'çćĉċč'],
  ['D', 'ÐĎĐ'], ['d', 'ðďđ'],
  ['E', 'ÈÉÊËĒĔĖĘĚ'], ['e', 'èéêëēĕėęě'],
  ['G', 'ĜĞĠĢ'], ['g', 'ĝğġģ'],
  ['H', 'ĤĦ'], ['h', 'ĥħ'],
  ['I', 'ÌÍÎÏĨĪĬĮİ'], ['i', 'ìíîïĩīĭį'],
  ['IJ', 'Ĳ'], ['ij', 'ĳ'],
  ['J', 'Ĵ'], ['j', 'ĵ'],
  ['K', 'Ķ'], ['k', 'ķ'],
  ['L', 'ĹĻĽŁ'], ['l', 'ĺļľł'],
  ['N', 'ÑŃŅŇ'], ['n', 'ñńņň'],
  ['O', 'ÒÓÔÕÖØŌŎŐ'], ['o', 'òóôõöøōŏő'],
  ['OE', 'Œ'], ['oe', 'œ'],
  ['R', 'ŔŖŘ'], ['r', 'ŕŗř'],
  ['S', 'ŚŜŞŠ'], ['s', 'śŝşš'],
  ['ss', 'ß'], ["'n", 'ŉ'],
  ['T', 'ŢŤ'], ['t', 'ţť'],
  ['U', 'ÙÚÛÜŨŪŬŮŰŲ'], ['u', 'ùúûüũūŭůűų'],
  ['W', 'Ŵ'], ['w', 'ŵ'],
  ['Y', 'ÝŶŸ'], ['y', 'ýÿŷ'],
  ['Z', 'ŹŻŽ'], ['z', 'źżž'],
];

export const TRANSLITERATION: ReadonlyMap<string, string> = new Map(
  ROWS.flatMap(([to, from]) => Array.from(from, (ch) => [ch, to] as const)),
);

/** Replaces every code point found in the table; all others pass through. */
export function transliterate(text: string): string {
  let out = '';
  for (const ch of text) out += TRANSLITERATION.get(ch) ?? ch;
  return out;
}
