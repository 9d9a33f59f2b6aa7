// The exec bundle on the real kernel: parentage and exec chains, argv limits, exit codes, pid reuse,
// filters, and exact loss accounting under an exec storm.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { EXEC_BUNDLE } from "../../src/bundles/exec.js";
import { EV } from "../../src/events/layouts.js";
import { type DecodedRecord } from "../../src/replay/decode.js";
import { argList } from "../../src/replay/strings.js";
import { capture, startSnapshot, tailText } from "../helpers/bundle.js";
import { paused } from "../helpers/proc.js";
import { sleep } from "../helpers/bpf.js";

const ofType = (rs: DecodedRecord[], t: number) => rs.filter((r) => r.type === t);
const filename = (r: DecodedRecord) => tailText(r, 0, r.filename_len as number);
const argv = (r: DecodedRecord) =>
  argList(r.tail, r.filename_len as number, (r.filename_len as number) + (r.argv_len as number));
const cwd = (r: DecodedRecord) => tailText(r, (r.filename_len as number) + (r.argv_len as number), r.cwd_len as number);

test("sh -c 'A; B; exec C': parentage, exec order and the in-place exec", async () => {
  const p = paused("/bin/sh", ["-c", "/bin/echo A1 a2; /bin/echo B1 b2; exec /bin/echo C1 c2"]);
  const cap = await capture(EXEC_BUNDLE, async () => void (await p.run()), {
    filters: { pid: p.pid },
    follow: [p.pid],
  });
  const execs = ofType(cap.records, EV.exec);
  assert.deepEqual(execs.map(filename), ["/bin/sh", "/bin/echo", "/bin/echo", "/bin/echo"]);
  assert.deepEqual(execs.map(argv), [
    ["/bin/sh", "-c", "/bin/echo A1 a2; /bin/echo B1 b2; exec /bin/echo C1 c2"],
    ["/bin/echo", "A1", "a2"],
    ["/bin/echo", "B1", "b2"],
    ["/bin/echo", "C1", "c2"],
  ]);
  const [shExec, aExec, bExec, cExec] = execs as [DecodedRecord, DecodedRecord, DecodedRecord, DecodedRecord];
  // The in-place exec keeps the process identity: same tgid, same start time.
  assert.equal(cExec.tgid, p.pid);
  assert.equal(cExec.start_ns, shExec.start_ns);
  // A and B are children of the shell, seen as forks from it.
  const forks = ofType(cap.records, EV.fork);
  assert.deepEqual(
    forks.map((f) => f.tgid),
    [p.pid, p.pid],
  );
  assert.deepEqual(
    forks.map((f) => f.child_tgid),
    [aExec.tgid, bExec.tgid],
  );
  assert.deepEqual([aExec.ppid, bExec.ppid], [p.pid, p.pid]);
  assert.equal(forks[0]!.child_start_ns, aExec.start_ns);
  assert.equal(cwd(aExec), process.cwd());
  // Every process exits once, the shell last, with code 0.
  const exits = ofType(cap.records, EV.exit);
  assert.deepEqual(exits.map((e) => e.tgid).sort(), [aExec.tgid, bExec.tgid, p.pid].sort());
  assert.ok(exits.every((e) => e.exit_code === 0));
  assert.equal(cap.ringFull, 0n);
});

test("a 4 KiB argument is captured whole; 200 arguments are all captured; an oversized argv is flagged with its true length", async () => {
  const big = "x".repeat(4096);
  const many = Array.from({ length: 200 }, (_, i) => `arg-${i}`);
  const huge = "y".repeat(20000);
  const p1 = paused("/bin/true", [big]);
  const p2 = paused("/bin/true", many);
  const p3 = paused("/bin/true", [huge]);
  const cap = await capture(EXEC_BUNDLE, async () => void (await Promise.all([p1.run(), p2.run(), p3.run()])), {
    filters: { pid: p1.pid },
    follow: [p1.pid, p2.pid, p3.pid],
  });
  const byPid = (pid: number) => ofType(cap.records, EV.exec).find((r) => r.tgid === pid)!;
  const e1 = byPid(p1.pid);
  assert.deepEqual(argv(e1), ["/bin/true", big]);
  assert.equal(e1.trunc, 0);
  assert.equal(e1.argc, 2);
  const e2 = byPid(p2.pid);
  assert.deepEqual(argv(e2), ["/bin/true", ...many]);
  assert.equal(e2.argc, 201);
  const e3 = byPid(p3.pid);
  assert.equal((e3.trunc as number) & 1, 1, "argv truncation flag");
  assert.equal(e3.args_len, "/bin/true".length + 1 + huge.length + 1, "true argument length");
  assert.equal(e3.argc, 2);
  assert.ok((e3.argv_len as number) > 4096);
});

