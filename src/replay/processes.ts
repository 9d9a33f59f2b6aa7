// Process identity and parentage: pid + start time, exec chains, fork parents, snapshot roots, re-parenting.
import { HostNumbers, WordTable } from "./wordtable.js";
import { flatId } from "./strings.js";
import type { ExecImage, ProcessEntity } from "./model.js";

export function processId(host: string, pid: number, startBootNs: bigint): string {
  return flatId(host, pid, startBootNs);
}

/**
 * A process as replay keeps it. Its id string is made when first asked for (a view, a parent's child, a
 * file op), not for every process: most short-lived processes are never named by id while replay rebuilds,
 * and an id each (~45 bytes, and the time to join it) was kept for all of them.
 */
/**
 * The images of a process not seen executing, shared (frozen: a push on it throws instead of giving every
 * process the image): addExec gives a process its own list at its first image.
 */
const NO_EXECS: ExecImage[] = Object.freeze([]) as unknown as ExecImage[];

class Process implements ProcessEntity {
  // What every record of the process reads first (fields are laid out in order): its parent pid, and a
  // write flush's file index.
  readonly pid: number;
  ppid: number;
  fileIndex: unknown = undefined;
  comm: string;
  readonly host: string;
  readonly startNs: bigint;
  /** The session's realtime - boottime: startNs less it is the start boot time (no bigint kept for it). */
  private readonly offsetNs: bigint;
  uid: number;
  cgroupId: bigint | undefined;
  private madeId: string | undefined = undefined;
  parentId: string | undefined = undefined;
  parentOrigin: ProcessEntity["parentOrigin"] = "inferred";
  reparentedFrom: string | undefined = undefined;
  user: string | undefined = undefined;
  cgroupPath: string | undefined = undefined;
  container: ProcessEntity["container"] = undefined;
  origin: ProcessEntity["origin"] = "observed";
  execs: ExecImage[] = NO_EXECS;
  exitNs: bigint | undefined = undefined;
  exitCode: number | undefined = undefined;
  exitSignal: number | undefined = undefined;
  forkNs: bigint | undefined = undefined;
  parent: ProcessEntity | undefined = undefined;

  constructor(
    host: string,
    pid: number,
    ppid: number,
    startNs: bigint,
    offsetNs: bigint,
    comm: string,
    uid: number,
    cgroupId: bigint | undefined,
  ) {
    this.pid = pid;
    this.ppid = ppid;
    this.comm = comm;
    this.host = host;
    this.startNs = startNs;
    this.offsetNs = offsetNs;
    this.uid = uid;
    this.cgroupId = cgroupId;
  }

  get startBootNs(): bigint {
    return this.startNs - this.offsetNs;
  }

  get id(): string {
    return (this.madeId ??= processId(this.host, this.pid, this.startBootNs));
  }
}

export class ProcessTable {
  /** Processes kept. */
  get size(): number {
    return this.all.length;
  }

  /** Every process, in order of creation (no Map by id: its insert was most of the cost of a new process). */
  private readonly all: ProcessEntity[] = [];

  /**
   * (pid, start boot ns halves, host number) → the process: the lookup every kernel record makes, with no
   * bigint made and no Map chased.
   */
  private readonly byIdentity = new WordTable<Process>();
  /**
   * host → pid → its one incarnation, or every incarnation in order of appearance: made at the first
   * incarnations() (re-parenting, resolve), kept up to date from then on. Most sessions ask it nothing while
   * records are read, and a new process pays no insert into it.
   */
  private byPid: Map<string, Map<number, ProcessEntity | ProcessEntity[]>> | undefined = undefined;
  private readonly hosts = new HostNumbers();

  /** The process with this identity, if known. */
  find(host: string, pid: number, startBootNs: bigint): ProcessEntity | undefined {
    if (startBootNs < 0n || startBootNs > U64_MAX) return undefined;
    return this.byIdentity.get(pid, lo32(startBootNs), hi32(startBootNs), this.hosts.of(host));
  }

  /** find() with the start time as the kernel record holds it, two u32 halves. */
  findByHalves(host: string, pid: number, startLo: number, startHi: number): ProcessEntity | undefined {
    return this.byIdentity.get(pid, startLo, startHi, this.hosts.of(host));
  }

