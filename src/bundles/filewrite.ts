// The filewrite bundle: bytes written per (process, file) aggregated in the kernel; unlink, rename, chmod.
import type { BundleSpec } from "./spec.js";

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
  // One tp_btf program on raw sys_exit: the write family (write, pwrite64, writev, pwritev, pwritev2,
  // sendfile, copy_file_range) and open/openat/openat2/creat, unlink/unlinkat, rename/renameat/renameat2,
  // chmod/fchmod/fchmodat/fchmodat2, told apart by syscall number.
  tracepoints: [["raw_syscalls", "sys_exit"]],
  // Without bpf_rdonly_cast (6.2) or bpf_get_current_task_btf (5.11): the same facts, read with probe reads.
  variants: [
    { program: "filewrite_sys_exit", needs: ["taskBtf", "rdonlyCast"], fallback: "filewrite_sys_exit_compat" },
  ],
  rodata: (filters) => ({ cfg_all_file_types: filters.allFileTypes ?? false }),
};
