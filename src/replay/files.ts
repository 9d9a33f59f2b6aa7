// File activity per (process, file): paths from first-write records, exact totals from the kernel's
// write map snapshots plus ring flushes, and unlink/rename/chmod.
import type { FileActivity, FileOp, ProcessEntity } from "./model.js";
import { flatId } from "./strings.js";

export interface WriteTotals {
  bytes: bigint;
  calls: bigint;
  firstNs: bigint;
  lastNs: bigint;
}

/**
 * A file's write totals are tallied on the file itself (Activity): a separate tally object per file was
 * ~64 bytes kept for every short-lived process's file.
 */
type Tally = Activity;

/**
 * The ops of a file that has none, shared (frozen: a push on it throws instead of giving every file the op):
 * most files never see an unlink, rename or chmod, and an empty array each was kept for every one.
 */
const NO_OPS: FileOp[] = Object.freeze([]) as unknown as FileOp[];

function addOp(f: FileActivity, op: FileOp): void {
  if (f.ops === NO_OPS) f.ops = [op];
  else f.ops.push(op);
}

/** Tallies of one process searched in a list before they get a Map by inode. */
const SCAN_MAX = 8;

function addTo(byIno: Map<number, Tally[]>, t: Tally): void {
  const list = byIno.get(t.inoKey);
  if (list) list.push(t);
  else byIno.set(t.inoKey, [t]);
}

/**
 * A u64 field of a record, where the record holds it (little-endian at `off` of `v`): its key (Number() of
 * it, made from its u32 halves without a bigint) and the exact value, read only when asked for (a key from
 * 2^53 on is rounded and may stand for several values; a new file keeps the value).
 */
export class U64Field {
  private v: DataView = new DataView(new ArrayBuffer(8));
  private off = 0;

  at(v: DataView, off: number): this {
    this.v = v;
    this.off = off;
    return this;
  }

  /** Number(value): hi * 2^32 is exact, so the one addition rounds as Number() of the bigint does. */
  get key(): number {
    return this.v.getUint32(this.off + 4, true) * 4294967296 + this.v.getUint32(this.off, true);
  }

  get value(): bigint {
    return this.v.getBigUint64(this.off, true);
  }
}

/** dev and ino of a record, as halves or as bigints (snapshots, unlink/rename/chmod). */
type FileKey = bigint | U64Field;

const keyOf = (x: FileKey): number => (typeof x === "bigint" ? Number(x) : x.key);
const valueOf = (x: FileKey): bigint => (typeof x === "bigint" ? x : x.value);

/** Equal keys below 2^53 are equal numbers; from 2^53 on Number() rounds, so the exact values decide. */
function sameFile(t: Tally, devKey: number, inoKey: number, dev: FileKey, ino: FileKey): boolean {
  if (t.inoKey !== inoKey || t.devKey !== devKey) return false;
  return (
    (inoKey <= Number.MAX_SAFE_INTEGER && devKey <= Number.MAX_SAFE_INTEGER) ||
    (t.ino === valueOf(ino) && t.dev === valueOf(dev))
  );
}

/**
 * Totals flushed to the ring, added up in place: bytes and calls as numbers while exact (below 2^53), as
 * bigints from there on, so a flush makes no totals object and no bigint for them.
 */
class Flushed {
  bytes: number | bigint = 0;
  calls: number | bigint = 0;
  constructor(
    public firstNs: bigint,
    public lastNs: bigint,
  ) {}

  totals(): WriteTotals {
    return { bytes: BigInt(this.bytes), calls: BigInt(this.calls), firstNs: this.firstNs, lastNs: this.lastNs };
  }
}

/** `sum` plus the u64 (lo, hi), exactly: a number while the sum is below 2^53, else a bigint. */
export function addU64(sum: number | bigint, lo: number, hi: number): number | bigint {
  if (typeof sum === "number" && hi < 0x200000) {
    const r = sum + (hi * 4294967296 + lo);
    if (r <= Number.MAX_SAFE_INTEGER) return r;
  }
  return BigInt(sum) + ((BigInt(hi) << 32n) | BigInt(lo));
}

