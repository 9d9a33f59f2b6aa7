// `sealtrace record` as an on-call engineer runs it: every shipped runbook unattended, signals, kill -9,
// a full disk, and no probe left behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { listRunbooks } from "../../src/runbook/catalog.js";
import { EV } from "../../src/events/layouts.js";
import { argList } from "../../src/replay/strings.js";
import { CLI, cliAsync, cliSync, makeKey, readRecorded, tempDir, type Recorded } from "../helpers/cli.js";
import { runWorkload, waitFor } from "../helpers/workload.js";
import { assertNoProbes } from "../helpers/bpf.js";

const dir = tempDir();
const key = makeKey(dir);

function execArgs(rec: Recorded): string[] {
  return rec.kernel
    .filter((e) => e.type === EV.exec)
    .map((e) =>
      argList(e.tail, e.filename_len as number, (e.filename_len as number) + (e.argv_len as number)).join(" "),
    );
}

for (const rb of listRunbooks()) {
  test(`runbook ${rb.name}: records a real workload unattended into a SEALED file with the workload's events`, async () => {
    const out = join(dir, `${rb.name}.sealed`);
    // suspicious-process follows the target: it forks a child, then execs in place.
    const target = rb.prompts.target
      ? spawn(
          "/bin/sh",
          ["-c", "read _; /bin/true child-of-target; exec /usr/bin/python3 -c 'import time; time.sleep(0.3)'"],
          { stdio: ["pipe", "ignore", "ignore"] },
        )
      : undefined;
    const args = [
      "record",
      "--runbook",
      rb.name,
      "--duration",
      "4s",
      "-r",
      key.recipient,
      "-o",
      out,
      "--yes",
      "--incident",
      `TEST-${rb.name}`,
    ];
    if (target) args.push("--pid", String(target.pid));
    const rec = cliAsync(args);
    await waitFor(rec.stderr, "probes attached");
    const marker = `marker-${rb.name}`;
    const file = join(dir, `${rb.name}.out`);
    let work: Awaited<ReturnType<typeof runWorkload>> | undefined;
    if (target) {
      target.stdin!.end("go\n");
      // Outside the followed tree: must not be recorded.
      spawnSync("/bin/true", ["not-followed"]);
      await new Promise((r) => target.on("exit", r));
    } else {
      work = await runWorkload(marker, file);
    }
    const res = await rec.done;
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /sealed:/);
    const v = cliSync(["verify", out]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /SEALED/);
    const got = await readRecorded(out, key.identity);
    assert.equal(got.verdict, "SEALED");
    assert.equal((got.metadata.runbook as { name: string }).name, rb.name);
    assert.equal(got.metadata.incident, `TEST-${rb.name}`);
    const execs = got.kernel.filter((e) => e.type === EV.exec);
    const argvs = execArgs(got);
    if (target) {
      assert.ok(
        execs.some((e) => e.tgid === target.pid),
        "the target's in-place exec",
      );
      assert.ok(
        execs.some((e, i) => e.ppid === target.pid && argvs[i] === "/bin/true child-of-target"),
        "the target's child",
      );
      assert.ok(!argvs.includes("/bin/true not-followed"), "a process outside the followed tree");
    } else {
      const w = work!;
      const r = cliSync(["replay", out, "-i", key.identity, "--format", "json"]);
      assert.equal(r.status, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { files: Array<{ pid: number; path: string; bytes: number }> };
      if (rb.bundles.includes("exec"))
        assert.ok(
          execs.some((e, i) => e.ppid === w.pid && argvs[i] === `/bin/true ${marker} 0`),
          "the workload's exec",
        );
      if (rb.bundles.includes("connect"))
        assert.ok(
          got.kernel.some((e) => e.type === EV.connect && e.tgid === w.pid && e.dport === w.port),
          "the workload's connect",
        );
      if (rb.bundles.includes("retransmit")) {
        assert.ok(
          got.kernel.some((e) => e.type === EV.recvReset && e.tgid === w.pid && e.dport === w.closedPort),
          "the reset the workload's refused connect received",
        );
      }
      if (rb.bundles.includes("filewrite")) {
        const f = doc.files.filter((x) => x.path === file && x.pid === w.pid);
        assert.equal(f.length, 1, JSON.stringify(doc.files.filter((x) => x.pid === w.pid)));
        assert.equal(f[0]!.bytes, 5 * 12345, "the workload's bytes, exactly");
      }
    }
    await assertNoProbes();
  });
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  test(`${sig} during recording seals the file`, async () => {
    const out = join(dir, `${sig}.sealed`);
    const rec = cliAsync([
      "record",
      "--runbook",
      "triage",
      "--duration",
      "60s",
      "-r",
      key.recipient,
      "-o",
      out,
      "--yes",
    ]);
    await waitFor(rec.stderr, "probes attached");
    await new Promise((r) => setTimeout(r, 500));
    rec.child.kill(sig);
    const res = await rec.done;
    assert.equal(res.code, 0, res.stderr);
    const got = await readRecorded(out, key.identity);
    assert.equal(got.verdict, "SEALED");
    assert.equal(got.summary?.endReason, "signal");
    assert.equal(got.summary?.endDetail, sig);
    await assertNoProbes();
  });
}

