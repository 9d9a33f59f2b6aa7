// Reads a BPF ring buffer straight from its mmap'ed pages: no FFI call per record.
// Layout (kernel/bpf/ringbuf.c): page 0 holds consumer_pos (read-write for us); page 1 holds
// producer_pos; the data area follows, mapped twice back to back so a record that wraps is still
// contiguous. Each record has an 8-byte header: u32 length with BUSY and DISCARD bits, u32 page offset.
import { libc, viewOf, address, type Ptr } from "./native.js";
import type { BpfMap } from "./map.js";
import { RING_HEADER_BYTES, forEachRecord } from "../events/framing.js";

export { RING_HEADER_BYTES, forEachRecord };

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const SC_PAGESIZE = 30;
const BUSY_BIT = 0x80000000;
const DISCARD_BIT = 0x40000000;
const LEN_MASK = 0x3fffffff;
const BPF_MAP_TYPE_RINGBUF = 27;

/** A copy of the records committed since the last drain, still in ring format (headers included). */
export interface RingSpan {
  data: Uint8Array;
  /** Committed records in the span, discarded ones excluded. */
  records: number;
}

let pageSize: number | undefined;
function page(): number {
  pageSize ??= Number(libc().sysconf(SC_PAGESIZE));
  return pageSize;
}

export class RingReader {
  readonly name: string;
  private readonly size: number;
  private consumerMem: Ptr | null;
  private producerMem: Ptr | null;
  private readonly consumerPos: BigUint64Array;
  private readonly producerPos: BigUint64Array;
  private readonly data: Uint8Array;
  private readonly headers: Uint32Array;

  /** Maps the ring of `map` (a BPF_MAP_TYPE_RINGBUF). Throws when mmap fails. */
  constructor(map: BpfMap) {
    if (map.type !== BPF_MAP_TYPE_RINGBUF) throw new Error(`map ${map.name} is not a ring buffer`);
    this.name = map.name;
    this.size = map.maxEntries;
    const c = libc();
    const pg = page();
    const cons = c.mmap(null, pg, PROT_READ | PROT_WRITE, MAP_SHARED, map.fd, 0n);
    if (isMapFailed(cons)) throw new Error(`mmap of ring ${map.name} consumer page failed`);
    const prodLen = pg + 2 * this.size;
    const prod = c.mmap(null, prodLen, PROT_READ, MAP_SHARED, map.fd, BigInt(pg));
    if (isMapFailed(prod)) {
      c.munmap(cons, pg);
      throw new Error(`mmap of ring ${map.name} data pages failed`);
    }
    this.consumerMem = cons;
    this.producerMem = prod;
    this.consumerPos = new BigUint64Array(viewOf(cons, 8));
    this.producerPos = new BigUint64Array(viewOf(prod, 8));
    const all = viewOf(prod, prodLen);
    this.data = new Uint8Array(all, pg, 2 * this.size);
    this.headers = new Uint32Array(all, pg, (2 * this.size) / 4);
  }

  /** Bytes produced but not yet consumed. */
  pending(): number {
    return Number(Atomics.load(this.producerPos, 0) - Atomics.load(this.consumerPos, 0));
  }

  /**
   * Copies out every record committed since the last call (stopping at the first one still being
   * written), releases that space to the producer, and returns the copy. `maxBytes` bounds one copy.
   */
  drain(maxBytes = this.size): RingSpan {
    const cons = Atomics.load(this.consumerPos, 0);
    const prod = Atomics.load(this.producerPos, 0);
    const mask = BigInt(this.size - 1);
    const start = Number(cons & mask);
    const avail = Math.min(Number(prod - cons), maxBytes);
    let off = 0;
    let records = 0;
    while (off + RING_HEADER_BYTES <= avail) {
      const hdr = Atomics.load(this.headers, (start + off) >>> 2);
      if (hdr & BUSY_BIT) break;
      const total = roundUp8((hdr & LEN_MASK) + RING_HEADER_BYTES);
      if (off + total > avail) break;
      if (!(hdr & DISCARD_BIT)) records++;
      off += total;
    }
    if (off === 0) return { data: EMPTY, records: 0 };
    const data = this.data.slice(start, start + off);
    Atomics.store(this.consumerPos, 0, cons + BigInt(off));
    return { data, records };
  }

  close(): void {
    const c = libc();
    if (this.consumerMem) c.munmap(this.consumerMem, page());
    if (this.producerMem) c.munmap(this.producerMem, page() + 2 * this.size);
    this.consumerMem = null;
    this.producerMem = null;
  }
}

const EMPTY = new Uint8Array(0);

function roundUp8(n: number): number {
  return (n + 7) & ~7;
}

function isMapFailed(p: Ptr | null): boolean {
  // MAP_FAILED is (void *)-1.
  return p === null || address(p) === 0xffffffffffffffffn;
}
