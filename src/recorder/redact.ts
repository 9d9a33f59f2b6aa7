// Redaction of argv before sealing: a runbook's patterns mask argument values in exec and task records.
import { forEachRecord } from "../libbpf/ring.js";
import { EV, EXEC, TASK, offsetOf } from "../events/layouts.js";

const EXEC_FILENAME_LEN = offsetOf(EXEC, "filename_len");
const EXEC_ARGV_LEN = offsetOf(EXEC, "argv_len");
const TASK_EXE_LEN = offsetOf(TASK, "exe_len");
const TASK_ARGV_LEN = offsetOf(TASK, "argv_len");

/** Compiles glob patterns ("--password=*", "*SECRET*") into one matcher. `*` matches any run of characters. */
export function compilePatterns(patterns: readonly string[]): RegExp | undefined {
  if (patterns.length === 0) return undefined;
  const alts = patterns.map((p) => p.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*"));
  return new RegExp(`^(?:${alts.join("|")})$`, "s");
}

/**
 * Masks, in place, every argument of exec/task records in a ring-format span that matches `re`:
 * after an `=` only the value is masked (`--password=****`), else the whole argument. Lengths are
 * kept, so the record layout stays valid. Returns how many arguments were masked.
 */
export function redactSpan(span: Uint8Array, re: RegExp): number {
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
    masked += maskArgs(span, start, Math.min(argvLen, off + len - start), re);
  });
  return masked;
}

function maskArgs(buf: Uint8Array, start: number, length: number, re: RegExp): number {
  let masked = 0;
  let i = start;
  const end = start + length;
  while (i < end) {
    let j = buf.indexOf(0, i);
    if (j < 0 || j > end) j = end;
    const arg = Buffer.from(buf.buffer, buf.byteOffset + i, j - i).toString("latin1");
    if (re.test(arg)) {
      const eq = arg.indexOf("=");
      buf.fill(0x2a, eq >= 0 ? i + eq + 1 : i, j);
      masked++;
    }
    i = j + 1;
  }
  return masked;
}
