// The one rule for file write totals, used by replay and the tests: from one snapshot of the filewrite bundle's two maps (docs/EVENTS.md, filewrite):
// `write_cache` (per-CPU slots holding hot keys' newest totals) read just before `write_totals`
// (per-CPU cumulative totals). Per key and CPU the reading with more calls is the newer one.

/** Field offsets of st_write_key and st_write_val: the current layouts, or a session's stored schema. */
export interface WriteKeyOffsets {
  size: number;
  tgid: number;
  start_ns: number;
  dev: number;
  ino: number;
}
export interface WriteValOffsets {
  size: number;
  bytes: number;
  calls: number;
  first_ns: number;
  last_ns: number;
}

export interface KeyTotals {
  tgid: number;
  startBootNs: bigint;
  dev: bigint;
  ino: bigint;
  bytes: bigint;
  calls: bigint;
  firstNs: bigint;
  lastNs: bigint;
}

interface Reading {
  bytes: bigint;
  calls: bigint;
  firstNs: bigint;
  lastNs: bigint;
}

/**
 * bpf/filewrite.bpf.c `struct write_slot`: u64 head, st_write_key, st_write_val, u64 jiffies, u64 tail
 * (checked against the object's BTF by test/unit/kernel-contract.test.ts).
 */
export function slotLayout(keySize: number, valSize: number) {
  const key = 8;
  const val = key + keySize;
  const tail = val + valSize + 8;
  return { head: 0, key, val, tail, size: tail + 8 };
}

function reading(v: DataView, at: number, w: WriteValOffsets): Reading {
  return {
    bytes: v.getBigUint64(at + w.bytes, true),
    calls: v.getBigUint64(at + w.calls, true),
    firstNs: v.getBigUint64(at + w.first_ns, true),
    lastNs: v.getBigUint64(at + w.last_ns, true),
  };
}

/**
 * Merges a `write_totals` dump (rows of key + one value per CPU) with the `write_cache` dump taken
 * just before it (rows of u32 index + one slot per CPU); without a cache (older sessions, or a
 * shared HASH) the totals stand alone. Torn slots (head != tail) are skipped: the totals hold a lower
 * bound for them, and the final snapshot, taken after detaching, is exact.
 */
export function mergeWriteSnapshot(
  d: Uint8Array,
  keySize: number,
  valueSize: number,
  cache: { d: Uint8Array; keySize: number; valueSize: number } | undefined,
  k: WriteKeyOffsets,
  w: WriteValOffsets,
): KeyTotals[] {
  const stride = Math.ceil(w.size / 8) * 8;
  const rows = new Map<string, { key: Uint8Array; perCpu: Array<Reading | undefined> }>();
  const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, k.size).toString("hex");
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  for (let at = 0; at + keySize + valueSize <= d.length; at += keySize + valueSize) {
    const perCpu: Array<Reading | undefined> = [];
    for (let c = 0; c * stride + w.size <= valueSize; c++) perCpu.push(reading(v, at + keySize + c * stride, w));
    const key = d.subarray(at, at + k.size);
    rows.set(hex(key), { key, perCpu });
  }
  if (cache) {
    const slot = slotLayout(k.size, w.size);
    const slotStride = Math.ceil(slot.size / 8) * 8;
    const cv = new DataView(cache.d.buffer, cache.d.byteOffset, cache.d.byteLength);
    const row = cache.keySize + cache.valueSize;
    for (let at = 0; at + row <= cache.d.length; at += row) {
      for (let c = 0, s = at + cache.keySize; s + slot.size <= at + row; c++, s += slotStride) {
        if (cv.getBigUint64(s + slot.head, true) !== cv.getBigUint64(s + slot.tail, true)) continue;
        const r = reading(cv, s + slot.val, w);
        if (r.calls === 0n) continue;
        const key = cache.d.subarray(s + slot.key, s + slot.key + k.size);
        const id = hex(key);
        let entry = rows.get(id);
        if (!entry) rows.set(id, (entry = { key, perCpu: [] }));
        const cur = entry.perCpu[c];
        if (!cur || r.calls > cur.calls) entry.perCpu[c] = r;
      }
    }
  }
  const out: KeyTotals[] = [];
  for (const { key, perCpu } of rows.values()) {
    let bytes = 0n,
      calls = 0n,
      first = -1n,
      last = 0n;
    for (const r of perCpu) {
      if (!r || r.calls === 0n) continue;
      bytes += r.bytes;
      calls += r.calls;
      if (r.firstNs !== 0n && (first < 0n || r.firstNs < first)) first = r.firstNs;
      if (r.lastNs > last) last = r.lastNs;
    }
    if (calls === 0n) continue;
    const kv = new DataView(key.buffer, key.byteOffset, key.byteLength);
    out.push({
      tgid: kv.getUint32(k.tgid, true),
      startBootNs: kv.getBigUint64(k.start_ns, true),
      dev: kv.getBigUint64(k.dev, true),
      ino: kv.getBigUint64(k.ino, true),
      bytes,
      calls,
      firstNs: first < 0n ? 0n : first,
      lastNs: last,
    });
  }
  return out;
}
