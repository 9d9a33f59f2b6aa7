// The connect bundle on the real kernel: outcomes of connect/accept over loopback, the start
// snapshot of older sockets with their owners, unreachable and timed-out connects in a private netns,
// and a 20,000-cycle storm with zero loss (issue 7: 1, 2, 5).
import { test } from "node:test";
import assert from "node:assert/strict";
import { CONNECT_BUNDLE } from "../../src/bundles/connect.js";
import { EV, HF } from "../../src/events/layouts.js";
import type { DecodedRecord } from "../../src/replay/decode.js";
import type { Filters } from "../../src/bundles/spec.js";
import { NetCapture, Netns, Py, pumpUntil, addrText, slowdown, TCP } from "../helpers/net.js";

const OWNER_FROM_SOCK = HF.ownerFromSock;
const ECONNREFUSED = 111;

/** Runs `py` (which waits for a line before acting) under the connect bundle, following only it. */
async function recordPy(py: Py): Promise<{ records: DecodedRecord[]; losses: bigint }> {
  const cap = new NetCapture([CONNECT_BUNDLE], { follow: [py.pid] });
  try {
    const records: DecodedRecord[] = [];
    py.send();
    await pumpUntil(cap, py.exited, (r) => records.push(r));
    return { records, losses: cap.losses() };
  } finally {
    py.kill();
    cap.close();
  }
}

const OUTCOMES = String.raw`
import socket, json, sys
sys.stdin.readline()
l4 = socket.socket(); l4.bind(("127.0.0.1", 0)); l4.listen(16)
l6 = socket.socket(socket.AF_INET6); l6.bind(("::1", 0)); l6.listen(16)
c4 = socket.socket(); c4.connect(l4.getsockname()); a4, _ = l4.accept()
c6 = socket.socket(socket.AF_INET6); c6.connect(l6.getsockname()[:2]); a6, _ = l6.accept()
t = socket.socket(); t.bind(("127.0.0.1", 0)); closed = t.getsockname()[1]; t.close()
r = socket.socket()
try:
    r.connect(("127.0.0.1", closed)); refused = 0
except OSError as e:
    refused = e.errno
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(("127.0.0.1", 9))
print(json.dumps(dict(l4=l4.getsockname()[1], l6=l6.getsockname()[1], c4=c4.getsockname()[1], c6=c6.getsockname()[1],
    c4fd=c4.fileno(), a4fd=a4.fileno(), closed=closed, refused=refused, udp=u.getsockname()[1])))
for s in (c4, a4, c6, a6, r, u, l4, l6): s.close()
`;

