// Kernel clocks: BPF stamps records with CLOCK_BOOTTIME; sessions store realtime − boottime to place them.
import { libc } from "./native.js";

const CLOCK_REALTIME = 0;
const CLOCK_BOOTTIME = 7;

function read(id: number): bigint {
  const ts = { tv_sec: 0n as bigint | number, tv_nsec: 0n as bigint | number };
  libc().clockGettime(id, ts);
  return BigInt(ts.tv_sec) * 1_000_000_000n + BigInt(ts.tv_nsec);
}

/** CLOCK_BOOTTIME in ns: the clock of every record's ts_ns. */
export function bootNs(): bigint {
  return read(CLOCK_BOOTTIME);
}

/** realtime − boottime in ns, read back to back (the narrowest of three tries bounds the error). */
export function realtimeOffsetNs(): bigint {
  let best = 0n;
  let bestSpan = -1n;
  for (let i = 0; i < 3; i++) {
    const a = read(CLOCK_BOOTTIME);
    const r = read(CLOCK_REALTIME);
    const b = read(CLOCK_BOOTTIME);
    if (bestSpan < 0n || b - a < bestSpan) {
      bestSpan = b - a;
      best = r - (a + (b - a) / 2n);
    }
  }
  return best;
}