/**
 * A file activity as replay keeps it. Its id and its process's id are made when asked for (by a view), from
 * its process and creation number: two strings per file fewer kept, and none joined while replay rebuilds.
 */
class Activity implements FileActivity {
  // What a write flush reads first (fields are laid out in order): the keys a lookup compares, the totals.
  /** Number(dev) and Number(ino), held inline: a match reads no bigint (see sameFile). Not rendered. */
  readonly inoKey: number;
  readonly devKey: number;
  /** Totals flushed to the ring (the map was full): they add up. Not rendered. */
  flushed: Flushed | undefined = undefined;
  /** The latest map snapshot of the key: cumulative, it supersedes earlier snapshots. Not rendered. */
  live: WriteTotals | undefined = undefined;
  readonly host: string;
  readonly pid: number;
  comm: string;
  bytes = 0n;
  writes = 0n;
  firstNs: bigint | undefined = undefined;
  lastNs: bigint | undefined = undefined;
  deleted = false;
  renamedTo: string | undefined = undefined;
  ops: FileOp[] = NO_OPS;
  pathTruncated = false;
  private readonly owner: ProcessEntity;
  private readonly seq: number;
  path: string;
  dev: bigint;
  ino: bigint;

  constructor(owner: ProcessEntity, seq: number, path: string, dev: bigint, ino: bigint) {
    this.inoKey = Number(ino);
    this.devKey = Number(dev);
    this.host = owner.host;
    this.pid = owner.pid;
    this.comm = owner.comm;
    this.owner = owner;
    this.seq = seq;
    this.path = path;
    this.dev = dev;
    this.ino = ino;
  }

  get id(): string {
    return flatId(this.host, `f${this.seq}`);
  }

  get processId(): string {
    return this.owner.id;
  }
}

export class FileTable {
  /** host → path → its files: the path string is the record's own, so a key costs no concatenation. */
  private readonly byPath = new Map<string, Map<string, FileActivity[]>>();
  private readonly all: Activity[] = [];
  private seq = 0;
  /** The device of the last file made: files share it (a few devices hold every file), not a bigint each. */
  private lastDev: bigint | undefined;

  /** File activities kept. */
  get size(): number {
    return this.all.length;
  }

  private create(p: ProcessEntity, path: string, dev: bigint, ino: bigint): Activity {
    if (dev === this.lastDev) dev = this.lastDev;
    else this.lastDev = dev;
    const f = new Activity(p, ++this.seq, path, dev, ino);
    this.all.push(f);
    // A placeholder path (no first-write record yet) names no file: unlink/rename cannot match it.
    if (!path.startsWith("<inode ")) this.indexPath(f);
    return f;
  }

  private indexPath(f: FileActivity): void {
    let paths = this.byPath.get(f.host);
    if (!paths) this.byPath.set(f.host, (paths = new Map()));
    const list = paths.get(f.path);
    if (list) list.push(f);
    else paths.set(f.path, [f]);
  }

  private tally(p: ProcessEntity, dev: FileKey, ino: FileKey, path?: string): Tally {
    const devKey = keyOf(dev);
    const inoKey = keyOf(ino);
    // The process's tallies (its fileIndex); past SCAN_MAX of them, ino → tallies. No string keys on the
    // hot path, and no Map per process for the many that write a file or two (two Maps each were ~340 bytes).
    // One tally is held as itself: most processes write one file, and a list each was ~56 bytes kept.
    const e = p.fileIndex as Tally | Tally[] | Map<number, Tally[]> | undefined;
    if (e !== undefined && !Array.isArray(e) && !(e instanceof Map)) {
      if (sameFile(e, devKey, inoKey, dev, ino)) return e;
    } else {
      const list = e === undefined ? undefined : Array.isArray(e) ? e : e.get(inoKey);
      if (list) for (const t of list) if (sameFile(t, devKey, inoKey, dev, ino)) return t;
    }
    const devN = valueOf(dev);
    const inoN = valueOf(ino);
    const t = this.create(p, path ?? `<inode ${devN >> 20n}:${devN & 0xfffffn}:${inoN}>`, devN, inoN);
    if (e === undefined) {
      p.fileIndex = t;
    } else if (!Array.isArray(e) && !(e instanceof Map)) {
      p.fileIndex = [e, t];
    } else if (Array.isArray(e) && e.length < SCAN_MAX) {
      e.push(t);
    } else {
      const byIno = Array.isArray(e) ? new Map<number, Tally[]>() : e;
      if (Array.isArray(e)) for (const x of e) addTo(byIno, x);
      addTo(byIno, t);
      p.fileIndex = byIno;
    }
    return t;
  }

