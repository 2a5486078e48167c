// utimens times as our binding sends them (native/fuse-native.c):
// milliseconds since the epoch as a 64-bit two's-complement integer, split in
// two unsigned 32-bit halves, UTIME_NOW already resolved to the current time,
// and UTIME_OMIT ("leave this time unchanged") as all 64 bits set. Decoding
// the halves here, rather than taking fuse-native's `low + high * 2^32`
// double, keeps times before 1970 (negative) apart from the sentinel: as a
// double, 2^64 - 1 and 2^64 - 1000 are the same number.

const TWO_32 = 0x1_0000_0000;
const ALL_ONES = 0xffff_ffff;

/** Milliseconds since the epoch, or null for UTIME_OMIT. */
export function decodeTimeWords(low: number, high: number): number | null {
  if (low === ALL_ONES && high === ALL_ONES) return null;
  const signedHigh = high >= 0x8000_0000 ? high - TWO_32 : high;
  return signedHigh * TWO_32 + low;
}
