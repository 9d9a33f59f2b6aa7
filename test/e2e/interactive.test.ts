// The 3 AM path in a real pseudo-terminal: pick a runbook, type an incident id, confirm, record, seal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { CLI, makeKey, readRecorded, tempDir } from "../helpers/cli.js";
import { listRunbooks } from "../../src/runbook/catalog.js";

// A tiny pty driver (python3's pty module): waits for each prompt, then types the answer.
const DRIVER = `
import os, pty, sys, time, json, select
argv = json.loads(sys.argv[1]); steps = json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    env = dict(os.environ); env.pop("CI", None); env["TERM"] = "xterm"
    os.execve(argv[0], argv, env)
buf = b""
def read_until(needle, timeout):
    global buf
    end = time.time() + timeout
    while needle.encode() not in buf:
        if time.time() > end:
            sys.stderr.write("TIMEOUT waiting for %r; screen:\\n%s\\n" % (needle, buf.decode(errors="replace"))); sys.exit(3)
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try: buf += os.read(fd, 65536)
            except OSError: break
for needle, keys in steps:
    read_until(needle, 20)
    time.sleep(0.2)
    os.write(fd, keys.encode())
read_until("replay:", 30)
_, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
`;

test("interactive record in a pty: pick triage, enter an incident id, confirm, get a sealed file", async () => {
  const dir = tempDir();
  try {
    const key = makeKey(dir);
    const out = join(dir, "interactive.sealed");
    const argv = [process.execPath, CLI, "record", "-r", key.recipient, "-o", out, "--duration", "2s"];
    const down = "\x1b[B";
    // The menu lists the shipped runbooks in catalog order: as many arrow-downs as runbooks before triage.
    const triageAt = listRunbooks().findIndex((r) => r.name === "triage");
    assert.ok(triageAt >= 0, "triage is a shipped runbook");
    const steps = [
      ["Runbook", down.repeat(triageAt)],
      ["triage", "\r"],
      ["Incident id", "INC-42\r"],
      ["Start recording", "\r"],
    ];
    const r = spawnSync("/usr/bin/python3", ["-c", DRIVER, JSON.stringify(argv), JSON.stringify(steps)], {
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /SEALED/);
    const got = await readRecorded(out, key.identity);
    assert.equal(got.verdict, "SEALED");
    assert.equal(got.metadata.incident, "INC-42");
    assert.equal((got.metadata.runbook as { name: string }).name, "triage");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
