// Replay's per-record lookup tables and in-place totals (issue 17 item 4): the open-addressing table keyed
// by u32 words stays exact and bounded when a crafted session makes its keys collide, write flushes add up
// exactly past 2^53 and 2^64, and the quick test of an event's time against a connection's start agrees
// with the exact one, close to the start and far from it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_PROBE, WordTable } from "../../src/replay/wordtable.js";
import { FileTable, U64Field, addU64 } from "../../src/replay/files.js";
import { ConnectionTable, type SockFacts } from "../../src/replay/connections.js";
import { ProcessTable } from "../../src/replay/processes.js";

/** Keys (i, 7, 9, 1) whose probes all start at the slot key 0's does, in a table of the initial size. */
function colliding(t: WordTable<number>, n: number): number[] {
  const home = t.home(0, 7, 9, 1);
  const keys: number[] = [];
  for (let a = 0; keys.length < n; a++) if (t.home(a, 7, 9, 1) === home) keys.push(a);
  return keys;
}

test("a table whose keys all collide stays exact, bounded per probe, and sends the excess to its overflow", () => {
  const t = new WordTable<number>(12345);
  const keys = colliding(t, 200); // below the first growth (512 entries in 1024 slots): one cluster
  keys.forEach((a, i) => t.set(a, 7, 9, 1, i + 1));
  assert.equal(t.size, 200);
  assert.ok(t.overflowed >= 200 - MAX_PROBE, `overflowed ${t.overflowed}`);
  keys.forEach((a, i) => assert.equal(t.get(a, 7, 9, 1), i + 1));
  // The key found last, replaced: the next get sees the new value (get remembers its place, not its value).
  assert.equal(t.get(keys[5]!, 7, 9, 1), 6);
  t.set(keys[5]!, 7, 9, 1, 66);
  assert.equal(t.get(keys[5]!, 7, 9, 1), 66);
  assert.equal(t.get(keys[5]!, 7, 9, 2), undefined);
  t.set(keys[5]!, 7, 9, 1, 6);
  // Replacing a value, in the slots and in the overflow.
  t.set(keys[0]!, 7, 9, 1, -1);
  t.set(keys[199]!, 7, 9, 1, -2);
  assert.equal(t.get(keys[0]!, 7, 9, 1), -1);
  assert.equal(t.get(keys[199]!, 7, 9, 1), -2);
  assert.equal(t.size, 200);
  // A key absent, probing the same full cluster: found nowhere.
  const absent = colliding(t, 201)[200]!;
  assert.equal(t.get(absent, 7, 9, 1), undefined);
  // Another word differing is another key.
  assert.equal(t.get(keys[1]!, 7, 9, 2), undefined);
  assert.equal(t.get(keys[1]!, 8, 9, 1), undefined);
});

test("a table keeps every entry across growth, overflowed ones too, with u32 words past 2^31", () => {
  const t = new WordTable<number>(99);
  const clash = colliding(t, 100);
  clash.forEach((a, i) => t.set(a, 7, 9, 1, 1_000_000 + i));
  const n = 20_000;
  for (let i = 0; i < n; i++) t.set(0x8000_0000 + i, 0xffff_ffff - i, i, 3, i);
  assert.equal(t.size, n + 100);
  for (let i = 0; i < n; i++) assert.equal(t.get(0x8000_0000 + i, 0xffff_ffff - i, i, 3), i);
  // The same words given as signed int32 are the same key.
  assert.equal(t.get(0x8000_0000 | 0, 0xffff_ffff | 0, 0, 3), 0);
  clash.forEach((a, i) => assert.equal(t.get(a, 7, 9, 1), 1_000_000 + i));
  assert.equal(t.get(5, 5, 5, 5), undefined);
});

test("tables are seeded: the same keys land in other slots in another table", () => {
  const a = new WordTable<number>();
  const b = new WordTable<number>();
  let same = 0;
  for (let i = 0; i < 64; i++) if (a.home(i, 0, 0, 1) === b.home(i, 0, 0, 1)) same++;
  assert.ok(same < 16, `${same} of 64 keys in the same slot`);
});

test("processes: one identity per (host, pid, start), incarnations of a pid in order of appearance", () => {
  const t = new ProcessTable();
  const a = t.ensure("h1", 100, 5n, 1, 0, "a", undefined, 1000n);
  const b = t.ensure("h2", 100, 5n, 1, 0, "b", undefined, 1000n); // another host
  const c = t.ensureByHalves("h1", 100, 0, 1, 1n << 32n, 1, 0, "c", undefined, 1000n); // pid reused
  assert.notEqual(a, b);
  assert.notEqual(a, c);
  assert.equal(t.find("h1", 100, 5n), a);
  assert.equal(t.findByHalves("h1", 100, 5, 0), a);
  assert.equal(t.find("h2", 100, 5n), b);
  assert.equal(t.find("h1", 100, 1n << 32n), c);
  assert.equal(t.findByHalves("h1", 100, 0, 1), c);
  assert.equal(t.ensure("h1", 100, 1n << 32n, 9, 9, "x", undefined, 1000n), c);
  assert.equal(t.find("h1", 100, 6n), undefined);
  assert.equal(t.find("h1", 100, -1n), undefined);
  assert.equal(t.find("h1", 100, 1n << 64n), undefined);
  // The incarnation alive at a time (start times are boot ns + 1000).
  assert.equal(t.at("h1", 100, 1004n), a); // before both: the first seen
  assert.equal(t.at("h1", 100, 2000n), a);
  assert.equal(t.at("h1", 100, (1n << 32n) + 1000n), c);
  assert.equal(t.at("h2", 100, 1n << 40n), b);
  assert.equal(t.at("h1", 101, 0n), undefined);
  // Incarnations made after the first at() (which indexes pids): found too.
  const d = t.ensure("h1", 100, 1n << 40n, 1, 0, "d", undefined, 1000n);
  const e = t.ensure("h1", 101, 7n, 1, 0, "e", undefined, 1000n);
  assert.equal(t.at("h1", 100, (1n << 40n) + 1000n), d);
  assert.equal(t.at("h1", 100, (1n << 40n) + 999n), c);
  assert.equal(t.at("h1", 101, 0n), e);
});

