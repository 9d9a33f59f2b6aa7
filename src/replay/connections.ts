// Connections: connect/accept results joined to TCP state changes, retransmits and resets by socket id.
import { TimeMarks } from "./marks.js";
import type { Connection, Direction, Origin, ProcessEntity } from "./model.js";
import { HostNumbers, WordTable, u64 } from "./wordtable.js";
import { flatId } from "./strings.js";

/**
 * Addressing facts of one kernel record about a socket. Replay hands the table one scratch object, refilled
 * for every record: the table copies what it keeps, never the object.
 */
export interface SockFacts {
  /** The socket id's low and high u32 (0 and 0: no socket id). */
  sockLo: number;
  sockHi: number;
  family: string;
  protocol: string;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
}

type TcpEventKind = "retransmit" | "sendReset" | "recvReset";

/** One key for a 4-tuple and its reverse: byTuple matches a connection either way round. */
function flowKey(host: string, a: { saddr: string; sport: number; daddr: string; dport: number }): string {
  const src = `${a.saddr}|${a.sport}`;
  const dst = `${a.daddr}|${a.dport}`;
  return src < dst ? `${host}|${src}|${dst}` : `${host}|${dst}|${src}`;
}

/**
 * The start an event on `c`'s socket address is compared with (isOlderUse): an observed connection's;
 * undefined when no event can predate `c`, so its time need not be made.
 */
export function olderUseStart(c: Conn): bigint | undefined {
  return c.origin === "observed" ? c.startNs : undefined;
}

/** TCP states (include/net/tcp_states.h). */
export const TCP = { established: 1, synSent: 2, synRecv: 3, close: 7, listen: 10 } as const;
/** FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE_WAIT, LAST_ACK, CLOSING: a connection on its way out. */
const CLOSING_STATES = new Set([4, 5, 6, 8, 9, 11]);

const ECONNREFUSED = 111;
const ETIMEDOUT = 110;
const EINPROGRESS = 115;
const EALREADY = 114;
const EISCONN = 106;

/**
 * A connection as replay keeps it. Its id and its process's id are made when asked for (by a view), from
 * its table's host and creation number and from the process it holds: two strings per connection fewer
 * kept, and none joined while replay rebuilds.
 */
export class Conn implements Connection {
  // The fields a retransmit or reset on a known connection reads and writes come first: their few cache
  // lines, not the whole object's, are what the per-event path brings in (fields are laid out in order).
  owner: ProcessEntity | undefined;
  readonly seq: number;
  retransmits = 0;
  resets = 0;
  /** Bit 1: retransmitTimes is full, bit 2: resetTimes is (keepsTime reads no TimeMarks). Not rendered. */
  marksFull = 0;
  sport: number;
  dport: number;
  retransmitTimes: TimeMarks | undefined = undefined;
  resetTimes: TimeMarks | undefined = undefined;
  readonly host: string;
  readonly sockId: bigint;
  direction: Direction;
  pid: number;
  comm: string;
  protocol: string;
  family: string;
  saddr: string;
  daddr: string;
  private start: bigint | undefined = undefined;
  private how: Origin;
  establishedNs: bigint | undefined = undefined;
  endNs: bigint | undefined = undefined;
  outcome: Connection["outcome"] = "pending";
  errno: number | undefined = undefined;
  connectSeen = false;
  resetInSynSent = false;
  closedFromState: number | undefined = undefined;
  closeErr: number | undefined = undefined;
  snapshotNs: bigint | undefined = undefined;
  flowKey: string | undefined = undefined;
  flowPending = true;
  /** The table's olderUseStart() of each connection, as a double by seq (isOlderAt). */
  private readonly startKeys: StartKeys;

  constructor(
    host: string,
    seq: number,
    sockId: bigint,
    owner: ProcessEntity | undefined,
    f: SockFacts,
    direction: Direction,
    origin: Origin,
    startKeys: StartKeys,
  ) {
    this.owner = owner;
    this.seq = seq;
    this.sport = f.sport;
    this.dport = f.dport;
    this.host = host;
    this.sockId = sockId;
    this.direction = direction;
    this.pid = owner?.pid ?? 0;
    this.comm = owner?.comm ?? "";
    this.protocol = f.protocol;
    this.family = f.family;
    this.saddr = f.saddr;
    this.daddr = f.daddr;
    this.how = origin;
    this.startKeys = startKeys;
    this.rekey();
  }

