// The filewrite bundle: bytes written per (process, file) aggregated in the kernel; unlink, rename, chmod.
import type { BundleSpec } from "./spec.js";
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
  // totals (a key evicted in between is then in the totals). src/events/writes.ts combines the pair.
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
