// Executable identity: exec records' file fields joined with `exe-hash` records in replay (JSON, text, the
// --sha256 filter, hostile hash records), and the recorder's hasher on real files (via /proc/PID/exe,
// tooLarge, gone, a full queue counted as a loss, one record per identity).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, realpathSync, statSync } from "node:fs";
import { HDR } from "../../src/events/layouts.js";
import { parseSessionMetadata } from "../../src/replay/metadata.js";
import { Reconstructor } from "../../src/replay/reconstruct.js";
import { applyFilter } from "../../src/replay/filter.js";
import { replayDocument } from "../../src/replay/document.js";
import { treeLines } from "../../src/replay/text/tree.js";
import { terminalText } from "../../src/replay/text/style.js";
import { ExeHasher, kernelDev, type ExeHashRecord } from "../../src/recorder/hasher.js";
import * as E from "./replay-encode.js";

const S = 1_000_000_000n;
const HASH = "ab".repeat(32);

/** The kernel's dev_t of a stat(2) st_dev (the inverse of kernelDev). */
function statToKernelDev(dev: bigint): bigint {
  const major = (dev >> 8n) & 0xfffn;
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xfff00n);
  return (major << 20n) | minor;
}

test("kernelDev and its inverse agree for small and large device numbers", () => {
  for (const [major, minor] of [
    [8n, 1n],
    [254n, 0n],
    [0n, 28n],
    [259n, 0x12345n],
  ] as const) {
    const k = (major << 20n) | minor;
    assert.equal(statToKernelDev(kernelDev(k)), k);
  }
});

function replayOf(records: unknown[]) {
  const r = new Reconstructor();
  r.beginSession("x.sealed", "00", parseSessionMetadata(E.metadata("h", "b0b0b0b0-0000"), HDR.size));
  r.record({ k: "attach", t: 1n * S, startT: 1n * S });
  for (const x of records) r.record(x);
  r.endSession({ status: "SEALED", reason: "", framesGood: 1 }, {});
  return { replay: r.finish(), skips: r.skips };
}

const file = (ino: bigint, flags: number, ctime = 77n) => ({
  exe_dev: (8n << 20n) | 1n,
  exe_ino: ino,
  exe_size: 4096n,
  exe_mtime_ns: 66n,
  exe_ctime_ns: ctime,
  exe_nlink: flags ? 0 : 1,
  exe_mode: 0o100755,
  exe_flags: flags,
});

test("replay: an exec's hash, inode and flags in JSON and text; no hash says why; --sha256 selects by prefix", () => {
  const a = { tgid: 100, start: 5n * S, comm: "payload" };
  const b = { tgid: 101, start: 6n * S, comm: "tool" };
  const c = { tgid: 102, start: 7n * S, comm: "ld" };
  const { replay } = replayOf([
    E.ring("exec", 2n * S, [
      E.exec(2n * S, a, "/proc/self/fd/3", ["payload"], 0, file(11n, 0x2)),
      E.exec(2n * S, b, "/tmp/tool", ["tool"], 0, file(12n, 0x1 | 0x4)),
      E.exec(2n * S, c, "/lib64/ld-linux-x86-64.so.2", ["ld", "/mnt/noexec/x"], 0, file(13n, 0)),
    ]),
    { k: "exe-hash", t: 3n * S, dev: (8n << 20n) | 1n, ino: 11n, ctimeNs: 77n, size: 4096n, sha256: HASH, via: "proc" },
    { k: "exe-hash", t: 3n * S, dev: (8n << 20n) | 1n, ino: 12n, ctimeNs: 77n, size: 4096n, why: "gone" },
  ]);
  const doc = replayDocument(replay) as unknown as {
    processes: Array<{ pid: number; execs: Array<Record<string, unknown> & { exe: Record<string, unknown> }> }>;
  };
  const ex = (pid: number) => doc.processes.find((p) => p.pid === pid)!.execs[0]!;
  assert.deepEqual(
    [ex(100).sha256, ex(100).inode, ex(100).deleted, ex(100).fileless, ex(100).exe.hashedVia],
    [HASH, "11", false, true, "proc"],
  );
  assert.deepEqual(
    [ex(101).sha256, ex(101).deleted, ex(101).exe.worldWritableDir, ex(101).exe.unhashed],
    [null, true, true, "gone"],
  );
  assert.equal(ex(102).exe.noexecBypass, true);
  assert.equal(ex(101).exe.dev, "8:1");
  assert.equal(ex(101).exe.mode, "100755");
  const text = terminalText(treeLines(replay, true), false);
  assert.match(text, new RegExp(`exec  \\[${HASH.slice(0, 12)}, fileless\\] payload`));
  assert.match(text, /\[no hash \(gone\), deleted, world-writable dir\] tool/);
  assert.deepEqual(
    applyFilter(replay, { sha256s: [HASH.slice(0, 6)] }).processes.map((p) => p.pid),
    [100],
  );
  assert.deepEqual(applyFilter(replay, { sha256s: ["cd"] }).processes, []);
});

