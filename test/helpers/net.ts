// Kernel-test harness for the network bundles: load connect and/or retransmit sharing sock_owners
// (as the recorder does), drive python3 workloads line by line, and manage a private netns.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { BpfObject, type RodataValue } from "../../src/libbpf/object.js";
import { RingReader, forEachRecord } from "../../src/libbpf/ring.js";
import { decodeRecord, type DecodedRecord } from "../../src/replay/decode.js";
import { LOSS } from "../../src/events/layouts.js";
import type { BundleSpec } from "../../src/bundles/spec.js";
import { bpfObject } from "./bpf.js";
import { applyVariants } from "./bundle.js";
import { attachMore } from "../../src/recorder/loader.js";

/** How much slower than this host the tests' machine is (1 here; the kernel matrix's VMs set more). */
export function slowdown(): number {
  const n = Number(process.env.SEALTRACE_TEST_SLOWDOWN ?? 1);
  return Number.isFinite(n) && n >= 1 ? n : 1;
}

export interface NetOptions {
  /** Trace only these tgids (cfg_follow with a seeded `followed`). */
  follow?: number[];
  rodata?: Record<string, RodataValue>;
}

/** Loaded bundles: drain their rings through `onRecord`, read their loss counters, close them. */
export class NetCapture {
  readonly objects = new Map<string, BpfObject>();
  private readonly rings: RingReader[] = [];
  private readonly iterators = new Map<string, string[]>();

  constructor(specs: readonly BundleSpec[], opts: NetOptions = {}) {
    const shared = new Map<string, number>();
    try {
      for (const spec of specs) {
        const obj = BpfObject.open(bpfObject(spec.object.replace(/\.bpf\.o$/, "")));
        this.objects.set(spec.name, obj);
        obj.setRodata({ cfg_self_tgid: process.pid, cfg_follow: opts.follow !== undefined, ...(opts.rodata ?? {}) });
        this.iterators.set(spec.name, applyVariants(obj, spec));
        for (const name of ["followed", "sock_owners"]) {
          const fd = shared.get(name);
          if (fd !== undefined) obj.reuseMap(name, fd);
        }
        obj.load();
        for (const name of ["followed", "sock_owners"]) if (!shared.has(name)) shared.set(name, obj.map(name).fd);
        this.rings.push(new RingReader(obj.map(spec.ring)));
      }
      const first = this.objects.values().next().value as BpfObject;
      for (const pid of opts.follow ?? []) {
        const k = new Uint8Array(4);
        new DataView(k.buffer).setUint32(0, pid, true);
        first.map("followed").update(k, Uint8Array.of(1));
      }
      for (const [name, obj] of this.objects) {
        obj.attachAll();
        attachMore(
          obj,
          specs.find((s) => s.name === name)!,
        );
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Runs a bundle's start iterators in order and decodes what they wrote. */
  runIterators(spec: BundleSpec): DecodedRecord[] {
    const out: DecodedRecord[] = [];
    for (const it of this.iterators.get(spec.name) ?? spec.startIterators) {
      const data = this.objects.get(spec.name)!.runIterator(it);
      forEachFramed(data, (off, len) => {
        const r = decodeRecord(data, off, len);
        if (r) out.push(r);
      });
    }
    return out;
  }

  drain(onRecord: (r: DecodedRecord) => void): void {
    for (const ring of this.rings) {
      const span = ring.drain();
      forEachRecord(span.data, (off, len) => {
        const r = decodeRecord(span.data, off, len);
        if (r) onRecord(r);
      });
    }
  }

  /** Sum of every loss counter of every loaded bundle (ring full, map full, read failures). */
  losses(): bigint {
    let sum = 0n;
    for (const obj of this.objects.values()) {
      const m = obj.map("losses");
      for (const i of Object.values(LOSS)) sum += m.sumPerCpuU64(i);
    }
    return sum;
  }

  close(): void {
    for (const r of this.rings) r.close();
    this.rings.length = 0;
    for (const o of this.objects.values()) o.close();
    this.objects.clear();
  }
}

/** Iterator output uses ring framing: u32 length, u32 reserved, record, zero pad to 8. */
function forEachFramed(data: Uint8Array, fn: (off: number, len: number) => void): void {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let off = 0; off + 8 <= data.length;) {
    const len = v.getUint32(off, true);
    fn(off + 8, len);
    off += 8 + Math.ceil(len / 8) * 8;
  }
}

/** A python3 workload that prints JSON lines and reads commands from stdin. */
export class Py {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<number | null>;
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;

  constructor(script: string, netns?: string) {
    const argv = netns
      ? ["ip", "netns", "exec", netns, "python3", "-u", "-c", script]
      : ["python3", "-u", "-c", script];
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
    this.pid = this.child.pid!;
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
    createInterface({ input: this.child.stdout! }).on("line", (l) => {
      this.lines.push(l);
      this.waiter?.();
    });
  }

  /**
   * The next JSON line the script prints. Rejects if the script exits first or after `timeoutMs`, times
   * SEALTRACE_TEST_SLOWDOWN (the kernel matrix sets it: a workload runs ~10-100x slower under qemu's TCG).
   */
  async next<T = Record<string, number>>(timeoutMs = 20_000 * slowdown()): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.child.exitCode !== null) throw new Error(`workload exited (${this.child.exitCode}) before printing`);
      if (Date.now() > deadline) throw new Error("workload timed out");
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, 50);
      });
    }
    return JSON.parse(this.lines.shift()!) as T;
  }

  send(line = "go"): void {
    this.child.stdin!.write(`${line}\n`);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

/** Drains `cap` until `done` settles, then once more. */
export async function pumpUntil(
  cap: NetCapture,
  done: Promise<unknown>,
  onRecord: (r: DecodedRecord) => void,
): Promise<void> {
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished) {
    cap.drain(onRecord);
    await new Promise((r) => setTimeout(r, 2));
  }
  await done;
  cap.drain(onRecord);
}

