// The filewrite bundle: bytes written per (process, file) aggregated in the kernel; unlink, rename, chmod.
import type { BundleSpec } from "./spec.js";
import { WRITE_KEY, WRITE_VAL, type Layout } from "../events/layouts.js";

/** Syscalls with their own exit-tracepoint program (bpf/filewrite.bpf.c). The write family is read from raw sys_exit. */
const SYSCALLS = [
  "open", "openat", "openat2", "creat",
  "unlink", "unlinkat", "rename", "renameat", "renameat2", "chmod", "fchmodat", "fchmodat2", "fchmod",
] as const;

/**
 * Programs whose tracepoint an older kernel may lack; the rest of the bundle works without them.
 * fchmodat2 appeared in Linux 6.6. A loader may `setAutoload(program, false)` when the tracepoint is missing.
 */
export const FILEWRITE_OPTIONAL: ReadonlyArray<{ program: string; tracepoint: [string, string] }> = [
  { program: "filewrite_fchmodat2", tracepoint: ["syscalls", "sys_exit_fchmodat2"] },
];

export const FILEWRITE_BUNDLE: BundleSpec = {
  name: "filewrite",
  description: "bytes each process wrote to each file (exact, aggregated in the kernel), and every unlink, rename and chmod",
  object: "filewrite.bpf.o",
  ring: "events",
  ringBytes: 1 << 22,
  startIterators: [],
  // write_cache (PERCPU_ARRAY): the hot keys' newest per-CPU totals; write_totals (PERCPU_HASH): cumulative
  // totals per (tgid, start_ns, dev, ino) and CPU. The order matters: the cache is read first, then the
  // totals (a key evicted in between is then in the totals). mergeWriteTotals() combines the pair.
  snapshotMaps: ["write_cache", "write_totals"],
  // write, pwrite64, writev, pwritev, pwritev2, sendfile64, copy_file_range: one tp_btf program on raw sys_exit.
  tracepoints: [["raw_syscalls", "sys_exit"], ...SYSCALLS.map((s): [string, string] => ["syscalls", `sys_exit_${s}`])],
  rodata: (filters) => ({ cfg_all_file_types: filters.allFileTypes ?? false }),
};

/** One `write_totals` entry (bpf/events.h st_write_key → st_write_val), decoded. */
export interface WriteTotal {
  tgid: number;
  startNs: bigint;
  /** The kernel's dev_t of the file system: major = dev >> 20, minor = dev & 0xfffff. */
  dev: bigint;
  ino: bigint;
  bytes: bigint;
  calls: bigint;
  firstNs: bigint;
  lastNs: bigint;
}

function field(layout: Layout, name: string): number {
  const f = layout.fields.find((x) => x.name === name);
  if (!f) throw new Error(`${layout.cName} has no field ${name}`);
  return f.offset;
}

const VAL_STRIDE = Math.ceil(WRITE_VAL.size / 8) * 8;

function readVal(v: DataView, at: number): { bytes: bigint; calls: bigint; firstNs: bigint; lastNs: bigint } {
  return {
    bytes: v.getBigUint64(at + field(WRITE_VAL, "bytes"), true),
    calls: v.getBigUint64(at + field(WRITE_VAL, "calls"), true),
    firstNs: v.getBigUint64(at + field(WRITE_VAL, "first_ns"), true),
    lastNs: v.getBigUint64(at + field(WRITE_VAL, "last_ns"), true),
  };
}

function readKey(k: DataView, at: number): { tgid: number; startNs: bigint; dev: bigint; ino: bigint } {
  return {
    tgid: k.getUint32(at + field(WRITE_KEY, "tgid"), true),
    startNs: k.getBigUint64(at + field(WRITE_KEY, "start_ns"), true),
    dev: k.getBigUint64(at + field(WRITE_KEY, "dev"), true),
    ino: k.getBigUint64(at + field(WRITE_KEY, "ino"), true),
  };
}

/** Folds per-CPU values: bytes and calls add up, first_ns is the earliest non-zero, last_ns the latest. */
function foldVals(vals: Array<{ bytes: bigint; calls: bigint; firstNs: bigint; lastNs: bigint }>) {
  let bytes = 0n, calls = 0n, firstNs = -1n, lastNs = 0n;
  for (const x of vals) {
    if (x.calls === 0n) continue;
    bytes += x.bytes;
    calls += x.calls;
    if (x.firstNs !== 0n && (firstNs < 0n || x.firstNs < firstNs)) firstNs = x.firstNs;
    if (x.lastNs > lastNs) lastNs = x.lastNs;
  }
  return { bytes, calls, firstNs: firstNs < 0n ? 0n : firstNs, lastNs };
}

/**
 * Decodes a `write_totals` map entry: a per-CPU map, so `value` holds one st_write_val per possible
 * CPU (8-byte aligned), summed here. A value of exactly one st_write_val (an older, shared-HASH
 * recording) decodes as is. Without the write_cache snapshot this is a lower bound of the key's
 * totals while recording: use mergeWriteTotals(). Throws RangeError when key or value is shorter than its layout.
 */
