// An open-addressing hash table keyed by four u32 words (a socket id's halves and a host number; a pid, a
// start time's halves and a host number), for the lookup replay makes per kernel record. A Map keyed by
// bigint made a bigint per lookup and chased a key object per probe; this table reads one typed array.
//
// Keys come from the session, which is hostile input: the hash is seeded per table (a crafted session
// cannot know where its keys land), and a probe never runs past MAX_PROBE slots. A key whose probe would
// (chosen to collide, or bad luck) goes to a Map instead, so a lookup costs at most MAX_PROBE slots and one
// Map lookup, never a scan of the table. Entries are never removed: the table holds what replay keeps, and
// grows with the entities its limits bound.
import { randomBytes } from "node:crypto";

/**
 * Words per slot: the four key words and the value's place in `items` plus one (0: a free slot), so a probe
 * reads one 20-byte run and no array of pointers (which the GC would scan, and each insert would mark).
 */
const STRIDE = 5;
/** Slots a probe looks at before the overflow Map. */
export const MAX_PROBE = 32;
const INITIAL_SLOTS = 1024;

export class WordTable<T> {
  private keys = new Uint32Array(INITIAL_SLOTS * STRIDE);
  /** The values, in order of their keys' first set. */
  private readonly items: T[] = [];
  private mask = INITIAL_SLOTS - 1;
  /** Entries in the slots (not in `overflow`). */
  private used = 0;
  /** Keys whose probe found neither them nor a free slot within MAX_PROBE slots → their place in `items`. */
  private overflow: Map<string, number> | undefined = undefined;
  private readonly seed: number;
  /**
   * The key get() last found and its place in `items` (-1 for a: no key is -1 after >>> 0). A place never
   * changes (growth keeps it, set() of a key replaces the value there), so this stays right.
   */
  private lastA = -1;
  private lastB = 0;
  private lastC = 0;
  private lastD = 0;
  private lastItem = 0;

  constructor(seed?: number) {
    this.seed = seed ?? randomBytes(4).readUInt32LE(0);
  }

  /** Entries held. */
  get size(): number {
    return this.used + (this.overflow?.size ?? 0);
  }

  /** Entries that did not fit their probe (for tests). */
  get overflowed(): number {
    return this.overflow?.size ?? 0;
  }

  /** The slot a key's probe starts at (for tests: keys made to collide). */
  home(a: number, b: number, c: number, d: number): number {
    return this.hash(a >>> 0, b >>> 0, c >>> 0, d >>> 0) & this.mask;
  }

  get(a: number, b: number, c: number, d: number): T | undefined {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    // The key asked last: a process's or a socket's records often come one after another.
    if (a === this.lastA && b === this.lastB && c === this.lastC && d === this.lastD) return this.items[this.lastItem];
    const k = this.keys;
    const mask = this.mask;
    let i = this.hash(a, b, c, d) & mask;
    for (let n = 0; n < MAX_PROBE; n++) {
      const at = i * STRIDE;
      const item = k[at + 4]!;
      if (item === 0) return undefined;
      if (k[at] === a && k[at + 1] === b && k[at + 2] === c && k[at + 3] === d) {
        this.lastA = a;
        this.lastB = b;
        this.lastC = c;
        this.lastD = d;
        this.lastItem = item - 1;
        return this.items[item - 1];
      }
      i = (i + 1) & mask;
    }
    const item = this.overflow?.get(overflowKey(a, b, c, d));
    return item === undefined ? undefined : this.items[item];
  }

  /** Keeps `value` for the key, replacing the value it had. */
  set(a: number, b: number, c: number, d: number, value: T): void {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const k = this.keys;
    const mask = this.mask;
    let i = this.hash(a, b, c, d) & mask;
    for (let n = 0; n < MAX_PROBE; n++) {
      const at = i * STRIDE;
      const item = k[at + 4]!;
      if (item === 0) {
        this.items.push(value);
        if ((this.used + 1) * 2 > mask + 1) {
          this.grow();
          this.put(a, b, c, d, this.items.length - 1);
        } else this.place(at, a, b, c, d, this.items.length - 1);
        return;
      }
      if (k[at] === a && k[at + 1] === b && k[at + 2] === c && k[at + 3] === d) {
        this.items[item - 1] = value;
        return;
      }
      i = (i + 1) & mask;
    }
    const key = overflowKey(a, b, c, d);
    const item = this.overflow?.get(key);
    if (item !== undefined) this.items[item] = value;
    else {
      this.items.push(value);
      (this.overflow ??= new Map()).set(key, this.items.length - 1);
    }
  }

  private place(at: number, a: number, b: number, c: number, d: number, item: number): void {
    const k = this.keys;
    k[at] = a;
    k[at + 1] = b;
    k[at + 2] = c;
    k[at + 3] = d;
    k[at + 4] = item + 1;
    this.used++;
  }

  /** Puts a key not in the table, with its value at items[item]. */
  private put(a: number, b: number, c: number, d: number, item: number): void {
    const k = this.keys;
    const mask = this.mask;
    let i = this.hash(a, b, c, d) & mask;
    for (let n = 0; n < MAX_PROBE; n++) {
      const at = i * STRIDE;
      if (k[at + 4] === 0) {
        this.place(at, a, b, c, d, item);
        return;
      }
      i = (i + 1) & mask;
    }
    (this.overflow ??= new Map()).set(overflowKey(a, b, c, d), item);
  }

  /** Twice the slots, every key put again (overflowed ones too: most find a slot in the larger table). */
  private grow(): void {
    const old = this.keys;
    const oldOverflow = this.overflow;
    const slots = (this.mask + 1) * 2;
    this.keys = new Uint32Array(slots * STRIDE);
    this.mask = slots - 1;
    this.used = 0;
    this.overflow = undefined;
    for (let at = 0; at < old.length; at += STRIDE) {
      const item = old[at + 4]!;
      if (item !== 0) this.put(old[at]!, old[at + 1]!, old[at + 2]!, old[at + 3]!, item - 1);
    }
    if (oldOverflow)
      for (const [key, item] of oldOverflow) {
        const [a, b, c, d] = key.split(",").map(Number) as [number, number, number, number];
        this.put(a, b, c, d, item);
      }
  }

  /**
   * Every word multiplied in and shifted down, from a per-table seed (a multiply-xorshift, cheaper than
   * murmur3's rounds: the probe bound, not the hash, is what keeps a crafted session's collisions cheap).
   */
  private hash(a: number, b: number, c: number, d: number): number {
    let h = Math.imul(a ^ this.seed, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 15) ^ b, 0x85ebca77);
    h = Math.imul(h ^ (h >>> 13) ^ c, 0xc2b2ae3d);
    h = Math.imul(h ^ (h >>> 16) ^ d, 0x27d4eb2f);
    return (h ^ (h >>> 15)) >>> 0;
  }
}

function overflowKey(a: number, b: number, c: number, d: number): string {
  return `${a >>> 0},${b >>> 0},${c >>> 0},${d >>> 0}`;
}

/** Small numbers for host keys, so a table key holds a host in one word: the last host asked is remembered. */
export class HostNumbers {
  private readonly numbers = new Map<string, number>();
  private lastHost: string | undefined = undefined;
  private lastNumber = 0;

  of(host: string): number {
    if (host === this.lastHost) return this.lastNumber;
    let n = this.numbers.get(host);
    if (n === undefined) this.numbers.set(host, (n = this.numbers.size + 1));
    this.lastHost = host;
    this.lastNumber = n;
    return n;
  }
}

/** The u64 whose low and high u32 halves are (lo, hi). */
export function u64(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}
