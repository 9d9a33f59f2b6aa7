// Issue 17 item 2, facts replay got wrong or doubled: listeners shown as 0.0.0.0:0, a process with two
// execs at the attach boundary, a refused connect whose outcome depended on the bundle set, and
// loopback retransmits counted on the receiving peer's connection too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { EV, FLOW_KEY, FLOW_VAL, SOCK_STATE, TCP_EVENT } from "../../src/events/layouts.js";
import { timelineEvents } from "../../src/replay/events.js";
import { loadSessions } from "../../src/replay/load.js";
import { render } from "../../src/replay/render.js";
import { tempDir, testKey, writeSession } from "./session-helpers.js";
import * as E from "./replay-encode.js";

const S = 1_000_000_000n;
const init: E.Ident = { tgid: 1, start: 1n, ppid: 0, comm: "init" };
const srv: E.Ident = { tgid: 400, start: 2n * S, ppid: 1, comm: "server" };
const cli: E.Ident = { tgid: 500, start: 3n * S, ppid: 1, comm: "client" };

async function replayOf(records: unknown[]) {
  const { dir, cleanup } = tempDir("replay-facts");
  try {
    const key = await testKey();
    const path = join(dir, "s.sealed");
    const all = [
      { k: "attach", t: 9n * S, startT: 9n * S, attachMs: 1, bundles: [] },
      {
        k: "start",
        b: "exec",
        it: "exec_snapshot",
        t: 9n * S,
        d: E.frame([E.task(9n * S, init, "/sbin/init", ["init"])]),
      },
      ...records,
    ];
    await writeSession(
      path,
      [all],
      { recipients: [key.recipient], metadata: E.metadata() },
      { endReason: "duration", startBootNs: 9n * S, endBootNs: 30n * S },
    );
    return (await loadSessions([path], [key.identity])).replay;
  } finally {
    cleanup();
  }
}

/** A TCP state change with both ends given (the encoder's sockState fixes the local address). */
function state(
  t: bigint,
  id: E.Ident,
  sock: bigint,
  oldstate: number,
  newstate: number,
  local: [string, number],
  remote: [string, number],
  skErr?: number,
) {
  return E.rec(
    SOCK_STATE,
    EV.sockState,
    t,
    { ...id, flags: 1 },
    {
      sock_id: sock,
      oldstate,
      newstate,
      family: 2,
      protocol: 6,
      saddr: E.ip4(local[0]),
      sport: local[1],
      daddr: E.ip4(remote[0]),
      dport: remote[1],
      ...(skErr === undefined ? {} : { sk_err: skErr }),
    },
  );
}

function tcp(
  type: number,
  t: bigint,
  id: E.Ident,
  sock: bigint,
  st: number,
  local: [string, number],
  remote: [string, number],
) {
  return E.rec(
    TCP_EVENT,
    type,
    t,
    { ...id, flags: 1 },
    {
      sock_id: sock,
      state: st,
      family: 2,
      segs: 1,
      saddr: E.ip4(local[0]),
      sport: local[1],
      daddr: E.ip4(remote[0]),
      dport: remote[1],
    },
  );
}

function flowRow(local: [string, number], remote: [string, number], retransmits: bigint): Uint8Array {
  const out = new Uint8Array(FLOW_KEY.size + FLOW_VAL.size);
  const v = new DataView(out.buffer);
  const f = (l: typeof FLOW_KEY, name: string) => l.fields.find((x) => x.name === name)!.offset;
  out.set(E.ip4(local[0]), f(FLOW_KEY, "saddr"));
  out.set(E.ip4(remote[0]), f(FLOW_KEY, "daddr"));
  v.setUint16(f(FLOW_KEY, "sport"), local[1], true);
  v.setUint16(f(FLOW_KEY, "dport"), remote[1], true);
  v.setUint16(f(FLOW_KEY, "family"), 2, true);
  v.setBigUint64(FLOW_KEY.size + f(FLOW_VAL, "retransmits"), retransmits, true);
  return out;
}

