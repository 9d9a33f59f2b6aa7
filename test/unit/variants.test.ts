// Program variants by kernel feature (BundleSpec.variants) and the start snapshot's argv from /proc.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/bpf.js";
import { BUNDLES } from "../../src/bundles/registry.js";
import { chooseVariants } from "../../src/bundles/variants.js";
import { ALL_FEATURES } from "../../src/libbpf/features.js";
import { fillArgvFromProc } from "../../src/recorder/procargv.js";
import { EV, HDR, TASK, EXEC_TRUNC } from "../../src/events/layouts.js";
import { forEachRecord } from "../../src/events/framing.js";

/** Section of each program in bpf/<object>.c: name → section as written (a leading "?" means off by default). */
function sections(object: string): Map<string, string> {
  const source = readFileSync(join(ROOT, "bpf", object.replace(/\.o$/, ".c")), "utf8");
  return new Map([
    ...[...source.matchAll(/SEC\("([^"]+)"\)\s*\n\s*int\s+(?:BPF_PROG\()?(\w+)/g)].map(
      (m) => [m[2]!, m[1]!] as [string, string],
    ),
  ]);
}

test('every variant names programs of its object; fallbacks are off by default ("?"), the programs they replace are not', () => {
  for (const spec of BUNDLES.values()) {
    const secs = sections(spec.object);
    for (const v of spec.variants ?? []) {
      assert.ok(
        v.needs.length > 0 && v.needs.every((f) => ALL_FEATURES.includes(f)),
        `${spec.name}: ${v.needs.join(",")}`,
      );
      if (v.program) assert.ok(secs.has(v.program), `${spec.name}: ${v.program}`);
      if (v.fallback) assert.ok(secs.get(v.fallback)?.startsWith("?"), `${spec.name}: ${v.fallback} is a "?" section`);
      if (!v.program)
        assert.ok(
          v.unavailable || v.fallback,
          `${spec.name}: an entry without a program records what is unavailable or turns a fallback on`,
        );
    }
  }
});

test("a kernel with every feature: the programs as named, fallbacks off, nothing unavailable", () => {
  for (const spec of BUNDLES.values()) {
    const c = chooseVariants(spec, new Set(ALL_FEATURES));
    assert.deepEqual(c.on, [], spec.name);
    assert.deepEqual(c.unavailable, [], spec.name);
    const fallbacks = new Set((spec.variants ?? []).flatMap((v) => (v.fallback ? [v.fallback] : [])));
    for (const p of sections(spec.object).keys())
      assert.equal(c.resolve(p), fallbacks.has(p) ? undefined : p, `${spec.name}: ${p}`);
    assert.deepEqual(
      c.off,
      (spec.variants ?? []).flatMap((v) => (v.fallback ? [v.fallback] : [])),
    );
  }
});

test("a kernel with none (5.10): each replaced program resolves to its fallback or to nothing, and what is lost is named", () => {
  const none = new Set<never>();
  const exec = chooseVariants(BUNDLES.get("exec")!, none);
  assert.equal(exec.resolve("exec_snapshot"), "exec_snapshot_compat");
  assert.equal(exec.resolve("exec_exec"), "exec_exec");
  assert.deepEqual(exec.on, ["exec_snapshot_compat"]);
  const retransmit = chooseVariants(BUNDLES.get("retransmit")!, none);
  assert.equal(retransmit.resolve("retransmit_drop"), undefined);
  assert.ok(retransmit.off.includes("retransmit_drop"));
  assert.deepEqual(
    retransmit.unavailable.map((u) => u.split(":")[0]),
    ["drop_reasons", "send_reset.reason"],
  );
  const filewrite = chooseVariants(
    BUNDLES.get("filewrite")!,
    new Set(["taskBtf", "copyFromUserTask", "dropReason"] as const),
  ); // 6.1
  // 6.1 has bpf_task_pt_regs but not bpf_rdonly_cast: filewrite on the raw sys_exit program, connect per syscall.
  const sixOne = new Set(["taskBtf", "taskPtRegs", "copyFromUserTask", "dropReason"] as const);
  const fw61 = chooseVariants(BUNDLES.get("filewrite")!, sixOne);
  assert.equal(fw61.resolve("filewrite_exit"), undefined, "no bpf_rdonly_cast before 6.2");
  assert.deepEqual(fw61.on, ["filewrite_sys_exit_compat"]);
  const c61 = chooseVariants(BUNDLES.get("connect")!, sixOne);
  assert.equal(c61.resolve("connect_exit"), "connect_exit", "bpf_task_pt_regs is all connect needs");
  assert.equal(c61.resolve("connect_sys_exit_compat"), undefined);
  assert.deepEqual(c61.on, []);
  // 5.10: both on the raw sys_exit tracepoint, connect's syscalls by tail call from filewrite's program.
  const fw510 = chooseVariants(BUNDLES.get("filewrite")!, none);
  assert.equal(fw510.resolve("filewrite_exit"), undefined);
  assert.deepEqual(fw510.on, ["filewrite_sys_exit_compat"]);
  const c510 = chooseVariants(BUNDLES.get("connect")!, none);
  assert.equal(c510.resolve("connect_exit"), undefined);
  assert.equal(c510.resolve("connect_sys_exit_tail_compat"), "connect_sys_exit_tail_compat");
  assert.deepEqual(c510.on, ["connect_sys_exit_compat", "connect_sys_exit_tail_compat", "connect_state_compat"]);
});