test("2,000 short-lived processes: 2,000 fork/exec/exit triples with their exit codes, zero loss", async () => {
  const script =
    "import os\nfor i in range(2000):\n    pid = os.posix_spawn('/bin/sh', ['/bin/sh', '-c', 'exit %d' % (i % 256)], {})\n    os.waitpid(pid, 0)\n";
  const p = paused("/usr/bin/python3", ["-c", script]);
  const cap = await capture(EXEC_BUNDLE, async () => void (await p.run()), {
    filters: { pid: p.pid },
    follow: [p.pid],
  });
  const forks = ofType(cap.records, EV.fork).filter((f) => f.tgid === p.pid);
  const children = new Set(forks.map((f) => f.child_tgid as number));
  assert.equal(forks.length, 2000);
  const execs = ofType(cap.records, EV.exec).filter((r) => children.has(r.tgid));
  assert.equal(execs.length, 2000);
  assert.ok(
    execs.every((e) => e.comm === "sh" && e.pid === e.tgid && e.ppid === p.pid),
    "tgid, comm and parent of every exec",
  );
  assert.equal(new Set(execs.map((e) => e.tgid)).size, 2000);
  const exits = ofType(cap.records, EV.exit).filter((r) => children.has(r.tgid));
  assert.equal(exits.length, 2000);
  // Exit codes in wait(2) encoding, in spawn order.
  const startOf = new Map(forks.map((f) => [f.child_tgid as number, f.child_start_ns]));
  const order = [...exits].sort((a, b) => (startOf.get(a.tgid)! < startOf.get(b.tgid)! ? -1 : 1));
  order.forEach((e, i) => assert.equal(e.exit_code, (i % 256) << 8, `exit code of child ${i}`));
  assert.equal(cap.ringFull, 0n);
  assert.equal(cap.mapFull, 0n);
});

test("two processes given the same pid have distinct identities (pid reuse forced through ns_last_pid)", async () => {
  // Writing ns_last_pid makes the next fork take pid N; doing it twice gives two processes pid N.
  const script = [
    "import os, sys, time",
    "def spawn_at(n):",
    "    for _ in range(200):",
    "        with open('/proc/sys/kernel/ns_last_pid', 'w') as f: f.write(str(n - 1))",
    "        pid = os.fork()",
    "        if pid == 0:",
    "            os.execv('/bin/true', ['/bin/true', 'reuse'])",
    "        os.waitpid(pid, 0)",
    "        if pid == n: return pid",
    "    sys.exit(3)",
    "import random",
    "pid_max = int(open('/proc/sys/kernel/pid_max').read())",
    "n = next(c for c in (random.randrange(1000, pid_max - 1) for _ in range(1000)) if not os.path.exists('/proc/%d' % c))",
    "spawn_at(n); time.sleep(0.05); spawn_at(n)",
    "print(n)",
  ].join("\n");
  const p = paused("/usr/bin/python3", ["-c", script]);
  let out = "";
  p.child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  let code = -1;
  const cap = await capture(EXEC_BUNDLE, async () => void (code = await p.run()), {
    filters: { pid: p.pid },
    follow: [p.pid],
  });
  assert.equal(code, 0, "could not force pid reuse");
  const n = Number(out.trim());
  const execs = ofType(cap.records, EV.exec).filter((r) => r.tgid === n);
  assert.equal(execs.length, 2);
  assert.notEqual(execs[0]!.start_ns, execs[1]!.start_ns, "same pid, different start time");
});

test("filters: a target pid and its descendants (grandchildren forked after attach) and nothing else; never the recorder", async () => {
  const target = paused("/bin/sh", [
    "-c",
    "/bin/sh -c '/bin/true grandchild; /bin/true grandchild2' ; /bin/true child",
  ]);
  const other = paused("/bin/sh", ["-c", "/bin/true outsider; /bin/true outsider2"]);
  const cap = await capture(
    EXEC_BUNDLE,
    async () => {
      await Promise.all([target.run(), other.run()]);
      spawnSync("/bin/true", ["from-the-recorder"]);
    },
    { filters: { pid: target.pid }, follow: [target.pid] },
  );
  const execArgs = ofType(cap.records, EV.exec).map((r) => argv(r).join(" "));
  assert.ok(execArgs.includes("/bin/true grandchild"));
  assert.ok(execArgs.includes("/bin/true grandchild2"));
  assert.ok(execArgs.includes("/bin/true child"));
  assert.ok(!execArgs.some((a) => a.includes("outsider")), "an unrelated process leaked through the filter");
  assert.ok(!execArgs.some((a) => a.includes("from-the-recorder")));
  assert.ok(!cap.records.some((r) => r.tgid === process.pid || r.tgid === other.pid));

  // Without a pid filter the recorder's own forks still never appear.
  const all = await capture(EXEC_BUNDLE, async () => void spawnSync("/bin/true", ["unfiltered"]));
  assert.ok(ofType(all.records, EV.exec).some((r) => argv(r).join(" ") === "/bin/true unfiltered"));
  assert.ok(!all.records.some((r) => r.tgid === process.pid), "the recorder recorded itself");
});

