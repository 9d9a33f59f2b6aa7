// The privilege bundle on the real kernel: a python3 helper makes real setuid transitions (and a refused
// setuid(0)), a ptrace attach, a fileless exec, a rename, an unshare with a mount, a setns, SIGSTOP/SIGKILL
// to children and a BPF map; each must be recorded with the right process, arguments, result and
// credentials, and the routine calls beside them (a ptrace peek, a signal 0 to itself, the recorder's own
// BPF map) must not be.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PRIVILEGE_BUNDLE } from "../../src/bundles/privilege.js";
import { EV, PRIV_FLAG, PRIV_OP } from "../../src/events/layouts.js";
import { createMap } from "../../src/libbpf/object.js";
import { libc } from "../../src/libbpf/native.js";
import type { DecodedRecord } from "../../src/replay/decode.js";
import { capture, tailText } from "../helpers/bundle.js";
import { runPrivilegeHelper, type PrivilegeRun } from "../helpers/privilege.js";

const CAP_SETUID = 1n << 7n;

interface Got {
  run: PrivilegeRun;
  records: DecodedRecord[];
  ringFull: bigint;
  selfPid: number;
}

let got: Got | undefined;

/** One capture for every test below: the helper runs once (it takes ~100 ms; loading takes longer). */
async function recorded(): Promise<Got> {
  if (got) return got;
  const dir = mkdtempSync(join(tmpdir(), "st-priv-"));
  try {
    let run: PrivilegeRun | undefined;
    const cap = await capture(PRIVILEGE_BUNDLE, async () => {
      // The recorder's own BPF work while the bundle runs: never recorded (cfg_self_tgid).
      const fd = createMap({ name: "st_self_map", type: 2, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 });
      libc().close(fd);
      run = await runPrivilegeHelper(dir);
    });
    got = {
      run: run!,
      records: cap.records.filter((r) => r.type === EV.priv),
      ringFull: cap.ringFull,
      selfPid: process.pid,
    };
    return got;
  } finally {
    rmdirSync(dir);
  }
}

const str1 = (r: DecodedRecord) => tailText(r, 0, r.str1_len as number);
const str2 = (r: DecodedRecord) => tailText(r, r.str1_len as number, r.str2_len as number);
const str3 = (r: DecodedRecord) => tailText(r, (r.str1_len as number) + (r.str2_len as number), r.str3_len as number);
const of = (g: Got, tgid: number, op: number) => g.records.filter((r) => r.tgid === tgid && r.op === op);

test("setresuid to 65534 and back: arguments, result, and the credentials before and after", async () => {
  const g = await recorded();
  assert.equal(g.ringFull, 0n);
  const calls = of(g, g.run.pid, PRIV_OP.setresuid);
  assert.equal(calls.length, 2, `two setresuid calls, got ${calls.length}`);
  const [down, up] = calls as [DecodedRecord, DecodedRecord];
  assert.deepEqual([down.arg0, down.arg1, down.arg2, down.ret], [65534n, 65534n, 0n, 0]);
  assert.ok(((down.pflags as number) & PRIV_FLAG.oldCred) !== 0, "the old credentials were stashed");
  assert.deepEqual(
    [down.old_uid, down.old_euid, down.old_suid, down.new_uid, down.new_euid, down.new_suid, down.new_fsuid],
    [0, 0, 0, 65534, 65534, 0, 65534],
  );
  // Root's effective capabilities go with euid 0 (the permitted set stays: the saved uid is 0), and come back.
  assert.ok(((down.old_cap_eff as bigint) & CAP_SETUID) !== 0n, "root had CAP_SETUID before");
  assert.equal(down.new_cap_eff, 0n);
  assert.equal(down.new_cap_perm, down.old_cap_perm);
  assert.deepEqual([up.arg0, up.arg1, up.arg2, up.ret], [0n, 0n, 0n, 0]);
  assert.deepEqual([up.old_uid, up.old_euid, up.new_uid, up.new_euid], [65534, 65534, 0, 0]);
  assert.equal(up.new_cap_eff, down.old_cap_eff);
  assert.equal(up.uid, 0, "the header's uid is the one after the call");
  assert.equal(up.comm, "python3");
});

test("a refused setuid(0) is recorded with -EPERM and unchanged credentials", async () => {
  const g = await recorded();
  assert.equal(g.run.refusedStatus, 7, "the helper's child saw EPERM");
  const [r] = of(g, g.run.refused, PRIV_OP.setuid);
  assert.ok(r, "setuid(0) of the refused child");
  assert.deepEqual([r.arg0, r.ret], [0n, -1]);
  assert.deepEqual([r.old_uid, r.new_uid, r.new_euid, r.new_cap_eff], [65534, 65534, 65534, 0n]);
  const drop = of(g, g.run.refused, PRIV_OP.setresgid);
  assert.equal(drop.length, 1);
  assert.deepEqual(
    [drop[0]!.new_gid, drop[0]!.new_egid, drop[0]!.new_sgid, drop[0]!.old_gid],
    [65534, 65534, 65534, 0],
  );
});

