// A direct-mapped cache of recent lookups keyed by three u32 words (a pid and a start time's halves, a
// socket id's halves) in front of replay's Maps. Those Maps hold every process and socket ever seen and do
// not stay in cache; most records are about a few long-lived ones, which this small table keeps. A hit makes
// no bigint and chases no key object (a Map keyed by bigint costs a cache miss per key object on top).

/** 16,384 slots of 16 bytes (256 KiB): thousands of busy sockets thrashed 4,096. */
const SLOTS = 16384;
/** Words per slot: the three key words and a used flag, so a probe reads one cache line. */
const STRIDE = 4;

export class RecentCache<T> {
  private readonly keys = new Uint32Array(SLOTS * STRIDE);
  private readonly values: Array<T | undefined> = new Array<T | undefined>(SLOTS).fill(undefined);

  /** The value last set for (a, b, c), unless another key has taken its slot since. */
  get(a: number, b: number, c: number): T | undefined {
    const i = hash(a, b, c) & (SLOTS - 1);
    const at = i * STRIDE;
    const k = this.keys;
    return k[at + 3] !== 0 && k[at] === a && k[at + 1] === b && k[at + 2] === c ? this.values[i] : undefined;
  }

  /** Keeps `value` for (a, b, c), replacing whatever held its slot: callers set again whenever a key's value changes. */
  set(a: number, b: number, c: number, value: T): void {
    const i = hash(a, b, c) & (SLOTS - 1);
    const at = i * STRIDE;
    const k = this.keys;
    k[at] = a;
    k[at + 1] = b;
    k[at + 2] = c;
    k[at + 3] = 1;
    this.values[i] = value;
  }
}

/** The u64 whose low and high u32 halves are (lo, hi): a key of this cache as the Maps behind it hold it. */
export function u64(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Socket ids are slab addresses and pids are dense: every word is mixed (murmur3's finaliser). */
function hash(a: number, b: number, c: number): number {
  let h = Math.imul(a, 0xcc9e2d51) ^ b;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ c;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
