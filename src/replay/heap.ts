// Replay's bound on V8 heap growth. Replay keeps every entity live, and V8 lets the old generation grow to
// up to 4x the live size before its next full GC, more the faster the code allocates: made faster, replay of
// a 1 GiB session peaked at 498 MiB RSS instead of 467 with the same live heap (issue 6: under 500 MB).
import { setFlagsFromString } from "node:v8";

/** Old-generation growth allowed per full GC, in percent of the live size (V8's --heap-growing-percent). */
const HEAP_GROWING_PERCENT = 20;

/** Caps heap growth for the rest of this process: for a process that replays, before it loads sessions. */
export function boundHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