  get startNs(): bigint | undefined {
    return this.start;
  }

  set startNs(v: bigint | undefined) {
    this.start = v;
    this.rekey();
  }

  get origin(): Origin {
    return this.how;
  }

  set origin(v: Origin) {
    this.how = v;
    this.rekey();
  }

  /** Keeps startKeys[seq] what olderUseStart() gives, as a double (-Infinity: none). */
  private rekey(): void {
    const start = this.how === "observed" ? this.start : undefined;
    this.startKeys.at[this.seq] = start === undefined ? -Infinity : Number(start);
  }

  get id(): string {
    return flatId(this.host, `c${this.seq}`);
  }

  get processId(): string | undefined {
    return this.owner?.id;
  }
}

/**
 * Each connection's olderUseStart() as a double, by creation number: the per-event isOlderAt test reads this
 * small array, and neither the connection's start (a bigint elsewhere in the heap) nor a bigint of the
 * event's time, unless the two are within NEAR_NS of each other.
 */
class StartKeys {
  at = new Float64Array(1024);

  /** Room for creation number `seq`. */
  reserve(seq: number): void {
    if (seq < this.at.length) return;
    const grown = new Float64Array(this.at.length * 2);
    grown.set(this.at);
    this.at = grown;
  }
}

/**
 * Times as doubles are off by less than 2^13 ns (a u64 rounds to 2^11 at most, the offset added too): a
 * difference wider than this decides an isOlderAt test exactly.
 */
const NEAR_NS = 65536;
const TWO_32 = 4294967296;

export class ConnectionTable {
  readonly all: Conn[] = [];
  private readonly startKeys = new StartKeys();
  /**
   * (sock id halves, host number) → the latest connection on that socket address (the kernel reuses
   * addresses): the per-record lookup, with no bigint made and no Map chased.
   */
  private readonly socks = new WordTable<Conn>();
  private readonly hosts = new HostNumbers();
  /**
   * host + 4-tuple (either way round) → its connections in creation order: byTuple runs for every row of
   * every flow_counters snapshot (up to 16,384), and a scan of all connections there made a long session
   * quadratic. Brought up to date only when byTuple needs it (syncFlows): most connections get their
   * ports from a later record, and many sessions never look a tuple up at all.
   */
  private readonly flows = new Map<string, Conn[]>();
  /** Connections created, or whose addresses changed, since `flows` was last brought up to date. */
  private pending: Conn[] = [];
  /**
   * Resets the kernel sent with no socket (a segment to a port nothing listens on), held until finish():
   * their only key is the 4-tuple, and the connection it belongs to on loopback (the refused client's)
   * learns its source port from a record that may come later, from another bundle's ring.
   */
  private sockless: Array<{ host: string; f: SockFacts; state: number; timeNs: bigint }> = [];
  private seq = 0;

  /** Connections plus resets held for finish(): what this table keeps. */
  get size(): number {
    return this.all.length + this.sockless.length;
  }

  private create(
    host: string,
    f: SockFacts,
    origin: Origin,
    direction: Direction,
    owner: ProcessEntity | undefined,
  ): Conn {
    // The kernel reuses socket addresses: the id of the connection last on this one is the same value,
    // shared instead of a bigint kept per connection.
    const sock = (f.sockLo | f.sockHi) !== 0;
    const hostNo = this.hosts.of(host);
    const sameSock = sock ? this.socks.get(f.sockLo, f.sockHi, hostNo, 0) : undefined;
    this.startKeys.reserve(this.seq + 1);
    const c = new Conn(
      host,
      ++this.seq,
      sameSock !== undefined ? sameSock.sockId : u64(f.sockLo, f.sockHi),
      owner,
      f,
      direction,
      origin,
      this.startKeys,
    );
    this.all.push(c);
    this.pending.push(c);
    if (sock) this.socks.set(f.sockLo, f.sockHi, hostNo, 0, c);
    return c;
  }

