// A tiny encoder for synthetic kernel records (bpf/events.h layouts) and sessions, for the replay tests.
import {
  CONNECT,
  EXEC,
  PROC_EXIT,
  FILE_OP,
  FILE_OPEN,
  FORK,
  HDR,
  SOCK_STATE,
  TASK,
  TCP_EVENT,
  WRITE_KEY,
  WRITE_VAL,
  EV,
  type Layout,
} from "../../src/events/layouts.js";
import { RING_HEADER_BYTES } from "../../src/events/framing.js";

export interface Ident {
  tgid: number;
  start: bigint;
  ppid?: number;
  comm?: string;
  flags?: number;
  uid?: number;
  cgroup?: bigint;
}

type Values = Record<string, number | bigint | string | Uint8Array>;
const enc = new TextEncoder();

function write(layout: Layout, v: DataView, bytes: Uint8Array, base: number, values: Values): void {
  for (const f of layout.fields) {
    const x = values[f.name];
    if (x === undefined) continue;
    const o = base + f.offset;
    switch (f.kind) {
      case "u16":
        v.setUint16(o, Number(x), true);
        break;
      case "u32":
        v.setUint32(o, Number(x), true);
        break;
      case "s32":
        v.setInt32(o, Number(x), true);
        break;
      case "u64":
        v.setBigUint64(o, BigInt(x as bigint), true);
        break;
      case "str":
        bytes.set(enc.encode(String(x)).subarray(0, f.size - 1), o);
        break;
      case "bytes":
        bytes.set((x as Uint8Array).subarray(0, f.size), o);
        break;
      default:
        break;
    }
  }
}

/** One record: the header from `id`, `type`, time `t`, then the layout's fields and a tail. */
export function rec(
  layout: Layout,
  type: number,
  t: bigint,
  id: Ident,
  values: Values = {},
  tail: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const bytes = new Uint8Array(layout.size + tail.length);
  const v = new DataView(bytes.buffer);
  write(HDR, v, bytes, 0, {
    type,
    flags: id.flags ?? 0,
    ts_ns: t,
    tgid: id.tgid,
    pid: id.tgid,
    start_ns: id.start,
    ppid: id.ppid ?? 1,
    uid: id.uid ?? 0,
    cgroup_id: id.cgroup ?? 0n,
    comm: id.comm ?? "proc",
  });
  write(layout, v, bytes, 0, values);
  bytes.set(tail, layout.size);
  return bytes;
}

