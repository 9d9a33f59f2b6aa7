// Executable identity end to end: real binaries executed during a recording (a private copy, a copy in
// /tmp unlinked before it runs, one deleted while it runs, a memfd, one above the runbook's hash size
// limit), recorded with the exec bundle (real BPF), replayed to JSON and text, and --sha256 through the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliAsync, cliSync, makeKey, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/workload.js";

const dir = tempDir("sealtrace-st18exe-");
const key = makeKey(dir);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

interface Exec {
  filename: string;
  sha256: string | null;
  inode: string | null;
  deleted: boolean | null;
  fileless: boolean | null;
  exe: {
    size: string;
    worldWritableDir: boolean;
    tooLarge: boolean;
    unhashed: string | null;
    hashedVia: string | null;
  };
}
interface Doc {
  processes: Array<{ pid: number; execs: Exec[] }>;
}

test(
  "exec hashes: normal, unlinked before exec, deleted while running, memfd, too large; --sha256",
  { timeout: 180_000 },
  async () => {
    const children: ChildProcess[] = [];
    const exited = (c: ChildProcess) =>
      new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.on("exit", () => r())));
    // A private copy (its directory is 0700: not world-writable), and one padded past the 1 MiB limit below.
    // Its content is made unique (trailing bytes the ELF loader ignores): other processes here run /bin/true.
    const normal = join(dir, "st18-true");
    writeFileSync(normal, Buffer.concat([readFileSync("/bin/true"), randomBytes(64)]), { mode: 0o755 });
    const big = join(dir, "st18-big");
    const bigBytes = Buffer.concat([readFileSync("/bin/true"), Buffer.alloc(2 * 1024 * 1024)]);
    writeFileSync(big, bigBytes, { mode: 0o755 });
    // /tmp itself is world-writable; the sleep copies carry their pid-free unique names.
    const unlinked = join(tmpdir(), `st18-unlinked-${process.pid}`);
    const running = join(tmpdir(), `st18-running-${process.pid}`);
    copyFileSync("/bin/sleep", unlinked);
    copyFileSync("/bin/sleep", running);
    const sleepSha = sha(readFileSync("/bin/sleep"));
    try {
      const out = join(dir, "exe.sealed");
      const rbPath = join(dir, "st18exe.yaml");
      writeFileSync(
        rbPath,
        "name: st18exe\ndescription: e2e exec hashes\nbundles: [exec]\nduration: 8s\nlimits:\n  maxHashFileSize: 1MiB\nprompts:\n  incident: false\n",
      );
      const rec = cliAsync(["record", "--runbook", rbPath, "-r", key.recipient, "-o", out, "--yes"]);
      await waitFor(rec.stderr, "probes attached", 30_000);
      const run = (cmd: string, args: string[]) => {
        const c = spawn(cmd, args, { stdio: "ignore" });
        children.push(c);
        return c;
      };
      const cNormal = run(normal, []);
      const cBig = run(big, []);
      // Unlinked, then executed through its descriptor: the kernel sees nlink 0 (deleted), it runs 2 s.
      const cUnlinked = run("/usr/bin/python3", [
        "-c",
        `import os\nfd = os.open(${JSON.stringify(unlinked)}, os.O_RDONLY)\nos.unlink(${JSON.stringify(unlinked)})\nos.execve(f"/proc/self/fd/{fd}", ["sleep", "2"], {})`,
      ]);
      // Executed by name, then deleted while it runs: its path is gone, /proc/PID/exe still reads it.
      const cRunning = run(running, ["2"]);
      await new Promise((r) => setTimeout(r, 50));
      unlinkSync(running);
      const cMemfd = run("/usr/bin/python3", [
        "-c",
        [
          "import os",
          "fd = os.memfd_create('st18', 0)",
          "os.write(fd, open('/bin/sleep', 'rb').read())",
          "ro = os.open(f'/proc/self/fd/{fd}', os.O_RDONLY)",
          "os.close(fd)",
          "os.execve(f'/proc/self/fd/{ro}', ['payload', '2'], {})",
        ].join("\n"),
      ]);
      await Promise.all(children.map(exited));
      const res = await rec.done;
      assert.equal(res.code, 0, res.stderr);

      const replay = (args: string[]): Doc => {
        const r = cliSync(["replay", out, "-i", key.identity, "--format", "json", ...args]);
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout) as Doc;
      };
      const doc = replay([]);
      const lastExec = (c: ChildProcess): Exec => {
        const p = doc.processes.find((q) => q.pid === c.pid);
        assert.ok(p, `process ${c.pid} replayed`);
        const e = p.execs[p.execs.length - 1];
        assert.ok(e, `process ${c.pid} has an exec`);
        return e;
      };

      const n = lastExec(cNormal);
      assert.equal(n.sha256, sha(readFileSync(normal)), "normal: the file's SHA-256");
      assert.deepEqual([n.deleted, n.fileless, n.exe.worldWritableDir], [false, false, false]);

      const u = lastExec(cUnlinked);
      assert.equal(u.sha256, sleepSha, `unlinked before exec: hashed (${u.exe.unhashed})`);
      assert.deepEqual([u.deleted, u.fileless, u.exe.worldWritableDir], [true, false, true]);
      assert.equal(u.exe.hashedVia, "proc");

      const r = lastExec(cRunning);
      assert.equal(r.sha256, sleepSha, `deleted while running: hashed (${r.exe.unhashed})`);
      assert.equal(r.deleted, false, "deleted after the exec, not before");
      assert.equal(r.exe.worldWritableDir, true);

      const m = lastExec(cMemfd);
      assert.equal(m.fileless, true, "memfd: fileless");
      assert.equal(m.deleted, false);
      assert.equal(m.sha256, sleepSha, `memfd: hashed (${m.exe.unhashed})`);

      const b = lastExec(cBig);
      assert.equal(b.sha256, null, "above the limit: no hash");
      assert.equal(b.exe.tooLarge, true);
      assert.equal(b.exe.size, String(bigBytes.length));

      // --sha256: a prefix selects the processes that ran it, and only those.
      const sel = replay(["--sha256", sha(readFileSync(normal)).slice(0, 10).toUpperCase()]).processes.map(
        (p) => p.pid,
      );
      assert.deepEqual(sel, [cNormal.pid]);
      const sleepers = new Set(replay(["--sha256", sleepSha.slice(0, 16)]).processes.map((p) => p.pid));
      for (const c of [cUnlinked, cRunning, cMemfd]) assert.ok(sleepers.has(c.pid!), `--sha256 sleep selects ${c.pid}`);
      assert.ok(!sleepers.has(cNormal.pid!));
      const bad = cliSync(["replay", out, "-i", key.identity, "--sha256", "xyz"]);
      assert.equal(bad.status, 2);
      assert.equal(bad.stderr.trim().split("\n").length, 1);

      // Text: the short hash and the flags beside the exec.
      const tree = cliSync(["replay", out, "-i", key.identity, "--view", "tree", "--pid", String(cMemfd.pid)]);
      assert.equal(tree.status, 0, tree.stderr);
      assert.match(tree.stdout, new RegExp(`\\[${sleepSha.slice(0, 12)}, fileless\\]`));
      const proc = cliSync(["replay", out, "-i", key.identity, "--view", "process", "--pid", String(cUnlinked.pid)]);
      assert.equal(proc.status, 0, proc.stderr);
      assert.match(proc.stdout, new RegExp(`file ${sleepSha}, de`)); // cut at 80 columns
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      await Promise.all(children.map(exited));
      rmSync(unlinked, { force: true });
      rmSync(running, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