  /** The latest connection on this socket, if any (none for socket id 0). */
  bySock(host: string, sockLo: number, sockHi: number): Conn | undefined {
    if ((sockLo | sockHi) === 0) return undefined;
    return this.socks.get(sockLo, sockHi, this.hosts.of(host), 0);
  }

  /** `c`'s addresses changed: its place in `flows` is settled at the next syncFlows. */
  private retuple(c: Conn): void {
    if (c.flowPending) return;
    c.flowPending = true;
    this.pending.push(c);
  }

  /** Puts every pending connection on its tuple's list, in creation order. */
  private syncFlows(): void {
    for (const c of this.pending) {
      c.flowPending = false;
      const key = flowKey(c.host, c);
      const oldKey = c.flowKey;
      if (key === oldKey) continue;
      if (oldKey !== undefined) {
        const old = this.flows.get(oldKey)!;
        old.splice(old.indexOf(c), 1);
        if (old.length === 0) this.flows.delete(oldKey);
      }
      c.flowKey = key;
      let list = this.flows.get(key);
      if (!list) {
        this.flows.set(key, [c]); // a one-element literal: push on [] reserves 16
        continue;
      }
      list.push(c);
      // Creation order: `c` may be older than connections already on this tuple.
      let i = list.length - 1;
      while (i > 0 && list[i - 1]!.seq > c.seq) {
        list[i] = list[i - 1]!;
        i--;
      }
      list[i] = c;
    }
    this.pending = [];
  }

  /** Takes the ports `c` has not seen yet from `f` (the source port of a refused connect is released before
   * its CLOSE and connect records: only a reset carries it). */
  fill(c: Conn, f: SockFacts): void {
    const fillSource = f.sport !== 0 && c.sport === 0;
    const fillDest = f.dport !== 0 && c.dport === 0;
    if (fillSource || fillDest) {
      if (fillSource) {
        c.sport = f.sport;
        c.saddr = f.saddr;
      }
      if (fillDest) {
        c.dport = f.dport;
        c.daddr = f.daddr;
      }
      this.retuple(c);
    }
    if (c.protocol === "unknown") c.protocol = f.protocol;
  }

  private static own(c: Conn, owner: ProcessEntity | undefined): void {
    if (!owner || c.owner !== undefined) return;
    c.owner = owner;
    c.pid = owner.pid;
    c.comm = owner.comm;
  }

  /** connect(2) returned `ret` at `timeNs`; it was called at `enterNs`. */
  connect(
    host: string,
    f: SockFacts,
    owner: ProcessEntity | undefined,
    enterNs: bigint,
    timeNs: bigint,
    ret: number,
  ): Conn {
    const prev = this.bySock(host, f.sockLo, f.sockHi);
    // connect(2) asked again about an attempt already seen (a non-blocking caller polling it): the same
    // connection. The kernel says so with EALREADY or EISCONN, or by the attempt's start: a TCP connect
    // record carries its SYN's time, and a new attempt on the socket needs a new SYN (and a new entry).
    const polled = ret === -EALREADY || ret === -EISCONN;
    const again =
      prev?.connectSeen === true &&
      prev.direction === "outbound" &&
      (polled || (prev.protocol === "tcp" && prev.startNs === enterNs));
    if (again && (polled || ret === -EINPROGRESS)) return prev;
    // State changes inside connect(2) arrive before its return: join them unless they belong to an older use.
    const joined =
      again ||
      (prev &&
        !prev.connectSeen &&
        prev.direction !== "inbound" &&
        (prev.startNs === undefined || prev.startNs >= enterNs));
    const c = joined ? prev! : this.create(host, f, "observed", "outbound", owner);
    c.connectSeen = true;
    c.direction = "outbound";
    c.startNs = enterNs;
    // Usually the state changes already gave these.
    if (f.dport !== 0 && (c.dport !== f.dport || c.daddr !== f.daddr)) {
      c.daddr = f.daddr;
      c.dport = f.dport;
      this.retuple(c);
    }
    this.fill(c, f);
    if (f.protocol !== "unknown") c.protocol = f.protocol;
    ConnectionTable.own(c, owner);
    if (ret === 0) {
      c.establishedNs ??= timeNs;
      if (c.outcome === "pending") c.outcome = c.protocol === "tcp" ? "established" : "connected";
    } else if (ret === -EINPROGRESS) {
      // Non-blocking: the state changes decide.
    } else {
      c.errno = -ret;
      c.outcome = -ret === ECONNREFUSED ? "refused" : -ret === ETIMEDOUT ? "timed out" : "error";
      c.endNs ??= timeNs;
    }
    return c;
  }

