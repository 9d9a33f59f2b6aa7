// Reconstruction: feeds each session's records, in file order, into the process, connection, file and
// loss tables. Keeps entities only; the raw records are dropped as soon as they are read.
import { forEachRecord } from "../events/framing.js";
import { familyName, formatAddr, protocolName } from "./addr.js";
import { ConnectionTable, type SockFacts } from "./connections.js";
import { FileTable, U64Field } from "./files.js";
import { HostInfo } from "./hostinfo.js";
import { ExeHashes, ExecFileMaker } from "./exefile.js";
import { LossTracker, lossTotal } from "./losses.js";
import type { Creds, Origin, PrivilegeEvent, ProcessEntity, Replay, SessionInfo } from "./model.js";
import { privOpName, resolveTargets } from "./privilege.js";
import { ProcessTable } from "./processes.js";
import type { SessionMeta } from "./metadata.js";
import { sessionSchema, type Offsets, type SessionSchema } from "./schema.js";
import { SkipTally } from "./skips.js";
import { argList, cText, flatId } from "./strings.js";
import { mergeWriteSnapshot } from "../events/writes.js";
import { EXEC_TRUNC, HF, PATH_FLAG, PRIV_FLAG } from "../events/layouts.js";
import { uncheckedMap, uncheckedRecord, type SessionSummary, type Unchecked } from "../session/records.js";

const HF_OWNER_FROM_SOCK = HF.ownerFromSock;
const HF_OWNER_UNKNOWN = HF.ownerUnknown;
const EXEC_ARGV_TRUNC = EXEC_TRUNC.argvTrunc;
const PATH_TRUNC = PATH_FLAG.trunc;

interface Current {
  info: SessionInfo;
  host: string;
  offsetNs: bigint;
  /** Number(offsetNs), for tests of times that need no bigint (ConnectionTable.isOlderAt). */
  offsetApprox: number;
  schema: SessionSchema;
  /** schema.byType as an array by type number: one indexed load per record instead of a Map lookup. */
  offsets: Array<Offsets | undefined>;
  startBootNs: bigint | undefined;
  /** The exec records' executable identities, shared by consecutive execs of one file. */
  exeFiles: ExecFileMaker;
  /** The `write_cache` dump of the snapshot in progress: the recorder writes it just before `write_totals`. */
  writeCache?: { d: Uint8Array; keySize: number; valueSize: number };
}

const U64_END = 1n << 64n;
/** Record type numbers looked up by array index (this build's are below 32); a stored schema's larger ones by Map. */
const TYPE_SLOTS = 256;

/**
 * A stored boot time (a kernel u64): undefined unless a whole number in 0..2^64-1, so a crafted 1e308 or
 * -1 never becomes a time no Date can show.
 */
function big(v: unknown): bigint | undefined {
  if (typeof v === "bigint") return v >= 0n && v < U64_END ? v : undefined;
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : undefined;
}

/** A `maps` record's row sizes: whole numbers, a row of at least one byte, at most one frame. */
function rowSize(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0x7fffffff ? v : undefined;
}

export class Reconstructor {
  readonly processes = new ProcessTable();
  readonly connections = new ConnectionTable();
  readonly files = new FileTable();
  readonly losses = new LossTracker();
  readonly sessions: SessionInfo[] = [];
  readonly hostInfo = new HostInfo();
  readonly exeHashes = new ExeHashes();
  /** The privilege bundle's events, in record order. */
  readonly privilege: PrivilegeEvent[] = [];
  /** Kernel records decoded, all sessions. */
  events = 0;
  /** Exec images and file operations kept, and the KiB of text they hold (see `kept`, imageUnits). */
  private listItems = 0;
  /** Records skipped because they break the record shape (docs/REPLAY.md "Limits"), by kind. */
  readonly skips = new SkipTally();
  /** Where the record being fed sits, for naming it in a skip: set by the loader. */
  at = { frame: 0, record: 0 };
  private cur: Current | undefined;
  /** A write flush's dev and ino, refilled per record (FileTable keeps neither object). */
  private readonly devField = new U64Field();
  private readonly inoField = new U64Field();
  /** sock()'s one SockFacts. */
  private readonly facts = new RecordSock();