const at = (name: string, layout = TASK) => layout.fields.find((f) => f.name === name)!.offset;

/** One framed st_task record as the compat iterator writes it: exe path, no argv, EXEC_TRUNC.argvProc. */
function taskRecord(tgid: number, startNs: bigint, exe: string): Uint8Array {
  const exeBytes = Buffer.from(exe);
  const len = TASK.size + exeBytes.length;
  const out = new Uint8Array(8 + ((len + 7) & ~7));
  const v = new DataView(out.buffer);
  v.setUint32(0, len, true);
  v.setUint16(8 + at("type", HDR), EV.task, true);
  v.setUint32(8 + at("tgid", HDR), tgid, true);
  v.setBigUint64(8 + at("start_ns", HDR), startNs, true);
  v.setUint16(8 + at("exe_len"), exeBytes.length, true);
  v.setUint16(8 + at("trunc"), EXEC_TRUNC.argvProc, true);
  out.set(exeBytes, 8 + TASK.size);
  return out;
}

function records(data: Uint8Array): Array<{ argv: string; argsLen: number; trunc: number; exe: string }> {
  const out: Array<{ argv: string; argsLen: number; trunc: number; exe: string }> = [];
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  forEachRecord(data, (off) => {
    const exeLen = v.getUint16(off + at("exe_len"), true);
    const argvLen = v.getUint16(off + at("argv_len"), true);
    out.push({
      exe: Buffer.from(data.subarray(off + TASK.size, off + TASK.size + exeLen)).toString(),
      argv: Buffer.from(data.subarray(off + TASK.size + exeLen, off + TASK.size + exeLen + argvLen)).toString(),
      argsLen: v.getUint32(off + at("args_len"), true),
      trunc: v.getUint16(off + at("trunc"), true),
    });
  });
  return out;
}

test("argv from /proc: filled only when /proc's start time is the record's (no pid reuse), capped at 8 KiB with the true length", () => {
  const stat = readFileSync("/proc/self/stat", "latin1");
  const startNs = BigInt(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]!) * 10_000_000n + 3_000_000n;
  const cmd = (s: string | Uint8Array) => () => (typeof s === "string" ? Buffer.from(s) : s);
  const mine = taskRecord(process.pid, startNs, "/usr/bin/node");
  const [filled] = records(fillArgvFromProc(mine, cmd("node\0x.js\0")));
  assert.deepEqual(filled, { exe: "/usr/bin/node", argv: "node\0x.js\0", argsLen: 10, trunc: EXEC_TRUNC.argvProc });
  const reused = taskRecord(process.pid, startNs + 20_000_000n, "/usr/bin/node");
  assert.equal(fillArgvFromProc(reused, cmd("other\0")), reused, "another process now has the pid: unchanged");
  const big = new Uint8Array(10_000).fill(0x61);
  const [cut] = records(fillArgvFromProc(mine, cmd(big)));
  assert.equal(cut!.argv.length, 8192);
  assert.equal(cut!.argsLen, 10_000);
  assert.equal(cut!.trunc, EXEC_TRUNC.argvProc | 1);
  const gone = taskRecord(2 ** 22 + 7, startNs, "/x"); // beyond pid_max: no /proc entry
  assert.equal(fillArgvFromProc(gone, cmd("x\0")), gone);
});
