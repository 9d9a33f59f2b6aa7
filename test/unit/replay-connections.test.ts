// ConnectionTable's tuple index: a connection whose port becomes known later moves to its tuple's list
// at its place in creation order, so lookups by tuple (flow_counters rows) pick the newest connection.
// The index is brought up to date lazily, at each lookup by tuple.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionTable, TCP, type SockFacts } from "../../src/replay/connections.js";

const facts = (sockLo: number, sport: number): SockFacts => ({
  sockLo,
  sockHi: 0,
  family: "ipv4",
  protocol: "tcp",
  saddr: "127.0.0.1",
  sport,
  daddr: "127.0.0.1",
  dport: 443,
});

test("a connection that learns its port later takes its creation-order place on the tuple", () => {
  const t = new ConnectionTable();
  // A: its SYN_SENT state change names no local port yet (as for a connect refused at once).
  t.state("h", facts(1, 0), undefined, TCP.close, TCP.synSent, 100n);
  // B: a later connection on the tuple that A will turn out to have.
  t.state("h", facts(2, 5000), undefined, TCP.close, TCP.synSent, 200n);
  t.state("h", facts(2, 5000), undefined, TCP.synSent, TCP.established, 210n);
  // A lookup by tuple now (a flow_counters row) indexes A under its port-0 tuple and B under its own.
  assert.equal(t.byTuple("h", facts(0, 0), 220n), t.all[0]);
  assert.equal(t.byTuple("h", facts(0, 5000), 220n), t.all[1]);
  // A's port arrives: A moves to B's tuple, before B.
  t.state("h", facts(1, 5000), undefined, TCP.synSent, TCP.close, 300n);
  const [a, b] = t.all;
  assert.ok(a && b && a.seq < b.seq);
  assert.equal(a.sport, 5000);
  // The newest connection on the tuple that started by then: B from 200 ns on, A before it.
  assert.equal(t.byTuple("h", facts(0, 5000), 250n), b);
  assert.equal(t.byTuple("h", facts(0, 5000), 150n), a);
  assert.equal(t.byTuple("h", facts(0, 0), 400n), undefined, "A left its port-0 tuple");
});