  /**
   * Objects replay keeps and that grow with the input: processes, connections, files, loss gaps, exec
   * images and file operations, where an object whose text or argv may render to more than 1 KiB counts
   * once per KiB. What `--max-entities` bounds, so each unit is about a KiB of heap and of output.
   */
  get kept(): number {
    return (
      this.processes.size +
      this.connections.size +
      this.files.size +
      this.losses.gaps.length +
      this.privilege.length +
      this.listItems
    );
  }

  /** Starts a session: every record until endSession belongs to it. */
  beginSession(path: string, sessionId: string, md: SessionMeta): void {
    const bootId = md.host.bootId;
    const hostname = md.host.hostname || "unknown";
    const host = bootId ? bootId.slice(0, 8) : hostname;
    const offsetNs = md.clock.realtimeMinusBoottimeNs;
    const info: SessionInfo = {
      index: this.sessions.length,
      path,
      sessionId,
      host,
      hostname,
      bootId,
      runbook: md.runbook.name,
      bundles: md.bundles.map((b) => b.name),
      unavailable: md.bundles.flatMap((b) => b.unavailable.map((what) => ({ bundle: b.name, what }))),
      realtimeMinusBoottimeNs: offsetNs,
      startNs: undefined,
      endNs: undefined,
      lastRecordNs: undefined,
      status: "UNREAD",
      verdictReason: "",
      framesGood: 0,
      endReason: undefined,
      events: 0,
      cutOff: false,
      accountFiles: [],
    };
    this.sessions.push(info);
    const schema = sessionSchema(md.schema);
    const offsets: Array<Offsets | undefined> = new Array<Offsets | undefined>(TYPE_SLOTS).fill(undefined);
    for (const [type, o] of schema.byType) if (type >= 0 && type < TYPE_SLOTS) offsets[type] = o;
    this.cur = {
      info,
      host,
      offsetNs,
      offsetApprox: Number(offsetNs),
      schema,
      offsets,
      startBootNs: undefined,
      exeFiles: new ExecFileMaker(),
    };
  }

  /** One msgpack record of the current session (docs/RECORDS.md). Unknown kinds are skipped. */
  record(value: unknown): void {
    const cur = this.cur;
    if (!cur || typeof value !== "object" || value === null) return;
    // Any record's time counts, even of a kind this build does not know.
    const t = big((value as Unchecked<{ t: bigint }>).t);
    if (t !== undefined) {
      const real = t + cur.offsetNs;
      if (cur.info.lastRecordNs === undefined || real > cur.info.lastRecordNs) cur.info.lastRecordNs = real;
    }
    const r = uncheckedRecord(value);
    if (r === undefined) return;
    switch (r.k) {
      case "attach": {
        const start = big(r.startT) ?? t;
        if (start !== undefined && cur.startBootNs === undefined) {
          cur.startBootNs = start;
          cur.info.startNs = start + cur.offsetNs;
        }
        return;
      }
      case "start":
        if (r.d instanceof Uint8Array) this.kernel(cur, r.d, "snapshot");
        return;
      case "ring":
        if (r.d instanceof Uint8Array) this.kernel(cur, r.d, "observed");
        return;
      case "maps": {
        const keySize = rowSize(r.keySize);
        const valueSize = rowSize(r.valueSize);
        if (
          !(r.d instanceof Uint8Array) ||
          keySize === undefined ||
          valueSize === undefined ||
          keySize + valueSize === 0
        ) {
          this.skip(
            "maps",
            `keySize ${describe(r.keySize)}, valueSize ${describe(r.valueSize)}, d ${r.d instanceof Uint8Array ? "bytes" : describe(r.d)}: not rows of at least one byte`,
          );
          return;
        }
        this.map(cur, nameText(r.m), r.d, keySize, valueSize, t ?? 0n);
        return;
      }
      case "cgroups":
        this.hostInfo.cgroups(cur.host, r.entries);
        return;
      case "proc-cgroups":
        this.hostInfo.procCgroups(cur.host, r.entries);
        return;
      case "users":
        {
          const files = this.hostInfo.accounts(cur.host, r);
          if (cur.info.accountFiles.length < 8) cur.info.accountFiles.push(...files); // one record is written; a hostile file may hold many
        }
        return;
      case "exe-hash":
        if (this.exeHashes.add(cur.host, r)) this.listItems++;
        else this.skip("exe-hash", "not an executable identity with a hash, tooLarge or why");
        return;
      case "loss":
        this.losses.add(
          cur.host,
          cur.info.index,
          nameText(r.b),
          lossTotal(r),
          (t ?? 0n) + cur.offsetNs,
          cur.info.startNs ?? (t ?? 0n) + cur.offsetNs,
        );
        return;
      default:
        return;
    }
  }

