// Reconstruction from synthetic sessions written through SessionWriter: identity across pid reuse, exec
// chains, re-parenting, connections, files, losses, filters, and every output format.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { EV, SOCK_STATE, TCP_EVENT } from "../../src/events/layouts.js";
import { timelineEvents } from "../../src/replay/events.js";
import { loadSessions } from "../../src/replay/load.js";
import { applyFilter } from "../../src/replay/filter.js";
import { render, VIEWS } from "../../src/replay/render.js";
import { parseTimeBound } from "../../src/replay/time.js";
import { tempDir, testKey, writeSession } from "./session-helpers.js";
import * as E from "./replay-encode.js";

const S = 1_000_000_000n;
const init: E.Ident = { tgid: 1, start: 1n, ppid: 0, comm: "init" };
const shell: E.Ident = { tgid: 100, start: 5n * S, ppid: 1, comm: "bash" };
const a: E.Ident = { tgid: 200, start: 10n * S, ppid: 100, comm: "bash" };
const a2: E.Ident = { tgid: 200, start: 20n * S, ppid: 100, comm: "bash" }; // pid 200 reused
const grand: E.Ident = { tgid: 300, start: 11n * S, ppid: 200, comm: "a-child" };

async function synthetic(
  extra: unknown[] = [],
  summary: unknown = { endReason: "duration", startBootNs: 9n * S, endBootNs: 30n * S },
) {
  const { dir, cleanup } = tempDir("replay-syn");
  const key = await testKey();
  const path = join(dir, "s.sealed");
  const records: unknown[] = [
    { k: "attach", t: 9n * S, startT: 9n * S, attachMs: 1, bundles: [] },
    {
      k: "start",
      b: "exec",
      it: "exec_snapshot",
      t: 9n * S,
      d: E.frame([E.task(9n * S, init, "/sbin/init", ["init"]), E.task(9n * S, shell, "/bin/bash", ["bash"])]),
    },
    { k: "loss", b: "exec", t: 9n * S, ringFull: 0n, mapFull: 0n, readFail: 0n, recursionMisses: 0n, dropped: 0 },
    E.ring("exec", 12n * S, [
      E.fork(10n * S, shell, 200, 10n * S),
      E.exec(10n * S + 1000n, { ...a, comm: "dl" }, "/usr/bin/dl", ["dl", "http://x/s.sh"]),
      E.exec(10n * S + 2000n, { ...a, comm: "sh" }, "/bin/sh", ["sh", "s.sh"]),
      E.fork(11n * S, { ...a, comm: "sh" }, 300, 11n * S),
      E.exit(12n * S, { ...a, comm: "sh" }, 3),
    ]),
    E.ring("connect", 13n * S, [
      E.sockState(12n * S, { ...grand, flags: 1 }, 0xabcn, 7, 2, "192.0.2.7", 443, 0),
      E.sockState(12n * S + 500_000n, { ...grand, flags: 1 }, 0xabcn, 2, 1, "192.0.2.7", 443, 40000),
      E.connect(12n * S + 600_000n, grand, 0xabcn, 12n * S - 1000n, 0, "192.0.2.7", 443, 40000),
      E.sockState(13n * S, { ...grand, flags: 1 }, 0xdefn, 7, 2, "192.0.2.9", 22, 0),
      E.sockState(13n * S + 1000n, { ...grand, flags: 1 }, 0xdefn, 2, 7, "192.0.2.9", 22, 0),
      E.connect(13n * S + 2000n, grand, 0xdefn, 13n * S - 10n, -115, "192.0.2.9", 22),
    ]),
    E.ring("retransmit", 14n * S, [
      E.tcpEvent(EV.retransmit, 12n * S + 700_000n, grand, 0xabcn, 1, "192.0.2.7", 443, 40000),
      E.tcpEvent(EV.recvReset, 13n * S + 900n, grand, 0xdefn, 2, "192.0.2.9", 22, 40001),
    ]),
    E.ring("filewrite", 14n * S, [
      E.fileOpen(12n * S, grand, 8n, 77n, "/tmp/loot.bin"),
      E.fileOp(EV.chmod, 12n * S + 5n, grand, "/tmp/loot.bin", { mode: 0o755 }),
      E.fileOp(EV.rename, 12n * S + 6n, grand, "/tmp/loot.bin", { path2: "/tmp/.hidden" }),
    ]),
    {
      k: "maps",
      b: "filewrite",
      m: "write_totals",
      t: 14n * S,
      keySize: 32,
      valueSize: 32,
      n: 1,
      d: E.writeRow(grand, 8n, 77n, 1000n, 2n, 12n * S, 12n * S + 1n),
    },
    {
      k: "maps",
      b: "filewrite",
      m: "write_totals",
      t: 15n * S,
      keySize: 32,
      valueSize: 32,
      n: 1,
      d: E.writeRow(grand, 8n, 77n, 12345n, 3n, 12n * S, 12n * S + 2n),
    },
    { k: "loss", b: "exec", t: 16n * S, ringFull: 5n, mapFull: 0n, readFail: 0n, recursionMisses: 2n, dropped: 0 },
    E.ring("exec", 22n * S, [
      E.fork(20n * S, shell, 200, 20n * S),
      E.exec(20n * S + 5n, { ...a2, comm: "true" }, "/bin/true", ["true"]),
      E.exit(21n * S, { ...a2, comm: "true" }, 0),
    ]),
    // grand's parent (200, first incarnation) died: its exit shows the kernel moved it to init.
    E.ring("exec", 25n * S, [E.exit(25n * S, { ...grand, ppid: 1 }, 0, 9)]),
    ...extra,
  ];
  await writeSession(path, [records], { recipients: [key.recipient], metadata: E.metadata() }, summary);
  const loaded = await loadSessions([path], [key.identity]);
  cleanup();
  return loaded.replay;
}