  /** accept(2) returned this socket to `owner`. */
  accept(host: string, f: SockFacts, owner: ProcessEntity | undefined, timeNs: bigint): Conn {
    const prev = this.bySock(host, f.sockLo, f.sockHi);
    const c =
      prev && prev.endNs === undefined && !prev.connectSeen
        ? prev
        : this.create(host, f, "observed", "inbound", undefined);
    c.direction = "inbound";
    c.startNs ??= timeNs;
    this.fill(c, f);
    // The accepting process owns it from now on, replacing the listener.
    if (owner) {
      c.owner = owner;
      c.pid = owner.pid;
      c.comm = owner.comm;
    }
    if (c.outcome === "pending") {
      c.outcome = "established";
      c.establishedNs ??= timeNs;
    }
    return c;
  }

  /** inet_sock_set_state; `skErr`: the socket's error at the change (sessions before it was recorded: undefined). */
  state(
    host: string,
    f: SockFacts,
    owner: ProcessEntity | undefined,
    oldState: number,
    newState: number,
    timeNs: bigint,
    skErr?: number,
  ): void {
    let c = this.bySock(host, f.sockLo, f.sockHi);
    const fresh = oldState === TCP.close && newState === TCP.synSent;
    const inboundStart = oldState === TCP.listen || (newState === TCP.synRecv && oldState !== TCP.synSent);
    const listen = newState === TCP.listen;
    if (c && fresh && c.origin === "inferred" && c.endNs === undefined) {
      // A retransmit or reset of this socket was read first (another bundle's ring): this is its start.
      c.origin = "observed";
      c.direction = "outbound";
      c.startNs = timeNs;
      if (c.establishedNs === undefined) c.outcome = "pending";
    }
    if (!c || (c.endNs !== undefined && (fresh || inboundStart || listen))) {
      if (newState === TCP.close && !c) return; // closing something never seen open: nothing to add
      c = this.create(
        host,
        f,
        "observed",
        fresh ? "outbound" : listen ? "listen" : inboundStart ? "inbound" : "unknown",
        owner,
      );
      c.startNs = timeNs;
    }
    if (listen) {
      // listen(2): a listening socket, not a connection attempt that could fail.
      c.direction = "listen";
      c.outcome = "listening";
    }
    this.fill(c, f);
    ConnectionTable.own(c, owner);
    if (newState === TCP.established && c.establishedNs === undefined) {
      c.establishedNs = timeNs;
      if (c.outcome === "pending") c.outcome = "established";
    }
    if (newState === TCP.close) {
      c.endNs ??= timeNs;
      // Decided in finish(): a reset that explains it may sit in another bundle's ring, read later.
      if (c.outcome === "pending") {
        c.closedFromState = oldState;
        c.closeErr = skErr;
      }
    }
  }

  private static failure(c: Conn, oldState: number): Connection["outcome"] {
    if (oldState !== TCP.synSent) return "aborted";
    if (c.resetInSynSent) return "refused";
    // The kernel's own reason, recorded by the connect bundle itself: the same outcome whichever other
    // bundles ran (a reset is seen only with the retransmit bundle). 0: the caller closed the socket.
    if (c.closeErr !== undefined) {
      if (c.closeErr === 0) return "aborted";
      if (c.closeErr === ECONNREFUSED) return "refused";
      if (c.closeErr === ETIMEDOUT) return "timed out";
      c.errno = c.closeErr;
      return "error";
    }
    // A SYN that went unanswered until the socket gave up; a short life means the caller closed it.
    const lifeNs = c.endNs !== undefined && c.startNs !== undefined ? c.endNs - c.startNs : 0n;
    return lifeNs >= 1_000_000_000n ? "timed out" : "aborted";
  }

