// The privilege bundle end to end: `sealtrace record` with exec, privilege and filewrite (real BPF; on a compat
// kernel privilege's syscalls reach it by tail call from filewrite's raw sys_exit program), the python3 helper's
// setuid transitions, refused setuid(0), ptrace attach, fileless exec, rename, unshare + mount, setns,
// SIGSTOP/SIGKILL and BPF map; replayed to JSON (`privilege`), the timeline, the process view and the summary.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliAsync, cliSync, makeKey, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/workload.js";
import { runPrivilegeHelper } from "../helpers/privilege.js";

interface Priv {
  processId: string;
  pid: number;
  comm: string;
  kind: string;
  syscall: string;
  args: Record<string, string | number | null>;
  ret: number;
  errno: string | null;
  target: { pid: number; processId: string | null; comm: string | null } | null;
  before: Record<string, number | string> | null;
  after: Record<string, number | string>;
  gained: string[];
}
interface Doc {
  sessions: Array<{ bundles: string[] }>;
  processes: Array<{ id: string; pid: number; execs: Array<{ fileless: boolean | null }> }>;
  privilege: Priv[];
}

const slow = Number(process.env.SEALTRACE_TEST_SLOWDOWN ?? 1);

test(
  "privilege: recorded with exec and filewrite, replayed to JSON, timeline, process view and summary",
  { timeout: 600_000 },
  async () => {
    const dir = tempDir("sealtrace-priv-");
    const key = makeKey(dir);
    const mnt = join(dir, "mnt");
    mkdirSync(mnt);
    try {
      const out = join(dir, "priv.sealed");
      const rb = join(dir, "priv.yaml");
      writeFileSync(
        rb,
        "name: privtest\ndescription: e2e privilege\nbundles: [exec, privilege, filewrite]\nduration: 10m\nprompts:\n  incident: false\n",
      );
      const rec = cliAsync(["record", "--runbook", rb, "-r", key.recipient, "-o", out, "--yes"]);
      await waitFor(rec.stderr, "probes attached", 60_000 * slow);
      const run = await runPrivilegeHelper(mnt);
      await new Promise((r) => setTimeout(r, 300 * slow)); // past the recorder's next ring poll
      rec.child.kill("SIGINT");
      const res = await rec.done;
      assert.equal(res.code, 0, res.stderr);

      const r = cliSync(["replay", out, "-i", key.identity, "--format", "json"]);
      assert.equal(r.status, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as Doc;
      assert.deepEqual(
        doc.sessions[0]!.bundles,
        ["exec", "privilege", "filewrite"].sort((a, b) => order(a) - order(b)),
      );
      const helper = doc.processes.find((p) => p.pid === run.pid);
      assert.ok(helper, "the helper is a process of the replay");
      const mine = (pid: number, syscall: string) =>
        doc.privilege.filter((e) => e.pid === pid && e.syscall === syscall);

      const [down, up] = mine(run.pid, "setresuid");
      assert.ok(down && up, "both setresuid calls");
      assert.equal(down.processId, helper.id);
      assert.deepEqual(down.args, { ruid: 65534, euid: 65534, suid: 0 });
      assert.deepEqual(
        [down.before?.euid, down.after.euid, down.after.suid, down.after.capEffective],
        [0, 65534, 0, "0x0"],
      );
      assert.deepEqual(down.gained, []);
      assert.equal(down.kind, "credentials");
      assert.ok(up.gained.includes("euid 0"), `regaining root is an escalation: ${up.gained.join(", ")}`);

      const [refused] = mine(run.refused, "setuid");
      assert.ok(refused, "the refused setuid(0)");
      assert.deepEqual([refused.args.uid, refused.ret, refused.errno, refused.gained], [0, -1, "EPERM", []]);

      const [attach] = mine(run.pid, "ptrace");
      assert.ok(attach);
      assert.deepEqual([attach.args.request, attach.args.pid, attach.ret], ["PTRACE_ATTACH", run.traced, 0]);
      assert.equal(attach.target?.pid, run.traced);
      assert.ok(attach.target?.processId, "the traced child is known to the replay");
      assert.equal(mine(run.pid, "ptrace").length, 1, "no peek or detach");

      const kills = mine(run.pid, "kill").map((e) => [e.args.signal, e.target?.pid]);
      assert.deepEqual(kills, [
        ["SIGSTOP", run.traced],
        ["SIGKILL", run.traced],
      ]);
      const [pidfd] = mine(run.pid, "pidfd_send_signal");
      assert.ok(pidfd);
      assert.deepEqual([pidfd.args.signal, pidfd.target?.pid], ["SIGKILL", run.pidfdTarget]);

      const [memfd] = mine(run.pid, "memfd_create");
      assert.ok(memfd);
      assert.deepEqual([memfd.args.name, memfd.args.flags], ["st-fileless", "0x2"]);
      const fileless = doc.processes.find((p) => p.pid === run.memfdChild);
      assert.ok(
        fileless?.execs.some((e) => e.fileless === true),
        "the memfd exec is fileless (exec bundle)",
      );

      const [rename] = mine(run.pid, "prctl");
      assert.ok(rename);
      assert.deepEqual([rename.args.name, rename.args.oldName, rename.comm], ["st-renamed", "python3", "st-renamed"]);

      const [unshare] = mine(run.nsChild, "unshare");
      assert.ok(unshare);
      assert.equal(unshare.args.flags, "CLONE_NEWNS|CLONE_NEWUTS");
      const mount = mine(run.nsChild, "mount").find((e) => e.args.fstype === "tmpfs");
      assert.ok(mount);
      assert.deepEqual([mount.args.source, mount.args.target, mount.ret], ["st-tmpfs", mnt, 0]);
      const [umount] = mine(run.nsChild, "umount2");
      assert.equal(umount?.args.target, mnt);

      const [setns] = mine(run.pid, "setns");
      assert.equal(setns?.args.nstype, "CLONE_NEWUTS");

      const [map, prog] = mine(run.pid, "bpf");
      assert.ok(map && prog);
      assert.ok(run.progFd >= 0, `the helper loaded its socket filter (errno ${run.progErrno})`);
      assert.deepEqual(
        [prog.args.cmd, prog.args.type, prog.args.name, prog.ret],
        ["BPF_PROG_LOAD", 1, "st_helper_prog", run.progFd],
      );
      assert.deepEqual(
        [map.args.cmd, map.args.type, map.args.name, map.ret],
        ["BPF_MAP_CREATE", 2, "st_helper_map", run.mapFd],
      );
      assert.equal(doc.privilege.filter((e) => e.pid === rec.child.pid).length, 0, "not the recorder's");

      // Text: the timeline, the process view and the summary.
      const text = (args: string[]) => {
        const t = cliSync(["replay", out, "-i", key.identity, ...args]);
        assert.equal(t.status, 0, t.stderr);
        return t.stdout;
      };
      // (lines are cut at 80 columns)
      const timeline = text(["--view", "timeline", "--pid", String(run.pid)]);
      assert.match(timeline, /privilege\.credentials +python3 \[\d+\] setresuid\(ruid=65534, eu/);
      assert.match(timeline, /privilege\.memfd +python3 \[\d+\] memfd_create\(name="st-fi/);
      assert.match(timeline, /privilege\.rename +st-renamed \[\d+\] prctl\(option=PR_SET_N/);
      const proc = text(["--view", "process", "--pid", String(run.traced)]);
      assert.match(proc, /privilege \(3\)/, "the traced child's view lists the attach and the two signals aimed at it");
      assert.match(proc, /by python3 \[\d+\] ptrace\(request=PTRACE_ATTACH/);
      const summary = text(["--view", "summary"]);
      assert.match(summary, /escalations \(uid or capabilities gained\): [1-9]/);
      assert.match(summary, /python3 \[\d+\] setresuid\(ruid=0, euid=0, suid=0\) = 0/);
      assert.match(summary, /BPF programs and maps created: [1-9]/);
      assert.match(summary, /st-renamed \[\d+\] bpf\(cmd=BPF_MAP_CREATE, type=2/);

      // Hunt: the built-in privilege rules see the helper's regained root and its ptrace attach.
      const hunt = cliSync(["hunt", out, "-i", key.identity, "--format", "json"]);
      assert.equal(hunt.status, 0, hunt.stderr);
      const findings = (
        JSON.parse(hunt.stdout) as { findings: Array<{ rule: { title: string }; process: { pid: number } | null }> }
      ).findings;
      const hit = (title: string) => findings.filter((f) => f.rule.title === title).map((f) => f.process?.pid);
      const titles = findings.map((f) => `${f.rule.title}: ${f.process?.pid}`).join("; ");
      assert.ok(hit("Process became root through a setuid-family call").includes(run.pid), titles);
      assert.ok(hit("Another process attached with ptrace").includes(run.pid), titles);
      assert.ok(hit("BPF program loaded outside the known tools").includes(run.pid), titles);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

/** The recorder's bundle order (exec first, then the registry's). */
function order(b: string): number {
  return ["exec", "connect", "retransmit", "filewrite", "privilege"].indexOf(b);
}
