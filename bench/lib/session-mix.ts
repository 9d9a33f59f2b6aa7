// A large synthetic session with a production-like mix, written by the real SessionWriter: high-rate
// retransmits, resets and write flushes on long-lived processes, sockets and files, a steady trickle of
// process churn (fork, exec, connect with its state changes, a retransmit, a file open, exit), and the
// recorder's periodic loss records and map snapshots (flow_counters, write_totals) every 5 s of record time.
// Records are copied from per-entity templates and patched, so generating 100 M of them takes about a minute.
import { statSync } from "node:fs";
import { SessionWriter } from "../../src/session/writer.js";
import { RING_HEADER_BYTES } from "../../src/events/framing.js";
import {
  EV,
  FILE_WRITE,
  FLOW_KEY,
  FLOW_VAL,
  HDR,
  TCP_EVENT,
  WRITE_KEY,
  WRITE_VAL,
  type Layout,
} from "../../src/events/layouts.js";
import * as E from "../../test/unit/replay-encode.js";

export interface MixOptions {
  /** Stop once the file on disk is at least this big. */
  targetBytes: number;
  longProcesses: number;
  socketsPerProcess: number;
  filesPerProcess: number;
  /** One churned process (9 records) per this many high-rate records. */
  churnEvery: number;
}

export const DEFAULT_MIX: Omit<MixOptions, "targetBytes"> = {
  longProcesses: 500,
  socketsPerProcess: 8,
  filesPerProcess: 4,
  churnEvery: 500,
};

export interface MixResult {
  events: number;
  churned: number;
  snapshots: number;
  bytes: number;
  seconds: number;
}

const at = (l: Layout, name: string): number => {
  const f = l.fields.find((x) => x.name === name);
  if (!f) throw new Error(`${l.cName}.${name}: no such field`);
  return f.offset;
};
const TS = at(HDR, "ts_ns");
const CPU = at(HDR, "cpu");
const TYPE = at(HDR, "type");
const SEGS = at(TCP_EVENT, "segs");
const W_BYTES = at(FILE_WRITE, "bytes");
const W_CALLS = at(FILE_WRITE, "calls");
const W_FIRST = at(FILE_WRITE, "first_ns");
const W_LAST = at(FILE_WRITE, "last_ns");
const SNAPSHOT_NS = 5_000_000_000n;
const FLOW_MAP_ENTRIES = 16384; // bpf/retransmit.bpf.c flow_counters max_entries: flows are never deleted
const CPUS = 2;

/** xorshift32: reproducible, and cheap enough not to show in the profile. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** A ring blob being filled: records behind their 8-byte length headers, padded to 8 (docs/RECORDS.md). */
class Blob {
  readonly bytes = new Uint8Array(1024 * 144);
  readonly view = new DataView(this.bytes.buffer);
  used = 0;
  n = 0;
  constructor(
    readonly bundle: string,
    private readonly writer: SessionWriter,
  ) {}

  /** Copies `rec` in and returns the offset of its payload, for patching. */
  add(rec: Uint8Array, t: bigint): number {
    const slot = (rec.length + RING_HEADER_BYTES + 7) & ~7;
    if (this.used + slot > this.bytes.length) this.flush(t);
    this.view.setUint32(this.used, rec.length, true);
    this.bytes.fill(0, this.used + 4, this.used + slot);
    this.bytes.set(rec, this.used + RING_HEADER_BYTES);
    const payload = this.used + RING_HEADER_BYTES;
    this.used += slot;
    this.n++;
    return payload;
  }

  flush(t: bigint): void {
    if (this.n === 0) return;
    // append() encodes at once, so the buffer can be reused right after.
    this.writer.append({ k: "ring", b: this.bundle, t, n: this.n, d: this.bytes.subarray(0, this.used) });
    this.used = 0;
    this.n = 0;
  }
}

