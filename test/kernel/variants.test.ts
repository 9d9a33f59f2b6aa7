// The program variants for older kernels (bpf/common.bpf.h), verified and run on this kernel: every
// bundle loaded as on a kernel with none of the probed features records the same facts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBundles, unloadBundles, type LoadedBundle } from "../../src/recorder/loader.js";
import { BUNDLES } from "../../src/bundles/registry.js";
import type { BundleName } from "../../src/bundles/spec.js";
import { kernelFeatures } from "../../src/libbpf/features.js";
import { forEachRecord } from "../../src/libbpf/ring.js";
import { decodeRecord, type DecodedRecord } from "../../src/replay/decode.js";
import { argList } from "../../src/replay/strings.js";
import { EV, EXEC_TRUNC } from "../../src/events/layouts.js";
import { fillArgvFromProc } from "../../src/recorder/procargv.js";
import { assertNoProbes, sleep } from "../helpers/bpf.js";

function drain(bundles: readonly LoadedBundle[], out: DecodedRecord[]): void {
  for (const b of bundles) {
    const span = b.ring.drain();
    forEachRecord(span.data, (off, len) => {
      const r = decodeRecord(span.data, off, len);
      if (r) out.push({ ...r, tail: r.tail.slice() });
    });
  }
}

test("this kernel's features are probed from its BTF: only known names, and bpf_get_current_task_btf (the oldest) whenever any other is there", () => {
  const f = kernelFeatures();
  for (const name of f)
    assert.ok(
      ["taskBtf", "taskPtRegs", "rdonlyCast", "copyFromUserTask", "dropReason", "resetReason"].includes(name),
      name,
    );
  // bpf_get_current_task_btf (5.11) is older than every other probed feature: a kernel with any has it.
  if (f.size > 0) assert.ok(f.has("taskBtf"), [...f].join(","));
});

test("the compat variants of every bundle (no probed feature): exec with argv, the snapshot's argv from /proc, a connect, a file write", async () => {
  await assertNoProbes();
  // A process older than the recording: its argv comes from /proc in the snapshot.
  const marker = `st-kbpf-${process.pid}`;
  const old = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)", marker], { stdio: "ignore" });
  const server = createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "st-kbpf-var-")));
  const bundles = await loadBundles([...BUNDLES.values()], {}, process.pid, new Set());
  try {
    const names = new Map(bundles.map((b) => [b.spec.name, b]));
    const loaded = (b: BundleName) =>
      names
        .get(b)!
        .object.programNames()
        .filter((p) => !names.get(b)!.disabled.has(p));
    assert.ok(loaded("filewrite").includes("filewrite_sys_exit_compat"), loaded("filewrite").join(","));
    assert.ok(
      loaded("connect").includes("connect_sys_exit_tail_compat") && loaded("connect").includes("connect_state_compat"),
      loaded("connect").join(","),
    );
    assert.ok(!loaded("retransmit").includes("retransmit_drop"), "no drop program without the reason argument");
    assert.deepEqual(names.get("exec")!.iterators, ["exec_snapshot_compat"]);
    assert.deepEqual(
      names.get("retransmit")!.unavailable.map((u) => u.split(":")[0]),
      ["drop_reasons", "send_reset.reason"],
    );
    assert.deepEqual(
      names.get("exec")!.unavailable.map((u) => u.split(":")[0]),
      ["snapshot.argv"],
    );

    const snap = fillArgvFromProc(names.get("exec")!.object.runIterator("exec_snapshot_compat"));
    const tasks: DecodedRecord[] = [];
    forEachRecord(snap, (off, len) => {
      const r = decodeRecord(snap, off, len);
      if (r && r.type === EV.task) tasks.push(r);
    });
    const mine = tasks.find((t) => t.tgid === old.pid);
    assert.ok(mine, "the older process is in the snapshot");
    assert.ok(((mine.trunc as number) & EXEC_TRUNC.argvProc) !== 0, "flagged: argv from /proc");
    const snapArgv = argList(mine.tail, mine.exe_len as number, (mine.exe_len as number) + (mine.argv_len as number));
    assert.deepEqual(snapArgv, [process.execPath, "-e", "setTimeout(() => {}, 30000)", marker]);
    assert.equal(Buffer.from(mine.tail.subarray(0, mine.exe_len as number)).toString(), realpathSync(process.execPath));

    const file = join(dir, "out.txt");
    const py = `import socket,os\ns=socket.create_connection(("127.0.0.1",${port}))\ns.close()\nf=os.open(${JSON.stringify(file)},os.O_WRONLY|os.O_CREAT,0o600)\nos.write(f,b"x"*1234)\nos.close(f)\n`;
    const child = spawnSync("python3", ["-c", py, marker], { stdio: "inherit" });
    assert.equal(child.status, 0);
    await sleep(200);
    const records: DecodedRecord[] = [];
    drain(bundles, records);
    const ofChild = records.filter((r) => r.tgid === child.pid);
    const exec = ofChild.find((r) => r.type === EV.exec);
    assert.ok(exec, "the exec record");
    const execArgv = argList(
      exec.tail,
      exec.filename_len as number,
      (exec.filename_len as number) + (exec.argv_len as number),
    );
    assert.equal(execArgv.at(-1), marker);
    const connect = ofChild.find((r) => r.type === EV.connect);
    assert.ok(connect, "the connect record (compat tail call from filewrite's compat program)");
    assert.equal(connect.dport, port);
    assert.equal(connect.ret, 0);
    const open = ofChild.find((r) => r.type === EV.fileOpen);
    assert.ok(open, "the first-write record with its path");
    assert.equal(Buffer.from(open.tail.subarray(0, open.path_len as number)).toString(), file);
    assert.ok(
      ofChild.some((r) => r.type === EV.sockState && r.newstate === 2 /* SYN_SENT */),
      "a state change attributed to the child",
    );
  } finally {
    unloadBundles(bundles);
    old.kill();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await assertNoProbes();
});
