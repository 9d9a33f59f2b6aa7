// The chain of custody a recording carries (issue 5, lifecycle): who ran it (uid, SUDO_USER), where
// (host, boot id), with what (tool, runbook hash, BPF object hashes), the clock, when each bundle
// attached, the recorder's own cost (BPF run time, user-space CPU), and a summary that agrees with
// the records.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { ROOT } from "../helpers/bpf.js";
import { cliAsync, makeKey, readRecorded, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/workload.js";
import { EV } from "../../src/events/layouts.js";

const sha256 = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

test("a session's metadata, attach, stats and summary records hold the chain of custody", async () => {
  const dir = tempDir();
  try {
    const key = makeKey(dir);
    const out = join(dir, "custody.sealed");
    const before = Date.now();
    const rec = cliAsync(
      [
        "record",
        "--runbook",
        "triage",
        "--duration",
        "3s",
        "-r",
        key.recipient,
        "-o",
        out,
        "--yes",
        "--incident",
        "INC-7",
      ],
      { SUDO_USER: "alice", SUDO_UID: "1000" },
    );
    await waitFor(rec.stderr, "probes attached", 15_000);
    for (let i = 0; i < 20; i++) spawnSync("/bin/true", ["custody", String(i)]);
    const res = await rec.done;
    assert.equal(res.code, 0, res.stderr);
    const got = await readRecorded(out, key.identity);
    const md = got.metadata as Record<string, any>;

    assert.deepEqual(md.operator, { uid: 0, user: "root", sudoUser: "alice", sudoUid: 1000 });
    assert.equal(md.incident, "INC-7");
    assert.equal(md.host.bootId, readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    assert.equal(md.tool.name, "sealtrace");
    assert.equal(md.recorderTgid, rec.child.pid);
    assert.equal(md.runbook.sha256, sha256(join(ROOT, "runbooks", "triage.yaml")));
    assert.deepEqual(
      md.bundles.map((b: { name: string }) => b.name),
      ["exec", "connect", "retransmit", "filewrite", "privilege"],
    );
    for (const b of md.bundles) assert.equal(b.sha256, sha256(join(ROOT, "bpf", b.object)), b.name);
    // realtime − boottime, taken at the start: the session's clock for every boot-time stamp.
    const startedAt = Date.parse(md.clock.startedAt);
    assert.ok(startedAt >= before - 1000 && startedAt <= Date.now(), md.clock.startedAt);
    const first = got.kernel.find((e) => e.type === EV.exec)!;
    const firstMs = Number((first.ts_ns as bigint) + BigInt(md.clock.realtimeMinusBoottimeNs)) / 1e6;
    assert.ok(
      firstMs >= before && firstMs <= Date.now(),
      "an exec's boot-time stamp maps to wall-clock time during the test",
    );

    const attach = got.records.find((r) => r.k === "attach") as Record<string, any>;
    assert.ok(attach.attachMs > 0 && attach.loadMs > 0);
    for (const b of attach.bundles) assert.ok(b.attachedMs > 0 && b.attachedMs <= attach.attachMs + 1, b.b);
    assert.ok(
      got.records.some((r) => r.k === "cgroups"),
      "the cgroup map",
    );

    const stats = got.records.filter((r) => r.k === "stats") as Array<Record<string, any>>;
    const execStats = stats.filter((s) => s.b === "exec").at(-1)!;
    const execProg = execStats.progs.find((p: { name: string }) => p.name === "exec_exec");
    assert.ok(
      execProg.runCount >= 20n && execProg.runTimeNs > 0n,
      "BPF run time while recording (kernel.bpf_stats_enabled)",
    );
    const own = stats.filter((s) => s.b === "recorder").at(-1)!;
    assert.ok(own.cpuUserUs > 0 && own.rssBytes > 0, "the recorder's own CPU and memory");

    const summary = got.summary as Record<string, any>;
    assert.equal(summary.endReason, "duration");
    assert.equal(
      summary.counts.exec,
      got.kernel.filter((e) => e.type === EV.exec).length,
      "the summary counts what the session holds",
    );
    assert.ok(summary.counts.exec >= 20);
    assert.ok(summary.endBootNs > summary.startBootNs);
    for (const b of ["exec", "connect", "retransmit", "filewrite", "privilege"]) assert.ok(b in summary.losses, b);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