/** Ring framing (docs/RECORDS.md) around records. */
export function frame(records: readonly Uint8Array[]): Uint8Array {
  const total = records.reduce((n, r) => n + ((r.length + RING_HEADER_BYTES + 7) & ~7), 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  let at = 0;
  for (const r of records) {
    v.setUint32(at, r.length, true);
    out.set(r, at + RING_HEADER_BYTES);
    at += (r.length + RING_HEADER_BYTES + 7) & ~7;
  }
  return out;
}

export const fork = (t: bigint, parent: Ident, childTgid: number, childStart: bigint) =>
  rec(FORK, EV.fork, t, parent, { child_tgid: childTgid, child_start_ns: childStart });

export function exec(t: bigint, id: Ident, filename: string, argv: string[], trunc = 0, file: Values = {}): Uint8Array {
  const f = enc.encode(filename);
  const a = enc.encode(argv.map((x) => x + "\0").join(""));
  const tail = new Uint8Array(f.length + a.length);
  tail.set(f);
  tail.set(a, f.length);
  return rec(
    EXEC,
    EV.exec,
    t,
    id,
    { filename_len: f.length, argv_len: a.length, argc: argv.length, args_len: a.length, trunc, ...file },
    tail,
  );
}

export const exit = (t: bigint, id: Ident, status: number, signal = 0) =>
  rec(PROC_EXIT, EV.exit, t, id, { exit_code: (status << 8) | signal, exit_ns: t });

export function task(t: bigint, id: Ident, exe: string, argv: string[]): Uint8Array {
  const f = enc.encode(exe);
  const a = enc.encode(argv.map((x) => x + "\0").join(""));
  const tail = new Uint8Array(f.length + a.length);
  tail.set(f);
  tail.set(a, f.length);
  return rec(TASK, EV.task, t, id, { exe_len: f.length, argv_len: a.length }, tail);
}

export function ip4(a: string): Uint8Array {
  const out = new Uint8Array(16);
  out.set(a.split(".").map(Number));
  return out;
}

export const connect = (
  t: bigint,
  id: Ident,
  sock: bigint,
  enter: bigint,
  ret: number,
  daddr: string,
  dport: number,
  sport = 0,
) =>
  rec(CONNECT, EV.connect, t, id, {
    sock_id: sock,
    enter_ns: enter,
    ret,
    fd: 3,
    family: 2,
    sock_type: 1,
    protocol: 6,
    sport,
    dport,
    saddr: ip4("10.0.0.1"),
    daddr: ip4(daddr),
  });

export const sockState = (
  t: bigint,
  id: Ident,
  sock: bigint,
  oldstate: number,
  newstate: number,
  daddr: string,
  dport: number,
  sport: number,
) =>
  rec(SOCK_STATE, EV.sockState, t, id, {
    sock_id: sock,
    oldstate,
    newstate,
    family: 2,
    protocol: 6,
    sport,
    dport,
    saddr: ip4("10.0.0.1"),
    daddr: ip4(daddr),
  });

export const tcpEvent = (
  type: number,
  t: bigint,
  id: Ident,
  sock: bigint,
  state: number,
  daddr: string,
  dport: number,
  sport: number,
) =>
  rec(
    TCP_EVENT,
    type,
    t,
    { ...id, flags: 1 },
    { sock_id: sock, state, family: 2, sport, dport, saddr: ip4("10.0.0.1"), daddr: ip4(daddr) },
  );

export function fileOpen(t: bigint, id: Ident, dev: bigint, ino: bigint, path: string): Uint8Array {
  const p = enc.encode(path);
  return rec(FILE_OPEN, EV.fileOpen, t, id, { dev, ino, path_len: p.length }, p);
}

export function fileOp(
  type: number,
  t: bigint,
  id: Ident,
  path: string,
  extra: { path2?: string; mode?: number; ret?: number } = {},
): Uint8Array {
  const p = enc.encode(path);
  const p2 = enc.encode(extra.path2 ?? "");
  const tail = new Uint8Array(p.length + p2.length);
  tail.set(p);
  tail.set(p2, p.length);
  return rec(
    FILE_OP,
    type,
    t,
    id,
    { ret: extra.ret ?? 0, mode: extra.mode ?? 0, path_len: p.length, path2_len: p2.length },
    tail,
  );
}

/** One `write_totals` map row. */
export function writeRow(
  id: Ident,
  dev: bigint,
  ino: bigint,
  bytes: bigint,
  calls: bigint,
  first: bigint,
  last: bigint,
): Uint8Array {
  const out = new Uint8Array(WRITE_KEY.size + WRITE_VAL.size);
  const v = new DataView(out.buffer);
  write(WRITE_KEY, v, out, 0, { tgid: id.tgid, start_ns: id.start, dev, ino });
  write(WRITE_VAL, v, out, WRITE_KEY.size, { bytes, calls, first_ns: first, last_ns: last });
  return out;
}

export const OFFSET_NS = 1_700_000_000_000_000_000n;

/** Metadata as the recorder writes it (docs/RECORDS.md), with a fixed clock. */
export function metadata(hostname = "testhost", bootId = "b00710d0-0000-0000-0000-000000000000") {
  return {
    host: { hostname, bootId },
    runbook: { name: "synthetic" },
    bundles: [{ name: "exec" }],
    clock: { realtimeMinusBoottimeNs: OFFSET_NS },
  };
}

export const ring = (b: string, t: bigint, records: Uint8Array[]) => ({
  k: "ring",
  b,
  t,
  n: records.length,
  d: frame(records),
});
