// The recorder's CPU scheduling while it records (issue 20): SCHED_BATCH for every thread of the process.
//
// The recorder wakes 10 to 100 times a second to drain its rings. Under the default policy a waking task
// may preempt whatever runs on its CPU at once, and on a busy host that is the traced workload, in the
// middle of a hand-off between its own threads. A SCHED_BATCH task never preempts on wake-up: it waits
// for the running task's slice or the next tick (milliseconds, which the rings are sized for: the drain
// tick keeps them under a quarter full at the rate they last filled) and keeps its full share of the
// CPU (its nice value and weight do not change), so storms are drained as before.
import { readdirSync } from "node:fs";
import { libc } from "../libbpf/native.js";

const SCHED_BATCH = 3;

/**
 * Puts every thread of this process under SCHED_BATCH (threads made later inherit it from their creator).
 * Returns how many threads it moved; failures are ignored (the recording is the same without it).
 */
export function batchScheduling(): number {
  let moved = 0;
  let tids: string[];
  try {
    tids = readdirSync("/proc/self/task");
  } catch {
    return 0;
  }
  const param = new Int32Array(1); // struct sched_param { int sched_priority = 0 }
  for (const tid of tids) {
    try {
      if (libc().schedSetscheduler(Number(tid), SCHED_BATCH, param) === 0) moved++;
    } catch {
      return moved; // libc could not be bound: nothing to do
    }
  }
  return moved;
}