test("pid reuse gives distinct processes; in-place exec extends one exec chain", async () => {
  const r = await synthetic();
  const twoHundreds = r.processes.filter((p) => p.pid === 200);
  assert.equal(twoHundreds.length, 2);
  assert.notEqual(twoHundreds[0]!.id, twoHundreds[1]!.id);
  const first = twoHundreds.find((p) => p.startNs === E.OFFSET_NS + 10n * S)!;
  assert.deepEqual(
    first.execs.map((e) => e.filename),
    ["/usr/bin/dl", "/bin/sh"],
  );
  assert.equal(first.exitCode, 3);
  assert.equal(first.origin, "observed");
  const sh = r.processes.find((p) => p.pid === 100)!;
  assert.equal(sh.origin, "snapshot");
  assert.equal(first.parentId, sh.id);
  assert.equal(sh.parentId, r.processes.find((p) => p.pid === 1)!.id);
});

test("an orphan is re-parented as its exit record shows, keeping where it came from", async () => {
  const r = await synthetic();
  const g = r.processes.find((p) => p.pid === 300)!;
  const first200 = r.processes.find((p) => p.pid === 200 && p.startNs === E.OFFSET_NS + 10n * S)!;
  assert.equal(g.parentId, r.processes.find((p) => p.pid === 1)!.id);
  assert.equal(g.reparentedFrom, first200.id);
  assert.equal(g.exitSignal, 9);
});

test("connections: latency, retransmits, refused by reset; files: exact totals, chmod and rename; losses as gaps", async () => {
  const r = await synthetic();
  const ok = r.connections.find((c) => c.dport === 443)!;
  assert.equal(ok.outcome, "established");
  assert.equal(ok.sport, 40000);
  assert.equal(ok.retransmits, 1);
  assert.equal(ok.pid, 300);
  assert.equal(ok.establishedNs! - ok.startNs!, 500_000n + 1000n);
  const bad = r.connections.find((c) => c.dport === 22)!;
  assert.equal(bad.outcome, "refused");
  assert.equal(bad.errno, 111);
  const f = r.files.find((x) => x.path === "/tmp/loot.bin")!;
  assert.equal(f.bytes, 12345n);
  assert.equal(f.writes, 3n);
  assert.equal(f.renamedTo, "/tmp/.hidden");
  assert.ok(f.ops.some((o) => o.kind === "chmod" && o.mode === 0o755));
  assert.deepEqual(
    r.losses.map((l) => [l.bundle, l.count, l.fromNs - E.OFFSET_NS, l.toNs - E.OFFSET_NS]),
    [["exec", 7n, 9n * S, 16n * S]],
  );
});