  /** Ends the current session with the reader's verdict and the summary, if the file had one. */
  endSession(verdict: { status: string; reason: string; framesGood: number }, summary: unknown): void {
    const cur = this.cur;
    if (!cur) return;
    const s = uncheckedMap<SessionSummary>(summary) ?? {};
    cur.info.status = verdict.status;
    cur.info.verdictReason = verdict.reason;
    cur.info.framesGood = verdict.framesGood;
    cur.info.cutOff = verdict.status !== "SEALED";
    cur.info.endReason = typeof s.endReason === "string" ? s.endReason : undefined;
    const start = big(s.startBootNs);
    if (start !== undefined) cur.info.startNs = start + cur.offsetNs;
    const end = big(s.endBootNs);
    cur.info.endNs = end !== undefined ? end + cur.offsetNs : cur.info.lastRecordNs;
    this.cur = undefined;
  }

  /** The reconstruction so far, with parents resolved and file totals folded in. */
  finish(): Replay {
    const processes = this.processes.resolve();
    this.hostInfo.annotate(processes);
    this.exeHashes.annotate(processes);
    const files = this.files.finish();
    resolveTargets(this.privilege, processes);
    return {
      sessions: this.sessions,
      processes,
      connections: this.connections.finish(),
      files,
      privilege: this.privilege,
      losses: this.losses.gaps,
    };
  }

  private kernel(cur: Current, d: Uint8Array, origin: Origin): void {
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    forEachRecord(d, (off, len) => this.kernelRecord(cur, d, v, off, len, origin));
  }