interface Sock {
  tmpl: Uint8Array;
  key: Uint8Array;
  retransmits: bigint;
  resets: bigint;
  tgid: number;
  start: bigint;
}
interface File {
  tmpl: Uint8Array;
  key: Uint8Array;
  bytes: bigint;
  calls: bigint;
  first: bigint;
  last: bigint;
}

function ip4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function flowKey(saddr: string, daddr: string, sport: number, dport: number): Uint8Array {
  const k = new Uint8Array(FLOW_KEY.size);
  const v = new DataView(k.buffer);
  k.set(E.ip4(saddr), at(FLOW_KEY, "saddr"));
  k.set(E.ip4(daddr), at(FLOW_KEY, "daddr"));
  v.setUint16(at(FLOW_KEY, "sport"), sport, true);
  v.setUint16(at(FLOW_KEY, "dport"), dport, true);
  v.setUint16(at(FLOW_KEY, "family"), 2, true);
  return k;
}

/** Writes the session to `path` (encrypted to `recipient`) until it reaches `targetBytes` on disk. */
export async function writeMixSession(path: string, recipient: string, o: MixOptions): Promise<MixResult> {
  const started = performance.now();
  const rand = rng(0x5ea1);
  const writer = await SessionWriter.create(path, {
    recipients: [recipient],
    metadata: E.metadata(),
    flushIntervalMs: 3_600_000,
  });
  const retransmit = new Blob("retransmit", writer);
  const filewrite = new Blob("filewrite", writer);
  const exec = new Blob("exec", writer);
  const connect = new Blob("connect", writer);
  let t = 1_000_000_000n;
  const init: E.Ident = { tgid: 1, start: 1n, ppid: 0, comm: "systemd" };
  writer.append({ k: "attach", t, startT: t });

  // Long-lived processes, each with its sockets and files, known from the start-of-recording snapshot.
  const socks: Sock[] = [];
  const files: File[] = [];
  const start: Uint8Array[] = [E.task(t, init, "/usr/lib/systemd/systemd", ["/sbin/init"])];
  for (let p = 0; p < o.longProcesses; p++) {
    const id: E.Ident = {
      tgid: 2000 + p,
      start: 1_000_000n + BigInt(p) * 7919n,
      ppid: 1,
      comm: p % 2 ? "nginx" : "postgres",
    };
    start.push(E.task(t, id, `/usr/sbin/${id.comm}`, [id.comm!, "-c", `/etc/${id.comm}/${p}.conf`]));
    for (let s = 0; s < o.socketsPerProcess; s++) {
      const sock = 0xffff_8880_0000_0000n + BigInt(Math.floor(rand() * 2 ** 32)) * 64n;
      const daddr = ip4(0xc6336400 + Math.floor(rand() * 65536)); // 198.51.x.x
      const sport = 32768 + Math.floor(rand() * 28000);
      const dport = [443, 5432, 6379, 80][s % 4]!;
      start.push(E.sockState(t, id, sock, 7, 1, daddr, dport, sport));
      socks.push({
        tmpl: E.tcpEvent(EV.retransmit, t, id, sock, 1, daddr, dport, sport),
        key: flowKey("10.0.0.1", daddr, sport, dport),
        retransmits: 0n,
        resets: 0n,
        tgid: id.tgid,
        start: id.start,
      });
    }
    for (let f = 0; f < o.filesPerProcess; f++) {
      const ino = BigInt(100_000 + p * 16 + f);
      start.push(E.fileOpen(t, id, 0x800001n, ino, `/var/log/${id.comm}/${p}-${f}.log`));
      const key = new Uint8Array(WRITE_KEY.size);
      const kv = new DataView(key.buffer);
      kv.setUint32(at(WRITE_KEY, "tgid"), id.tgid, true);
      kv.setBigUint64(at(WRITE_KEY, "start_ns"), id.start, true);
      kv.setBigUint64(at(WRITE_KEY, "dev"), 0x800001n, true);
      kv.setBigUint64(at(WRITE_KEY, "ino"), ino, true);
      files.push({
        tmpl: E.rec(FILE_WRITE, EV.fileWrite, t, id, { dev: 0x800001n, ino }),
        key,
        bytes: 0n,
        calls: 0n,
        first: 0n,
        last: 0n,
      });
    }
  }
  writer.append({ k: "start", b: "exec", t, n: start.length, d: E.frame(start) });

  const flows: Uint8Array[] = []; // churn flows, oldest first: the kernel map keeps them until it is full
  let events = 0;
  let churned = 0;
  let snapshots = 0;
  let nextSnapshot = t + SNAPSHOT_NS;
  let nextPid = 100_000;
  let bytes = 0;
  while (bytes < o.targetBytes) {
    for (let i = 0; i < o.churnEvery; i++) {
      t += BigInt(1 + Math.floor(rand() * 20_000)); // ~100 k records/s, Poisson-ish gaps
      const cpu = rand() < 0.5 ? 0 : 1;
      const r = rand();
      if (r < 0.2) {
        // A write flush (the kernel's map was full). Its file is in write_totals too, which the kernel would
        // not do; replay does the same work either way, and this keeps the generator simple.
        const f = files[Math.floor(rand() * files.length)]!;
        const b = BigInt(1 + Math.floor(rand() * 65536));
        const calls = BigInt(1 + Math.floor(rand() * 64));
        const off = filewrite.add(f.tmpl, t);
        const v = filewrite.view;
        v.setBigUint64(off + TS, t, true);
        v.setUint32(off + CPU, cpu, true);
        v.setBigUint64(off + W_BYTES, b, true);
        v.setBigUint64(off + W_CALLS, calls, true);
        v.setBigUint64(off + W_FIRST, t - BigInt(Math.floor(rand() * 1_000_000)), true);
        v.setBigUint64(off + W_LAST, t, true);
        if (f.calls === 0n) f.first = t;
        f.bytes += b;
        f.calls += calls;
        f.last = t;
      } else {
        const s = socks[Math.floor(rand() * socks.length)]!;
        const off = retransmit.add(s.tmpl, t);
        const v = retransmit.view;
        v.setBigUint64(off + TS, t, true);
        v.setUint32(off + CPU, cpu, true);
        if (r < 0.9) {
          const segs = rand() < 0.8 ? 1 : 2 + Math.floor(rand() * 3);
          v.setUint16(off + SEGS, segs, true);
          s.retransmits += BigInt(segs);
        } else {
          v.setUint16(off + TYPE, r < 0.95 ? EV.sendReset : EV.recvReset, true);
          s.resets++;
        }
      }
    }
    events += o.churnEvery;

    // One short-lived process: fork, exec, a connect with its state changes, a retransmit, a file open, exit.
    const pid = nextPid++;
    if (nextPid > 4_000_000) nextPid = 100_000;
    const parent: E.Ident = {
      tgid: 2000 + (churned % o.longProcesses),
      start: 1_000_000n + BigInt(churned % o.longProcesses) * 7919n,
      ppid: 1,
      comm: "worker-pool",
    };
    const id: E.Ident = { tgid: pid, start: t, ppid: parent.tgid, comm: "job" };
    const sock = 0xffff_8881_0000_0000n + BigInt(churned % 65536) * 2048n;
    const daddr = ip4(0xcb007100 + (churned % 256)); // 203.0.113.x
    const sport = 32768 + (churned % 28000);
    exec.add(E.fork(t, parent, pid, t), t);
    exec.add(
      E.exec(t + 900n, id, "/usr/bin/curl", ["curl", "-s", `https://203.0.113.${churned % 256}/job/${churned}`]),
      t,
    );
    connect.add(E.sockState(t + 2_000n, { ...id, flags: 1 }, sock, 7, 2, daddr, 443, 0), t);
    connect.add(E.sockState(t + 40_000n, { ...id, flags: 1 }, sock, 2, 1, daddr, 443, sport), t);
    connect.add(E.connect(t + 41_000n, id, sock, t + 1_900n, 0, daddr, 443, sport), t);
    retransmit.add(E.tcpEvent(EV.retransmit, t + 300_000n, id, sock, 1, daddr, 443, sport), t);
    connect.add(E.sockState(t + 900_000n, { ...id, flags: 1 }, sock, 1, 7, daddr, 443, sport), t);
    exec.add(E.fileOpen(t + 950_000n, id, 0x800001n, BigInt(5_000_000 + churned), `/tmp/job-${churned}.out`), t);
    exec.add(E.exit(t + 1_000_000n, id, churned % 97 === 0 ? 1 : 0), t);
    if (flows.length < FLOW_MAP_ENTRIES - socks.length) flows.push(flowKey("10.0.0.1", daddr, sport, 443));
    events += 9;
    churned++;

    if (t >= nextSnapshot) {
      nextSnapshot += SNAPSHOT_NS;
      snapshots++;
      for (const b of [exec, connect, retransmit, filewrite]) b.flush(t);
      for (const b of ["exec", "connect", "retransmit", "filewrite"])
        writer.append({ k: "loss", b, t, ringFull: 0n, mapFull: 0n, readFail: 0n, recursionMisses: 0n, dropped: 0n });
      writer.append({
        k: "maps",
        b: "retransmit",
        m: "flow_counters",
        t,
        keySize: FLOW_KEY.size,
        valueSize: FLOW_VAL.size,
        n: socks.length + flows.length,
        d: flowRows(socks, flows),
      });
      writer.append({
        k: "maps",
        b: "filewrite",
        m: "write_totals",
        t,
        keySize: WRITE_KEY.size,
        valueSize: WRITE_VAL.size * CPUS,
        n: files.length,
        d: writeRows(files),
      });
      bytes = statSync(`${path}.partial`).size; // the writer renames it to `path` on close
    }
  }
  for (const b of [exec, connect, retransmit, filewrite]) b.flush(t);
  await writer.close({ endReason: "duration" });
  return {
    events: events + start.length,
    churned,
    snapshots,
    bytes: statSync(path).size,
    seconds: (performance.now() - started) / 1000,
  };
}