/** A record's u64 field holding `x`. */
function field(x: bigint): U64Field {
  const v = new DataView(new ArrayBuffer(8));
  v.setBigUint64(0, x, true);
  return new U64Field().at(v, 0);
}

test("write flushes add up exactly past 2^53 and 2^64, as bigints from there on", () => {
  const MAX = 0xffff_ffff;
  assert.equal(addU64(0, 5, 0), 5);
  assert.equal(addU64(2 ** 53 - 2, 1, 0), 2 ** 53 - 1);
  assert.equal(addU64(2 ** 53 - 1, 1, 0), 2n ** 53n);
  assert.equal(addU64(1, 0, 0x200000), 2n ** 53n + 1n);
  assert.equal(addU64(2n ** 64n, MAX, MAX), 2n ** 65n - 1n);
  const p = new ProcessTable().ensure("h", 7, 1n, 1, 0, "w", undefined, 0n);
  const files = new FileTable();
  const dev = field(1n);
  const flushes: Array<[number, number, number, number]> = [
    [7, 0, 1, 0],
    [MAX, 0x1f_ffff, 1, 0], // 2^53 - 1 bytes
    [3, 0, MAX, MAX],
    [MAX, MAX, 2, 0], // 2^64 - 1 bytes
    [1, 0, 1, 0],
  ];
  let bytes = 0n;
  let calls = 0n;
  flushes.forEach(([bl, bh, cl, ch], i) => {
    files.flush(p, dev, field(2n), bl, bh, cl, ch, 100n - BigInt(i), 200n + BigInt(i % 2));
    bytes += (BigInt(bh) << 32n) | BigInt(bl);
    calls += (BigInt(ch) << 32n) | BigInt(cl);
  });
  // A file keyed past 2^53: its halves' key is rounded, the exact value tells it from its neighbour.
  files.flush(p, dev, field(2n ** 53n + 1n), 1, 0, 1, 0, 5n, 6n);
  files.flush(p, dev, field(2n ** 53n), 2, 0, 1, 0, 5n, 6n);
  const [f, big1, big0] = files.finish();
  assert.equal(f!.bytes, bytes);
  assert.equal(f!.writes, calls);
  assert.equal(f!.firstNs, 96n);
  assert.equal(f!.lastNs, 201n);
  assert.equal(big1!.ino, 2n ** 53n + 1n);
  assert.equal(big1!.bytes, 1n);
  assert.equal(big0!.ino, 2n ** 53n);
  assert.equal(big0!.bytes, 2n);
});

test("an event's time against its connection's start: the quick test agrees with the exact one", () => {
  const t = new ConnectionTable();
  const f: SockFacts = {
    sockLo: 0x1000,
    sockHi: 0xffff8880,
    family: "ipv4",
    protocol: "tcp",
    saddr: "10.0.0.1",
    sport: 40000,
    daddr: "192.0.2.1",
    dport: 443,
  };
  const offset = 1_700_000_000_123_456_789n;
  const start = 5_000_000_123n + offset;
  t.state("h", f, undefined, 7, 2, start); // observed: a start events may predate
  const c = t.bySock("h", f.sockLo, f.sockHi)!;
  assert.equal(c.startNs, start);
  const v = new DataView(new ArrayBuffer(8));
  const check = (boot: bigint): void => {
    v.setBigUint64(0, boot, true);
    assert.equal(t.isOlderAt(c, v, 0, offset, Number(offset)), t.isOlderUse(c, boot + offset), `boot ${boot}`);
  };
  for (const d of [-10_000_000n, -65537n, -70000n, -4096n, -1n, 0n, 1n, 4095n, 65536n, 70000n, 10n ** 12n])
    check(5_000_000_123n + d);
  v.setBigUint64(0, 5_000_000_122n, true); // 1 ns before its start
  assert.equal(t.isOlderAt(c, v, 0, offset, Number(offset)), true);
  v.setBigUint64(0, 5_000_000_123n, true);
  assert.equal(t.isOlderAt(c, v, 0, offset, Number(offset)), false);
  // Boot times past 2^53 (a hostile record): still exact.
  for (const boot of [2n ** 60n, 2n ** 64n - 1n, 2n ** 53n + 1n]) check(boot);
  // Its start moves (a later state change): the quick test follows.
  c.startNs = 2n ** 63n;
  for (const boot of [2n ** 63n - offset - 1n, 2n ** 63n - offset, 2n ** 63n - offset + 1n]) check(boot);
  // A connection whose start events cannot predate (a snapshot's): never older.
  c.origin = "snapshot";
  v.setBigUint64(0, 0n, true);
  assert.equal(t.isOlderAt(c, v, 0, offset, Number(offset)), false);
});
