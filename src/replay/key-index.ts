// An insert-only hash map keyed by three u32 words (a pid and a start time's halves, a socket id's halves),
// with the keys in one typed array: a lookup makes no bigint and chases no key object. The per-record
// lookups of replay are memory-bound, so the layout is about cache lines: a Map keyed by bigint costs a
// miss per key object on top, and values kept in insertion order keep the long-lived (first seen) ones together.

const MIN_SLOTS = 1024;
/**
 * Slots of the direct-mapped copy of recent hits (256 KiB): it stays in cache while the table, which holds
 * every process or socket ever seen, does not. Most records are about a few long-lived ones.
 */
const RECENT_SLOTS = 16384;
/** Words per slot: the three key words and 1 + the value's index, 16 bytes, so a probe reads one cache line. */
const STRIDE = 4;

/** Linear probing, kept at most half full. */
export class KeyIndex<T> {
  private keys = new Uint32Array(MIN_SLOTS * STRIDE);
  private slots = MIN_SLOTS;
  /** Values in order of first insertion. */
  private readonly values: T[] = [];
  /** Recent hits, as table slots; a value's index never changes, so set() leaves them valid. */
  private readonly recent = new Uint32Array(RECENT_SLOTS * STRIDE);

  get(a: number, b: number, c: number): T | undefined {
    const h = hash(a, b, c);
    const r = this.recent;
    const ra = (h & (RECENT_SLOTS - 1)) * STRIDE;
    if (r[ra + 3] !== 0 && r[ra] === a && r[ra + 1] === b && r[ra + 2] === c) return this.values[r[ra + 3]! - 1];
    const k = this.keys;
    const mask = this.slots - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const at = i * STRIDE;
      const ref = k[at + 3]!;
      if (ref === 0) return undefined;
      if (k[at] === a && k[at + 1] === b && k[at + 2] === c) {
        r[ra] = a;
        r[ra + 1] = b;
        r[ra + 2] = c;
        r[ra + 3] = ref;
        return this.values[ref - 1];
      }
    }
  }

  /** Sets or replaces the value of (a, b, c). */
  set(a: number, b: number, c: number, value: T): void {
    if ((this.values.length + 1) * 2 > this.slots) this.grow();
    const k = this.keys;
    const mask = this.slots - 1;
    for (let i = hash(a, b, c) & mask; ; i = (i + 1) & mask) {
      const at = i * STRIDE;
      const ref = k[at + 3]!;
      if (ref === 0) {
        this.values.push(value);
        k[at] = a;
        k[at + 1] = b;
        k[at + 2] = c;
        k[at + 3] = this.values.length;
        return;
      }
      if (k[at] === a && k[at + 1] === b && k[at + 2] === c) {
        this.values[ref - 1] = value;
        return;
      }
    }
  }

  /** Doubles the slots; values keep their places. */
  private grow(): void {
    const old = this.keys;
    this.slots *= 2;
    this.keys = new Uint32Array(this.slots * STRIDE);
    const mask = this.slots - 1;
    for (let from = 0; from < old.length; from += STRIDE) {
      if (old[from + 3] === 0) continue;
      let i = hash(old[from]!, old[from + 1]!, old[from + 2]!) & mask;
      while (this.keys[i * STRIDE + 3] !== 0) i = (i + 1) & mask;
      this.keys.set(old.subarray(from, from + STRIDE), i * STRIDE);
    }
  }
}

/** Socket ids are slab addresses and pids are dense: every word is mixed (murmur3's finaliser). */
function hash(a: number, b: number, c: number): number {
  let h = Math.imul(a, 0xcc9e2d51) ^ b;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ c;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