  /**
   * The process with this identity (a kernel record header's tgid, start time, ppid, uid, comm and cgroup
   * id: undefined when not known), created (origin `observed`, parent from ppid later) if new. Positional:
   * an object of them per record was garbage made on the hot path.
   */
  ensure(
    host: string,
    tgid: number,
    startBootNs: bigint,
    ppid: number,
    uid: number,
    comm: string,
    cgroupId: bigint | undefined,
    offsetNs: bigint,
  ): ProcessEntity {
    return (
      this.find(host, tgid, startBootNs) ??
      this.addByHalves(
        host,
        tgid,
        lo32(startBootNs),
        hi32(startBootNs),
        startBootNs,
        ppid,
        uid,
        comm,
        cgroupId,
        offsetNs,
      )
    );
  }

  /** ensure() with the start time's u32 halves too (a fork's child). */
  ensureByHalves(
    host: string,
    tgid: number,
    startLo: number,
    startHi: number,
    startBootNs: bigint,
    ppid: number,
    uid: number,
    comm: string,
    cgroupId: bigint | undefined,
    offsetNs: bigint,
  ): ProcessEntity {
    return (
      this.findByHalves(host, tgid, startLo, startHi) ??
      this.addByHalves(host, tgid, startLo, startHi, startBootNs, ppid, uid, comm, cgroupId, offsetNs)
    );
  }

  /** A new process, for a caller whose findByHalves() of this identity just missed. */
  addByHalves(
    host: string,
    tgid: number,
    startLo: number,
    startHi: number,
    startBootNs: bigint,
    ppid: number,
    uid: number,
    comm: string,
    cgroupId: bigint | undefined,
    offsetNs: bigint,
  ): ProcessEntity {
    const p = new Process(host, tgid, ppid, startBootNs + offsetNs, offsetNs, comm, uid, cgroupId);
    this.all.push(p);
    const hostNo = this.hosts.of(host);
    this.byIdentity.set(tgid, startLo, startHi, hostNo, p);
    if (this.byPid !== undefined) indexPid(this.byPid, p);
    return p;
  }

  /** Every incarnation of `pid`, in order of appearance. */
  private incarnations(host: string, pid: number): Iterable<ProcessEntity> | undefined {
    if (this.byPid === undefined) {
      this.byPid = new Map();
      for (const p of this.all) indexPid(this.byPid, p);
    }
    const e = this.byPid.get(host)?.get(pid);
    return e === undefined ? undefined : Array.isArray(e) ? e : [e];
  }

  /**
   * A record from the process itself (not a socket owner's copy) names another parent, `ppid` (non-zero and
   * not p.ppid: the caller tests that first, so it makes the record's time only then): a re-parenting.
   */
  noteParent(p: ProcessEntity, ppid: number, atNs: bigint): void {
    const parent = this.at(p.host, ppid, atNs);
    if (p.parentId !== undefined && p.parentId !== parent?.id) p.reparentedFrom = p.parentId;
    p.ppid = ppid;
    p.parentId = parent?.id;
    p.parent = parent;
    p.parentOrigin = "observed";
  }

  fork(
    parent: ProcessEntity,
    childPid: number,
    childStartLo: number,
    childStartHi: number,
    childStartBootNs: bigint,
    offsetNs: bigint,
    timeNs: bigint,
  ): ProcessEntity {
    const child = this.ensureByHalves(
      parent.host,
      childPid,
      childStartLo,
      childStartHi,
      childStartBootNs,
      parent.pid,
      parent.uid,
      parent.comm,
      parent.cgroupId,
      offsetNs,
    );
    child.forkNs = timeNs;
    child.ppid = parent.pid;
    child.parentId = parent.id;
    child.parent = parent;
    child.parentOrigin = "observed";
    if (child.execs.length === 0) child.comm = parent.comm;
    return child;
  }

  exec(p: ProcessEntity, image: ExecImage, comm: string): void {
    const last = p.execs[p.execs.length - 1];
    if (image.origin === "observed" && last?.origin === "snapshot" && last.timeNs >= image.timeNs) {
      // The exec ran between attach and the task iterator, and its record was read after the snapshot's:
      // the snapshot's image is this exec's (or a later observed one's) result, so the observed one replaces it.
      const kept = p.execs.filter((e) => !(e.origin === "snapshot" && e.timeNs >= image.timeNs));
      let i = kept.length;
      while (i > 0 && kept[i - 1]!.timeNs > image.timeNs) i--;
      kept.splice(i, 0, image);
      p.execs = kept;
      if (i === kept.length - 1) p.comm = comm;
      return;
    }
    addExec(p, image);
    p.comm = comm;
  }