const LO = "127.0.0.1";
const ANY = "0.0.0.0";

test("a listener shows its local address and port in the tree, connections and timeline views", async () => {
  const r = await replayOf([E.ring("connect", 11n * S, [state(10n * S, srv, 0x10n, 7, 10, [LO, 8080], [ANY, 0])])]);
  const c = r.connections.find((x) => x.direction === "listen")!;
  assert.equal(c.sport, 8080);
  for (const view of ["tree", "connections", "timeline"] as const) {
    const text = render(r, view, "text", false);
    assert.ok(text.includes("127.0.0.1:8080"), `${view} names the listening address:\n${text}`);
    assert.ok(!text.includes("0.0.0.0:0"), `${view} shows no 0.0.0.0:0:\n${text}`);
  }
});

test("a process in the start snapshot whose exec was observed at the attach boundary has one exec", async () => {
  // The exec ran after the probes attached and before the task iterator walked it: the snapshot (read
  // first, in the `start` record) and the ring both describe the same image.
  const p: E.Ident = { tgid: 600, start: 8n * S, ppid: 1, comm: "tool" };
  const r = await replayOf([
    {
      k: "start",
      b: "exec",
      it: "exec_snapshot",
      t: 9n * S + 500n,
      d: E.frame([E.task(9n * S + 500n, p, "/usr/bin/tool", ["tool", "-x"])]),
    },
    E.ring("exec", 10n * S, [E.exec(9n * S + 100n, p, "/usr/bin/tool", ["tool", "-x"])]),
  ]);
  const proc = r.processes.find((x) => x.pid === 600)!;
  assert.equal(proc.execs.length, 1, JSON.stringify(proc.execs.map((e) => [e.origin, String(e.timeNs)])));
  assert.equal(proc.execs[0]!.origin, "observed");
  assert.equal(proc.execs[0]!.timeNs - E.OFFSET_NS, 9n * S + 100n);
  assert.equal(timelineEvents(r).filter((e) => e.kind === "process.exec" && e.pid === 600).length, 1);
});

test("an exec observed after the snapshot is a second image; one before it still replaces the snapshot's", async () => {
  const p: E.Ident = { tgid: 601, start: 8n * S, ppid: 1, comm: "tool" };
  const r = await replayOf([
    {
      k: "start",
      b: "exec",
      it: "exec_snapshot",
      t: 9n * S + 500n,
      d: E.frame([E.task(9n * S + 500n, p, "/bin/b", ["b"])]),
    },
    E.ring("exec", 10n * S, [
      E.exec(9n * S + 100n, p, "/bin/a", ["a"]),
      E.exec(9n * S + 200n, p, "/bin/b", ["b"]),
      E.exec(9n * S + 900n, p, "/bin/c", ["c"]),
    ]),
  ]);
  const proc = r.processes.find((x) => x.pid === 601)!;
  assert.deepEqual(
    proc.execs.map((e) => [e.filename, e.origin]),
    [
      ["/bin/a", "observed"],
      ["/bin/b", "observed"],
      ["/bin/c", "observed"],
    ],
  );
});

test("a non-blocking connect refused on loopback reads refused whatever the bundle set", async () => {
  // connect(2) returns EINPROGRESS; the reset moves the socket SYN_SENT → CLOSE with sk_err ECONNREFUSED.
  // The retransmit bundle, when it runs, adds the receive-reset.
  const connectRing = E.ring("connect", 11n * S, [
    state(10n * S, cli, 0x20n, 7, 2, [LO, 0], [LO, 9]),
    state(10n * S + 50_000n, cli, 0x20n, 2, 7, [LO, 0], [LO, 9], 111),
    E.connect(10n * S + 60_000n, cli, 0x20n, 10n * S - 1000n, -115, LO, 9),
  ]);
  const retransmitRing = E.ring("retransmit", 11n * S, [
    tcp(EV.recvReset, 10n * S + 40_000n, cli, 0x20n, 2, [LO, 41000], [LO, 9]),
  ]);
  for (const rings of [[connectRing], [connectRing, retransmitRing], [retransmitRing, connectRing]]) {
    const r = await replayOf(rings);
    const c = r.connections.filter((x) => x.dport === 9);
    assert.equal(c.length, 1);
    assert.deepEqual([c[0]!.outcome, c[0]!.errno], ["refused", 111], `rings: ${rings.map((x) => x.b).join(", ")}`);
  }
});