test("connect outcomes over loopback: TCP v4 and v6, refused with errno, UDP, inbound accept", async () => {
  const py = new Py(OUTCOMES);
  const { records, losses } = await recordPy(py);
  const out = await py.next();
  assert.equal(losses, 0n);
  assert.ok(
    records.every((r) => r.tgid === py.pid),
    "only the followed process is recorded",
  );
  const connects = records.filter((r) => r.type === EV.connect);
  const states = records.filter((r) => r.type === EV.sockState);
  const accepts = records.filter((r) => r.type === EV.accept);

  // IPv4 TCP: addresses, ports, result, and both timestamps the replay needs for the latency.
  const c4 = connects.find((r) => r.dport === out.l4 && r.family === 2)!;
  assert.ok(c4, "IPv4 connect recorded");
  assert.equal(c4.ret, 0);
  assert.equal(c4.fd, out.c4fd);
  assert.equal(c4.protocol, 6);
  assert.equal(c4.sock_type, 1);
  assert.equal(c4.sport, out.c4);
  assert.equal(addrText(2, c4.daddr as Uint8Array), "127.0.0.1");
  assert.equal(addrText(2, c4.saddr as Uint8Array), "127.0.0.1");
  assert.equal(c4.pid, py.pid);
  const est4 = states.find((r) => r.sock_id === c4.sock_id && r.newstate === TCP.ESTABLISHED)!;
  assert.ok(est4, "the connect's socket reaches ESTABLISHED, joined by sock_id");
  assert.ok((c4.enter_ns as bigint) < est4.ts_ns && est4.ts_ns <= c4.ts_ns, "enter < established <= return");
  // SYN_SENT is set before the kernel picks the source port (tcp_v4_connect): sport 0 there.
  const syn4 = states.find((r) => r.sock_id === c4.sock_id && r.newstate === TCP.SYN_SENT)!;
  assert.equal(syn4.dport, out.l4);
  // The attempt starts at the SYN: stamped by the state program just before its SYN_SENT record.
  assert.ok(
    (c4.enter_ns as bigint) <= syn4.ts_ns && syn4.ts_ns - (c4.enter_ns as bigint) < 1_000_000n,
    "enter_ns is the SYN_SENT time",
  );

  // IPv6 TCP.
  const c6 = connects.find((r) => r.dport === out.l6 && r.family === 10)!;
  assert.ok(c6, "IPv6 connect recorded");
  assert.equal(c6.ret, 0);
  assert.equal(c6.sport, out.c6);
  assert.equal(addrText(10, c6.daddr as Uint8Array), "::1");
  assert.ok(states.some((r) => r.sock_id === c6.sock_id && r.newstate === TCP.ESTABLISHED && r.family === 10));

  // Refused: the errno, and the socket's short life SYN_SENT → CLOSE.
  assert.equal(out.refused, ECONNREFUSED);
  const ref = connects.find((r) => r.dport === out.closed)!;
  assert.ok(ref, "refused connect recorded");
  assert.equal(ref.ret, -ECONNREFUSED);
  const refStates = states.filter((r) => r.sock_id === ref.sock_id);
  assert.deepEqual(
    refStates.slice(0, 2).map((r) => r.newstate),
    [TCP.SYN_SENT, TCP.CLOSE],
  );
  // The kernel releases the source port before it records CLOSE: only the destination is known here
  // (the retransmit bundle's receive-reset carries both ports).
  assert.equal(refStates[1]!.dport, out.closed);

  // UDP connect: no handshake, but the kernel picked the source port.
  const udp = connects.find((r) => r.protocol === 17)!;
  assert.ok(udp, "UDP connect recorded");
  assert.equal(udp.ret, 0);
  assert.equal(udp.sock_type, 2);
  assert.equal(udp.dport, 9);
  assert.equal(udp.sport, out.udp);
  assert.equal(udp.enter_ns, udp.ts_ns, "no SYN: the attempt is the call's return");

  // Inbound: the accept names the process and fd; the child's handshake states carry the owner
  // inherited from the listener although they ran in softirq.
  const a4 = accepts.find((r) => r.sport === out.l4 && r.dport === out.c4)!;
  assert.ok(a4, "accept recorded");
  assert.equal(a4.ret, out.a4fd);
  assert.equal(a4.tgid, py.pid);
  const childStates = states.filter((r) => r.sock_id === a4.sock_id);
  assert.deepEqual(
    childStates.slice(0, 2).map((r) => [r.oldstate, r.newstate]),
    [
      [TCP.LISTEN, TCP.SYN_RECV],
      [TCP.SYN_RECV, TCP.ESTABLISHED],
    ],
  );
  assert.ok(childStates.every((r) => r.tgid === py.pid && ((r.flags as number) & OWNER_FROM_SOCK) !== 0));
  assert.ok(
    accepts.some((r) => r.sport === out.l6 && r.family === 10),
    "IPv6 accept recorded",
  );
  // Closes are recorded for every TCP socket.
  for (const c of [c4, c6, a4])
    assert.ok(
      states.some((r) => r.sock_id === c.sock_id && r.newstate === TCP.CLOSE),
      "close recorded",
    );
});

const UNREACHABLE = String.raw`
import socket, json, sys
sys.stdin.readline()
out = {}
# No route at all in this namespace (only lo): the kernel refuses before any packet is sent.
try:
    socket.socket().connect(("192.0.2.1", 80)); out["unreach"] = 0
except OSError as e:
    out["unreach"] = e.errno
# The namespace's nft rule drops SYNs to this port on lo, and tcp_syn_retries is 1: ETIMEDOUT in ~3 s.
s = socket.socket()
try:
    s.connect(("127.0.0.1", int(sys.argv[1]))); out["timedout"] = 0
except OSError as e:
    out["timedout"] = e.errno
print(json.dumps(out))
`;