  private kernelRecord(cur: Current, d: Uint8Array, v: DataView, off: number, len: number, origin: Origin): void {
    if (len < 64 || off + len > d.length) return;
    const type = v.getUint16(off, true);
    const o = type < TYPE_SLOTS ? cur.offsets[type] : cur.schema.byType.get(type);
    if (!o || len < o.size) return;
    this.events++;
    cur.info.events++;
    const ev = cur.schema.ev;
    const flags = v.getUint16(off + o.flags, true);
    // The record's time as a bigint is made only where it is kept: most high-rate records keep none.
    const tsAt = off + o.ts_ns;
    const tail = off + o.size; // the variable part: [tail, off + len)
    const owner =
      flags & HF_OWNER_UNKNOWN ? undefined : this.owner(cur, d, v, off, o, tsAt, (flags & HF_OWNER_FROM_SOCK) === 0);
    if (!owner && (type === ev.fork || type === ev.exec || type === ev.exit || type === ev.task)) return;
    // A process can move between cgroups (a runtime moves its child into the container's): lifecycle
    // records keep the latest; high-rate records are not read for it.
    // The same for the uid: setuid then exec (su, runuser, setpriv) shows in the exec record's header.
    if (type === ev.exec || type === ev.exit || type === ev.task) {
      // 0: not filled in (the start iterator's records); `proc-cgroups` supplies those.
      const cg = o.cgroup_id >= 0 ? v.getBigUint64(off + o.cgroup_id, true) : 0n;
      if (cg !== 0n && cg !== owner!.cgroupId) owner!.cgroupId = cg; // an equal one stays: not a bigint kept per record
      owner!.uid = v.getUint32(off + o.uid, true);
    }
    switch (type) {
      case ev.fork: {
        const child = this.processes.fork(
          owner!,
          v.getUint32(off + o.child_tgid, true),
          v.getUint32(off + o.child_start_ns, true),
          v.getUint32(off + o.child_start_ns + 4, true),
          v.getBigUint64(off + o.child_start_ns, true),
          cur.offsetNs,
          this.time(cur, v, tsAt),
        );
        child.origin = "observed";
        return;
      }
      case ev.exec: {
        const fl = v.getUint16(off + o.filename_len, true);
        const al = v.getUint16(off + o.argv_len, true);
        const cl = v.getUint16(off + o.cwd_len, true);
        const trunc = v.getUint16(off + o.trunc, true);
        const end = off + len;
        const filename = cText(d, tail, Math.min(end, tail + fl));
        const argv = argList(d, Math.min(end, tail + fl), Math.min(end, tail + fl + al));
        const cwd = cl > 0 ? cText(d, Math.min(end, tail + fl + al), Math.min(end, tail + fl + al + cl)) : undefined;
        this.listItems += imageUnits(fl + al + cl, argv.length);
        this.processes.exec(
          owner!,
          {
            timeNs: this.time(cur, v, tsAt),
            filename,
            argv,
            argvTruncated: (trunc & EXEC_ARGV_TRUNC) !== 0,
            cwd,
            origin,
            exe: o.exe_flags < 0 ? undefined : cur.exeFiles.makeAt(v, off, o, filename),
          },
          this.comm(d, off, o),
        );
        return;
      }
      case ev.exit: {
        const exitNs = v.getBigUint64(off + o.exit_ns, true);
        this.processes.exit(
          owner!,
          exitNs === 0n ? this.time(cur, v, tsAt) : exitNs + cur.offsetNs,
          v.getInt32(off + o.exit_code, true),
        );
        return;
      }
      case ev.task: {
        const el = v.getUint16(off + o.exe_len, true);
        const al = v.getUint16(off + o.argv_len, true);
        const trunc = v.getUint16(off + o.trunc, true);
        const image =
          el + al > 0
            ? {
                timeNs: this.time(cur, v, tsAt),
                filename: cText(d, tail, Math.min(off + len, tail + el)),
                argv: argList(d, Math.min(off + len, tail + el), Math.min(off + len, tail + el + al)),
                argvTruncated: (trunc & EXEC_ARGV_TRUNC) !== 0,
                cwd: undefined,
                origin: "snapshot" as const,
              }
            : undefined;
        if (image) this.listItems += imageUnits(el + al, image.argv.length);
        this.processes.snapshot(owner!, image);
        return;
      }
      case ev.connect:
        this.connections.connect(
          cur.host,
          this.sock(d, v, off, o),
          owner,
          v.getBigUint64(off + o.enter_ns, true) + cur.offsetNs,
          this.time(cur, v, tsAt),
          v.getInt32(off + o.ret, true),
        );
        return;
      case ev.accept:
        this.connections.accept(cur.host, this.sock(d, v, off, o), owner, this.time(cur, v, tsAt));
        return;
      case ev.sockState:
        this.connections.state(
          cur.host,
          this.sock(d, v, off, o),
          owner,
          v.getInt32(off + o.oldstate, true),
          v.getInt32(off + o.newstate, true),
          this.time(cur, v, tsAt),
          o.sk_err < 0 ? undefined : v.getInt32(off + o.sk_err, true),
        );
        return;
      case ev.sock:
        this.connections.snapshot(
          cur.host,
          this.sock(d, v, off, o),
          owner,
          v.getInt32(off + o.newstate, true),
          this.time(cur, v, tsAt),
        );
        return;
      case ev.retransmit:
      case ev.sendReset:
      case ev.recvReset: {
        const kind = type === ev.retransmit ? "retransmit" : type === ev.sendReset ? "sendReset" : "recvReset";
        const segs = o.segs >= 0 ? v.getUint16(off + o.segs, true) : 1; // older sessions: one per event
        const state = v.getInt32(off + o.state, true);
        // The high-rate case: a socket already known by id needs no addresses formatted.
        const known =
          o.sock_id < 0
            ? undefined
            : this.connections.bySock(
                cur.host,
                v.getUint32(off + o.sock_id, true),
                v.getUint32(off + o.sock_id + 4, true),
              );
        // No closure for the time per record: it is made only for a connection it may predate.
        if (known && !this.connections.isOlderAt(known, v, tsAt, cur.offsetNs, cur.offsetApprox)) {
          if (known.sport === 0 || known.dport === 0) this.connections.fill(known, this.sock(d, v, off, o));
          this.connections.tcpEventOn(
            known,
            owner,
            kind,
            state,
            this.connections.keepsTime(known, kind) ? this.time(cur, v, tsAt) : undefined,
            segs,
          );
        } else
          this.connections.tcpEvent(
            cur.host,
            this.sock(d, v, off, o),
            owner,
            kind,
            state,
            this.time(cur, v, tsAt),
            segs,
          );
        return;
      }
      case ev.fileOpen: {
        if (!owner) return;
        const pl = v.getUint16(off + o.path_len, true);
        const pf = v.getUint16(off + o.path_flags, true);
        this.listItems += (TEXT_OUT * pl) >> 10; // a long path: the file itself counts in files.size
        this.files.open(
          owner,
          this.devField.at(v, off + o.dev),
          this.inoField.at(v, off + o.ino),
          cText(d, tail, Math.min(off + len, tail + pl)),
          (pf & PATH_TRUNC) !== 0,
        );
        return;
      }
      case ev.fileWrite: {
        if (!owner) return;
        // No bigint for dev, ino, bytes or calls unless a new file needs one (halves, summed in place).
        this.files.flush(
          owner,
          this.devField.at(v, off + o.dev),
          this.inoField.at(v, off + o.ino),
          v.getUint32(off + o.bytes, true),
          v.getUint32(off + o.bytes + 4, true),
          v.getUint32(off + o.calls, true),
          v.getUint32(off + o.calls + 4, true),
          v.getBigUint64(off + o.first_ns, true) + cur.offsetNs,
          v.getBigUint64(off + o.last_ns, true) + cur.offsetNs,
        );
        return;
      }
      case ev.unlink:
      case ev.rename:
      case ev.chmod: {
        if (!owner) return;
        const pl = v.getUint16(off + o.path_len, true);
        const p2 = v.getUint16(off + o.path2_len, true);
        this.listItems += 1 + ((TEXT_OUT * (pl + p2)) >> 10);
        this.files.op(owner, {
          kind: type === ev.unlink ? "delete" : type === ev.rename ? "rename" : "chmod",
          timeNs: this.time(cur, v, tsAt),
          path: cText(d, tail, Math.min(off + len, tail + pl)),
          newPath:
            type === ev.rename
              ? cText(d, Math.min(off + len, tail + pl), Math.min(off + len, tail + pl + p2))
              : undefined,
          mode: type === ev.chmod ? v.getUint32(off + o.mode, true) : undefined,
          ret: v.getInt32(off + o.ret, true),
        });
        return;
      }
      case ev.priv: {
        if (!owner || o.op < 0) return;
        const end = off + len;
        const l1 = v.getUint16(off + o.str1_len, true);
        const l2 = v.getUint16(off + o.str2_len, true);
        const l3 = v.getUint16(off + o.str3_len, true);
        const at2 = Math.min(end, tail + l1);
        const at3 = Math.min(end, at2 + l2);
        const pf = v.getUint16(off + o.pflags, true);
        const op = v.getUint16(off + o.op, true);
        this.listItems += (TEXT_OUT * (l1 + l2 + l3)) >> 10; // the event itself counts in privilege.length
        this.privilege.push({
          id: flatId(owner.host, `v${this.privilege.length + 1}`),
          host: owner.host,
          processId: owner.id,
          pid: owner.pid,
          tid: v.getUint32(off + o.pid, true),
          comm: this.comm(d, off, o),
          timeNs: this.time(cur, v, tsAt),
          syscall: privOpName(op),
          op,
          ret: v.getInt32(off + o.ret, true),
          args: [
            v.getBigUint64(off + o.arg0, true),
            v.getBigUint64(off + o.arg1, true),
            v.getBigUint64(off + o.arg2, true),
            v.getBigUint64(off + o.arg3, true),
          ],
          target: v.getInt32(off + o.target, true),
          targetId: undefined,
          targetComm: undefined,
          aux: v.getUint32(off + o.aux, true),
          after: creds(v, off, o, "new"),
          before: pf & PRIV_FLAG.oldCred ? creds(v, off, o, "old") : undefined,
          strings: [cText(d, tail, at2), cText(d, at2, at3), cText(d, at3, Math.min(end, at3 + l3))],
          stringsTruncated: (pf & PRIV_FLAG.strTrunc) !== 0,
          readFailed: (pf & PRIV_FLAG.readFail) !== 0,
          oldComm: pf & PRIV_FLAG.oldComm ? cText(d, off + o.aux_comm, off + o.aux_comm + 16) : undefined,
        });
        return;
      }
      default:
        return;
    }
  }

