// The exec bundle on the real kernel: parentage and exec chains, argv limits, exit codes, pid reuse,
// filters, and exact loss accounting under an exec storm.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { EXEC_BUNDLE } from "../../src/bundles/exec.js";
import { EV } from "../../src/events/layouts.js";
import { splitArgs, type DecodedRecord } from "../../src/events/decode.js";
import { capture, tailText } from "../helpers/bundle.js";
import { paused } from "../helpers/proc.js";

const ofType = (rs: DecodedRecord[], t: number) => rs.filter((r) => r.type === t);
const filename = (r: DecodedRecord) => tailText(r, 0, r.filename_len as number);
const argv = (r: DecodedRecord) => splitArgs(r.tail.subarray(r.filename_len as number, (r.filename_len as number) + (r.argv_len as number)));
const cwd = (r: DecodedRecord) => tailText(r, (r.filename_len as number) + (r.argv_len as number), r.cwd_len as number);

test("sh -c 'A; B; exec C': parentage, exec order and the in-place exec", async () => {
  const p = paused("/bin/sh", ["-c", "/bin/echo A1 a2; /bin/echo B1 b2; exec /bin/echo C1 c2"]);
  const cap = await capture(EXEC_BUNDLE, async () => void (await p.run()), { filters: { pid: p.pid }, follow: [p.pid] });
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
  assert.deepEqual(forks.map((f) => f.tgid), [p.pid, p.pid]);
  assert.deepEqual(forks.map((f) => f.child_tgid), [aExec.tgid, bExec.tgid]);
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
  const script = "import os\nfor i in range(2000):\n    pid = os.posix_spawn('/bin/sh', ['/bin/sh', '-c', 'exit %d' % (i % 256)], {})\n    os.waitpid(pid, 0)\n";
  const p = paused("/usr/bin/python3", ["-c", script]);
  const cap = await capture(EXEC_BUNDLE, async () => void (await p.run()), { filters: { pid: p.pid }, follow: [p.pid] });
  const forks = ofType(cap.records, EV.fork).filter((f) => f.tgid === p.pid);
  const children = new Set(forks.map((f) => f.child_tgid as number));
  assert.equal(forks.length, 2000);
  const execs = ofType(cap.records, EV.exec).filter((r) => children.has(r.tgid));
  assert.equal(execs.length, 2000);
  assert.ok(execs.every((e) => e.comm === "sh" && e.pid === e.tgid && e.ppid === p.pid), "tgid, comm and parent of every exec");
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
  const cap = await capture(EXEC_BUNDLE, async () => void (code = await p.run()), { filters: { pid: p.pid }, follow: [p.pid] });
  assert.equal(code, 0, "could not force pid reuse");
  const n = Number(out.trim());
  const execs = ofType(cap.records, EV.exec).filter((r) => r.tgid === n);
  assert.equal(execs.length, 2);
  assert.notEqual(execs[0]!.start_ns, execs[1]!.start_ns, "same pid, different start time");
});

test("filters: a target pid and its descendants (grandchildren forked after attach) and nothing else; never the recorder", async () => {
  const target = paused("/bin/sh", ["-c", "/bin/sh -c '/bin/true grandchild; /bin/true grandchild2' ; /bin/true child"]);
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
  const script = "import os\nfor i in range(20000):\n    pid = os.posix_spawn('/bin/true', ['/bin/true'], {})\n    os.waitpid(pid, 0)\n";
  const p = paused("/usr/bin/python3", ["-c", script]);
  const cap = await capture(EXEC_BUNDLE, async () => void (await p.run()), { filters: { pid: p.pid }, follow: [p.pid], ringBytes: 1 << 14, noDrainDuringRun: true });
  // Produced: the shell's exec into python, then per child a fork, an exec and an exit, then python's exit.
  const produced = 1 + 3 * 20000 + 1;
  assert.ok(cap.ringFull > 0n, "the 16 KiB ring should overflow");
  assert.equal(BigInt(cap.records.length) + cap.ringFull, BigInt(produced));
});

void writeFileSync;