export function decodeWriteTotal(key: Uint8Array, value: Uint8Array): WriteTotal {
  if (key.length < WRITE_KEY.size || value.length < WRITE_VAL.size) throw new RangeError("write_totals entry shorter than its layout");
  const k = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const vals = [];
  for (let at = 0; at + WRITE_VAL.size <= value.length; at += VAL_STRIDE) vals.push(readVal(v, at));
  return { ...readKey(k, 0), ...foldVals(vals) };
}

/** bpf/filewrite.bpf.c struct write_slot: head, st_write_key, st_write_val, last_jiffies, tail. */
export const WRITE_SLOT = { head: 0, key: 8, val: 8 + WRITE_KEY.size, tail: 8 + WRITE_KEY.size + WRITE_VAL.size + 8, size: 8 + WRITE_KEY.size + WRITE_VAL.size + 16 };

/**
 * Totals from one snapshot of `write_cache` and one of `write_totals` read after it: for each key, between
 * its true totals when the cache was read and when the totals were read; exact once writes have stopped.
 * The rule, per key and CPU: a write_cache slot of that CPU holding the key (not torn: head == tail)
 * and the key's write_totals value of that CPU are two readings of one cumulative series; the one
 * with more calls is the newer and counts. Then bytes and calls add up over CPUs. Ring flushes
 * (ST_EV_FILE_WRITE) come on top, as before.
 */
export function mergeWriteTotals(totals: ReadonlyArray<{ key: Uint8Array; value: Uint8Array }>, cache: ReadonlyArray<{ key: Uint8Array; value: Uint8Array }>): WriteTotal[] {
  const rows = new Map<string, { key: ReturnType<typeof readKey>; perCpu: Array<ReturnType<typeof readVal>> }>();
  const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, WRITE_KEY.size).toString("hex");
  for (const e of totals) {
    if (e.key.length < WRITE_KEY.size || e.value.length < WRITE_VAL.size) throw new RangeError("write_totals entry shorter than its layout");
    const k = new DataView(e.key.buffer, e.key.byteOffset, e.key.byteLength);
    const v = new DataView(e.value.buffer, e.value.byteOffset, e.value.byteLength);
    const perCpu = [];
    for (let at = 0; at + WRITE_VAL.size <= e.value.length; at += VAL_STRIDE) perCpu.push(readVal(v, at));
    rows.set(hex(e.key), { key: readKey(k, 0), perCpu });
  }
  const slotStride = Math.ceil(WRITE_SLOT.size / 8) * 8;
  for (const e of cache) {
    const v = new DataView(e.value.buffer, e.value.byteOffset, e.value.byteLength);
    for (let cpu = 0, at = 0; at + WRITE_SLOT.size <= e.value.length; cpu++, at += slotStride) {
      if (v.getBigUint64(at + WRITE_SLOT.head, true) !== v.getBigUint64(at + WRITE_SLOT.tail, true)) continue; // torn: a lower bound remains in write_totals
      const val = readVal(v, at + WRITE_SLOT.val);
      if (val.calls === 0n) continue;
      const keyBytes = e.value.subarray(at + WRITE_SLOT.key, at + WRITE_SLOT.key + WRITE_KEY.size);
      const id = hex(keyBytes);
      let row = rows.get(id);
      if (!row) rows.set(id, (row = { key: readKey(new DataView(keyBytes.buffer, keyBytes.byteOffset, WRITE_KEY.size), 0), perCpu: [] }));
      const cur = row.perCpu[cpu];
      if (!cur || val.calls > cur.calls) row.perCpu[cpu] = val;
    }
  }
  return [...rows.values()].map((r) => ({ ...r.key, ...foldVals(r.perCpu.filter((x) => x !== undefined)) })).filter((t) => t.calls > 0n);
}

/** One recorded `maps` dump: `n` rows of key then value (the recorder's snapshot record). */
export interface MapDump {
  keySize: number;
  valueSize: number;
  d: Uint8Array;
}

function rows(m: MapDump): Array<{ key: Uint8Array; value: Uint8Array }> {
  const row = m.keySize + m.valueSize;
  const out = [];
  for (let at = 0; at + row <= m.d.length; at += row) out.push({ key: m.d.subarray(at, at + m.keySize), value: m.d.subarray(at + m.keySize, at + row) });
  return out;
}

/**
 * mergeWriteTotals() on recorded dumps: the `write_cache` dump and the `write_totals` dump of one
 * snapshot (same `t`; the recorder writes the cache first). `cache` undefined (a recording made
 * before write_cache existed): the totals alone.
 */
export function mergeWriteDumps(cache: MapDump | undefined, totals: MapDump): WriteTotal[] {
  return mergeWriteTotals(rows(totals), cache ? rows(cache) : []);
}
