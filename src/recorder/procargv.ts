// The start snapshot's argv on kernels whose task iterator cannot read another process's memory
// (no bpf_copy_from_user_task before 5.18): the recorder reads /proc/<pid>/cmdline instead.
import { readFileSync } from "node:fs";
import { EV, EXEC_MAX, EXEC_TRUNC, HDR, TASK } from "../events/layouts.js";
import { forEachRecord, RING_HEADER_BYTES } from "../events/framing.js";

/** st_task argv left to the recorder, and argv cut at its cap. */
const EXEC_ARGV_PROC = EXEC_TRUNC.argvProc;
const EXEC_ARGV_TRUNC = EXEC_TRUNC.argvTrunc;
/** The kernel's cap, kept for argv from /proc too. */
const MAX_ARGV = EXEC_MAX.argv;

const off = (name: string, layout = TASK): number => layout.fields.find((f) => f.name === name)!.offset;
const O = {
  type: off("type", HDR),
  tgid: off("tgid", HDR),
  startNs: off("start_ns", HDR),
  argsLen: off("args_len"),
  exeLen: off("exe_len"),
  argvLen: off("argv_len"),
  trunc: off("trunc"),
};

/** Boot-time ns of a process's start from /proc/<pid>/stat (clock ticks: USER_HZ, 100 on Linux), or undefined. */
function procStartNs(pid: number): bigint | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return BigInt(fields[19]!) * 10_000_000n; // field 22 (starttime), the 20th after the comm
  } catch {
    return undefined;
  }
}

/**
 * Fills in argv for every st_task record of an iterator's output that carries EXEC_ARGV_PROC, from
 * /proc/<tgid>/cmdline, only when /proc's start time matches the record's (the pid not reused since).
 * Returns a new buffer in the same framing (or `data` itself when nothing changed); records it cannot
 * complete keep argv_len 0.
 */
export function fillArgvFromProc(
  data: Uint8Array,
  readCmdline: (pid: number) => Uint8Array | undefined = readProcCmdline,
): Uint8Array {
  const parts: Uint8Array[] = [];
  let changed = false;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  forEachRecord(data, (at, len) => {
    let rec = data.subarray(at, at + len);
    if (
      len >= TASK.size &&
      dv.getUint16(at + O.type, true) === EV.task &&
      (dv.getUint16(at + O.trunc, true) & EXEC_ARGV_PROC) !== 0 &&
      dv.getUint16(at + O.argvLen, true) === 0
    ) {
      const tgid = dv.getUint32(at + O.tgid, true);
      const startNs = dv.getBigUint64(at + O.startNs, true);
      const procNs = procStartNs(tgid);
      // /proc counts in ticks: the same process when the record's start falls in /proc's tick.
      const cmdline =
        procNs !== undefined && startNs >= procNs && startNs - procNs < 10_000_000n ? readCmdline(tgid) : undefined;
      if (cmdline && cmdline.length > 0) {
        const argv = cmdline.subarray(0, MAX_ARGV);
        const exeLen = dv.getUint16(at + O.exeLen, true);
        const base = Math.min(len, TASK.size + exeLen);
        const out = new Uint8Array(base + argv.length);
        out.set(data.subarray(at, at + base));
        out.set(argv, base);
        const ov = new DataView(out.buffer);
        ov.setUint32(O.argsLen, cmdline.length, true);
        ov.setUint16(O.argvLen, argv.length, true);
        if (cmdline.length > MAX_ARGV) ov.setUint16(O.trunc, ov.getUint16(O.trunc, true) | EXEC_ARGV_TRUNC, true);
        rec = out;
        changed = true;
      }
    }
    const framed = new Uint8Array(RING_HEADER_BYTES + ((rec.length + 7) & ~7));
    new DataView(framed.buffer).setUint32(0, rec.length, true);
    framed.set(rec, RING_HEADER_BYTES);
    parts.push(framed);
  });
  return changed ? Buffer.concat(parts) : data;
}

function readProcCmdline(pid: number): Uint8Array | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`);
  } catch {
    return undefined;
  }
}
