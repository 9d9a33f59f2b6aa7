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

/** Run-time statistics are on for this long at the start of every STATS_PERIOD_MS of a recording. */
export const STATS_WINDOW_MS = 1000;
export const STATS_PERIOD_MS = 10_000;

/**
 * Run-time statistics sampled: on for the first STATS_WINDOW_MS of every STATS_PERIOD_MS, off the rest of the
 * time. While on, the kernel reads the clock twice around every run of every BPF program on the host (~100 ns
 * per hooked write measured here, as much as the filewrite program itself: docs/BENCHMARKS.md); sampled, the
 * recording pays that a tenth of the time, and `runTimeNs / runCount` is still each program's mean cost per
 * run. The counters then cover `sampledMs` of the recording, not all of it. `update` is called on the drain
 * tick; `enable` is enableRunTimeStats but for tests.
 */
export class SampledRunTimeStats {
  private handle: StatsHandle | undefined;
  private onSinceMs = 0;
  private onTotalMs = 0;
  /** The kernel refused once (no BPF_ENABLE_STATS): not asked again. */
  private refused = false;
  private closed = false;

  constructor(
    private readonly startMs: number,
    private readonly enable: () => StatsHandle = enableRunTimeStats,
  ) {
    this.update(startMs);
  }

  /** Turns the statistics on or off for the time `nowMs` (same clock as the start). */
  update(nowMs: number): void {
    if (this.closed) return;
    const inWindow = (nowMs - this.startMs) % STATS_PERIOD_MS < STATS_WINDOW_MS;
    if (inWindow && !this.handle && !this.refused) {
      const h = this.enable();
      if (!h.enabled) {
        this.refused = true;
        return;
      }
      this.handle = h;
      this.onSinceMs = nowMs;
    } else if (!inWindow && this.handle) this.off(nowMs);
  }

  /** How long the statistics have been on since the start, up to `nowMs`. */
  sampledMs(nowMs: number): number {
    return Math.round(this.onTotalMs + (this.handle ? Math.max(0, nowMs - this.onSinceMs) : 0));
  }

  close(nowMs: number): void {
    if (this.handle) this.off(nowMs);
    this.closed = true;
  }

  private off(nowMs: number): void {
    this.handle!.close();
    this.handle = undefined;
    this.onTotalMs += Math.max(0, nowMs - this.onSinceMs);
  }
}