test("a connect the caller gave up on (no socket error) is aborted; another socket error is that error", async () => {
  const r = await replayOf([
    E.ring("connect", 11n * S, [
      state(10n * S, cli, 0x21n, 7, 2, [LO, 0], ["192.0.2.1", 80]),
      state(10n * S + 1000n, cli, 0x21n, 2, 7, [LO, 0], ["192.0.2.1", 80], 0),
      E.connect(10n * S + 60_000n, cli, 0x21n, 10n * S - 1000n, -115, "192.0.2.1", 80),
      state(12n * S, cli, 0x22n, 7, 2, [LO, 0], ["192.0.2.2", 80]),
      state(12n * S + 1000n, cli, 0x22n, 2, 7, [LO, 0], ["192.0.2.2", 80], 113),
      E.connect(12n * S + 60_000n, cli, 0x22n, 12n * S - 1000n, -115, "192.0.2.2", 80),
    ]),
  ]);
  assert.deepEqual(
    r.connections.map((c) => [c.daddr, c.outcome, c.errno]),
    [
      ["192.0.2.1", "aborted", undefined],
      ["192.0.2.2", "error", 113],
    ],
  );
});

test("loopback retransmits stay on the sending socket's connection, not the receiving peer's", async () => {
  const listener = state(10n * S, srv, 0x30n, 7, 10, [LO, 5001], [ANY, 0]);
  const conn = [
    state(11n * S, cli, 0x31n, 7, 2, [LO, 0], [LO, 5001]),
    state(11n * S + 10n, srv, 0x32n, 10, 3, [LO, 5001], [LO, 40000]),
    state(11n * S + 20n, cli, 0x31n, 2, 1, [LO, 40000], [LO, 5001]),
    state(11n * S + 30n, srv, 0x32n, 3, 1, [LO, 5001], [LO, 40000]),
  ];
  const rtx = [1n, 2n, 3n].map((i) => tcp(EV.retransmit, 12n * S + i, cli, 0x31n, 1, [LO, 40000], [LO, 5001]));
  const flows = {
    k: "maps",
    b: "retransmit",
    m: "flow_counters",
    t: 14n * S,
    keySize: FLOW_KEY.size,
    valueSize: FLOW_VAL.size,
    n: 1,
    d: flowRow([LO, 40000], [LO, 5001], 3n),
  };
  const r = await replayOf([
    E.ring("connect", 13n * S, [listener, ...conn]),
    E.ring("retransmit", 13n * S, rtx),
    flows,
  ]);
  const out = r.connections.find((c) => c.pid === 500)!;
  const inbound = r.connections.find((c) => c.direction === "inbound")!;
  assert.equal(out.retransmits, 3, "the sender's");
  assert.equal(inbound.retransmits, 0, "the receiving peer sent none");
});