/** A private network namespace with lo up; `delete()` is idempotent. */
export class Netns {
  readonly name: string;
  constructor(prefix: string) {
    this.name = `${prefix}-${process.pid}`;
    execFileSync("ip", ["netns", "add", this.name]);
    execFileSync("ip", ["-n", this.name, "link", "set", "lo", "up"]);
  }
  exec(cmd: string, args: string[], input?: string): string {
    return execFileSync("ip", ["netns", "exec", this.name, cmd, ...args], {
      encoding: "utf8",
      ...(input !== undefined ? { input } : {}),
    });
  }
  /** A counter from /proc/net/snmp inside the namespace, e.g. ("Tcp", "RetransSegs"). */
  snmp(group: string, name: string): bigint {
    const lines = this.exec("cat", ["/proc/net/snmp"])
      .split("\n")
      .filter((l) => l.startsWith(`${group}:`));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/);
    return BigInt(values[names.indexOf(name)]!);
  }
  delete(): void {
    try {
      execFileSync("ip", ["netns", "delete", this.name], { stdio: "ignore" });
    } catch {
      /* already gone */
    }
  }
}

/** Text form of a record's address bytes for its family. */
export function addrText(family: number, bytes: Uint8Array): string {
  if (family === 2) return Array.from(bytes.subarray(0, 4)).join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups
    .join(":")
    .replace(/(^|:)0(:0)+(:|$)/, "::")
    .replace(/:{3,}/, "::");
}

export const TCP = {
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT1: 4,
  FIN_WAIT2: 5,
  TIME_WAIT: 6,
  CLOSE: 7,
  CLOSE_WAIT: 8,
  LAST_ACK: 9,
  LISTEN: 10,
  CLOSING: 11,
  NEW_SYN_RECV: 12,
} as const;
