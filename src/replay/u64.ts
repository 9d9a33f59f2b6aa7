// Kernel u64 fields read as a number when that is exact, so the per-record hot path makes no bigint.
// Boot-time nanoseconds stay below 2^53 for the first ~104 days of uptime; past that, callers read the bigint.

const TWO_32 = 4294967296;
/** Highest u32 of a u64 below 2^53. */
const HI_EXACT = 0x1fffff;

/** The little-endian u64 at `at` as a number if below 2^53, else NaN (read it with getBigUint64). */
export function exactU64(v: DataView, at: number): number {
  const hi = v.getUint32(at + 4, true);
  return hi <= HI_EXACT ? hi * TWO_32 + v.getUint32(at, true) : NaN;
}
