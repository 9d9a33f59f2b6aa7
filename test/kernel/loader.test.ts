// The loader: every bundle verified and attached, at most one verifier per core with the first bundle
// first, and on a failure nothing left loaded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBundles, unloadBundles } from "../../src/recorder/loader.js";
import { BUNDLES, bundleObjectPath } from "../../src/bundles/registry.js";
import { BpfObject } from "../../src/libbpf/object.js";
import { UserError } from "../../src/errors.js";
import { kernelFeatures } from "../../src/libbpf/features.js";
import { assertNoProbes, loadedPrograms, OUR_PROGRAM } from "../helpers/bpf.js";
import { applyVariants } from "../helpers/bundle.js";
import { execFileSync, spawnSync } from "node:child_process";
import { forEachRecord } from "../../src/libbpf/ring.js";
import { decodeRecord } from "../../src/replay/decode.js";
import { EV } from "../../src/events/layouts.js";

const ours = () => [...loadedPrograms().values()].filter((n) => OUR_PROGRAM.test(n));

test("all four bundles load and attach; the first is live first; unloading leaves nothing", async () => {
  await assertNoProbes();
  const specs = [...BUNDLES.values()];
  const bundles = await loadBundles(specs, {}, process.pid);
  try {
    assert.deepEqual(
      bundles.map((b) => b.spec.name),
      specs.map((s) => s.name),
    );
    for (const b of bundles) assert.ok(b.object.programNames().length > 0 && b.attachedMs > 0, b.spec.name);
    const first = bundles[0]!.attachedMs;
    for (const b of bundles.slice(1))
      assert.ok(b.attachedMs >= first, `${b.spec.name} went live before ${bundles[0]!.spec.name}`);
    // bpftool names a program in full from its BTF, or by the kernel's 15 characters.
    const loaded = ours();
    const isLoaded = (p: string) => loaded.some((n) => n === p || (n.length === 15 && p.startsWith(n)));
    for (const b of bundles) {
      for (const p of b.object.programNames())
        assert.equal(isLoaded(p), !b.disabled.has(p), `${p}: loaded unless another bundle does its work`);
    }
  } finally {
    unloadBundles(bundles);
  }
  await assertNoProbes();
});

test("a bundle that fails to load: the error propagates and nothing stays loaded", async () => {
  await assertNoProbes();
  // A ring buffer of size 0: libbpf passes it on and the kernel refuses the map at load.
  const specs = [...BUNDLES.values()].map((s) => (s.name === "connect" ? { ...s, ringBytes: 0 } : s));
  await assert.rejects(loadBundles(specs, {}, process.pid), /connect\.bpf\.o|refused|EINVAL|Invalid/i);
  await assertNoProbes();
});

test("connect and filewrite: one program per hooked syscall on its exit tracepoint, none on raw sys_exit, every connect and accept recorded", async () => {
  await assertNoProbes();
  const specs = [BUNDLES.get("connect")!, BUNDLES.get("filewrite")!];
  const bundles = await loadBundles(specs, {}, process.pid);
  try {
    const connect = bundles.find((b) => b.spec.name === "connect")!;
    const perSyscall = kernelFeatures().has("taskPtRegs") && kernelFeatures().has("taskBtf");
    // The kernel's view: which of our programs have a link (are attached), and which are only loaded.
    const progs = loadedPrograms();
    const links = JSON.parse(execFileSync("bpftool", ["link", "show", "--json"], { encoding: "utf8" })) as Array<{
      prog_id: number;
    }>;
    const linked = links.map((l) => progs.get(l.prog_id) ?? "").filter((n) => OUR_PROGRAM.test(n));
    if (perSyscall) {
      // One link per syscall: connect_exit on connect, accept, accept4; filewrite_exit on its 20 (19 before 6.6).
      const count = (n: string) => linked.filter((l) => l === n).length;
      assert.ok(count("connect_exit") >= 3, `connect_exit links: ${linked.join(", ")}`);
      assert.ok(count("filewrite_exit") >= 19, `filewrite_exit links: ${linked.join(", ")}`);
      // Our objects' view (the kernel's list may hold other processes' programs of these names).
      const ours = bundles.flatMap((b) => b.object.programNames().filter((p) => !b.disabled.has(p)));
      assert.ok(!ours.some((n) => n.includes("sys_exit")), `nothing on raw sys_exit: ${ours.join(", ")}`);
      assert.ok(
        connect.disabled.has("connect_sys_exit_tail_compat") && connect.disabled.has("connect_sys_exit_compat"),
      );
    } else {
      // Compat kernels: filewrite's raw sys_exit program hands connect's syscalls over by tail call.
      assert.ok(
        linked.some((n) => n.startsWith("filewrite_sys_e")),
        `attached: ${linked.join(", ")}`,
      );
      assert.ok(!linked.some((n) => n.startsWith("connect_sys")), `attached: ${linked.join(", ")}`);
      assert.ok(
        [...progs.values()].some((n) => n.startsWith("connect_sys_exi")),
        "the tail-call target is loaded",
      );
    }

    const py = spawnSync(
      "python3",
      [
        "-c",
        [
          "import socket",
          "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(8)",
          "for i in range(5):",
          "    c = socket.socket(); c.connect(l.getsockname()); a, _ = l.accept(); a.close(); c.close()",
          "import os; print(os.getpid())",
        ].join("\n"),
      ],
      { encoding: "utf8" },
    );
    assert.equal(py.status, 0, py.stderr);
    const pid = Number(py.stdout.trim());
    const seen = { connect: 0, accept: 0 };
    const span = connect.ring.drain();
    forEachRecord(span.data, (off, len) => {
      const r = decodeRecord(span.data, off, len);
      if (r?.tgid !== pid) return;
      if (r.type === EV.connect && r.ret === 0) seen.connect++;
      if (r.type === EV.accept) seen.accept++;
    });
    assert.deepEqual(seen, { connect: 5, accept: 5 });
  } finally {
    unloadBundles(bundles);
  }
  await assertNoProbes();
});

test("a tail call the kernel refuses is one clear line, not a stack", async () => {
  await assertNoProbes();
  const object = BpfObject.open(bundleObjectPath(BUNDLES.get("connect")!));
  try {
    object.setRodata({ cfg_self_tgid: process.pid });
    applyVariants(object, BUNDLES.get("connect")!);
    object.load(); // connect_sys_exit_tail_compat stays unloaded ("?"): it has no fd to put in the array
    assert.throws(
      () => object.setTailCall("sys_exit_tails", 0, "connect_sys_exit_tail_compat"),
      (e: unknown) =>
        e instanceof UserError &&
        /^the kernel refused connect_sys_exit_tail_compat as a tail call in sys_exit_tails: \S+/.test(e.message) &&
        !e.message.includes("\n"),
    );
  } finally {
    object.close();
  }
  await assertNoProbes();
});
