// The one decoder of file write totals, used by replay and the tests: from one snapshot of the filewrite bundle's two maps (docs/EVENTS.md, filewrite):
// `write_cache` (per-CPU slots holding hot keys' newest totals) read just before `write_totals`
// (per-CPU cumulative totals). Per key and CPU the reading with more calls is the newer one.

import { WRITE_KEY, WRITE_VAL, offsetOf } from "./layouts.js";

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

/** This build's offsets, for maps read live. */
const KEY_OFFSETS: WriteKeyOffsets = {
  size: WRITE_KEY.size,
  tgid: offsetOf(WRITE_KEY, "tgid"),
  start_ns: offsetOf(WRITE_KEY, "start_ns"),
  dev: offsetOf(WRITE_KEY, "dev"),
  ino: offsetOf(WRITE_KEY, "ino"),
};
const VAL_OFFSETS: WriteValOffsets = {
  size: WRITE_VAL.size,
  bytes: offsetOf(WRITE_VAL, "bytes"),
  calls: offsetOf(WRITE_VAL, "calls"),
  first_ns: offsetOf(WRITE_VAL, "first_ns"),
  last_ns: offsetOf(WRITE_VAL, "last_ns"),
};

/** One recorded `maps` dump: rows of key then value (the recorder's snapshot record). */
export interface MapDump {
  keySize: number;
  valueSize: number;
  d: Uint8Array;
}

/** Map entries as BpfMap.entries() returns them, as one dump of rows (key then value). */
function rows(entries: ReadonlyArray<{ key: Uint8Array; value: Uint8Array }>): MapDump | undefined {
  const first = entries[0];
  if (!first) return undefined;
  const row = first.key.length + first.value.length;
  const d = new Uint8Array(entries.length * row);
  entries.forEach((e, i) => {
    d.set(e.key, i * row);
    d.set(e.value, i * row + e.key.length);
  });
  return { keySize: first.key.length, valueSize: first.value.length, d };
}

/**
 * mergeWriteSnapshot() with this build's layouts, on the `write_cache` and `write_totals` dumps of one
 * snapshot (the recorder writes the cache first). `cache` undefined (a recording made before write_cache
 * existed): the totals alone.
 */
export function mergeWriteDumps(cache: MapDump | undefined, totals: MapDump): KeyTotals[] {
  return mergeWriteSnapshot(totals.d, totals.keySize, totals.valueSize, cache, KEY_OFFSETS, VAL_OFFSETS);
}

/**
 * mergeWriteDumps() on live maps: one read of `write_cache` and one of `write_totals` after it. Exact once
 * writes have stopped; ring flushes (ST_EV_FILE_WRITE) come on top. An empty `cache`: the totals alone.
 */
export function mergeWriteTotals(
  totals: ReadonlyArray<{ key: Uint8Array; value: Uint8Array }>,
  cache: ReadonlyArray<{ key: Uint8Array; value: Uint8Array }>,
): KeyTotals[] {
  const t = rows(totals) ?? { keySize: WRITE_KEY.size, valueSize: WRITE_VAL.size, d: new Uint8Array(0) };
  return mergeWriteDumps(rows(cache), t);
}