  /** Settles outcomes that depended on records from other bundles; returns every connection. */
  finish(): Conn[] {
    for (const r of this.sockless) this.socklessReset(r.host, r.f, r.state, r.timeNs);
    this.sockless = [];
    for (const c of this.all) {
      if (c.outcome === "pending" && c.closedFromState !== undefined)
        c.outcome = ConnectionTable.failure(c, c.closedFromState);
      if (c.outcome === "refused") c.errno ??= ECONNREFUSED;
      if (c.outcome === "timed out") c.errno ??= ETIMEDOUT;
    }
    return this.all;
  }

  /** The start-of-recording socket snapshot (ST_EV_SOCK): `state` is the socket's state then. */
  snapshot(host: string, f: SockFacts, owner: ProcessEntity | undefined, state: number, timeNs: bigint): void {
    const c = this.create(host, f, "snapshot", state === TCP.listen ? "listen" : "unknown", owner);
    c.startNs = undefined;
    c.snapshotNs = timeNs;
    c.outcome =
      state === TCP.listen
        ? "listening"
        : state === TCP.synSent || state === TCP.synRecv
          ? "pending"
          : CLOSING_STATES.has(state)
            ? "closing"
            : "established";
    if (state === TCP.close) c.endNs = timeNs;
  }

  /**
   * A reset sent with no socket (finish() calls this once every record is in). On this host's own
   * connection (loopback: the refused client's) it is the peer's half of a reset that connection's
   * receive-reset already shows, so it adds a reset only where none was seen. Otherwise a remote peer
   * sent a segment (usually a SYN) to a port with no socket here, and the kernel refused it: an inbound
   * attempt, inferred, with no owner.
   */
  private socklessReset(host: string, f: SockFacts, state: number, timeNs: bigint): void {
    let c = this.byTuple(host, f, timeNs);
    // Only this method makes inferred inbound connections: one found is the same peer knocking again.
    if (c && !(c.origin === "inferred" && c.direction === "inbound")) {
      if (c.resets === 0) this.tcpEventOn(c, undefined, "sendReset", state, timeNs);
      return;
    }
    if (!c) {
      c = this.create(host, f, "inferred", "inbound", undefined);
      c.startNs = timeNs;
      c.outcome = "refused";
    }
    c.endNs = timeNs;
    this.tcpEventOn(c, undefined, "sendReset", state, timeNs);
  }

  /** tcp_retransmit_skb / tcp_send_reset / tcp_receive_reset; `segs`: segments a retransmit carried. */
  tcpEvent(
    host: string,
    f: SockFacts,
    owner: ProcessEntity | undefined,
    kind: TcpEventKind,
    state: number,
    timeNs: bigint,
    segs = 1,
  ): void {
    if (kind === "sendReset" && (f.sockLo | f.sockHi) === 0) {
      this.sockless.push({ host, f: copyFacts(f), state, timeNs }); // f may be the caller's scratch object
      return;
    }
    let c = this.bySock(host, f.sockLo, f.sockHi);
    if (c && this.isOlderUse(c, timeNs)) c = undefined;
    // The event is the socket's own (its local end is f's source): never the loopback peer's connection.
    c ??= this.byTuple(host, f, timeNs, true);
    if (!c) {
      c = this.create(host, f, "inferred", "unknown", owner);
      c.startNs = timeNs;
      c.outcome = "established";
    }
    this.tcpEventOn(c, owner, kind, state, timeNs, segs);
  }

  /**
   * Whether an event at `timeNs` predates `c`, the latest connection on its socket address: the kernel
   * reused the address, and the event, read late from another bundle's ring, is the earlier socket's.
   * Only when `olderUseStart(c)` is defined: callers make the event's time only then.
   */
  isOlderUse(c: Conn, timeNs: bigint): boolean {
    const start = olderUseStart(c);
    return start !== undefined && timeNs < start;
  }

