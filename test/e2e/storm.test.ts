// Storm isolation (issue 8 acceptance 4): a 2 M-write storm must not crowd out execs or connects.
// The whole product path: `record` with every bundle (triage), then `replay --format json`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { cliAsync, cliSync, makeKey, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/workload.js";

const WRITER =
  "import os, sys\nfd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)\nb = b'w' * 64\nfor _ in range(2000000):\n    os.write(fd, b)\nos.close(fd)\n";
const EXECS =
  "import os\nfor i in range(500):\n    os.waitpid(os.posix_spawn('/bin/true', ['/bin/true', 'storm-exec', str(i)], {}), 0)\n";
const CONNECTS = `
import socket
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(64)
print(srv.getsockname()[1], flush=True)
for i in range(500):
    c = socket.create_connection(("127.0.0.1", srv.getsockname()[1])); a, _ = srv.accept(); c.close(); a.close()
`;

function py(script: string, ...args: string[]) {
  const child = spawn("/usr/bin/python3", ["-c", script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise<string>((resolve, reject) =>
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`python exited ${code}`)))),
  );
}

test("2 M small writes, 500 execs and 500 connects at once: every exec and connect captured, write total exact, zero loss", async () => {
  const dir = tempDir();
  let cleanup = () => {};
  try {
    const key = makeKey(dir);
    const out = join(dir, "storm.sealed");
    const target = join(dir, "storm.dat");
    const rec = cliAsync([
      "record",
      "--runbook",
      "triage",
      "--duration",
      "120s",
      "-r",
      key.recipient,
      "-o",
      out,
      "--yes",
    ]);
    cleanup = () => rec.child.kill("SIGKILL");
    await waitFor(rec.stderr, "probes attached");
    await new Promise((r) => setTimeout(r, 1500)); // attached well before the storm
    const [, , connectOut] = await Promise.all([py(WRITER, target), py(EXECS), py(CONNECTS)]);
    const port = Number(connectOut.trim());
    await new Promise((r) => setTimeout(r, 300));
    rec.child.kill("SIGINT");
    const res = await rec.done;
    assert.equal(res.code, 0, `signal ${res.signal}: ${res.stderr}`);

    const replay = cliSync(["replay", out, "-i", key.identity, "--format", "json"]);
    assert.equal(replay.status, 0, replay.stderr);
    const doc = JSON.parse(replay.stdout) as {
      processes: Array<{ execs: Array<{ argv: string[] }> }>;
      connections: Array<{ dport: number; direction: string }>;
      files: Array<{ path: string; bytes: number | string; writes: number | string }>;
      losses: Array<{ bundle: string; count: number | string }>;
    };
    const stormExecs = doc.processes.flatMap((p) => p.execs).filter((e) => e.argv[1] === "storm-exec");
    assert.equal(new Set(stormExecs.map((e) => e.argv[2])).size, 500, "every exec of the storm");
    const connects = doc.connections.filter((c) => c.dport === port && c.direction === "outbound");
    assert.equal(connects.length, 500, "every connect of the storm");
    const file = doc.files.filter((f) => f.path === target);
    assert.equal(
      file.reduce((s, f) => s + Number(f.bytes), 0),
      2_000_000 * 64,
      "exact bytes written",
    );
    assert.equal(
      file.reduce((s, f) => s + Number(f.writes), 0),
      2_000_000,
      "exact write calls",
    );
    assert.deepEqual(
      doc.losses.filter((l) => Number(l.count) > 0),
      [],
      "no loss anywhere",
    );
  } finally {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