test("connect outcomes in a private netns: ENETUNREACH without a route, ETIMEDOUT when every SYN is dropped", async () => {
  const ENETUNREACH = 101;
  const ETIMEDOUT = 110;
  const PORT = 47099;
  const ns = new Netns("st-cto");
  let py: Py | undefined;
  try {
    ns.exec("sysctl", ["-q", "-w", "net.ipv4.tcp_syn_retries=1"]);
    ns.exec(
      "nft",
      ["-f", "-"],
      `table inet st_syn {\n chain in {\n  type filter hook input priority 0; policy accept;\n  tcp dport ${PORT} tcp flags syn drop\n }\n}\n`,
    );
    py = new Py(UNREACHABLE.replace("int(sys.argv[1])", String(PORT)), ns.name);
    const { records, losses } = await recordPy(py);
    const out = await py.next();
    assert.equal(losses, 0n);
    assert.deepEqual(out, { unreach: ENETUNREACH, timedout: ETIMEDOUT });
    const connects = records.filter((r) => r.type === EV.connect);
    const unreach = connects.find((r) => r.dport === 80)!;
    assert.ok(unreach, "the unreachable connect is recorded");
    assert.equal(unreach.ret, -ENETUNREACH);
    assert.equal(addrText(2, unreach.daddr as Uint8Array), "192.0.2.1");
    const timedOut = connects.find((r) => r.dport === PORT)!;
    assert.ok(timedOut, "the timed-out connect is recorded");
    assert.equal(timedOut.ret, -ETIMEDOUT);
    assert.ok(
      (timedOut.ts_ns as bigint) - (timedOut.enter_ns as bigint) > 2_000_000_000n,
      "it returned after the SYN retries",
    );
    const states = records
      .filter((r) => r.type === EV.sockState && r.sock_id === timedOut.sock_id)
      .map((r) => r.newstate);
    assert.deepEqual(states.slice(0, 2), [TCP.SYN_SENT, TCP.CLOSE]);
  } finally {
    py?.kill();
    ns.delete();
  }
});

const LONG_LIVED = String.raw`
import socket, json, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4)
c = socket.socket(); c.connect(l.getsockname()); a, _ = l.accept()
print(json.dumps(dict(l=l.getsockname()[1], c=c.getsockname()[1])))
sys.stdin.readline()
c.close(); a.close(); l.close()
`;

test("a connection opened before the recording is in the start snapshot with its owner, and its close is attributed", async () => {
  const py = new Py(LONG_LIVED);
  const cap = new NetCapture([CONNECT_BUNDLE], { follow: [py.pid] });
  try {
    const out = await py.next();
    const snap = cap.runIterators(CONNECT_BUNDLE);
    assert.ok(
      snap.every((r) => r.type === EV.sock && r.tgid === py.pid),
      "only the followed process's sockets",
    );
    const client = snap.find((r) => r.sport === out.c && r.dport === out.l)!;
    assert.ok(client, "client socket in the snapshot");
    assert.equal(client.newstate, TCP.ESTABLISHED);
    assert.equal(addrText(2, client.daddr as Uint8Array), "127.0.0.1");
    assert.equal(client.comm, "python3");
    assert.ok(
      snap.some((r) => r.sport === out.l && r.dport === out.c && r.newstate === TCP.ESTABLISHED),
      "accepted socket in the snapshot",
    );
    assert.ok(
      snap.some((r) => r.sport === out.l && r.newstate === TCP.LISTEN),
      "listener in the snapshot",
    );

    const records: DecodedRecord[] = [];
    py.send();
    await pumpUntil(cap, py.exited, (r) => records.push(r));
    const close = records.find(
      (r) => r.type === EV.sockState && r.sock_id === client.sock_id && r.oldstate === TCP.ESTABLISHED,
    );
    assert.ok(close, "the older socket's close is recorded");
    assert.equal(close.tgid, py.pid);
    assert.equal(cap.losses(), 0n);
  } finally {
    py.kill();
    cap.close();
  }
});

const CYCLES = 20_000;
const STORM = String.raw`
import socket, json, sys
sys.stdin.readline()
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(128)
addr = l.getsockname()
for i in range(${CYCLES}):
    c = socket.socket(); c.connect(addr)
    s, _ = l.accept(); s.close()
    c.recv(1); c.close()
l.close()
print(json.dumps(dict(port=addr[1])))
`;