test("a retransmit read late from its ring goes to the socket that sent it, not a later socket at the same address", async () => {
  // The sender's socket is freed and its address reused by a refused connect; the rings are read one
  // after the other, so the connect ring (with the new socket) comes before the old socket's retransmit.
  const r = await replayOf([
    E.ring("connect", 13n * S, [
      state(11n * S, cli, 0x40n, 7, 2, [LO, 0], [LO, 5001]),
      state(11n * S + 20n, cli, 0x40n, 2, 1, [LO, 40000], [LO, 5001]),
      state(11n * S + 500n, cli, 0x40n, 1, 7, [LO, 40000], [LO, 5001]),
      state(12n * S, cli, 0x40n, 7, 2, [LO, 0], [LO, 9]),
      state(12n * S + 50n, cli, 0x40n, 2, 7, [LO, 0], [LO, 9], 111),
    ]),
    E.ring("retransmit", 13n * S, [tcp(EV.retransmit, 11n * S + 100n, cli, 0x40n, 1, [LO, 40000], [LO, 5001])]),
  ]);
  const [first, refused] = r.connections;
  assert.deepEqual([first!.dport, first!.retransmits], [5001, 1]);
  assert.deepEqual([refused!.dport, refused!.outcome, refused!.retransmits, refused!.sport], [9, "refused", 0, 0]);
});

test("a listener in the HTML report: its local address and port, never 0.0.0.0:0", async () => {
  const r = await replayOf([
    E.ring("connect", 12n * S, [
      state(10n * S, srv, 0x10n, 7, 10, [LO, 8080], [ANY, 0]),
      // A SYN-ACK retransmitted and a reset sent from the listening socket carry its ends: remote 0.0.0.0:0.
      tcp(EV.retransmit, 10n * S + 5n, srv, 0x10n, 10, [LO, 8080], [ANY, 0]),
      tcp(EV.sendReset, 10n * S + 6n, srv, 0x10n, 10, [LO, 8080], [ANY, 0]),
      state(11n * S, srv, 0x10n, 10, 7, [LO, 8080], [ANY, 0]),
    ]),
  ]);
  const html = render(r, "summary", "html", false);
  const tips = [...html.matchAll(/data-tip="([^"]*)"/g)].map((m) => m[1]!).filter((t) => t.includes("connection."));
  assert.ok(tips.length >= 4, "the listen, its retransmit, reset and close are marks on the server's lane");
  assert.ok(
    tips.some((t) => t.includes("retransmit on listener 127.0.0.1:8080")),
    tips.join("\n"),
  );
  for (const t of tips) {
    assert.ok(t.includes("127.0.0.1:8080"), `a listener's mark names its local end: ${t}`);
    assert.ok(!t.includes("0.0.0.0:0"), `no 0.0.0.0:0: ${t}`);
  }
  assert.doesNotMatch(html, /0\.0\.0\.0:0/);
});

test("a process the start snapshot caught mid-exec (an executable, no argv yet) reads unknown (mid-exec)", async () => {
  const mid: E.Ident = { tgid: 600, start: 8n * S, ppid: 1, comm: "python3" };
  const r = await replayOf([
    {
      k: "start",
      b: "exec",
      it: "exec_snapshot",
      t: 9n * S,
      d: E.frame([E.task(9n * S, mid, "/usr/bin/python3", [])]),
    },
  ]);
  const p = r.processes.find((x) => x.pid === 600)!;
  assert.equal(p.execs.length, 1);
  for (const view of ["tree"] as const) {
    const text = render(r, view, "text", false, { all: true });
    assert.match(text, /image unknown \(mid-exec\)/, text);
    assert.doesNotMatch(text, /image \/usr\/bin\/python3/, text);
  }
  const doc = JSON.parse(render(r, "summary", "json", false)) as {
    processes: Array<{ pid: number; execs: Array<{ midExec: boolean; filename: string }> }>;
  };
  assert.deepEqual(
    doc.processes.find((x) => x.pid === 600)!.execs.map((e) => [e.filename, e.midExec]),
    [["/usr/bin/python3", true]],
  );
  assert.deepEqual(
    doc.processes.find((x) => x.pid === 1)!.execs.map((e) => e.midExec),
    [false],
    "an image with its argv is not mid-exec",
  );
  const html = render(r, "summary", "html", false, { all: true });
  assert.ok(html.includes("unknown (mid-exec)"), "the lane's details say so");
});