test("a refused connect seen by both network bundles is one connection, the client's, with its port; a reset to a remote peer is an inferred inbound refusal", async () => {
  // What the kernel records for connect() to a closed port on this host: SYN_SENT and CLOSE carry no
  // source port, the kernel's reset has no socket (its tuple reversed from the SYN), and only the
  // client's receive-reset has the port. The rings may be read in either order.
  const nobody: E.Ident = { tgid: 0, start: 0n, ppid: 0, comm: "", flags: 2 };
  const sockless = (t: bigint, saddr: string, sport: number, daddr: string, dport: number) =>
    E.rec(TCP_EVENT, EV.sendReset, t, nobody, {
      sock_id: 0n,
      state: 0,
      family: 2,
      sport,
      dport,
      saddr: E.ip4(saddr),
      daddr: E.ip4(daddr),
    });
  const client = { ...grand, flags: 1 };
  const connectRing = E.ring("connect", 17n * S, [
    E.sockState(16n * S, client, 0x77n, 7, 2, "192.0.2.50", 9999, 0),
    E.sockState(16n * S + 300n, client, 0x77n, 2, 7, "192.0.2.50", 9999, 0),
    E.connect(16n * S + 400n, grand, 0x77n, 16n * S, -111, "192.0.2.50", 9999, 0),
  ]);
  const retransmitRing = E.ring("retransmit", 17n * S, [
    sockless(16n * S + 100n, "192.0.2.50", 9999, "10.0.0.1", 41000),
    E.tcpEvent(EV.recvReset, 16n * S + 200n, grand, 0x77n, 2, "192.0.2.50", 9999, 41000),
    // A peer elsewhere knocks twice on a port nothing listens on.
    sockless(16n * S + 500n, "10.0.0.1", 8080, "198.51.100.4", 50000),
    sockless(16n * S + 900n, "10.0.0.1", 8080, "198.51.100.4", 50000),
  ]);
  for (const order of [
    [connectRing, retransmitRing],
    [retransmitRing, connectRing],
  ]) {
    const r = await synthetic(order);
    const toClosed = r.connections.filter((c) => c.dport === 9999 || c.sport === 9999);
    assert.equal(toClosed.length, 1, "no phantom connection for the kernel's reset");
    const c = toClosed[0]!;
    assert.equal(c.pid, 300);
    assert.equal(c.origin, "observed");
    assert.equal(c.direction, "outbound");
    assert.equal(c.outcome, "refused");
    assert.equal(c.errno, 111);
    assert.equal(c.sport, 41000, "the source port, from the receive-reset");
    assert.equal(c.resets, 1, "one reset on the wire");
    assert.equal(c.startNs! - E.OFFSET_NS, 16n * S);
    const knock = r.connections.find((x) => x.sport === 8080 || x.dport === 8080)!;
    assert.ok(knock, "the refused inbound attempt is kept");
    assert.equal(
      r.connections.filter((x) => x.sport === 8080 || x.dport === 8080).length,
      1,
      "one entry per peer tuple",
    );
    assert.deepEqual(
      [knock.origin, knock.direction, knock.outcome, knock.pid, knock.resets, knock.daddr, knock.dport],
      ["inferred", "inbound", "refused", 0, 2, "198.51.100.4", 50000],
    );
  }
});

test("connect(2) asked again on a non-blocking socket (EALREADY, then EISCONN) stays one established connection", async () => {
  const owner = { ...grand, flags: 1 };
  const r = await synthetic([
    E.ring("connect", 17n * S, [
      E.sockState(16n * S, owner, 0x99n, 7, 2, "192.0.2.60", 8443, 0),
      E.connect(16n * S + 100n, grand, 0x99n, 16n * S, -115, "192.0.2.60", 8443, 42000),
      E.connect(16n * S + 200n, grand, 0x99n, 16n * S, -114, "192.0.2.60", 8443, 42000),
      E.sockState(16n * S + 300n, owner, 0x99n, 2, 1, "192.0.2.60", 8443, 42000),
      E.connect(16n * S + 400n, grand, 0x99n, 16n * S, -106, "192.0.2.60", 8443, 42000),
    ]),
  ]);
  const cs = r.connections.filter((c) => c.dport === 8443);
  assert.equal(cs.length, 1);
  assert.deepEqual(
    [cs[0]!.outcome, cs[0]!.errno, cs[0]!.establishedNs! - cs[0]!.startNs!],
    ["established", undefined, 300n],
  );
});

