// Issue 8, acceptance 5: a real 30 s recording writes its own session file the whole time (a frame a
// second), and that file never appears in the file events, while another process's writes do.
import { test } from "node:test";
import assert from "node:assert/strict";
import { realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { cliAsync, cliSync, makeKey, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/workload.js";
import { assertNoProbes } from "../helpers/bpf.js";

// Writes CHUNK bytes to the control file every 250 ms until told to stop (a line on stdin), then
// prints how many bytes it wrote. It also runs /bin/true every second: exec records to seal, so the
// recorder writes a frame every second (writes alone are aggregated in the kernel, not sent).
const WRITER_PY = `
import os, sys, threading, time
path, chunk = sys.argv[1], int(sys.argv[2])
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
total = 0
with open(path, "wb", buffering=0) as f:
    while not stop.is_set():
        total += f.write(b"w" * chunk)
        if total // chunk % 4 == 0:
            os.waitpid(os.posix_spawn("/bin/true", ["/bin/true", "tick"], {}), 0)
        time.sleep(0.25)
print(total, flush=True)
`;

test("a 30 s recording never records its own session file, and records another process's writes exactly", async () => {
  const dir = realpathSync(tempDir());
  try {
    const key = makeKey(dir);
    const out = join(dir, "own.sealed");
    const control = join(dir, "control.bin");
    const rec = cliAsync([
      "record",
      "--runbook",
      "exfiltration",
      "--duration",
      "30s",
      "-r",
      key.recipient,
      "-o",
      out,
      "--yes",
    ]);
    await waitFor(rec.stderr, "probes attached", 15_000);

    const writer = spawn("/usr/bin/python3", ["-c", WRITER_PY, control, "4321"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    let written = "";
    writer.stdout!.on("data", (d: Buffer) => (written += d.toString()));
    await new Promise((r) => setTimeout(r, 25_000));
    writer.stdin!.end("stop\n");
    await new Promise((r) => writer.on("exit", r));

    const res = await rec.done;
    assert.equal(res.code, 0, res.stderr);
    // A frame a second while there were records: the recorder really was writing its file throughout.
    const frames = Number(/frames (\d+)/.exec(res.stderr)?.[1]);
    assert.ok(frames >= 20, `only ${frames} frames in a 30 s recording`);

    const r = cliSync(["replay", out, "-i", key.identity, "--format", "json"]);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { files: Array<{ pid: number; path: string; bytes: number }> };
    const own = doc.files.filter((f) => f.pid === rec.child.pid || f.path.startsWith(out));
    assert.deepEqual(own, [], "the recorder's own session file");
    const ctl = doc.files.filter((f) => f.path === control && f.pid === writer.pid);
    assert.equal(ctl.length, 1, JSON.stringify(doc.files.filter((f) => f.path.startsWith(dir))));
    assert.ok(Number(written) > 4321 * 50, `the control writer wrote ${written} bytes`);
    assert.equal(ctl[0]!.bytes, Number(written), "the control file's bytes, exactly");
    await assertNoProbes();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
