// A process's file tallies as they grow (held as one tally, then a list, then a Map by inode), totals landing
// on the right file at every size, and unlink/rename/chmod lists: a file without ops shares one empty list,
// and an op never reaches a file it does not concern.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { EV, WRITE_KEY, WRITE_VAL } from "../../src/events/layouts.js";
import { slotLayout } from "../../src/events/writes.js";
import { loadSessions } from "../../src/replay/load.js";
import { tempDir, testKey, writeSession } from "./session-helpers.js";
import * as E from "./replay-encode.js";

const S = 1_000_000_000n;
const init: E.Ident = { tgid: 1, start: 1n, ppid: 0, comm: "init" };
const writer: E.Ident = { tgid: 400, start: 5n * S, ppid: 1, comm: "writer" };
const other: E.Ident = { tgid: 401, start: 6n * S, ppid: 1, comm: "other" };
/** Past files.ts's SCAN_MAX (8): the writer's tallies move from one, to a list, to a Map by inode. */
const FILES = 12;

function row(id: E.Ident, dev: bigint, ino: bigint, bytes: bigint): unknown {
  return {
    k: "maps",
    b: "filewrite",
    m: "write_totals",
    t: 20n * S,
    keySize: 32,
    valueSize: 32,
    n: 1,
    d: E.writeRow(id, dev, ino, bytes, 1n, 10n * S, 11n * S),
  };
}

test("file tallies at every size keep their totals; ops reach only their files", async () => {
  const { dir, cleanup } = tempDir("replay-file-index");
  try {
    const key = await testKey();
    const path = join(dir, "s.sealed");
    const opens: Uint8Array[] = [];
    // Same inode numbers on two devices: a match needs both.
    for (let i = 1; i <= FILES; i++) opens.push(E.fileOpen(10n * S + BigInt(i), writer, 8n, BigInt(i), `/d/f${i}`));
    opens.push(E.fileOpen(10n * S + 100n, writer, 9n, 1n, "/e/f1"));
    opens.push(E.fileOpen(10n * S + 101n, other, 8n, 1n, "/d/f1"));
    const records: unknown[] = [
      E.ring("exec", 9n * S, [E.fork(5n * S, init, 400, 5n * S), E.fork(6n * S, init, 401, 6n * S)]),
      E.ring("filewrite", 12n * S, [
        ...opens,
        E.fileOp(EV.unlink, 12n * S, writer, "/d/f1"),
        E.fileOp(EV.chmod, 12n * S + 1n, other, "/d/f2", { mode: 0o700 }),
        E.fileOp(EV.rename, 12n * S + 2n, writer, "/d/f3", { path2: "/d/g3" }),
      ]),
      // Totals for every file, in reverse order of opening: each must find its own tally.
      ...Array.from({ length: FILES }, (_, k) => row(writer, 8n, BigInt(FILES - k), BigInt(FILES - k) * 100n)),
      row(writer, 9n, 1n, 7n),
      row(other, 8n, 1n, 5n),
    ];
    await writeSession(path, [records], { recipients: [key.recipient], metadata: E.metadata() });
    const r = (await loadSessions([path], [key.identity])).replay;
    const mine = r.files.filter((f) => f.pid === 400);
    assert.equal(mine.length, FILES + 1); // + /e/f1 (the chmod of /d/f2 by `other` makes other's entry)
    for (let i = 1; i <= FILES; i++) {
      const f = mine.find((x) => x.dev === 8n && x.ino === BigInt(i))!;
      assert.equal(f.path, `/d/f${i}`);
      assert.equal(f.bytes, BigInt(i) * 100n, `/d/f${i}`);
    }
    const e1 = mine.find((x) => x.dev === 9n)!;
    assert.equal(e1.bytes, 7n);
    assert.equal(e1.path, "/e/f1");
    assert.deepEqual(e1.ops, []);
    assert.equal(e1.deleted, false);
    // The unlink of /d/f1 by the writer reaches the other writer of that path, not /e/f1.
    const f1 = mine.find((x) => x.dev === 8n && x.ino === 1n)!;
    const o1 = r.files.find((x) => x.pid === 401 && x.path === "/d/f1")!;
    assert.equal(o1.bytes, 5n);
    for (const f of [f1, o1]) {
      assert.equal(f.deleted, true);
      assert.deepEqual(
        f.ops.map((o) => o.kind),
        ["delete"],
      );
    }
    // The chmod by `other` is listed on other's own entry for the path, not on the writer's.
    const f2 = mine.find((x) => x.dev === 8n && x.ino === 2n)!;
    assert.deepEqual(f2.ops, []);
    const o2 = r.files.find((x) => x.pid === 401 && x.path === "/d/f2")!;
    assert.deepEqual(
      o2.ops.map((o) => [o.kind, o.mode]),
      [["chmod", 0o700]],
    );
    const f3 = mine.find((x) => x.dev === 8n && x.ino === 3n)!;
    assert.equal(f3.renamedTo, "/d/g3");
    assert.deepEqual(
      f3.ops.map((o) => o.kind),
      ["rename"],
    );
    // Files without ops: empty lists, and none picked up another file's op.
    for (const f of mine.filter((x) => ![f1, f3].includes(x))) assert.equal(f.ops.length, 0, f.path);
  } finally {
    cleanup();
  }
});

test("a write_cache snapshot in one frame merges with the write_totals of the next (the loader reuses a frame's buffer)", async () => {
  const { dir, cleanup } = tempDir("replay-write-cache");
  try {
    const key = await testKey();
    const path = join(dir, "s.sealed");
    // One write_cache row: a u32 index, then one CPU's slot (head, key, value, jiffies, tail) with 5 calls.
    const slot = slotLayout(WRITE_KEY.size, WRITE_VAL.size);
    const slotStride = Math.ceil(slot.size / 8) * 8;
    const cache = new Uint8Array(4 + slotStride);
    const cv = new DataView(cache.buffer);
    const totals = E.writeRow(writer, 8n, 1n, 500n, 5n, 10n * S, 12n * S);
    cv.setBigUint64(4 + slot.head, 7n, true);
    cache.set(totals.subarray(0, WRITE_KEY.size), 4 + slot.key);
    cache.set(totals.subarray(WRITE_KEY.size), 4 + slot.val);
    cv.setBigUint64(4 + slot.tail, 7n, true);
    const maps = (m: string, keySize: number, valueSize: number, d: Uint8Array) => ({
      k: "maps",
      b: "filewrite",
      m,
      t: 20n * S,
      keySize,
      valueSize,
      n: 1,
      d,
    });
    const filler = { k: "ring", b: "exec", t: 20n * S, n: 0, d: new Uint8Array(4096).fill(0xa5) };
    await writeSession(
      path,
      [
        [E.ring("exec", 10n * S, [E.fileOpen(10n * S, writer, 8n, 1n, "/d/f1")])],
        [maps("write_cache", 4, slotStride, cache)],
        // The next frame overwrites the buffer the cache row was decoded into.
        [filler, maps("write_totals", 32, 32, E.writeRow(writer, 8n, 1n, 200n, 2n, 10n * S, 11n * S))],
      ],
      { recipients: [key.recipient], metadata: E.metadata() },
    );
    const { replay } = await loadSessions([path], [key.identity]);
    const f = replay.files.find((x) => x.path === "/d/f1");
    assert.equal(f?.bytes, 500n); // the cache's newer reading (5 calls) over the totals' (2)
    assert.equal(f?.writes, 5n);
  } finally {
    cleanup();
  }
});
