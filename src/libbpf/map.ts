// Map access by fd: lookup, update, delete, iterate (batched where the kernel allows).
import { libbpf, lastErrno } from "./native.js";
import { possibleCpus } from "./cpus.js";

const BPF_MAP_TYPE_PERCPU_HASH = 5;
const BPF_MAP_TYPE_PERCPU_ARRAY = 6;
const BPF_MAP_TYPE_LRU_PERCPU_HASH = 10;
const ENOENT = 2;

export interface MapEntry {
  key: Uint8Array;
  /** For per-CPU maps: one value per possible CPU, concatenated (each rounded up to 8 bytes). */
  value: Uint8Array;
}

export class BpfMap {
  constructor(
    readonly name: string,
    readonly fd: number,
    readonly keySize: number,
    readonly valueSize: number,
    readonly maxEntries: number,
    readonly type: number,
  ) {}

  get perCpu(): boolean {
    return (
      this.type === BPF_MAP_TYPE_PERCPU_ARRAY ||
      this.type === BPF_MAP_TYPE_PERCPU_HASH ||
      this.type === BPF_MAP_TYPE_LRU_PERCPU_HASH
    );
  }

  /** Bytes of one lookup result: per-CPU maps return a value per possible CPU, each 8-byte aligned. */
  get lookupSize(): number {
    return this.perCpu ? Math.ceil(this.valueSize / 8) * 8 * possibleCpus() : this.valueSize;
  }

  /** The value for `key`, or undefined when absent. */
  lookup(key: Uint8Array): Uint8Array | undefined {
    const value = new Uint8Array(this.lookupSize);
    if (libbpf().mapLookupElem(this.fd, key, value) !== 0) {
      const errno = lastErrno();
      if (errno === ENOENT) return undefined;
      throw new Error(`map ${this.name} lookup: errno ${errno}`);
    }
    return value;
  }

  update(key: Uint8Array, value: Uint8Array, flags = 0n): void {
    if (libbpf().mapUpdateElem(this.fd, key, value, flags) !== 0)
      throw new Error(`map ${this.name} update: errno ${lastErrno()}`);
  }

  delete(key: Uint8Array): boolean {
    return libbpf().mapDeleteElem(this.fd, key) === 0;
  }

  /** Every entry, read in batches of up to `batch` entries (falls back to key-by-key where batching is unsupported). */
  entries(batch = 4096): MapEntry[] {
    const out: MapEntry[] = [];
    const vsize = this.lookupSize;
    const keys = new Uint8Array(this.keySize * batch);
    const values = new Uint8Array(vsize * batch);
    const opts = new Uint8Array(24);
    new DataView(opts.buffer).setBigUint64(0, 24n, true);
    let inBatch: Uint8Array | null = null;
    const outBatch = new Uint8Array(Math.max(8, this.keySize));
    for (;;) {
      const count: [number] = [batch];
      const rc = libbpf().mapLookupBatch(this.fd, inBatch, outBatch, keys, values, count, opts);
      const errno = rc === 0 ? 0 : lastErrno();
      if (rc !== 0 && errno !== ENOENT) {
        if (out.length === 0) return this.entriesOneByOne();
        throw new Error(`map ${this.name} batch lookup: errno ${errno}`);
      }
      for (let i = 0; i < count[0]; i++) {
        out.push({
          key: keys.slice(i * this.keySize, (i + 1) * this.keySize),
          value: values.slice(i * vsize, (i + 1) * vsize),
        });
      }
      if (rc !== 0) return out; // ENOENT: the last batch
      inBatch = outBatch.slice();
    }
  }

  private entriesOneByOne(): MapEntry[] {
    const out: MapEntry[] = [];
    let key: Uint8Array | null = null;
    const next = new Uint8Array(this.keySize);
    while (libbpf().mapGetNextKey(this.fd, key, next) === 0) {
      key = next.slice();
      const value = this.lookup(key);
      if (value) out.push({ key, value });
    }
    return out;
  }

  /** Sum of a per-CPU u64 counter array: element i summed over CPUs. */
  sumPerCpuU64(index: number): bigint {
    const v = this.lookup(u32le(index));
    if (!v) return 0n;
    const dv = new DataView(v.buffer);
    const stride = Math.ceil(this.valueSize / 8) * 8;
    let sum = 0n;
    for (let off = 0; off < v.length; off += stride) sum += dv.getBigUint64(off, true);
    return sum;
  }
}

/** A u32 map key or value, as the kernel (x86-64, little-endian) reads it. */
export function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
