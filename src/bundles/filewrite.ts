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
  // Cumulative totals per (tgid, start_ns, dev, ino): the latest snapshot of a key supersedes earlier ones.
  snapshotMaps: ["write_totals"],
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

/** Decodes a `write_totals` map entry. Throws RangeError when key or value is shorter than its layout. */
export function decodeWriteTotal(key: Uint8Array, value: Uint8Array): WriteTotal {
  if (key.length < WRITE_KEY.size || value.length < WRITE_VAL.size) throw new RangeError("write_totals entry shorter than its layout");
  const k = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return {
    tgid: k.getUint32(field(WRITE_KEY, "tgid"), true),
    startNs: k.getBigUint64(field(WRITE_KEY, "start_ns"), true),
    dev: k.getBigUint64(field(WRITE_KEY, "dev"), true),
    ino: k.getBigUint64(field(WRITE_KEY, "ino"), true),
    bytes: v.getBigUint64(field(WRITE_VAL, "bytes"), true),
    calls: v.getBigUint64(field(WRITE_VAL, "calls"), true),
    firstNs: v.getBigUint64(field(WRITE_VAL, "first_ns"), true),
    lastNs: v.getBigUint64(field(WRITE_VAL, "last_ns"), true),
  };
}
