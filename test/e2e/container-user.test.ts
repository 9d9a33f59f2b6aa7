// Containers and users end to end: real cgroup v2 directories named as each runtime names them, real
// processes moved into them (and one run as `nobody`), recorded with the exec bundle (real BPF), replayed
// to JSON, with the --container, --unit and --user filters through the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { cgroup2Root } from "../../src/recorder/cgroups.js";
import { cliAsync, cliSync, makeKey, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/workload.js";

const dir = tempDir("sealtrace-st18ctr-");
const key = makeKey(dir);
const hex = (c: string) => c.repeat(64);
const UID = "5e18c0de-0000-4000-8000-00000000a11c";

/** Relative cgroup dirs (under this test's own prefix) and what replay must decode from each. */
const SCHEMES: Array<{ name: string; rel: string; want: Record<string, unknown> }> = [
  {
    name: "docker",
    rel: `system.slice/docker-${hex("a")}.scope`,
    want: { runtime: "docker", id: hex("a"), unit: `docker-${hex("a")}.scope` },
  },
  { name: "docker-cgroupfs", rel: `docker/${hex("b")}`, want: { runtime: "docker", id: hex("b") } },
  {
    name: "containerd",
    rel: `system.slice/cri-containerd-${hex("c")}.scope`,
    want: { runtime: "containerd", id: hex("c") },
  },
  { name: "cri-o", rel: `machine.slice/crio-${hex("d")}.scope`, want: { runtime: "cri-o", id: hex("d") } },
  {
    name: "podman",
    rel: `machine.slice/libpod-${hex("e")}.scope`,
    want: { runtime: "podman", id: hex("e"), conmon: false },
  },
  {
    name: "k8s",
    rel: `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replaceAll("-", "_")}.slice/cri-containerd-${hex("f")}.scope`,
    want: { runtime: "containerd", id: hex("f"), podUid: UID, qos: "burstable" },
  },
  {
    name: "unit",
    rel: "system.slice/st18ctr-test.service",
    want: { runtime: null, id: null, unit: "st18ctr-test.service" },
  },
];

test(
  "processes in each runtime's cgroup, and one run as nobody, replay with their container, unit and user",
  { timeout: 120_000 },
  async (t) => {
    const root = cgroup2Root();
    if (root === undefined) return t.skip("this host has no cgroup v2 hierarchy mounted");
    const base = join(root, `st18ctr-${process.pid}`);
    const made: string[] = [];
    const children: ChildProcess[] = [];
    const exited = (c: ChildProcess) =>
      new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.on("exit", () => r())));
    try {
      for (const s of SCHEMES) {
        let at = base;
        for (const part of [".", ...s.rel.split("/")]) {
          at = part === "." ? at : join(at, part);
          if (!existsSync(at)) {
            mkdirSync(at);
            made.push(at);
          }
        }
      }
      // Started before the recording: known to replay from the start snapshot only (no cgroup id in task records).
      const before = spawn(
        "/bin/sh",
        ["-c", `echo $$ > '${join(base, SCHEMES[4]!.rel)}/cgroup.procs' && exec /bin/sleep 30`],
        { stdio: "ignore" },
      );
      children.push(before);
      await new Promise((r) => setTimeout(r, 300));

      const out = join(dir, "ctr.sealed");
      const rbPath = join(dir, "st18ctr.yaml");
      writeFileSync(
        rbPath,
        "name: st18ctr\ndescription: e2e containers and users\nbundles: [exec]\nduration: 6s\nprompts:\n  incident: false\n",
      );
      const rec = cliAsync([
        "record",
        "--runbook",
        rbPath,
        "--duration",
        "6s",
        "-r",
        key.recipient,
        "-o",
        out,
        "--yes",
      ]);
      await waitFor(rec.stderr, "probes attached", 30_000);
      // Each shell moves itself into its cgroup, then execs: the exec record carries the new cgroup id.
      const during = new Map<string, ChildProcess>();
      for (const s of SCHEMES) {
        const c = spawn("/bin/sh", ["-c", `echo $$ > '${join(base, s.rel)}/cgroup.procs' && exec /bin/sleep 0.5`], {
          stdio: "ignore",
        });
        children.push(c);
        during.set(s.name, c);
      }
      const nobody = spawn("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sleep", "0.5"], {
        stdio: "ignore",
      });
      children.push(nobody);
      await Promise.all([...during.values(), nobody].map(exited));
      before.kill("SIGTERM");
      await exited(before);
      const res = await rec.done;
      assert.equal(res.code, 0, res.stderr);

      const replay = (args: string[]) => {
        const r = cliSync(["replay", out, "-i", key.identity, "--format", "json", ...args]);
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout) as {
          processes: Array<{
            pid: number;
            uid: number;
            user: string | null;
            cgroup: string | null;
            container: Record<string, unknown> | null;
            execs: Array<{ filename: string }>;
          }>;
        };
      };
      const doc = replay([]);
      const byPid = new Map(doc.processes.map((p) => [p.pid, p]));
      const files = (
        doc as unknown as {
          sessions: Array<{ accountFiles: Array<{ path: string; sha256: string | null; entries: number }> }>;
        }
      ).sessions[0]!.accountFiles;
      const passwd = readFileSync("/etc/passwd");
      assert.deepEqual(
        files.map((f) => f.path),
        ["/etc/passwd", "/etc/group"],
      );
      assert.equal(files[0]!.sha256, createHash("sha256").update(passwd).digest("hex"), "the sealed passwd hash");
      for (const s of SCHEMES) {
        const p = byPid.get(during.get(s.name)!.pid!);
        assert.ok(p, `${s.name}: the process is in the replay`);
        assert.equal(p.cgroup, `/${base.slice(root.length + 1)}/${s.rel}`, `${s.name}: cgroup path`);
        for (const [k, v] of Object.entries(s.want)) assert.equal(p.container?.[k], v, `${s.name}: container.${k}`);
      }
      const pre = byPid.get(before.pid!);
      assert.ok(pre, "the process started before the recording");
      assert.equal(pre.container?.runtime, "podman", "snapshot process: container from proc-cgroups");
      assert.equal(pre.container?.id, hex("e"));
      const nb = byPid.get(nobody.pid!);
      assert.ok(nb, "the setpriv process");
      assert.equal(nb.uid, 65534);
      assert.equal(nb.user, "nobody");
      assert.ok(nb.execs.some((e) => e.filename.endsWith("sleep")));

      // Filters, through the CLI.
      const pids = (args: string[]) => new Set(replay(args).processes.map((p) => p.pid));
      assert.deepEqual(pids(["--container", hex("a").slice(0, 12)]), new Set([during.get("docker")!.pid]));
      assert.deepEqual(pids(["--container", hex("e").slice(0, 8)]), new Set([during.get("podman")!.pid, before.pid]));
      assert.deepEqual(pids(["--container", UID.slice(0, 8)]), new Set([during.get("k8s")!.pid]));
      assert.deepEqual(pids(["--unit", "st18ctr-test.service"]), new Set([during.get("unit")!.pid]));
      assert.deepEqual(pids(["--unit", "st18ctr-test"]), new Set([during.get("unit")!.pid]));
      const users = replay(["--user", "nobody"]).processes;
      assert.ok(
        users.some((p) => p.pid === nobody.pid),
        "--user nobody selects the setpriv process",
      );
      assert.ok(
        users.every((p) => p.user === "nobody"),
        "--user nobody selects only nobody's processes",
      );
      const tree = cliSync(["replay", out, "-i", key.identity, "--view", "tree", "--pid", String(nobody.pid)]);
      assert.equal(tree.status, 0, tree.stderr);
      assert.match(tree.stdout, /uid=65534\(nobody\)/);
      console.log(tree.stdout);
      const treeCtr = cliSync([
        "replay",
        out,
        "-i",
        key.identity,
        "--view",
        "tree",
        "--container",
        hex("a").slice(0, 12),
      ]);
      assert.match(treeCtr.stdout, new RegExp(`<docker:${hex("a").slice(0, 12)}>`));
      const bad = cliSync(["replay", out, "-i", key.identity, "--container", "not-hex!"]);
      assert.equal(bad.status, 2);
      assert.equal(bad.stderr.trim().split("\n").length, 1);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      await Promise.all(children.map(exited));
      for (const d of made.reverse()) {
        try {
          rmdirSync(d);
        } catch (e) {
          console.error(`could not remove ${d}: ${(e as Error).message}`);
        }
      }
    }
  },
);

test.after(() => rmSync(dir, { recursive: true, force: true }));