  private skip(kind: string, why: string): void {
    const s = this.cur?.info;
    this.skips.add(kind, `${s?.path ?? "?"}: frame ${this.at.frame} record ${this.at.record}: ${why}`);
  }

  /** The record's time (epoch ns) from its boot-time field at `at`. */
  private time(cur: Current, v: DataView, at: number): bigint {
    return v.getBigUint64(at, true) + cur.offsetNs;
  }

  /** The record's process; `own` records (not a socket owner's copy) also update its ppid. */
  private owner(
    cur: Current,
    d: Uint8Array,
    v: DataView,
    off: number,
    o: Offsets,
    tsAt: number,
    own: boolean,
  ): ProcessEntity {
    const tgid = v.getUint32(off + o.tgid, true);
    const startAt = off + o.start_ns;
    const ppid = v.getUint32(off + o.ppid, true);
    const startLo = v.getUint32(startAt, true);
    const startHi = v.getUint32(startAt + 4, true);
    let p = this.processes.findByHalves(cur.host, tgid, startLo, startHi);
    if (!p) {
      const cg = o.cgroup_id >= 0 && own ? v.getBigUint64(off + o.cgroup_id, true) : 0n;
      p = this.processes.addByHalves(
        cur.host,
        tgid,
        startLo,
        startHi,
        v.getBigUint64(startAt, true),
        ppid,
        v.getUint32(off + o.uid, true),
        this.comm(d, off, o),
        cg !== 0n ? cg : undefined,
        cur.offsetNs,
      );
    }
    if (own && ppid !== 0 && ppid !== p.ppid) this.processes.noteParent(p, ppid, this.time(cur, v, tsAt));
    return p;
  }