function flowRows(socks: readonly Sock[], flows: readonly Uint8Array[]): Uint8Array {
  const row = FLOW_KEY.size + FLOW_VAL.size;
  const d = new Uint8Array((socks.length + flows.length) * row);
  const v = new DataView(d.buffer);
  socks.forEach((s, i) => {
    d.set(s.key, i * row);
    const b = i * row + FLOW_KEY.size;
    v.setBigUint64(b + at(FLOW_VAL, "retransmits"), s.retransmits, true);
    v.setBigUint64(b + at(FLOW_VAL, "send_resets"), s.resets, true);
    v.setUint32(b + at(FLOW_VAL, "tgid"), s.tgid, true);
    v.setBigUint64(b + at(FLOW_VAL, "start_ns"), s.start, true);
  });
  flows.forEach((k, i) => {
    d.set(k, (socks.length + i) * row);
    v.setBigUint64((socks.length + i) * row + FLOW_KEY.size + at(FLOW_VAL, "retransmits"), 1n, true);
  });
  return d;
}

/** Per-CPU values: the totals all on CPU 0, zeros on the others. */
function writeRows(files: readonly File[]): Uint8Array {
  const row = WRITE_KEY.size + WRITE_VAL.size * CPUS;
  const d = new Uint8Array(files.length * row);
  const v = new DataView(d.buffer);
  files.forEach((f, i) => {
    d.set(f.key, i * row);
    const b = i * row + WRITE_KEY.size;
    v.setBigUint64(b + at(WRITE_VAL, "bytes"), f.bytes, true);
    v.setBigUint64(b + at(WRITE_VAL, "calls"), f.calls, true);
    v.setBigUint64(b + at(WRITE_VAL, "first_ns"), f.first, true);
    v.setBigUint64(b + at(WRITE_VAL, "last_ns"), f.last, true);
  });
  return d;
}
