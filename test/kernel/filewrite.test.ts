// The filewrite bundle on the real kernel: exact byte totals, one first-write event per file, file ops, self-exclusion.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BpfObject } from "../../src/libbpf/object.js";
import { attachMore } from "../../src/recorder/loader.js";
import { RingReader, forEachRecord } from "../../src/libbpf/ring.js";
import { decodeRecord, type DecodedRecord } from "../../src/replay/decode.js";
import { EV, LOSS, PATH_FLAG } from "../../src/events/layouts.js";
import { FILEWRITE_BUNDLE } from "../../src/bundles/filewrite.js";
import { mergeWriteTotals, type KeyTotals } from "../../src/events/writes.js";
import { bpfObject, loadedPrograms, sleep } from "../helpers/bpf.js";
import { applyVariants } from "../helpers/bundle.js";

const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const ST_PATH_OPEN_SEEN = PATH_FLAG.openSeen;

/** A python3 workload that waits for a line on stdin, runs `script`, and exits. */
function workload(script: string, args: string[], cwd?: string) {
  const child = spawn("python3", ["-I", "-B", "-c", `import sys\nsys.stdin.readline()\n${script}`, ...args], {
    stdio: ["pipe", "inherit", "inherit"],
    cwd,
  });
  const done = new Promise<void>((resolve, reject) =>
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`workload exited ${code}`)))),
  );
  return { pid: child.pid!, go: () => child.stdin!.write("go\n"), done };
}

/** IDs of every program these tests loaded: none may outlive its object (other sessions may load their own). */
const ourPrograms = new Set<number>();

interface Recorded {
  records: DecodedRecord[];
  totals: KeyTotals[];
  lost: { ringFull: bigint; mapFull: bigint; readFail: bigint };
}

/**
 * Loads the bundle, attaches, runs `body`, then drains the ring and dumps write_totals (as the
 * recorder's final snapshot does). `follow`: trace only this tgid (the followed map), to keep
 * other processes on the machine out of the numbers.
 */
async function record(
  opts: { follow?: number; selfTgid?: number; maxTotals?: number },
  body: (drain: () => void, snapshot: () => KeyTotals[]) => Promise<void>,
): Promise<Recorded & { mapOnly: KeyTotals[] }> {
  const obj = BpfObject.open(bpfObject("filewrite"));
  let ring: RingReader | undefined;
  try {
    obj.setRodata({
      cfg_self_tgid: opts.selfTgid ?? 0,
      cfg_follow: opts.follow !== undefined,
      ...FILEWRITE_BUNDLE.rodata!({}),
    });
    if (opts.maxTotals) obj.setMaxEntries("write_totals", opts.maxTotals);
    applyVariants(obj, FILEWRITE_BUNDLE);
    obj.load();
    if (opts.follow !== undefined) {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, opts.follow, true);
      obj.map("followed").update(key, Uint8Array.of(1));
    }
    obj.attachAll();
    attachMore(obj, FILEWRITE_BUNDLE);
    for (const st of obj.programStats()) ourPrograms.add(st.id);
    const r = new RingReader(obj.map(FILEWRITE_BUNDLE.ring));
    ring = r;
    const records: DecodedRecord[] = [];
    const drain = () => {
      const span = r.drain();
      forEachRecord(span.data, (off, len) => {
        const rec = decodeRecord(span.data, off, len);
        if (rec) records.push({ ...rec, tail: rec.tail.slice() });
      });
    };
    // As the recorder does: write_cache dumped first, then write_totals, merged by replay's rule.
    const snapshot = () => {
      const cache = obj.map("write_cache").entries();
      return mergeWriteTotals(obj.map("write_totals").entries(), cache);
    };
    await body(drain, snapshot);
    obj.detachAll();
    drain();
    const totals = snapshot();
    const mapOnly = mergeWriteTotals(obj.map("write_totals").entries(), []);
    const losses = obj.map("losses");
    const lost = {
      ringFull: losses.sumPerCpuU64(LOSS.ringFull),
      mapFull: losses.sumPerCpuU64(LOSS.mapFull),
      readFail: losses.sumPerCpuU64(LOSS.readFail),
    };
    return { records, totals, lost, mapOnly };
  } finally {
    ring?.close();
    obj.close();
  }
}

/** Runs a workload to completion while draining the ring. */
async function runWhileDraining(w: ReturnType<typeof workload>, drain: () => void): Promise<void> {
  let exited = false;
  w.done.then(
    () => (exited = true),
    () => (exited = true),
  );
  w.go();
  while (!exited) {
    drain();
    await sleep(20);
  }
  await w.done;
}

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