test("a socket from the start snapshot sits on the timeline at the snapshot, not at the epoch", async () => {
  const sock = E.rec(
    SOCK_STATE,
    EV.sock,
    9n * S,
    { ...shell, flags: 1 },
    {
      sock_id: 0x5eedn,
      oldstate: 1,
      newstate: 1,
      family: 2,
      protocol: 6,
      sport: 40100,
      dport: 5432,
      saddr: E.ip4("10.0.0.1"),
      daddr: E.ip4("192.0.2.5"),
    },
  );
  const r = await synthetic([{ k: "start", b: "connect", it: "connect_snapshot", t: 9n * S, d: E.frame([sock]) }]);
  const c = r.connections.find((x) => x.dport === 5432)!;
  assert.equal(c.origin, "snapshot");
  assert.equal(c.outcome, "established");
  const snap = timelineEvents(r).find((e) => e.kind === "connection.snapshot")!;
  assert.equal(snap.timeNs - E.OFFSET_NS, 9n * S);
});

test("a snapshot socket in TIME_WAIT or CLOSE_WAIT is closing at the start, not established", async () => {
  const at = (state: number, port: number) =>
    E.rec(
      SOCK_STATE,
      EV.sock,
      9n * S,
      { tgid: 0, start: 0n, ppid: 0, comm: "", flags: 2 },
      {
        sock_id: BigInt(0x7000 + port),
        oldstate: state,
        newstate: state,
        family: 2,
        protocol: 6,
        sport: 40200,
        dport: port,
        saddr: E.ip4("10.0.0.1"),
        daddr: E.ip4("192.0.2.5"),
      },
    );
  const r = await synthetic([
    {
      k: "start",
      b: "connect",
      it: "connect_snapshot",
      t: 9n * S,
      d: E.frame([at(6, 7001), at(8, 7002), at(1, 7003)]),
    },
  ]);
  const out = (port: number) => r.connections.find((x) => x.dport === port)!.outcome;
  assert.deepEqual([out(7001), out(7002), out(7003)], ["closing", "closing", "established"]);
  assert.ok(
    timelineEvents(r).some((e) => e.kind === "connection.snapshot" && e.message.includes(":7001 closing at start")),
  );
});

test("several sessions from two hosts merge into one timeline on realtime; the same pid on each host stays two processes", async () => {
  const { dir, cleanup } = tempDir("replay-merge");
  const key = await testKey();
  const same: E.Ident = { tgid: 4242, start: 2n * S, ppid: 1, comm: "job" };
  // db-1 booted 5 s before web-1: boot time 7 s there is realtime 12 s on web-1's scale.
  const hosts = [
    { name: "web-1", bootId: "aaaa0000-0000-0000-0000-000000000001", offsetNs: E.OFFSET_NS, execAt: 10n * S },
    { name: "db-1", bootId: "bbbb0000-0000-0000-0000-000000000002", offsetNs: E.OFFSET_NS + 5n * S, execAt: 7n * S },
  ];
  const paths: string[] = [];
  for (const h of hosts) {
    const path = join(dir, `${h.name}.sealed`);
    const records = [
      { k: "attach", t: 1n * S, startT: 1n * S, attachMs: 1, bundles: [] },
      E.ring("exec", h.execAt, [E.exec(h.execAt, same, `/usr/bin/on-${h.name}`, [`on-${h.name}`])]),
    ];
    await writeSession(
      path,
      [records],
      {
        recipients: [key.recipient],
        metadata: { ...E.metadata(h.name, h.bootId), clock: { realtimeMinusBoottimeNs: h.offsetNs } },
      },
      { endReason: "duration", startBootNs: 1n * S, endBootNs: 20n * S },
    );
    paths.push(path);
  }
  // Given in the "wrong" order: the merge orders by realtime, not by file.
  const r = (await loadSessions([paths[1]!, paths[0]!], [key.identity])).replay;
  cleanup();
  assert.deepEqual(r.sessions.map((x) => x.hostname).sort(), ["db-1", "web-1"]);
  const jobs = r.processes.filter((p) => p.pid === 4242);
  assert.equal(jobs.length, 2, "same pid and start time on two hosts are two processes");
  assert.notEqual(jobs[0]!.id, jobs[1]!.id);
  const execs = timelineEvents(r).filter((e) => e.kind === "process.exec");
  assert.deepEqual(
    execs.map((e) => [
      e.host === r.sessions.find((x) => x.hostname === "web-1")!.host ? "web-1" : "db-1",
      e.timeNs - E.OFFSET_NS,
    ]),
    [
      ["web-1", 10n * S],
      ["db-1", 12n * S],
    ],
  );
  const onlyDb = applyFilter(r, { hosts: ["db-1"] });
  assert.deepEqual(
    onlyDb.processes.filter((p) => p.pid === 4242).map((p) => p.execs[0]?.filename),
    ["/usr/bin/on-db-1"],
  );
});

