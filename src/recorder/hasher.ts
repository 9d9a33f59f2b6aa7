// Executable hashes: the SHA-256 of each executed file, once per identity (dev, inode, ctime), sealed as
// an `exe-hash` record (docs/RECORDS.md). Never on the event path: the drain loop only notes identities
// and opens the file; a worker thread at nice 19 reads it within a CPU share.
import { closeSync, fstatSync, openSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { EV, EXEC, EXE_FLAG } from "../events/layouts.js";
import { forEachRecord } from "../events/framing.js";
import type { HashJob, HashReply } from "./hasher-worker.js";

/** Files above this size get their size and `tooLarge`, not a hash (runbook `limits.maxHashFileSize`). */
export const DEFAULT_MAX_HASH_BYTES = 256n * 1024n * 1024n;
/** Files opened and waiting for the worker; one more identity is a `queueFull` loss. */
export const HASH_QUEUE_MAX = 256;
/** Identities remembered (each hashed once); past it, new identities are `queueFull` losses. */
export const HASH_IDENTITIES_MAX = 65536;
/** The worker's share of one CPU while it hashes. */
export const HASH_CPU_SHARE = 0.25;

export type { ExeHashRecord, Unhashed } from "../session/records.js";
import type { ExeHashRecord, HasherLossRecord, Unhashed } from "../session/records.js";

export interface HasherOptions {
  maxBytes?: bigint;
  queueMax?: number;
  cpuShare?: number;
  /** Where each record goes (the session writer's append). */
  onRecord: (r: ExeHashRecord) => void;
  now: () => bigint;
}

/** The kernel's dev_t (major << 20 | minor) as stat(2) gives it to user space (new_encode_dev). */
export function kernelDev(dev: bigint): bigint {
  const major = dev >> 20n;
  const minor = dev & 0xfffffn;
  return (minor & 0xffn) | (major << 8n) | ((minor & ~0xffn) << 12n);
}

const off = (name: string): number => {
  const f = EXEC.fields.find((x) => x.name === name);
  if (!f) throw new Error(`st_exec has no ${name}`);
  return f.offset;
};
const O = {
  tgid: 16,
  filenameLen: off("filename_len"),
  argvLen: off("argv_len"),
  cwdLen: off("cwd_len"),
  dev: off("exe_dev"),
  ino: off("exe_ino"),
  size: off("exe_size"),
  ctime: off("exe_ctime_ns"),
  mtime: off("exe_mtime_ns"),
  flags: off("exe_flags"),
};

interface Pending {
  rec: ExeHashRecord;
  fd: number;
}

const text = new TextDecoder("utf-8", { fatal: false });

export class ExeHasher {
  /** Identities that could not be queued (queue or identity table full): counted as a loss. */
  queueFull = 0;
  private readonly seen = new Set<string>();
  private readonly queue: Pending[] = [];
  private inFlight: Pending | undefined;
  private child: Worker | undefined;
  private nextId = 1;
  private drained: (() => void) | undefined;
  private readonly maxBytes: bigint;
  private readonly queueMax: number;
  private readonly cpuShare: number;

  constructor(private readonly opts: HasherOptions) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_HASH_BYTES;
    this.queueMax = opts.queueMax ?? HASH_QUEUE_MAX;
    this.cpuShare = opts.cpuShare ?? HASH_CPU_SHARE;
  }

  /** Notes the exec records of a ring span (bpf/events.h framing). Cheap for an identity already seen. */
  scan(span: Uint8Array): void {
    const v = new DataView(span.buffer, span.byteOffset, span.byteLength);
    forEachRecord(span, (o, len) => {
      if (len < EXEC.size || v.getUint16(o, true) !== EV.exec) return;
      const key = `${v.getUint32(o + O.dev, true)}:${v.getBigUint64(o + O.ino, true)}:${v.getBigUint64(o + O.ctime, true)}`;
      if (this.seen.has(key)) return;
      if (this.seen.size >= HASH_IDENTITIES_MAX) {
        this.queueFull++;
        return;
      }
      this.seen.add(key);
      this.identity(span, v, o, len);
    });
  }

  private identity(span: Uint8Array, v: DataView, o: number, len: number): void {
    const fl = v.getUint16(o + O.filenameLen, true);
    const al = v.getUint16(o + O.argvLen, true);
    const cl = v.getUint16(o + O.cwdLen, true);
    const tail = o + EXEC.size;
    const end = o + len;
    const path = text.decode(span.subarray(tail, Math.min(end, tail + fl)));
    const cwd = text.decode(span.subarray(Math.min(end, tail + fl + al), Math.min(end, tail + fl + al + cl)));
    const flags = v.getUint16(o + O.flags, true);
    const rec: ExeHashRecord = {
      k: "exe-hash",
      t: 0n,
      dev: BigInt(v.getUint32(o + O.dev, true)),
      ino: v.getBigUint64(o + O.ino, true),
      ctimeNs: v.getBigUint64(o + O.ctime, true),
      size: v.getBigUint64(o + O.size, true),
      mtimeNs: v.getBigUint64(o + O.mtime, true),
      pid: v.getUint32(o + O.tgid, true),
      path,
    };
    if (flags & EXE_FLAG.unread) return this.done(rec, { why: "unread" });
    if (rec.size > this.maxBytes) return this.done(rec, { tooLarge: true });
    if (this.queue.length >= this.queueMax) {
      this.queueFull++;
      return this.done(rec, { why: "queue-full" });
    }
    // Through the process while it lives (also a deleted file or a memfd); else by name, if it is still this inode.
    const viaProc = this.openChecked(`/proc/${rec.pid}/exe`, rec);
    let opened: { fd: number; via: "proc" | "path" } | { why: Unhashed } = viaProc;
    if ("why" in viaProc && !(flags & (EXE_FLAG.deleted | EXE_FLAG.fileless))) {
      const full = isAbsolute(path) ? path : cwd ? resolve(cwd, path) : undefined;
      const byPath = full && !full.startsWith("/proc/") ? this.openChecked(full, rec, "path") : viaProc;
      opened = "why" in byPath && byPath.why === "gone" ? viaProc : byPath;
    }
    if ("why" in opened) return this.done(rec, { why: opened.why });
    rec.via = opened.via;
    this.queue.push({ rec, fd: opened.fd });
    this.pump();
  }

  /**
   * Opens `path` if it is the identity's file, its content unchanged since the exec: same inode, size
   * and mtime. A moved ctime alone (unlinking a running binary moves it) is noted, not refused. The device
   * is not compared: overlayfs (a container's root) reports another st_dev than its inodes' s_dev.
   */
  private openChecked(
    path: string,
    rec: ExeHashRecord,
    via: "proc" | "path" = "proc",
  ): { fd: number; via: "proc" | "path" } | { why: Unhashed } {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch {
      return { why: "gone" };
    }
    try {
      const st = fstatSync(fd, { bigint: true });
      if (st.ino !== rec.ino) {
        closeSync(fd);
        return { why: "gone" };
      }
      if (st.size !== rec.size || st.mtimeNs !== rec.mtimeNs) {
        closeSync(fd);
        return { why: "changed" };
      }
      if (st.ctimeNs !== rec.ctimeNs) rec.ctimeMoved = true;
      return { fd, via };
    } catch (e) {
      closeSync(fd);
      return { why: `error:${(e as NodeJS.ErrnoException).code ?? "fstat"}` };
    }
  }

  private done(rec: ExeHashRecord, outcome: Partial<ExeHashRecord>): void {
    this.opts.onRecord({ ...rec, ...outcome, t: this.opts.now() });
  }

  /** Sends the next job to the worker (one at a time: the queue's descriptors stay the bound). */
  private pump(): void {
    if (this.inFlight || this.queue.length === 0) {
      if (!this.inFlight && this.queue.length === 0) this.drained?.();
      return;
    }
    const child = this.worker();
    const p = this.queue.shift()!;
    this.inFlight = p;
    const job: HashJob = {
      id: this.nextId++,
      fd: p.fd,
      dev: p.rec.dev,
      ino: p.rec.ino,
      maxBytes: this.maxBytes,
      cpuShare: this.cpuShare,
    };
    child.postMessage(job);
  }

  private worker(): Worker {
    if (this.child) return this.child;
    const child = new Worker(new URL("./hasher-worker.js", import.meta.url));
    child.on("message", (m: HashReply) => this.reply(m));
    child.on("exit", () => {
      if (this.child === child) this.child = undefined;
      if (this.inFlight) this.reply({ id: -1, error: "hasher-exited" });
    });
    child.on("error", () => undefined);
    // The recorder's loop must not wait for an idle worker to end.
    child.unref();
    this.child = child;
    return child;
  }

  private reply(m: HashReply): void {
    const p = this.inFlight;
    if (!p) return;
    this.inFlight = undefined;
    closeSync(p.fd);
    if ("sha256" in m) this.done(p.rec, { sha256: m.sha256 });
    else if ("tooLarge" in m) this.done(p.rec, { tooLarge: true, size: m.bytes });
    else this.done(p.rec, { why: `error:${m.error}` });
    this.pump();
  }

  /** The `loss` record of the hasher (docs/RECORDS.md): identities that could not be queued. */
  lossRecord(t: bigint): HasherLossRecord {
    return { k: "loss", b: "hasher", t, queueFull: this.queueFull };
  }

  /**
   * Waits up to `waitMs` for the queue to empty, then ends the worker; what is left gets `why: "ended"`.
   * Every record is out when it resolves.
   */
  async finish(waitMs: number): Promise<void> {
    if (this.inFlight || this.queue.length > 0) {
      await new Promise<void>((res) => {
        const timer = setTimeout(res, waitMs);
        this.drained = () => {
          clearTimeout(timer);
          res();
        };
      });
      this.drained = undefined;
    }
    const left = this.inFlight ? [this.inFlight, ...this.queue] : [...this.queue];
    this.inFlight = undefined;
    this.queue.length = 0;
    const child = this.child;
    this.child = undefined;
    // The worker stops before the descriptors it may be reading are closed (a number reused meanwhile
    // would be another file).
    if (child) await child.terminate();
    for (const p of left) {
      closeSync(p.fd);
      this.done(p.rec, { why: "ended" });
    }
  }
}
