// Connections by kernel socket id (a u64 address), keyed by its two u32 halves in typed arrays: a lookup
// makes no bigint and chases no key object. Keyed by bigint in a Map, this lookup was 14% of replay.

const MIN_SLOTS = 1024;

/** An insert-only hash map from a non-zero u64 (as lo, hi) to a value; linear probing, kept under 1/2 full. */
export class SockIndex<T> {
  private lo = new Uint32Array(MIN_SLOTS);
  private hi = new Uint32Array(MIN_SLOTS);
  private values: Array<T | undefined> = new Array<T | undefined>(MIN_SLOTS).fill(undefined);
  private size = 0;

  get(lo: number, hi: number): T | undefined {
    const mask = this.lo.length - 1;
    for (let i = slot(lo, hi, mask); ; i = (i + 1) & mask) {
      const v = this.values[i];
      if (v === undefined || (this.lo[i] === lo && this.hi[i] === hi)) return v;
    }
  }

  /** Sets or replaces the value of (lo, hi). */
  set(lo: number, hi: number, value: T): void {
    if ((this.size + 1) * 2 > this.lo.length) this.grow();
    const mask = this.lo.length - 1;
    let i = slot(lo, hi, mask);
    while (this.values[i] !== undefined && !(this.lo[i] === lo && this.hi[i] === hi)) i = (i + 1) & mask;
    if (this.values[i] === undefined) this.size++;
    this.lo[i] = lo;
    this.hi[i] = hi;
    this.values[i] = value;
  }

  private grow(): void {
    const { lo, hi, values } = this;
    this.lo = new Uint32Array(lo.length * 2);
    this.hi = new Uint32Array(lo.length * 2);
    this.values = new Array<T | undefined>(lo.length * 2).fill(undefined);
    this.size = 0;
    for (let i = 0; i < lo.length; i++) {
      const v = values[i];
      if (v !== undefined) this.set(lo[i]!, hi[i]!, v);
    }
  }
}

/** Socket ids are slab addresses: the low bits repeat, so both halves are mixed (murmur3's finaliser). */
function slot(lo: number, hi: number, mask: number): number {
  let h = lo ^ Math.imul(hi, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & mask;
}