test("an undersized ring under a 20,000-exec storm: records received + loss counter == records produced", async () => {
  const script =
    "import os\nfor i in range(20000):\n    pid = os.posix_spawn('/bin/true', ['/bin/true'], {})\n    os.waitpid(pid, 0)\n";
  const p = paused("/usr/bin/python3", ["-c", script]);
  const cap = await capture(EXEC_BUNDLE, async () => void (await p.run()), {
    filters: { pid: p.pid },
    follow: [p.pid],
    ringBytes: 1 << 14,
    noDrainDuringRun: true,
  });
  // Produced: the shell's exec into python, then per child a fork, an exec and an exit, then python's exit.
  const produced = 1 + 3 * 20000 + 1;
  assert.ok(cap.ringFull > 0n, "the 16 KiB ring should overflow");
  assert.equal(BigInt(cap.records.length) + cap.ringFull, BigInt(produced));
});

test("1,000 /bin/true spawned by the test: exactly 1,000 exec records through the mmap ring, their tgids exactly the spawned pids, comm 'true'", async () => {
  const spawned: number[] = [];
  const cap = await capture(
    EXEC_BUNDLE,
    async () => {
      // Eight at a time, asynchronously, so the ring is drained while they run.
      const one = async (): Promise<void> => {
        while (spawned.length < 1000) {
          const child = spawn("/bin/true", [], { stdio: "ignore" });
          spawned.push(child.pid!);
          const code = await new Promise<number | null>((r) => child.on("exit", r));
          assert.equal(code, 0);
        }
      };
      await Promise.all(Array.from({ length: 8 }, one));
    },
    // No process filter (the test's own children are wanted); a large ring for the rest of the host.
    { ringBytes: 1 << 26 },
  );
  assert.equal(cap.ringFull, 0n, "the ring overflowed: the count below would mean nothing");
  assert.equal(spawned.length, 1000);
  const execs = ofType(cap.records, EV.exec).filter((r) => r.ppid === process.pid);
  assert.equal(execs.length, 1000);
  // Compared as sorted lists, not sets: a pid reused among the 1,000 must appear twice.
  const byNumber = (a: number, b: number) => a - b;
  assert.deepEqual(execs.map((e) => e.tgid).sort(byNumber), [...spawned].sort(byNumber));
  assert.deepEqual([...new Set(execs.map((e) => e.comm))], ["true"]);
  assert.ok(execs.every((e) => e.pid === e.tgid && filename(e) === "/bin/true"));
});

/** Fields of /proc/PID/stat after the command (field 3, state, is index 0). */
function procStat(pid: number): string[] {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  return s
    .slice(s.lastIndexOf(")") + 2)
    .trim()
    .split(" ");
}

test("start snapshot (exec_snapshot): a process started before it, with pid, ppid, start time, comm, exe and full argv", async () => {
  const args = ["-c", "read _", "snapshot-marker", "alpha", "beta gamma", "", "δ-utf8"];
  const child = spawn("/bin/sh", args, { stdio: ["pipe", "ignore", "ignore"] });
  const pid = child.pid!;
  const exited = new Promise((r) => child.on("exit", r));
  try {
    const exe = readlinkSync(`/proc/${pid}/exe`);
    assert.match(exe, /\/dash$/, "the child has not exec'd /bin/sh yet");
    const records = startSnapshot(EXEC_BUNDLE);
    assert.ok(records.length > 10 && records.every((r) => r.type === EV.task), "one st_task per process");
    const mine = records.filter((r) => r.tgid === pid);
    assert.equal(mine.length, 1);
    const t = mine[0]!;
    assert.equal(t.pid, pid);
    assert.equal(t.ppid, process.pid);
    assert.equal(t.comm, "sh");
    // start_boottime in ns; /proc/PID/stat field 22 is the same clock in USER_HZ (100) ticks.
    assert.equal(t.start_ns / 10_000_000n, BigInt(procStat(pid)[19]!));
    assert.ok(t.ts_ns > t.start_ns, "snapshot time after the process start");
    const exeLen = t.exe_len as number;
    assert.equal(tailText(t, 0, exeLen), exe);
    assert.deepEqual(argList(t.tail, exeLen, exeLen + (t.argv_len as number)), ["/bin/sh", ...args]);
    assert.equal(
      t.args_len,
      ["/bin/sh", ...args].reduce((n, a) => n + Buffer.byteLength(a) + 1, 0),
    );
    assert.equal(t.trunc, 0);
    // A kernel thread is there too, with no exe or argv.
    const kthreadd = records.find((r) => r.tgid === 2)!;
    assert.equal(kthreadd.comm, "kthreadd");
    assert.equal(kthreadd.exe_len, 0);
    assert.equal(kthreadd.argv_len, 0);
  } finally {
    child.stdin!.end("go\n");
    await exited;
  }
});