  exit(p: ProcessEntity, timeNs: bigint, waitStatus: number): void {
    p.exitNs = timeNs;
    p.exitCode = (waitStatus >> 8) & 0xff;
    const sig = waitStatus & 0x7f;
    p.exitSignal = sig === 0 ? undefined : sig;
  }

  /** A start-of-recording snapshot entry: the process existed before the recording began. */
  snapshot(p: ProcessEntity, image: ExecImage | undefined): void {
    if (p.origin === "observed" && p.forkNs === undefined) p.origin = "snapshot";
    if (image && p.execs.length === 0) addExec(p, image);
  }

  /** The incarnation of `pid` alive at `atNs` (the latest started at or before it), if known. */
  at(host: string, pid: number, atNs: bigint): ProcessEntity | undefined {
    const list = this.incarnations(host, pid);
    if (!list) return undefined;
    let first: ProcessEntity | undefined;
    let best: ProcessEntity | undefined;
    for (const p of list) {
      first ??= p;
      if (p.startNs <= atNs && (!best || p.startNs > best.startNs)) best = p;
    }
    return best ?? first;
  }

  /**
   * Links every process still without a parent to the incarnation of its ppid alive when it started
   * (origin `snapshot` for snapshot roots, `inferred` otherwise), then re-parents orphans that outlived a
   * parent without a later record saying where the kernel moved them: to init of that host (`inferred`).
   */
  resolve(): ProcessEntity[] {
    const all = [...this.all];
    for (const p of all) {
      if (p.parentId !== undefined || p.ppid === 0) continue;
      const parent = this.at(p.host, p.ppid, p.startNs);
      if (parent && parent !== p) {
        p.parentId = parent.id;
        p.parent = parent;
        p.parentOrigin = p.origin === "snapshot" ? "snapshot" : "inferred";
      }
    }
    for (const p of all) {
      const parent = p.parent;
      if (!parent || parent.exitNs === undefined || p.reparentedFrom !== undefined) continue;
      if (p.exitNs !== undefined) continue; // its exit record carried the real ppid (noteParent)
      const init = this.at(p.host, 1, p.startNs);
      if (!init || init === p) continue;
      p.reparentedFrom = parent.id;
      p.parentId = init.id;
      p.parent = init;
      p.ppid = 1;
      p.parentOrigin = "inferred";
    }
    return all.sort(byStart);
  }
}

/** Adds `p` to its host's pids, after the incarnations already there. */
function indexPid(byPid: Map<string, Map<number, ProcessEntity | ProcessEntity[]>>, p: ProcessEntity): void {
  let pids = byPid.get(p.host);
  if (!pids) byPid.set(p.host, (pids = new Map()));
  const e = pids.get(p.pid);
  if (e === undefined) pids.set(p.pid, p);
  else if (Array.isArray(e)) e.push(p);
  else pids.set(p.pid, [e, p]);
}

const U64_MAX = (1n << 64n) - 1n;

function lo32(x: bigint): number {
  return Number(x & 0xffffffffn);
}

function hi32(x: bigint): number {
  return Number((x >> 32n) & 0xffffffffn);
}

/** The first image as a one-element literal: push on [] reserves 16 slots, kept for every process. */
function addExec(p: ProcessEntity, image: ExecImage): void {
  if (p.execs.length === 0) p.execs = [image];
  else p.execs.push(image);
}

/**
 * A start-snapshot image with an executable but no argv: the task iterator caught the process inside
 * execve(2), after its new memory map was installed and before its arguments were laid out, so what it
 * runs is not known yet (its next exec record, if read, says).
 */
export function isMidExec(e: ExecImage): boolean {
  return e.origin === "snapshot" && e.argv.length === 0 && !e.argvTruncated;
}

/** An image as one line: its argv, else its file name; "unknown (mid-exec)" for an image caught mid-exec. */
export function imageText(e: ExecImage): string {
  return isMidExec(e) ? "unknown (mid-exec)" : e.argv.join(" ") || e.filename;
}

/** A kernel thread: no memory map, so no image, and kthreadd (2) or its child. */
export function isKernelThread(p: ProcessEntity): boolean {
  return p.execs.length === 0 && (p.pid === 2 || p.ppid === 2);
}

export function byStart(a: ProcessEntity, b: ProcessEntity): number {
  return a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : a.pid - b.pid;
}
