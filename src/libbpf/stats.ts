// Kernel BPF run-time statistics (run_time_ns, run_cnt in bpf_prog_info), on while an fd is held.
import { libbpf, libc } from "./native.js";

const BPF_STATS_RUN_TIME = 0;

export interface StatsHandle {
  /** Whether the kernel accepted the request (statistics are then counted until close). */
  enabled: boolean;
  close(): void;
}

/** Turns on run-time statistics for as long as the handle is open. Never throws: without them, run times read 0. */
export function enableRunTimeStats(): StatsHandle {
  const fd = libbpf().enableStats(BPF_STATS_RUN_TIME);
  let open = fd >= 0;
  return {
    enabled: open,
    close() {
      if (open) libc().close(fd);
      open = false;
    },
  };
}
