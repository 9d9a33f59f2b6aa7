// The filewrite bundle: bytes written per (process, file) aggregated in the kernel; unlink, rename, chmod.
import type { BundleSpec } from "./spec.js";
import { WRITE_KEY, WRITE_VAL, type Layout } from "../events/layouts.js";
import { mergeWriteSnapshot, type WriteKeyOffsets, type WriteValOffsets } from "../events/writes.js";
import { SYSCALL_NEEDS } from "./connect.js";
import type { KernelFeature } from "../libbpf/features.js";

/** The syscalls filewrite_exit is attached to, on syscalls:sys_exit_NAME (bpf/filewrite.bpf.c); write first (its section). */
export const FILEWRITE_SYSCALLS = [
  "write",
  "pwrite64",
  "writev",
  "pwritev",
  "pwritev2",
  "sendfile64",
  "copy_file_range",
  "open",
  "openat",
  "openat2",
  "creat",
  "unlink",
  "unlinkat",
  "rename",
  "renameat",
  "renameat2",
  "chmod",
  "fchmod",
  "fchmodat",
  "fchmodat2",
];

/** filewrite_exit reads the fd table with plain loads (bpf_rdonly_cast) as well. */
const FILEWRITE_NEEDS: KernelFeature[] = [...SYSCALL_NEEDS, "rdonlyCast"];

export const FILEWRITE_BUNDLE: BundleSpec = {
  name: "filewrite",
  description:
    "bytes each process wrote to each file (exact, aggregated in the kernel), and every unlink, rename and chmod",
  object: "filewrite.bpf.o",
  ring: "events",
  ringBytes: 1 << 22,
  startIterators: [],
  // write_cache (PERCPU_ARRAY): the hot keys' newest per-CPU totals; write_totals (PERCPU_HASH): cumulative
  // totals per (tgid, start_ns, dev, ino) and CPU. The order matters: the cache is read first, then the
  // totals (a key evicted in between is then in the totals). mergeWriteTotals() combines the pair.
  snapshotMaps: ["write_cache", "write_totals"],
  // filewrite_exit on each syscall's exit tracepoint (bpf/syscall.bpf.h): the write family (write, pwrite64,
  // writev, pwritev, pwritev2, sendfile, copy_file_range) and open/openat/openat2/creat, unlink/unlinkat,
  // rename/renameat/renameat2, chmod/fchmod/fchmodat/fchmodat2 (6.6+: skipped where the kernel lacks it).
  tracepoints: FILEWRITE_SYSCALLS.map((s) => ["syscalls", `sys_exit_${s}`]),
  alsoAttach: { filewrite_exit: FILEWRITE_SYSCALLS.slice(1).map((s) => ["syscalls", `sys_exit_${s}`]) },
  // Without bpf_get_current_task_btf (5.11), bpf_task_pt_regs (5.15) or bpf_rdonly_cast (6.2): all of them in
  // one program on the raw sys_exit tracepoint, read with probe reads (the program before issue 20).
  variants: [
    { program: "filewrite_exit", needs: FILEWRITE_NEEDS },
    { needs: FILEWRITE_NEEDS, fallback: "filewrite_sys_exit_compat" },
  ],
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
  let bytes = 0n,
    calls = 0n,
    firstNs = -1n,
    lastNs = 0n;
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
  if (key.length < WRITE_KEY.size || value.length < WRITE_VAL.size)
    throw new RangeError("write_totals entry shorter than its layout");
  const k = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const vals = [];
  for (let at = 0; at + WRITE_VAL.size <= value.length; at += VAL_STRIDE) vals.push(readVal(v, at));
  return { ...readKey(k, 0), ...foldVals(vals) };
}

/** Field offsets of the current layouts, for mergeWriteSnapshot. */
function offsets(layout: Layout, names: readonly string[]): Record<string, number> & { size: number } {
  return Object.assign({ size: layout.size }, Object.fromEntries(names.map((n) => [n, field(layout, n)])));
}
const KEY_OFFSETS = offsets(WRITE_KEY, ["tgid", "start_ns", "dev", "ino"]) as unknown as WriteKeyOffsets;
const VAL_OFFSETS = offsets(WRITE_VAL, ["bytes", "calls", "first_ns", "last_ns"]) as unknown as WriteValOffsets;

function concat(entries: ReadonlyArray<{ key: Uint8Array; value: Uint8Array }>): MapDump | undefined {
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
 * Totals from one read of `write_cache` and one of `write_totals` after it (map entries as BpfMap.entries()
 * returns them): the rule of src/events/writes.ts, exact once writes have stopped. Ring flushes
 * (ST_EV_FILE_WRITE) come on top.
 */
export function mergeWriteTotals(
  totals: ReadonlyArray<{ key: Uint8Array; value: Uint8Array }>,
  cache: ReadonlyArray<{ key: Uint8Array; value: Uint8Array }>,
): WriteTotal[] {
  const t = concat(totals);
  return mergeWriteDumps(
    concat(cache),
    t ?? { keySize: WRITE_KEY.size, valueSize: WRITE_VAL.size, d: new Uint8Array(0) },
  );
}

/** One recorded `maps` dump: `n` rows of key then value (the recorder's snapshot record). */
export interface MapDump {
  keySize: number;
  valueSize: number;
  d: Uint8Array;
}

/**
 * mergeWriteTotals() on recorded dumps: the `write_cache` dump and the `write_totals` dump of one
 * snapshot (same `t`; the recorder writes the cache first). `cache` undefined (a recording made
 * before write_cache existed): the totals alone.
 */
export function mergeWriteDumps(cache: MapDump | undefined, totals: MapDump): WriteTotal[] {
  return mergeWriteSnapshot(totals.d, totals.keySize, totals.valueSize, cache, KEY_OFFSETS, VAL_OFFSETS).map((t) => ({
    ...t,
    startNs: t.startBootNs,
  }));
}
