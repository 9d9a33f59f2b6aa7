// Replay end to end (root, real kernel): the recorder records a scripted download → chmod → run chain,
// and a forced pid reuse; `sealtrace replay --format json` must rebuild them (issue 6, acceptance 2 and 3).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { tempDir } from "../unit/session-helpers.js";

const ROOT = join(fileURLToPath(import.meta.url), "..", "..", "..", "..");
const CLI = join(ROOT, "dist/src/cli/main.js");
const KEY = join(ROOT, "fixtures/replay/test-identity.key");
const RECIPIENT = /age1[0-9a-z]+/.exec(readFileSync(KEY, "utf8"))![0];
// Per run: a fixed port collides with another run's server on a shared machine.
const PORT = 20000 + (process.pid % 20000);
const notRoot = process.getuid?.() !== 0 ? "needs root: records with real BPF probes" : false;

interface Doc {
  processes: Array<{
    id: string;
    pid: number;
    parentId: string | null;
    exitCode: number | null;
    origin: string;
    execs: Array<{ filename: string; argv: string[] }>;
  }>;
  connections: Array<{ processId: string | null; dport: number; outcome: string }>;
  files: Array<{ processId: string; path: string; bytes: number; chmods: Array<{ mode: string }> }>;
}

function replayJson(file: string): Doc {
  const r = spawnSync(process.execPath, [CLI, "replay", file, "-i", KEY, "--format", "json"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Doc;
}

test(
  "scripted chain: tree with the in-place exec, exit code, both connections, exact file bytes",
  { skip: notRoot, timeout: 180_000 },
  () => {
    const { dir, cleanup } = tempDir("replay-e2e");
    let work: string | undefined;
    try {
      const out = join(dir, "chain.sealed");
      const rec = spawnSync("sh", [join(ROOT, "fixtures/replay/make-chain.sh"), out], {
        encoding: "utf8",
        env: { ...process.env, PORT: String(PORT) },
      });
      work = /work dir (\S+)/.exec(rec.stdout)?.[1];
      assert.equal(rec.status, 0, rec.stderr);
      assert.ok(work, rec.stdout);
      const doc = replayJson(out);
      const byId = new Map(doc.processes.map((p) => [p.id, p]));
      const stage = doc.processes.find((p) => p.execs.some((e) => e.filename === `${work}/stage.sh`))!;
      assert.ok(stage, "the stage script ran");
      assert.deepEqual(
        stage.execs.map((e) => e.filename.split("/").pop()),
        ["stage.sh", "curl"],
        "in-place exec: one process, two images",
      );
      assert.equal(stage.exitCode, 7, "curl to a closed port exits 7");
      const downloader = doc.processes.find(
        (p) => p.origin === "observed" && p.execs.some((e) => e.argv.includes(`http://127.0.0.1:${PORT}/stage.sh`)),
      )!;
      const chmod = doc.processes.find((p) => p.execs.some((e) => e.argv[0] === "chmod"))!;
      const runner = byId.get(stage.parentId!)!;
      assert.equal(downloader.parentId, runner.id);
      assert.equal(chmod.parentId, runner.id);
      const writer = doc.processes.find((p) => p.parentId === stage.id && p.execs.some((e) => e.argv[0] === "head"));
      assert.ok(writer, "head is the stage script's child");
      assert.equal(doc.connections.find((c) => c.processId === downloader.id)?.outcome, "established");
      const refused = doc.connections.find((c) => c.processId === stage.id);
      assert.equal(refused?.dport, 9);
      assert.equal(refused?.outcome, "refused");
      const script = readFileSync(join(work, "stage.sh"));
      assert.equal(
        doc.files.find((f) => f.processId === downloader.id && f.path === `${work}/stage.sh`)?.bytes,
        script.length,
      );
      assert.equal(doc.files.find((f) => f.processId === writer.id && f.path === `${work}/loot.bin`)?.bytes, 12345);
      assert.ok(doc.files.some((f) => f.processId === chmod.id && f.chmods.some((c) => c.mode === "0755")));
    } finally {
      if (work?.startsWith("/tmp/sealtrace-chain-")) rmSync(work, { recursive: true, force: true }); // make-chain.sh's work dir
      cleanup();
    }
  },
);

test(
  "pid reuse (forced with ns_last_pid) gives two processes with one pid",
  { skip: notRoot, timeout: 180_000 },
  async () => {
    const { dir, cleanup } = tempDir("replay-reuse");
    try {
      const out = join(dir, "reuse.sealed");
      const note = join(dir, "pids");
      // Point ns_last_pid below a free pid, fork /bin/true there, let it exit, and do it again with
      // /bin/echo: the kernel hands out the same pid twice. Retried, since any fork elsewhere can take it.
      const script = [
        "import os, random, time",
        "pid_max = int(open('/proc/sys/kernel/pid_max').read())",
        "def at(n, argv):",
        "    with open('/proc/sys/kernel/ns_last_pid', 'w') as f: f.write(str(n - 1))",
        "    pid = os.fork()",
        "    if pid == 0: os.execv(argv[0], argv)",
        "    os.waitpid(pid, 0)",
        "    return pid",
        "for _ in range(500):",
        "    n = random.randrange(1000, pid_max - 1)",
        "    if os.path.exists('/proc/%d' % n) or at(n, ['/bin/true']) != n: continue",
        "    if at(n, ['/bin/echo', 'again']) == n:",
        `        open(${JSON.stringify(note)}, 'w').write(str(n)); break`,
      ].join("\n");
      const runbook = join(dir, "rb.yaml");
      writeFileSync(
        runbook,
        "name: reuse\ndescription: pid reuse\nbundles: [exec]\nduration: 120s\nsnapshotInterval: 1s\nflushInterval: 1s\n",
      );
      const rec = spawn(process.execPath, [CLI, "record", "--runbook", runbook, "-r", RECIPIENT, "-o", out, "--yes"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      rec.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => rec.on("exit", r));
      let ended = false;
      void exited.then(() => (ended = true));
      // The workload starts once the probes are live, however long that takes on this machine (the
      // test's timeout bounds it); a record that fails instead fails the test with its own line.
      while (!stderr.includes("probes attached") && !ended) await new Promise((r) => setTimeout(r, 20));
      if (!ended) {
        // Recorded until the workload is over (then Ctrl-C), not for a fixed time: it takes seconds
        // on an emulated machine. The runbook's duration only bounds a workload that hangs.
        const py = spawn("/usr/bin/python3", ["-c", script], { stdio: "ignore" });
        await new Promise((r) => py.on("exit", r));
        await new Promise((r) => setTimeout(r, 1000)); // a flush interval
        rec.kill("SIGINT");
      }
      assert.equal(await exited, 0, stderr);
      const reused = Number(readFileSync(note, "utf8").trim());
      const same = replayJson(out).processes.filter((p) => p.pid === reused);
      assert.equal(same.length, 2, "two incarnations of one pid");
      assert.notEqual(same[0]!.id, same[1]!.id);
      assert.deepEqual(same.map((p) => p.execs[0]?.filename).sort(), ["/bin/echo", "/bin/true"]);
      // --view process on the reused pid lists both, each with the --pid text that picks it (issue 17, item 3).
      const list = spawnSync(
        process.execPath,
        [CLI, "replay", out, "-i", KEY, "--view", "process", "--pid", String(reused)],
        { encoding: "utf8" },
      );
      assert.equal(list.status, 2, list.stderr);
      assert.match(list.stderr, new RegExp(`--pid ${reused} names 2 processes`));
      const picks = [...list.stdout.matchAll(/--pid (\S+@\S+)/g)].map((m) => m[1]!);
      assert.equal(picks.length, 2, list.stdout);
      const images = picks.map((pick) => {
        const one = spawnSync(
          process.execPath,
          [CLI, "replay", out, "-i", KEY, "--view", "process", "--pid", pick, "--format", "json"],
          { encoding: "utf8" },
        );
        assert.equal(one.status, 0, one.stderr);
        return (JSON.parse(one.stdout) as { process: { execs: Array<{ filename: string }> } }).process.execs[0]
          ?.filename;
      });
      assert.deepEqual(images.sort(), ["/bin/echo", "/bin/true"]);
    } finally {
      cleanup();
    }
  },
);
