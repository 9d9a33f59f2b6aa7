// The replay hot path's keys: processes and sockets found through WordTable by u32 words, files by numbers.
// Boot times past 2^53 ns (~104 days of uptime), inode numbers past 2^53 and sockets sharing a half replay exactly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { EV } from "../../src/events/layouts.js";
import { loadSessions } from "../../src/replay/load.js";
import { WordTable } from "../../src/replay/wordtable.js";
import { tempDir, testKey, writeSession } from "./session-helpers.js";
import * as E from "./replay-encode.js";

test("WordTable: a lookup is the value last set for that exact key, never another key's", () => {
  const table = new WordTable<string>();
  const keys: Array<[number, number, number]> = [];
  for (let i = 0; i < 40000; i++) keys.push([i % 7, 0x1000 + (i % 100) * 64, 0xffff8880 + Math.floor(i / 100)]);
  for (const [a, b, c] of keys) table.set(a, b, c, 1, `${a}:${b}:${c}`);
  for (const [a, b, c] of keys) assert.equal(table.get(a, b, c, 1), `${a}:${b}:${c}`); // none evicted, none wrong
  table.set(0, 0x1000, 0xffff8880, 1, "again");
  assert.equal(table.get(0, 0x1000, 0xffff8880, 1), "again");
  assert.equal(table.get(0, 0x1000, 0xffff0000, 1), undefined);
  assert.equal(table.get(0, 0x1000, 0xffff8880, 2), undefined); // another host
});

test("boot times past 2^53 ns: one process per pid + start time, pid reuse apart, sockets found by id", async () => {
  const B = 1n << 54n; // ~208 days of uptime
  const init: E.Ident = { tgid: 1, start: 1n, ppid: 0, comm: "init" };
  const a: E.Ident = { tgid: 200, start: B + 10n, ppid: 1, comm: "a" };
  const a2: E.Ident = { tgid: 200, start: B + 11n, ppid: 1, comm: "a2" }; // differs from `a` only below the double's precision
  const { dir, cleanup } = tempDir("replay-u64");
  const key = await testKey();
  const path = join(dir, "s.sealed");
  const sock = 0xffff_8880_0000_1000n;
  const records: unknown[] = [
    { k: "attach", t: B, startT: B, attachMs: 1, bundles: [] },
    E.ring("exec", B + 100n, [
      E.fork(B + 10n, init, 200, B + 10n),
      E.exec(B + 12n, a, "/bin/a", ["a"]),
      E.sockState(B + 13n, { ...a, flags: 1 }, sock, 7, 2, "192.0.2.1", 443, 0),
      E.sockState(B + 14n, { ...a, flags: 1 }, sock, 2, 1, "192.0.2.1", 443, 40000),
      E.tcpEvent(EV.retransmit, B + 15n, a, sock, 1, "192.0.2.1", 443, 40000),
      E.tcpEvent(EV.retransmit, B + 16n, a, sock + (1n << 32n), 1, "192.0.2.2", 443, 40001),
      E.exit(B + 20n, a, 0),
      E.fork(B + 11n, init, 200, B + 11n),
      E.exec(B + 21n, a2, "/bin/a2", ["a2"]),
      E.exit(B + 22n, a2, 1),
    ]),
  ];
  await writeSession(
    path,
    [records],
    { recipients: [key.recipient], metadata: E.metadata() },
    { endReason: "duration" },
  );
  const { replay: r } = await loadSessions([path], [key.identity]);
  cleanup();
  const two = r.processes.filter((p) => p.pid === 200);
  assert.deepEqual(
    two.map((p) => [p.startBootNs - B, p.execs.map((e) => e.filename), p.exitCode]),
    [
      [10n, ["/bin/a"], 0],
      [11n, ["/bin/a2"], 1],
    ],
  );
  const c = r.connections.find((x) => x.daddr === "192.0.2.1")!;
  assert.equal(c.retransmits, 1);
  assert.deepEqual(
    [...(c.retransmitTimes ?? [])].map((t) => t - E.OFFSET_NS - B),
    [15n],
  );
  assert.equal(r.connections.find((x) => x.daddr === "192.0.2.2")!.origin, "inferred");
});