test("kill -9: the .partial is UNSEALED and holds every exec older than 1 s; no probe survives", async () => {
  const out = join(dir, "killed.sealed");
  const rec = cliAsync(["record", "--runbook", "triage", "--duration", "60s", "-r", key.recipient, "-o", out, "--yes"]);
  await waitFor(rec.stderr, "probes attached");
  const spawned: Array<{ i: number; at: number }> = [];
  for (let i = 0; i < 25; i++) {
    execFileSync("/bin/true", [`kill9-${i}`]);
    spawned.push({ i, at: Date.now() });
    await new Promise((r) => setTimeout(r, 100));
  }
  const killedAt = Date.now();
  rec.child.kill("SIGKILL");
  await rec.done;
  await assertNoProbes();
  assert.ok(existsSync(`${out}.partial`));
  const v = cliSync(["verify", `${out}.partial`]);
  assert.equal(v.status, 5, v.stdout + v.stderr);
  assert.match(v.stdout, /UNSEALED/);
  const got = await readRecorded(`${out}.partial`, key.identity);
  assert.equal(got.verdict, "UNSEALED");
  const seen = new Set(execArgs(got));
  for (const s of spawned.filter((x) => x.at < killedAt - 1000))
    assert.ok(seen.has(`/bin/true kill9-${s.i}`), `exec ${s.i}, ${killedAt - s.at} ms before the kill, was lost`);
});

test("a full disk ends the recording with one clear line and a verifiable file", async () => {
  const mnt = join(dir, "small");
  mkdirSync(mnt);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]);
  try {
    const out = join(mnt, "full.sealed");
    const rec = cliAsync([
      "record",
      "--runbook",
      "triage",
      "--duration",
      "30s",
      "-r",
      key.recipient,
      "-o",
      out,
      "--yes",
    ]);
    await waitFor(rec.stderr, "probes attached");
    // Incompressible arguments fill the 1 MiB filesystem quickly.
    const storm = spawn(
      "/usr/bin/python3",
      [
        "-c",
        "import os\nfor i in range(3000):\n    os.waitpid(os.posix_spawn('/bin/true', ['/bin/true', os.urandom(1500).hex()], {}), 0)\n",
      ],
      { stdio: "ignore" },
    );
    const res = await rec.done;
    storm.kill();
    assert.equal(res.code, 8, res.stderr);
    const lines = res.stderr
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("sealtrace:") && /disk/i.test(l));
    assert.ok(lines.length >= 1, res.stderr);
    assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
    const sealedPath = existsSync(out) ? out : `${out}.partial`;
    const v = cliSync(["verify", sealedPath]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const got = await readRecorded(sealedPath, key.identity);
    assert.ok(got.kernel.length > 0);
    await assertNoProbes();
  } finally {
    execFileSync("umount", ["-l", mnt]);
  }
});

test("without a TTY, missing answers fail at once naming the flag", () => {
  const noRunbook = cliSync(["record", "-r", key.recipient]);
  assert.equal(noRunbook.status, 2);
  assert.match(noRunbook.stderr, /--runbook/);
  const noRecipient = cliSync(["record", "--runbook", "triage", "--yes"], {
    env: { SEALTRACE_RECIPIENTS: "", XDG_CONFIG_HOME: dir, HOME: dir },
  });
  assert.equal(noRecipient.status, 2);
  assert.match(noRecipient.stderr, /-r age1/);
  const noPid = cliSync(["record", "--runbook", "suspicious-process", "-r", key.recipient, "--yes"]);
  assert.equal(noPid.status, 2);
  assert.match(noPid.stderr, /--pid/);
  for (const r of [noRunbook, noRecipient, noPid]) assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
});

test("not root: record and doctor exit 3 with one clear line (capabilities dropped with setpriv)", () => {
  const drop = ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"];
  const rec = execNoThrow("setpriv", [
    ...drop,
    process.execPath,
    CLI,
    "record",
    "--runbook",
    "triage",
    "-r",
    key.recipient,
    "--yes",
    "-o",
    "/tmp/never.sealed",
  ]);
  assert.equal(rec.status, 3, rec.stderr);
  assert.match(rec.stderr, /root|CAP_BPF/);
  assert.doesNotMatch(rec.stderr, /\n\s+at /);
  const doc = execNoThrow("setpriv", [...drop, process.execPath, CLI, "doctor"]);
  assert.equal(doc.status, 3, doc.stderr);
  assert.match(doc.stdout, /MISSING\s+privileges/);
  assert.match(doc.stderr, /privileges: run as root/);
});

function execNoThrow(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: "/", env: { ...process.env, CI: "1" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});