test("filters: --pid takes descendants and the exec chain, --comm, --since/--until, --addr/--port", async () => {
  const r = await synthetic();
  const byPid = applyFilter(r, { pids: [200] });
  assert.deepEqual(byPid.processes.map((p) => p.pid).sort(), [200, 200, 300]);
  assert.equal(byPid.connections.length, 2);
  assert.deepEqual(
    applyFilter(r, { comms: ["dl"] }).processes.map((p) => p.pid),
    [200],
  );
  const start = r.sessions[0]!.startNs!;
  const late = applyFilter(r, { sinceNs: parseTimeBound("+10s", start, "--since") });
  assert.ok(late.processes.every((p) => p.exitNs === undefined || p.exitNs >= start + 10n * S));
  assert.ok(!late.processes.some((p) => p.pid === 200 && p.exitNs === E.OFFSET_NS + 12n * S));
  const port = applyFilter(r, { ports: [22] });
  assert.deepEqual(
    port.connections.map((c) => c.dport),
    [22],
  );
  assert.deepEqual(
    port.processes.map((p) => p.pid),
    [300],
  );
  assert.deepEqual(
    applyFilter(r, { addrs: ["192.0.2.7"] }).connections.map((c) => c.dport),
    [443],
  );
  assert.equal(applyFilter(r, { hosts: ["elsewhere"] }).processes.length, 0);
  assert.equal(parseTimeBound("2026-01-01T00:00:00.5Z", 0n, "--since"), 1767225600500000000n);
});

test("every format: json has the contract keys, each jsonl line parses, timesketch lines carry the required fields", async () => {
  const r = await synthetic();
  const doc = JSON.parse(render(r, "summary", "json", false));
  assert.deepEqual(Object.keys(doc), ["sessions", "processes", "connections", "files", "privilege", "losses"]);
  for (const k of ["id", "pid", "ppid", "parentId", "startTime", "exitTime", "exitCode", "execs", "comm", "origin"])
    assert.ok(k in doc.processes[0], k);
  for (const k of ["time", "filename", "argv", "argvTruncated"])
    assert.ok(k in doc.processes.find((p: { execs: unknown[] }) => p.execs.length > 0).execs[0], k);
  for (const k of [
    "processId",
    "pid",
    "comm",
    "protocol",
    "family",
    "saddr",
    "sport",
    "daddr",
    "dport",
    "direction",
    "startTime",
    "establishedTime",
    "endTime",
    "outcome",
    "errno",
    "retransmits",
    "resets",
  ])
    assert.ok(k in doc.connections[0], k);
  for (const k of [
    "processId",
    "pid",
    "comm",
    "path",
    "bytes",
    "writes",
    "firstTime",
    "lastTime",
    "deleted",
    "renamedTo",
  ])
    assert.ok(k in doc.files[0], k);
  for (const k of ["bundle", "count", "from", "to"]) assert.ok(k in doc.losses[0], k);
  assert.match(doc.processes[0].startTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  const lines = render(r, "summary", "jsonl", false).trimEnd().split("\n");
  assert.ok(lines.length > 10);
  for (const l of lines) JSON.parse(l);
  for (const l of render(r, "summary", "timesketch", false).trimEnd().split("\n")) {
    const e = JSON.parse(l);
    assert.equal(typeof e.message, "string");
    assert.ok(e.message.length > 0);
    // Timesketch's required fields: message, datetime (ISO 8601), timestamp_desc; timestamp in µs agrees.
    assert.match(e.datetime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(typeof e.timestamp_desc, "string");
    assert.ok(e.timestamp_desc.length > 0);
    assert.equal(e.timestamp, Date.parse(e.datetime) * 1000 + Number(e.datetime.slice(23, 26)));
    // Process keys on every event a process made.
    if (e.pid) {
      assert.equal(typeof e.process_id, "string");
      assert.equal(typeof e.comm, "string");
      assert.equal(typeof e.hostname, "string");
    }
  }
  for (const v of VIEWS) {
    const text = render(r, v, "text", false);
    assert.ok(!text.includes("\x1b["), `${v}: no colour off a TTY`);
    for (const line of text.split("\n")) assert.ok(line.length <= 80, `${v}: ${line}`);
  }
  const html = render(r, "summary", "html", false);
  assert.equal((html.match(/class="lane"/g) ?? []).length, r.processes.length);
  assert.ok(!/https?:\/\//.test(html.replace(/http:\/\/x\/s\.sh/g, "")), "no network references");
});
