// Redaction of argv before sealing: a runbook's patterns mask argument values in exec and task records.
import { forEachRecord } from "../events/framing.js";
import { EV, EXEC, TASK, offsetOf } from "../events/layouts.js";

const EXEC_FILENAME_LEN = offsetOf(EXEC, "filename_len");
const EXEC_ARGV_LEN = offsetOf(EXEC, "argv_len");
const TASK_EXE_LEN = offsetOf(TASK, "exe_len");
const TASK_ARGV_LEN = offsetOf(TASK, "argv_len");

/** Whether an argument matches: the redaction test run on every argument of every exec. */
export type ArgMatcher = (arg: string) => boolean;

/**
 * Compiles glob patterns ("--password=*", "*SECRET*") into one matcher. `*` matches any run of
 * characters. Matching is a linear scan per pattern (no regular expression, so no pattern can make
 * it backtrack without end): at most patterns × argument length × pattern length steps.
 */
export function compilePatterns(patterns: readonly string[]): ArgMatcher | undefined {
  if (patterns.length === 0) return undefined;
  const list = [...patterns];
  return (arg) => list.some((p) => globMatch(p, arg));
}

/** `*`-only glob match, the classic greedy algorithm: on a mismatch, retry from the last star one character later. */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== "*" && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}

/**
 * Masks, in place, every argument of exec/task records in a ring-format span that matches `re`:
 * after an `=` only the value is masked (`--password=****`), else the whole argument. Lengths are
 * kept, so the record layout stays valid. Returns how many arguments were masked.
 */
export function redactSpan(span: Uint8Array, matches: ArgMatcher): number {
  const v = new DataView(span.buffer, span.byteOffset, span.byteLength);
  let masked = 0;
  forEachRecord(span, (off, len) => {
    const type = v.getUint16(off, true);
    let start: number;
    let argvLen: number;
    if (type === EV.exec && len >= EXEC.size) {
      start = off + EXEC.size + v.getUint16(off + EXEC_FILENAME_LEN, true);
      argvLen = v.getUint16(off + EXEC_ARGV_LEN, true);
    } else if (type === EV.task && len >= TASK.size) {
      start = off + TASK.size + v.getUint16(off + TASK_EXE_LEN, true);
      argvLen = v.getUint16(off + TASK_ARGV_LEN, true);
    } else return;
    masked += maskArgs(span, start, Math.min(argvLen, off + len - start), matches);
  });
  return masked;
}

function maskArgs(buf: Uint8Array, start: number, length: number, matches: ArgMatcher): number {
  let masked = 0;
  let i = start;
  const end = start + length;
  while (i < end) {
    let j = buf.indexOf(0, i);
    if (j < 0 || j > end) j = end;
    const arg = Buffer.from(buf.buffer, buf.byteOffset + i, j - i).toString("latin1");
    if (matches(arg)) {
      const eq = arg.indexOf("=");
      buf.fill(0x2a, eq >= 0 ? i + eq + 1 : i, j);
      masked++;
    }
    i = j + 1;
  }
  return masked;
}