test(`${CYCLES} loopback connect/accept/close cycles: all captured, zero loss, a clean lifecycle per connection`, async () => {
  const py = new Py(STORM);
  const cap = new NetCapture([CONNECT_BUNDLE], { follow: [py.pid] });
  try {
    const open = new Map<bigint, number[]>(); // sock_id → states so far (a socket address is reused after close)
    let clientDone = 0;
    let serverDone = 0;
    let connects = 0;
    let accepts = 0;
    const problems: string[] = [];
    const onRecord = (r: DecodedRecord) => {
      if (r.tgid !== py.pid) problems.push(`record of tgid ${r.tgid}`);
      if (r.type === EV.connect) {
        if (r.ret === 0) connects++;
        return;
      }
      if (r.type === EV.accept) {
        accepts++;
        return;
      }
      if (r.type !== EV.sockState) return;
      const id = r.sock_id as bigint;
      const oldstate = r.oldstate as number;
      const newstate = r.newstate as number;
      if (newstate === TCP.LISTEN || (oldstate === TCP.LISTEN && newstate === TCP.CLOSE)) return;
      if (newstate === TCP.SYN_SENT || newstate === TCP.SYN_RECV) {
        if (open.has(id)) problems.push(`socket ${id} restarted before its close: ${open.get(id)}`);
        open.set(id, [newstate]);
        return;
      }
      const seq = open.get(id);
      if (!seq) {
        problems.push(`state ${oldstate}→${newstate} of a socket never opened`);
        return;
      }
      if (seq[seq.length - 1] !== oldstate) problems.push(`discontinuity ${seq} then ${oldstate}→${newstate}`);
      seq.push(newstate);
      if (newstate === TCP.CLOSE) {
        open.delete(id);
        if (seq[1] !== TCP.ESTABLISHED) problems.push(`never established: ${seq}`);
        else if (seq[0] === TCP.SYN_SENT) clientDone++;
        else serverDone++;
      }
    };
    py.send();
    await pumpUntil(cap, py.exited, onRecord);
    await py.next();
    // The last connection's server side reaches CLOSE when the client's FIN is processed, in softirq: on a
    // loaded machine that can be ksoftirqd's, after the workload has exited. Drain until every lifecycle is
    // complete, or a bounded wait passes (then the assertions below say what is missing).
    const settleBy = Date.now() + 2000 * slowdown();
    while (open.size > 0 && Date.now() < settleBy) {
      await new Promise((r) => setTimeout(r, 10));
      cap.drain(onRecord);
    }
    // Loss counters first: a lifecycle gap with a counted loss (a ring overflow, or a run the kernel
    // skipped because another BPF program was running on that CPU) says so instead of only "gap".
    const misses = [...cap.objects.values()]
      .flatMap((o) => o.programStats())
      .reduce((s, p) => s + p.recursionMisses, 0n);
    assert.equal(cap.losses(), 0n, `ring/map losses (lifecycle problems: ${problems.slice(0, 3).join("; ")})`);
    assert.equal(
      misses,
      0n,
      `no program run was skipped by the kernel (lifecycle problems: ${problems.slice(0, 3).join("; ")})`,
    );
    assert.deepEqual(problems.slice(0, 5), []);
    assert.equal(connects, CYCLES);
    assert.equal(accepts, CYCLES);
    assert.equal(clientDone, CYCLES);
    assert.equal(serverDone, CYCLES);
    assert.equal(open.size, 0, "every connection closed");
  } finally {
    py.kill();
    cap.close();
  }
});

const TWO_PORTS = String.raw`
import socket, json, sys
ls = [socket.socket() for _ in range(2)]
for l in ls: l.bind(("127.0.0.1", 0)); l.listen(4)
print(json.dumps(dict(wanted=ls[0].getsockname()[1], other=ls[1].getsockname()[1])))
sys.stdin.readline()
for l in ls: socket.socket().connect(l.getsockname())
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.connect(("::1", ls[0].getsockname()[1]))
`;

/** Runs TWO_PORTS under the connect bundle loaded with `filters`; returns the ports and the connect records. */
async function withFilters(
  filters: (ports: Record<string, number>) => Filters,
): Promise<{ out: Record<string, number>; connects: DecodedRecord[] }> {
  const py = new Py(TWO_PORTS);
  try {
    const out = await py.next();
    const cap = new NetCapture([CONNECT_BUNDLE], { follow: [py.pid], rodata: CONNECT_BUNDLE.rodata!(filters(out)) });
    try {
      const records: DecodedRecord[] = [];
      py.send();
      await pumpUntil(cap, py.exited, (r) => records.push(r));
      return { out, connects: records.filter((r) => r.type === EV.connect) };
    } finally {
      cap.close();
    }
  } finally {
    py.kill();
  }
}

test("remote port and address filters: only connects to the wanted port or address are recorded", async () => {
  const byPort = await withFilters((p) => ({ ports: [p.wanted!] }));
  assert.deepEqual(
    byPort.connects.map((r) => [r.family, r.dport]).sort(),
    [
      [2, byPort.out.wanted],
      [10, byPort.out.wanted],
    ].sort(),
  );
  const byAddr = await withFilters(() => ({ addresses: ["::1"] }));
  assert.deepEqual(
    byAddr.connects.map((r) => [r.family, r.dport]),
    [[10, byAddr.out.wanted]],
  );
  const v4 = await withFilters(() => ({ addresses: ["127.0.0.1"] }));
  assert.deepEqual(v4.connects.map((r) => r.dport).sort(), [v4.out.wanted, v4.out.other].sort());
});