test("exit by signal: a child killed with SIGKILL has exit_code 9 (wait(2) encoding: signal, no status, no core)", async () => {
  const p = paused("/bin/sleep", ["30"]);
  let signal: NodeJS.Signals | null = null;
  const exited = new Promise<void>((r) => p.child.on("exit", (_c, s) => ((signal = s), r())));
  const cap = await capture(
    EXEC_BUNDLE,
    async () => {
      void p.run();
      for (let i = 0; i < 200 && readFileSync(`/proc/${p.pid}/comm`, "utf8") !== "sleep\n"; i++) await sleep(5);
      p.child.kill("SIGKILL");
      await exited;
    },
    { filters: { pid: p.pid }, follow: [p.pid] },
  );
  assert.equal(signal, "SIGKILL");
  assert.equal(ofType(cap.records, EV.exec).find((r) => r.tgid === p.pid)?.comm, "sleep", "killed after its exec");
  const exits = ofType(cap.records, EV.exit).filter((r) => r.tgid === p.pid);
  assert.equal(exits.length, 1);
  assert.equal(exits[0]!.exit_code, 9);
});

// Threads of a process that exit together: exit_group kills them all at once, on every CPU, and two
// of them can both see `signal->live` at 0 at the tracepoint (CI once caught that, 2 records for one
// process; it shows about once in a few hundred exits here). So one parent forks 1,500 children,
// two alive at a time, each spinning 4 threads and then calling exit_group. One process also has its
// leader exit first (raw SYS_exit), so the last thread to go is not the leader.
const GROUP_PY = `
import os, sys, threading
n, threads = int(sys.argv[1]), int(sys.argv[2])
def child():
    ready = threading.Barrier(threads + 1)
    def spin():
        ready.wait()
        while True: pass
    for _ in range(threads): threading.Thread(target=spin, daemon=True).start()
    ready.wait()
    os._exit(7)
live = 0
for _ in range(n):
    if live == 2:
        os.wait(); live -= 1
    if os.fork() == 0:
        child()
    live += 1
while live: os.wait(); live -= 1
`;
const LEADER_FIRST_PY = `
import ctypes, os, threading, time
def last():
    time.sleep(0.2)
    os._exit(5)
for _ in range(16): threading.Thread(target=lambda: time.sleep(30), daemon=True).start()
threading.Thread(target=last).start()
ctypes.CDLL(None).syscall(60, 0)  # SYS_exit (x86-64): only the leader thread exits
`;

test("a multithreaded process yields exactly one exit record, with the thread-group leader's identity, also when its threads exit together or the leader exits first", async () => {
  const group = paused("/usr/bin/python3", ["-c", GROUP_PY, "1500", "4"]);
  const leaderFirst = paused("/usr/bin/python3", ["-c", LEADER_FIRST_PY]);
  // No process filter: with one, the first exit record's removal of the tgid from `followed` would
  // hide a second one.
  const cap = await capture(EXEC_BUNDLE, async () => void (await Promise.all([group.run(), leaderFirst.run()])), {
    ringBytes: 1 << 26,
  });
  assert.equal(cap.ringFull, 0n);
  const exits = ofType(cap.records, EV.exit);
  const children = ofType(cap.records, EV.fork).filter((f) => f.tgid === group.pid);
  assert.equal(children.length, 1500);
  const twice = children.filter((f) => exits.filter((e) => e.tgid === f.child_tgid).length !== 1);
  assert.deepEqual(
    twice.map((f) => f.child_tgid),
    [],
    "children without exactly one exit record",
  );
  for (const f of children) {
    const e = exits.find((r) => r.tgid === f.child_tgid)!;
    assert.equal(e.exit_code, 7 << 8);
    assert.equal(e.start_ns, f.child_start_ns, "the leader's start time: the process identity");
  }
  const exec = ofType(cap.records, EV.exec).find((r) => r.tgid === leaderFirst.pid);
  const lf = exits.filter((r) => r.tgid === leaderFirst.pid);
  assert.equal(lf.length, 1, "exit records of the leader-first process");
  assert.equal(lf[0]!.exit_code, 5 << 8);
  assert.equal(lf[0]!.start_ns, exec?.start_ns);
  assert.notEqual(lf[0]!.pid, leaderFirst.pid, "the last thread to exit was not the leader");
});

void writeFileSync;