  private comm(d: Uint8Array, off: number, o: Offsets): string {
    const c = off + o.comm;
    return cText(d, c, c + 16);
  }

  /**
   * The record's socket facts, in one object refilled per record (the connection table keeps none of it):
   * four socket records per short-lived process each made an object the young GC had to sweep past.
   */
  private sock(d: Uint8Array, v: DataView, off: number, o: Offsets): SockFacts {
    const family = v.getUint16(off + o.family, true);
    const protocol = o.protocol < 0 ? 6 : v.getUint16(off + o.protocol, true);
    const f = this.facts;
    f.sockLo = o.sock_id < 0 ? 0 : v.getUint32(off + o.sock_id, true);
    f.sockHi = o.sock_id < 0 ? 0 : v.getUint32(off + o.sock_id + 4, true);
    f.family = familyName(family);
    f.protocol = protocolName(protocol);
    f.sport = v.getUint16(off + o.sport, true);
    f.dport = v.getUint16(off + o.dport, true);
    f.addresses(family, d, off + o.saddr, off + o.daddr);
    return f;
  }

  private map(cur: Current, name: string, d: Uint8Array, keySize: number, valueSize: number, tBoot: bigint): void {
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const row = keySize + valueSize;
    if (name === "write_cache") {
      // Kept for the write_totals record after it, which may be in the next frame: the loader reuses a
      // frame's buffer for the next one, so a copy.
      cur.writeCache = { d: new Uint8Array(d), keySize, valueSize }; // not d.slice(): d is a Buffer, whose slice is a view
    } else if (name === "write_totals") {
      const k = cur.schema.byStruct.get("st_write_key");
      const w = cur.schema.byStruct.get("st_write_val");
      if (!k || !w) return;
      if (keySize < k.size || valueSize < w.size) {
        cur.writeCache = undefined;
        this.skip(
          "maps",
          `write_totals rows of keySize ${keySize}, valueSize ${valueSize} are smaller than st_write_key (${k.size}) and st_write_val (${w.size})`,
        );
        return;
      }
      const cache = cur.writeCache;
      cur.writeCache = undefined;
      for (const t of mergeWriteSnapshot(d, keySize, valueSize, cache, k, w)) {
        const p =
          this.processes.find(cur.host, t.tgid, t.startBootNs) ??
          this.processes.ensure(cur.host, t.tgid, t.startBootNs, 0, 0, "", undefined, cur.offsetNs);
        this.files.snapshot(p, t.dev, t.ino, {
          bytes: t.bytes,
          calls: t.calls,
          firstNs: t.firstNs + cur.offsetNs,
          lastNs: t.lastNs + cur.offsetNs,
        });
      }
    } else if (name === "flow_counters") {
      const k = cur.schema.byStruct.get("st_flow_key");
      const w = cur.schema.byStruct.get("st_flow_val");
      if (!k || !w) return;
      if (keySize < k.size || valueSize < w.size) {
        this.skip(
          "maps",
          `flow_counters rows of keySize ${keySize}, valueSize ${valueSize} are smaller than st_flow_key (${k.size}) and st_flow_val (${w.size})`,
        );
        return;
      }
      for (let at = 0; at + row <= d.length; at += row) {
        const family = v.getUint16(at + k.family, true);
        const b = at + keySize;
        const facts: SockFacts = {
          sockLo: 0,
          sockHi: 0,
          family: familyName(family),
          protocol: "tcp",
          saddr: formatAddr(family, d, at + k.saddr),
          sport: v.getUint16(at + k.sport, true),
          daddr: formatAddr(family, d, at + k.daddr),
          dport: v.getUint16(at + k.dport, true),
        };
        const resets = v.getBigUint64(b + w.send_resets, true) + v.getBigUint64(b + w.recv_resets, true);
        this.connections.flowTotals(
          cur.host,
          facts,
          Number(v.getBigUint64(b + w.retransmits, true)),
          Number(resets),
          tBoot + cur.offsetNs,
        );
      }
    }
  }
}