  /**
   * isOlderUse(c, the event's time) for an event whose boot time is the u64 at `v[at]` (little-endian) and
   * whose session's offset is `offsetNs` (`offsetApprox`: Number(offsetNs)). Exact: the doubles decide only
   * when further apart than their error; else the times are made as bigints and compared.
   */
  isOlderAt(c: Conn, v: DataView, at: number, offsetNs: bigint, offsetApprox: number): boolean {
    const d = v.getUint32(at + 4, true) * TWO_32 + v.getUint32(at, true) + offsetApprox - this.startKeys.at[c.seq]!;
    if (d > NEAR_NS) return false;
    if (d < -NEAR_NS) return true;
    return this.isOlderUse(c, v.getBigUint64(at, true) + offsetNs);
  }

  /** Whether tcpEventOn keeps this event's time: marks are capped, and past the cap no time need be made. */
  keepsTime(c: Conn, kind: TcpEventKind): boolean {
    return (c.marksFull & (kind === "retransmit" ? 1 : 2)) === 0;
  }

  /** tcpEvent on a connection already found (bySock); `timeNs` may be undefined only when keepsTime() is false. */
  tcpEventOn(
    c: Conn,
    owner: ProcessEntity | undefined,
    kind: TcpEventKind,
    state: number,
    timeNs: bigint | undefined,
    segs = 1,
  ): void {
    ConnectionTable.own(c, owner);
    if (kind === "retransmit") {
      // Segments, not events: one retransmitted skb may carry several (what TcpRetransSegs counts).
      c.retransmits += Math.max(1, segs);
      if (timeNs !== undefined) {
        const marks = (c.retransmitTimes ??= new TimeMarks());
        marks.push(timeNs);
        if (marks.full) c.marksFull |= 1;
      }
    } else {
      c.resets++;
      if (timeNs !== undefined) {
        const marks = (c.resetTimes ??= new TimeMarks());
        marks.push(timeNs);
        if (marks.full) c.marksFull |= 2;
      }
      if (kind === "recvReset" && state === TCP.synSent) c.resetInSynSent = true;
    }
  }

  /**
   * The connection on this 4-tuple (either way round) closest before `atNs`. `ownEnd`: f's source is the
   * connection's local end, so skip the peer's connection (on loopback both ends are on this host).
   */
  byTuple(host: string, f: SockFacts, atNs: bigint, ownEnd = false): Conn | undefined {
    if (this.pending.length) this.syncFlows();
    let best: Conn | undefined;
    const list = this.flows.get(flowKey(host, f)) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const c = list[i]!;
      if (ownEnd && isPeer(c, f)) continue;
      if (c.startNs === undefined || c.startNs <= atNs) return c;
      best ??= c;
    }
    return best;
  }

  /**
   * Latest `flow_counters` totals: counts missed as events (lost) still reach the connection. The row is
   * keyed by the sending socket's own end, so retransmits go to that socket's connection only; resets
   * fall back to the peer's, as a reset sent with no socket is keyed from the refusing side.
   */
  flowTotals(host: string, f: SockFacts, retransmits: number, resets: number, atNs: bigint): void {
    const own = this.byTuple(host, f, atNs, true);
    if (own && retransmits > own.retransmits) own.retransmits = retransmits;
    const c = own ?? this.byTuple(host, f, atNs);
    if (c && resets > c.resets) c.resets = resets;
  }
}

/** A copy of `f` as plain values (the caller's may be a scratch object whose addresses are getters). */
function copyFacts(f: SockFacts): SockFacts {
  return {
    sockLo: f.sockLo,
    sockHi: f.sockHi,
    family: f.family,
    protocol: f.protocol,
    saddr: f.saddr,
    sport: f.sport,
    daddr: f.daddr,
    dport: f.dport,
  };
}

/** `c` is the other end of f's flow: its local end is f's destination (and not also f's source). */
function isPeer(c: Conn, f: SockFacts): boolean {
  if (c.sport === 0 || c.sport !== f.dport || c.saddr !== f.daddr) return false;
  return !(c.sport === f.sport && c.saddr === f.saddr && c.dport === f.dport && c.daddr === f.daddr);
}