test("replay: hostile exe-hash records are refused or cleaned; the first answer for an identity stands", () => {
  const a = { tgid: 100, start: 5n * S };
  const { replay, skips } = replayOf([
    E.ring("exec", 2n * S, [E.exec(2n * S, a, "/bin/x", ["x"], 0, file(11n, 0))]),
    { k: "exe-hash", t: 3n * S, dev: -1, ino: 11n, ctimeNs: 77n, sha256: HASH },
    { k: "exe-hash", t: 3n * S, dev: (8n << 20n) | 1n, ino: 11n, ctimeNs: 77n, sha256: "\x1b[31mZZ" },
    { k: "exe-hash", t: 3n * S, dev: (8n << 20n) | 1n, ino: 11n, ctimeNs: 77n, why: "\x1b]0;owned\x07" },
    { k: "exe-hash", t: 3n * S, dev: (8n << 20n) | 1n, ino: 11n, ctimeNs: 77n, sha256: HASH },
  ]);
  const e = replay.processes.find((p) => p.pid === 100)!.execs[0]!;
  assert.equal(e.exe?.unhashed, "other", "an unknown why is shown as 'other', never its bytes");
  assert.equal(e.exe?.sha256, undefined);
  const skipped = skips.all.find((k) => k.kind === "exe-hash")?.count ?? 0;
  assert.equal(skipped, 2, "the record with a bad dev and the one with nothing usable are skipped");
});

test("hasher: via /proc/PID/exe, one record per identity, tooLarge, gone, and a full queue counted", async () => {
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  await new Promise((r) => child.once("spawn", r));
  try {
    const exe = realpathSync(`/proc/${child.pid}/exe`);
    const st = statSync(exe, { bigint: true });
    const ident = { tgid: child.pid!, start: 1n };
    const fields = {
      exe_dev: statToKernelDev(st.dev),
      exe_ino: st.ino,
      exe_size: st.size,
      exe_mtime_ns: st.mtimeNs,
      exe_ctime_ns: st.ctimeNs,
      exe_nlink: Number(st.nlink),
      exe_mode: Number(st.mode),
      exe_flags: 0,
    };
    const span = E.frame([
      E.exec(1n, ident, exe, ["sleep"], 0, fields),
      E.exec(2n, ident, exe, ["sleep"], 0, fields), // the same identity: no second record
      E.exec(3n, { tgid: 0x3ffffff0, start: 1n }, "/nonexistent/x", ["x"], 0, { ...fields, exe_ino: 1n }),
    ]);
    const out: ExeHashRecord[] = [];
    const h = new ExeHasher({ onRecord: (r) => out.push(r), now: () => 9n });
    h.scan(span);
    await h.finish(20_000);
    const mine = out.find((r) => r.ino === st.ino)!;
    assert.equal(mine.sha256, createHash("sha256").update(readFileSync(exe)).digest("hex"));
    assert.equal(mine.via, "proc");
    assert.equal(out.filter((r) => r.ino === st.ino).length, 1);
    assert.equal(out.find((r) => r.ino === 1n)?.why, "gone");

    const big: ExeHashRecord[] = [];
    const small = new ExeHasher({ maxBytes: 16n, onRecord: (r) => big.push(r), now: () => 9n });
    small.scan(span);
    await small.finish(1000);
    assert.equal(big.find((r) => r.ino === st.ino)?.tooLarge, true);

    const full: ExeHashRecord[] = [];
    const none = new ExeHasher({ queueMax: 0, onRecord: (r) => full.push(r), now: () => 9n });
    none.scan(span);
    await none.finish(1000);
    assert.equal(full.find((r) => r.ino === st.ino)?.why, "queue-full");
    assert.equal(full.find((r) => r.ino === 1n)?.why, "queue-full", "the queue is checked before any open");
    assert.equal(none.queueFull, 2);
    assert.deepEqual(none.lossRecord(5n), { k: "loss", b: "hasher", t: 5n, queueFull: 2 });
  } finally {
    child.kill("SIGKILL");
  }
});