test("ptrace: the attach is recorded with its target; the peek and detach are not", async () => {
  const g = await recorded();
  const calls = of(g, g.run.pid, PRIV_OP.ptrace);
  assert.deepEqual(
    calls.map((r) => [r.arg0, r.target, r.ret]),
    [[16n, g.run.traced, 0]],
  );
});

test("SIGSTOP and SIGKILL to a child (kill, pidfd_send_signal) name the target; a signal 0 to itself is not recorded", async () => {
  const g = await recorded();
  const kills = of(g, g.run.pid, PRIV_OP.kill);
  assert.deepEqual(
    kills.map((r) => [r.target, r.arg1, r.ret]),
    [
      [g.run.traced, 19n, 0],
      [g.run.traced, 9n, 0],
    ],
  );
  const pidfd = of(g, g.run.pid, PRIV_OP.pidfdSendSignal);
  assert.deepEqual(
    pidfd.map((r) => [r.target, r.arg1, r.ret]),
    [[g.run.pidfdTarget, 9n, 0]],
  );
});

test("memfd_create: its name and flags; the fileless exec runs from it", async () => {
  const g = await recorded();
  const [r] = of(g, g.run.pid, PRIV_OP.memfdCreate);
  assert.ok(r, "memfd_create recorded");
  assert.equal(str1(r), "st-fileless");
  assert.equal(r.arg1, 2n, "MFD_ALLOW_SEALING");
  assert.ok((r.ret as number) >= 0);
  assert.equal(g.run.memfdStatus, 0, "the copy of /bin/true ran from the memfd");
});

test("prctl(PR_SET_NAME): the new name and the old one", async () => {
  const g = await recorded();
  const [r] = of(g, g.run.pid, PRIV_OP.prctlSetName);
  assert.ok(r, "the rename recorded");
  assert.equal(str1(r), "st-renamed");
  assert.equal(r.aux_comm, "python3");
  assert.ok(((r.pflags as number) & PRIV_FLAG.oldComm) !== 0);
  assert.equal(r.comm, "st-renamed", "the header has the name after the call");
  assert.equal(r.ret, 0);
});

test("unshare, mount and umount2 in the child: flags, source, target and fstype", async () => {
  const g = await recorded();
  assert.equal(g.run.nsStatus, 0);
  const [u] = of(g, g.run.nsChild, PRIV_OP.unshare);
  assert.ok(u, "unshare recorded");
  assert.deepEqual([u.arg0, u.ret], [0x04020000n, 0]);
  const mounts = of(g, g.run.nsChild, PRIV_OP.mount);
  assert.equal(mounts.length, 2);
  assert.deepEqual([str1(mounts[0]!), str2(mounts[0]!), str3(mounts[0]!), mounts[0]!.arg3], ["", "/", "", 0x44000n]);
  const dir = str2(mounts[1]!);
  assert.match(dir, /\/st-priv-/);
  assert.deepEqual([str1(mounts[1]!), str3(mounts[1]!), mounts[1]!.ret], ["st-tmpfs", "tmpfs", 0]);
  const [um] = of(g, g.run.nsChild, PRIV_OP.umount);
  assert.ok(um, "umount2 recorded");
  assert.deepEqual([str1(um), um.arg1, um.ret], [dir, 0n, 0]);
});

test("setns: the namespace type and the namespace's id", async () => {
  const g = await recorded();
  const [r] = of(g, g.run.pid, PRIV_OP.setns);
  assert.ok(r, "setns recorded");
  assert.deepEqual([r.arg1, r.ret], [0x04000000n, 0]);
  assert.equal(r.aux, statSync("/proc/self/ns/uts").ino, "the helper's UTS namespace is the test's");
});

test("bpf(BPF_MAP_CREATE) and bpf(BPF_PROG_LOAD) by the helper: type and name; the recorder's own are not", async () => {
  const g = await recorded();
  assert.ok(g.run.mapFd >= 0 && g.run.progFd >= 0, `the helper's map and program loaded (errno ${g.run.progErrno})`);
  const maps = of(g, g.run.pid, PRIV_OP.bpf);
  assert.deepEqual(
    maps.map((r) => [r.arg0, r.aux, str1(r), r.ret]),
    [
      [0n, 2, "st_helper_map", g.run.mapFd],
      [5n, 1, "st_helper_prog", g.run.progFd],
    ],
  );
  assert.deepEqual(
    g.records.filter((r) => r.tgid === g.selfPid),
    [],
    "nothing of the recording process itself",
  );
});