/**
 * sock()'s SockFacts: the addresses are formatted when the connection table first reads them, and most
 * records (a state change of a connection that has its addresses) never do.
 */
class RecordSock implements SockFacts {
  sockLo = 0;
  sockHi = 0;
  family = "";
  protocol = "";
  sport = 0;
  dport = 0;
  private af = 0;
  private bytes: Uint8Array = new Uint8Array(0);
  private sAt = 0;
  private dAt = 0;
  private s: string | undefined = undefined;
  private t: string | undefined = undefined;

  /** The record's addresses, at `sAt` and `dAt` of `bytes` (read within the record's handling only). */
  addresses(af: number, bytes: Uint8Array, sAt: number, dAt: number): void {
    this.af = af;
    this.bytes = bytes;
    this.sAt = sAt;
    this.dAt = dAt;
    this.s = undefined;
    this.t = undefined;
  }

  get saddr(): string {
    return (this.s ??= formatAddr(this.af, this.bytes, this.sAt));
  }

  get daddr(): string {
    return (this.t ??= formatAddr(this.af, this.bytes, this.dAt));
  }
}

/** st_priv's new_* or old_* credentials. */
function creds(v: DataView, off: number, o: Offsets, which: "new" | "old"): Creds {
  const n = which === "new";
  const u32 = (a: number, b: number) => v.getUint32(off + (n ? a : b), true);
  const u64 = (a: number, b: number) => v.getBigUint64(off + (n ? a : b), true);
  return {
    uid: u32(o.new_uid, o.old_uid),
    euid: u32(o.new_euid, o.old_euid),
    suid: u32(o.new_suid, o.old_suid),
    fsuid: u32(o.new_fsuid, o.old_fsuid),
    gid: u32(o.new_gid, o.old_gid),
    egid: u32(o.new_egid, o.old_egid),
    sgid: u32(o.new_sgid, o.old_sgid),
    fsgid: u32(o.new_fsgid, o.old_fsgid),
    capEffective: u64(o.new_cap_eff, o.old_cap_eff),
    capPermitted: u64(o.new_cap_perm, o.old_cap_perm),
  };
}

/** Output characters one stored text byte may become: a control byte is `\u0000` in JSON. */
const TEXT_OUT = 6;
/** Output characters one argv slot may become: `\n        "",` in indented JSON. */
const ARG_OUT = 12;

/**
 * An exec image's weight in `kept`: one, plus one per KiB its strings and argv slots may take once
 * rendered, so 64 KiB of NULs (65,535 empty arguments) weighs what it costs, not what an ordinary exec does.
 */
function imageUnits(textBytes: number, argc: number): number {
  return 1 + ((TEXT_OUT * textBytes + ARG_OUT * argc) >> 10);
}

/**
 * A name field of a record (a loss record's bundle, a map snapshot's map) as text. Session content is
 * hostile: String() of a decoded map whose `toString` key is not a function throws, so anything but a
 * string or a number is named by its kind (`<a list>`, `<object>`), and the record still counts.
 */
function nameText(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "bigint" ? String(v) : `<${describe(v)}>`;
}

function describe(v: unknown): string {
  return typeof v === "number" || typeof v === "bigint"
    ? String(v)
    : v === undefined
      ? "missing"
      : Array.isArray(v)
        ? "a list"
        : v === null
          ? "nil"
          : typeof v;
}