  /** ST_EV_FILE_OPEN: the path of (process, dev, ino). */
  open(p: ProcessEntity, dev: FileKey, ino: FileKey, path: string, truncated: boolean): void {
    const t = this.tally(p, dev, ino, path);
    if (t.path !== path && t.path.startsWith("<inode ")) {
      t.path = path;
      this.indexPath(t);
    }
    t.comm = p.comm;
    t.pathTruncated ||= truncated;
  }

  /**
   * ST_EV_FILE_WRITE: totals that went to the ring instead of the map. `bytes` and `calls` as the record's
   * u32 halves, added up in place.
   */
  flush(
    p: ProcessEntity,
    dev: FileKey,
    ino: FileKey,
    bytesLo: number,
    bytesHi: number,
    callsLo: number,
    callsHi: number,
    firstNs: bigint,
    lastNs: bigint,
  ): void {
    const t = this.tally(p, dev, ino);
    let f = t.flushed;
    if (f === undefined) t.flushed = f = new Flushed(firstNs, lastNs);
    else {
      if (firstNs < f.firstNs) f.firstNs = firstNs;
      if (lastNs > f.lastNs) f.lastNs = lastNs;
    }
    f.bytes = addU64(f.bytes, bytesLo, bytesHi);
    f.calls = addU64(f.calls, callsLo, callsHi);
    // A snapshot taken before this flush may hold the same entry's earlier totals only if the entry
    // was since removed: the kernel flushes only keys absent from the map, so drop a live value older than it.
    if (t.live && t.live.lastNs <= firstNs && t.live.firstNs < firstNs) t.live = undefined;
  }

  /** One `write_totals` row from a map snapshot (cumulative for its key). */
  snapshot(p: ProcessEntity, dev: bigint, ino: bigint, w: WriteTotals): void {
    const t = this.tally(p, dev, ino);
    if (!t.live || w.calls >= t.live.calls || w.firstNs !== t.live.firstNs) t.live = { ...w };
  }

  /** unlink/rename/chmod by `p`; `ret` < 0 is a failed call (kept, marked). */
  op(p: ProcessEntity, op: FileOp): void {
    const list = this.byPath.get(p.host)?.get(op.path) ?? [];
    let own = list.find((f) => f.processId === p.id);
    own ??= this.create(p, op.path, 0n, 0n);
    op.actorId = p.id;
    addOp(own, op);
    if (op.ret < 0) return;
    // The path names one file on the host: every writer of it sees the delete or rename.
    for (const f of [...(this.byPath.get(p.host)?.get(op.path) ?? [])]) {
      if (op.kind === "delete") f.deleted = true;
      if (op.kind === "rename") f.renamedTo = op.newPath;
      if (f !== own && op.kind !== "chmod" && !f.ops.includes(op)) addOp(f, op);
    }
  }

  /** Every file with totals folded in. */
  finish(): FileActivity[] {
    for (const t of this.all) {
      const flushed = t.flushed?.totals();
      const sum = flushed && t.live ? add(flushed, t.live) : (flushed ?? t.live);
      if (!sum) continue;
      t.bytes = sum.bytes;
      t.writes = sum.calls;
      t.firstNs = sum.firstNs;
      t.lastNs = sum.lastNs;
    }
    return this.all;
  }
}

function add(a: WriteTotals, b: WriteTotals): WriteTotals {
  return {
    bytes: a.bytes + b.bytes,
    calls: a.calls + b.calls,
    firstNs: a.firstNs < b.firstNs ? a.firstNs : b.firstNs,
    lastNs: a.lastNs > b.lastNs ? a.lastNs : b.lastNs,
  };
}
