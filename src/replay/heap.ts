// Replay's bound on V8 heap growth. Replay keeps every entity live, and V8 lets the old generation grow to
// up to 4x the live size before its next full GC, more the faster the code allocates: made faster, replay of
// a 1 GiB session peaked at 498 MiB RSS instead of 467 with the same live heap (issue 6: under 500 MB).
// A fixed 20% made a small heap run a full GC at every few MiB allocated: a 2 M-event churn session did
// 10 full GCs on its way to 350 MiB. So the growth allowed is HEAP_SLACK_BYTES beyond the live size, as a
// percentage, between 20% and 100%: the same 20% from 640 MiB of live heap up, where the peak is decided.
// A full GC of replay's heap frees little (4-5%: what dies, dies young), so each one is mostly the cost of
// marking every entity: 128 MiB rather than 64 took the 2 M-event churn session from 6 full GCs to 5 and
// ~7% off its time, with the same peak RSS there, at 4 M events and on the 1 GiB session.
import { getHeapStatistics, setFlagsFromString } from "node:v8";

/** The least and most old-generation growth allowed per full GC, in percent of the live size. */
const MIN_GROWING_PERCENT = 20;
const MAX_GROWING_PERCENT = 100;
/** The absolute growth allowed per full GC below MIN_GROWING_PERCENT's live size. */
const HEAP_SLACK_BYTES = 128 * 2 ** 20;
/** Percentages are set in steps of this many (a flag set parses a string). */
const STEP = 10;

let bounded = false;
let current = 0;

/** Caps heap growth for the rest of this process: for a process that replays, before it loads sessions. */
export function boundHeapGrowth(): void {
  bounded = true;
  retuneHeapGrowth();
}

/**
 * Sets the growth V8 allows at its next full GCs (its --heap-growing-percent, read at each one) for the
 * heap used now; nothing before boundHeapGrowth. Cheap: the loader calls it once per frame.
 */
export function retuneHeapGrowth(): void {
  if (!bounded) return;
  const used = getHeapStatistics().used_heap_size;
  const wanted = Math.floor((100 * HEAP_SLACK_BYTES) / Math.max(used, 1) / STEP) * STEP;
  const percent = Math.max(MIN_GROWING_PERCENT, Math.min(MAX_GROWING_PERCENT, wanted));
  if (percent === current) return;
  current = percent;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