/** The FILE_OP record's paths: path, then path2 (rename). */
function opPaths(r: DecodedRecord): [string, string] {
  const n = r.path_len as number;
  return [text(r.tail.subarray(0, n)), text(r.tail.subarray(n, n + (r.path2_len as number)))];
}

test("1,234,567 bytes in 10,000 mixed write/pwrite64/writev calls: exact total, path, process, one first-write event", async () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "st-fw-")));
  const file = join(dir, "payload.bin");
  try {
    const w = workload(
      `import os
sizes = [1 + (i * 7919) % 246 for i in range(10000)]
d = 1234567 - sum(sizes)
i = 0
while d != 0:
    s = 1 if d > 0 else -1
    if sizes[i] + s >= 1:
        sizes[i] += s
        d -= s
    i = (i + 1) % len(sizes)
assert sum(sizes) == 1234567 and len(sizes) == 10000
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
off = 0
for i, n in enumerate(sizes):
    k = i % 3
    if k == 0:
        w = os.write(fd, b"a" * n)
    elif k == 1:
        w = os.pwrite(fd, b"b" * n, off)
        os.lseek(fd, n, os.SEEK_CUR)
    else:
        w = os.writev(fd, [b"c" * (n // 2), b"d" * (n - n // 2)])
    assert w == n
    off += n
os.close(fd)`,
      [file],
    );
    const rec = await record({ follow: w.pid }, (drain) => runWhileDraining(w, drain));
    const ino = BigInt(statSync(file).ino);
    assert.equal(statSync(file).size, 1_234_567);
    const mine = rec.totals.filter((t) => t.tgid === w.pid && t.ino === ino);
    assert.equal(mine.length, 1, "one aggregate for (process, file)");
    assert.equal(mine[0]!.bytes, 1_234_567n);
    assert.equal(mine[0]!.calls, 10_000n);
    assert.ok(mine[0]!.firstNs <= mine[0]!.lastNs);
    const opens = rec.records.filter((r) => r.type === EV.fileOpen && r.tgid === w.pid && r.ino === ino);
    assert.equal(opens.length, 1, "exactly one first-write event");
    const o = opens[0]!;
    assert.equal(text(o.tail), file);
    assert.equal(o.comm, "python3");
    assert.equal(o.start_ns, mine[0]!.startBootNs);
    assert.equal(o.dev, mine[0]!.dev);
    assert.equal((o.mode as number) & 0o170000, 0o100000, "a regular file");
    assert.ok((o.path_flags as number) & ST_PATH_OPEN_SEEN, "the open was seen");
    assert.equal((o.open_flags as number) & (O_CREAT | O_TRUNC | 3), O_CREAT | O_TRUNC | 1, "O_WRONLY|O_CREAT|O_TRUNC");
    assert.equal(rec.records.filter((r) => r.type === EV.fileWrite).length, 0, "nothing flushed: the map had room");
    assert.deepEqual(rec.lost, { ringFull: 0n, mapFull: 0n, readFail: 0n });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("500 files: 500 aggregates with exact totals, each with its path", async () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "st-fw-")));
  try {
    const w = workload(
      `import os
for i in range(500):
    fd = os.open(os.path.join(sys.argv[1], "f%03d" % i), os.O_WRONLY | os.O_CREAT, 0o600)
    for j in range(i % 5 + 1):
        os.write(fd, b"x" * (i * 13 + j + 1))
    os.close(fd)`,
      [dir],
    );
    const rec = await record({ follow: w.pid }, (drain) => runWhileDraining(w, drain));
    const byIno = new Map(rec.totals.filter((t) => t.tgid === w.pid).map((t) => [t.ino, t]));
    const opens = new Map(
      rec.records.filter((r) => r.type === EV.fileOpen && r.tgid === w.pid).map((r) => [r.ino as bigint, text(r.tail)]),
    );
    let found = 0;
    for (let i = 0; i < 500; i++) {
      const path = join(dir, `f${String(i).padStart(3, "0")}`);
      const ino = BigInt(statSync(path).ino);
      const t = byIno.get(ino);
      assert.ok(t, `${path} has an aggregate`);
      const calls = (i % 5) + 1;
      let bytes = 0;
      for (let j = 0; j < calls; j++) bytes += i * 13 + j + 1;
      assert.equal(t.bytes, BigInt(bytes), `${path} bytes`);
      assert.equal(t.calls, BigInt(calls), `${path} calls`);
      assert.equal(opens.get(ino), path);
      found++;
    }
    assert.equal(found, 500);
    assert.equal(byIno.size, 500, "no other regular file was written");
    assert.deepEqual(rec.lost, { ringFull: 0n, mapFull: 0n, readFail: 0n });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a full write_totals map flushes to the ring: totals stay exact and the overflow is counted", async () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "st-fw-")));
  try {
    const w = workload(
      `import os
for i in range(20):
    fd = os.open(os.path.join(sys.argv[1], "g%02d" % i), os.O_WRONLY | os.O_CREAT, 0o600)
    for j in range(3):
        os.write(fd, b"y" * (100 + i))
    os.close(fd)`,
      [dir],
    );
    const rec = await record({ follow: w.pid, maxTotals: 8 }, (drain) => runWhileDraining(w, drain));
    const flushes = rec.records.filter((r) => r.type === EV.fileWrite && r.tgid === w.pid);
    const opens = new Map(
      rec.records.filter((r) => r.type === EV.fileOpen && r.tgid === w.pid).map((r) => [r.ino as bigint, text(r.tail)]),
    );
    for (let i = 0; i < 20; i++) {
      const path = join(dir, `g${String(i).padStart(2, "0")}`);
      const ino = BigInt(statSync(path).ino);
      // Replay's rule: the map's (last snapshot) total plus every flushed record of the key.
      const inMap = rec.totals.filter((t) => t.tgid === w.pid && t.ino === ino).reduce((s, t) => s + t.bytes, 0n);
      const flushed = flushes.filter((r) => r.ino === ino).reduce((s, r) => s + (r.bytes as bigint), 0n);
      assert.equal(inMap + flushed, BigInt(3 * (100 + i)), `${path} total`);
      assert.equal(opens.get(ino), path, `${path} has its path even when it overflowed`);
    }
    assert.equal(rec.totals.filter((t) => t.tgid === w.pid).length, 8);
    assert.equal(rec.lost.mapFull, BigInt(flushes.length), "every flushed write is counted");
    assert.equal(flushes.length, 12 * 3);
    assert.equal(rec.lost.ringFull, 0n);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the per-CPU cache: 8 threads writing 40 files in turns stay exact; mid-run snapshots only grow", async () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "st-fw-")));
  try {
    // 40 files over 8 cache slots per CPU: most writes evict a slot; threads spread over the CPUs.
    const w = workload(
      `import os, threading
fds = [os.open(os.path.join(sys.argv[1], "h%02d" % i), os.O_WRONLY | os.O_CREAT, 0o600) for i in range(40)]
def run(t):
    for r in range(300):
        for i in range(40):
            if (r + i + t) % 3 == 0:
                os.write(fds[i], b"w" * (1 + (i + t) % 7))
            else:
                os.pwrite(fds[i], b"v" * 3, 0)
ts = [threading.Thread(target=run, args=(t,)) for t in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]`,
      [dir],
    );
    const seen = new Map<bigint, bigint>();
    let snapshots = 0;
    const rec = await record({ follow: w.pid }, async (drain, snapshot) => {
      let exited = false;
      w.done.then(
        () => (exited = true),
        () => (exited = true),
      );
      w.go();
      while (!exited) {
        drain();
        for (const t of snapshot().filter((x) => x.tgid === w.pid)) {
          assert.ok(t.calls >= (seen.get(t.ino) ?? 0n), "a later snapshot never shows fewer calls");
          seen.set(t.ino, t.calls);
        }
        snapshots++;
        await sleep(5);
      }
      await w.done;
    });
    assert.ok(snapshots > 0);
    for (let i = 0; i < 40; i++) {
      const ino = BigInt(statSync(join(dir, `h${String(i).padStart(2, "0")}`)).ino);
      let bytes = 0n;
      let calls = 0n;
      for (let t = 0; t < 8; t++)
        for (let r = 0; r < 300; r++) {
          bytes += (r + i + t) % 3 === 0 ? BigInt(1 + ((i + t) % 7)) : 3n;
          calls++;
        }
      const mine = rec.totals.filter((x) => x.tgid === w.pid && x.ino === ino);
      assert.equal(mine.length, 1);
      assert.equal(mine[0]!.bytes, bytes, `h${i} bytes`);
      assert.equal(mine[0]!.calls, calls, `h${i} calls`);
      assert.ok(mine[0]!.firstNs > 0n && mine[0]!.firstNs <= mine[0]!.lastNs);
      assert.ok((seen.get(ino) ?? 0n) <= calls);
      const inMap = rec.mapOnly.find((x) => x.tgid === w.pid && x.ino === ino);
      assert.ok(inMap && inMap.calls <= calls, "write_totals alone is a lower bound");
    }
    assert.equal(
      rec.records.filter((r) => r.type === EV.fileOpen && r.tgid === w.pid).length,
      40,
      "one first-write event per file",
    );
    assert.deepEqual(rec.lost, { ringFull: 0n, mapFull: 0n, readFail: 0n });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("unlink, rename (both paths) and chmod (the mode) are captured with the process, relative paths made absolute", async () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "st-fw-")));
  try {
    for (const n of ["a", "b", "c", "d", "e"]) writeFileSync(join(dir, n), n);
    const w = workload(
      `import os
os.unlink("a")                                   # unlink, relative to cwd
os.rename("b", os.path.join(sys.argv[1], "b2"))  # rename: relative → absolute
dfd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
os.rename("c", "c2", src_dir_fd=dfd, dst_dir_fd=dfd)  # renameat via dirfd
os.chmod(os.path.join(sys.argv[1], "d"), 0o640)
os.chmod("e", 0o600, dir_fd=dfd)
fd = os.open("e", os.O_RDONLY)
os.fchmod(fd, 0o604)
os.unlink("e", dir_fd=dfd)
try:
    os.unlink("missing")
except FileNotFoundError:
    pass`,
      [dir],
      dir,
    );
    const rec = await record({ follow: w.pid }, (drain) => runWhileDraining(w, drain));
    const ops = rec.records.filter(
      (r) => r.tgid === w.pid && (r.type === EV.unlink || r.type === EV.rename || r.type === EV.chmod),
    );
    for (const r of ops) assert.equal(r.comm, "python3");
    const seen = ops.map((r) => [r.type, r.ret, (r.mode as number) & 0o7777, ...opPaths(r)]);
    assert.deepEqual(seen, [
      [EV.unlink, 0, 0, join(dir, "a"), ""],
      [EV.rename, 0, 0, join(dir, "b"), join(dir, "b2")],
      [EV.rename, 0, 0, join(dir, "c"), join(dir, "c2")],
      [EV.chmod, 0, 0o640, join(dir, "d"), ""],
      [EV.chmod, 0, 0o600, join(dir, "e"), ""],
      [EV.chmod, 0, 0o604, join(dir, "e"), ""],
      [EV.unlink, 0, 0, join(dir, "e"), ""],
      [EV.unlink, -2, 0, join(dir, "missing"), ""],
    ]);
    assert.deepEqual(rec.lost, { ringFull: 0n, mapFull: 0n, readFail: 0n });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// One raw sys_exit program tells the syscalls apart by number (bpf/filewrite.bpf.c, on_file_op): each
// number is made here through syscall(2) itself, so libc cannot route it through another one.
const RAW_SYSCALLS_PY = `import ctypes, os, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
AT_FDCWD = -100
def s(nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) if isinstance(a, int) else ctypes.c_char_p(a) for a in args])
    if r < 0:
        raise OSError(ctypes.get_errno(), "syscall %d" % nr)
    return r
WR, CREAT, EXCL, TRUNC, APPEND = os.O_WRONLY, os.O_CREAT, os.O_EXCL, os.O_TRUNC, os.O_APPEND
fds = [s(85, b"f1", 0o644),                                  # creat
       s(2, b"f2", WR | CREAT | APPEND, 0o644),                # open
       s(257, AT_FDCWD, b"f3", WR | CREAT | EXCL, 0o644)]      # openat
how = ctypes.create_string_buffer(struct.pack("QQQ", WR | CREAT | TRUNC, 0o644, 0), 24)
fds.append(libc.syscall(ctypes.c_long(437), ctypes.c_long(AT_FDCWD), ctypes.c_char_p(b"f4"), how, ctypes.c_long(24)))  # openat2
for i, fd in enumerate(fds):
    assert fd >= 0
    os.write(fd, b"x" * (i + 1))
s(316, AT_FDCWD, b"f1", AT_FDCWD, b"f1b", 1)                 # renameat2, RENAME_NOREPLACE
s(82, b"f2", b"f2b")                                          # rename
s(264, AT_FDCWD, b"f3", AT_FDCWD, b"f3b")                     # renameat
s(90, b"f4", 0o640)                                           # chmod
s(268, AT_FDCWD, b"f4", 0o600)                                # fchmodat
s(452, AT_FDCWD, b"f4", 0o604, 0)                             # fchmodat2
s(91, fds[3], 0o644)                                          # fchmod
s(87, b"f1b")                                                 # unlink
s(263, AT_FDCWD, b"f2b", 0)                                   # unlinkat
os.mkdir("d")
s(263, AT_FDCWD, b"d", 0x200)                                 # unlinkat, AT_REMOVEDIR
`;

test("every syscall number of the dispatch: creat/open/openat/openat2 flags, renameat2/rename/renameat, chmod/fchmodat/fchmodat2/fchmod, unlink/unlinkat", async () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "st-fw-")));
  try {
    const w = workload(RAW_SYSCALLS_PY, [], dir);
    const rec = await record({ follow: w.pid }, (drain) => runWhileDraining(w, drain));
    const ops = rec.records.filter(
      (r) => r.tgid === w.pid && (r.type === EV.unlink || r.type === EV.rename || r.type === EV.chmod),
    );
    const f = (n: string) => join(dir, n);
    assert.deepEqual(
      ops.map((r) => [r.type, r.ret, (r.mode as number) & 0o7777, ...opPaths(r)]),
      [
        [EV.rename, 0, 1, f("f1"), f("f1b")],
        [EV.rename, 0, 0, f("f2"), f("f2b")],
        [EV.rename, 0, 0, f("f3"), f("f3b")],
        [EV.chmod, 0, 0o640, f("f4"), ""],
        [EV.chmod, 0, 0o600, f("f4"), ""],
        [EV.chmod, 0, 0o604, f("f4"), ""],
        [EV.chmod, 0, 0o644, f("f4"), ""],
        [EV.unlink, 0, 0, f("f1b"), ""],
        [EV.unlink, 0, 0, f("f2b"), ""],
        [EV.unlink, 0, 0x200, f("d"), ""],
      ],
    );
    // Each open was seen at its exit, with the flags the file no longer keeps (O_CREAT, O_EXCL, O_TRUNC).
    const O_EXCL = 0o200,
      O_APPEND = 0o2000;
    const opens = new Map(
      rec.records.filter((r) => r.type === EV.fileOpen && r.tgid === w.pid).map((r) => [text(r.tail), r]),
    );
    const want: Array<[string, number]> = [
      ["f1", O_CREAT | O_TRUNC | 1],
      ["f2", O_CREAT | O_APPEND | 1],
      ["f3", O_CREAT | O_EXCL | 1],
      ["f4", O_CREAT | O_TRUNC | 1],
    ];
    for (const [name, flags] of want) {
      const o = opens.get(f(name));
      assert.ok(o, `first-write event of ${name}`);
      assert.ok((o.path_flags as number) & ST_PATH_OPEN_SEEN, `${name}: the open was seen`);
      assert.equal((o.open_flags as number) & (O_CREAT | O_EXCL | O_TRUNC | O_APPEND | 3), flags, name);
    }
    assert.deepEqual(
      rec.totals
        .filter((t) => t.tgid === w.pid)
        .map((t) => t.bytes)
        .sort(),
      [1n, 2n, 3n, 4n],
    );
    assert.deepEqual(rec.lost, { ringFull: 0n, mapFull: 0n, readFail: 0n });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the recorder's own writes (cfg_self_tgid) never appear, while another process's do", async () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "st-fw-")));
  const own = join(dir, "session.seal");
  const other = join(dir, "other.bin");
  try {
    writeFileSync(own, "");
    const ownIno = BigInt(statSync(own).ino);
    const w = workload(`open(sys.argv[1], "wb").write(b"z" * 4096)`, [other]);
    const rec = await record({ selfTgid: process.pid }, async (drain) => {
      // The test process plays the recorder: it appends to its "session file" for ~2 s.
      const until = Date.now() + 2000;
      let chunks = 0;
      w.go();
      while (Date.now() < until) {
        writeFileSync(own, Buffer.alloc(65536, 1), { flag: "a" });
        chunks++;
        drain();
        await sleep(10);
      }
      await w.done;
      assert.ok(chunks > 50);
    });
    assert.equal(rec.totals.filter((t) => t.tgid === process.pid || t.ino === ownIno).length, 0);
    assert.equal(rec.records.filter((r) => r.tgid === process.pid || r.ino === ownIno).length, 0);
    const otherIno = BigInt(statSync(other).ino);
    const t = rec.totals.find((x) => x.tgid === w.pid && x.ino === otherIno);
    assert.equal(t?.bytes, 4096n, "the control file written by another process is recorded");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("no program these tests loaded outlives its object", async () => {
  assert.ok(ourPrograms.size > 0);
  // Detached at once when the object closes; the kernel frees a raw syscall tracepoint's program after
  // an RCU grace period, so its id can linger for a moment.
  const left = () => {
    const loaded = loadedPrograms();
    return [...ourPrograms].filter((id) => loaded.has(id));
  };
  for (let i = 0; i < 50 && left().length; i++) await sleep(100);
  assert.deepEqual(left(), []);
});
