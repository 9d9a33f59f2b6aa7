// The HTML report of a real host-wide recording of a scripted intrusion opens on what stands out and on
// the intrusion's lanes (issue 17, item 1), in Chromium: a "victim" service in a private netns takes a
// payload over a loopback connection, drops it as a copy of the Python binary named like a kernel worker,
// runs it (it is refused on port 9 and exits 4), then deletes it and its own log. Recorded host-wide with
// all four bundles, as triage records, on a machine where other work runs too.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(fileURLToPath(import.meta.url), "..", "..", "..", "..");
const CLI = join(ROOT, "dist/src/cli/main.js");
const KEY = join(ROOT, "fixtures/replay/test-identity.key");
const RECIPIENT = /age1[0-9a-z]+/.exec(readFileSync(KEY, "utf8"))![0];
const CHROMIUM = "/usr/bin/chromium";
const skip =
  process.getuid?.() !== 0
    ? "needs root: records with real BPF probes in a private netns"
    : existsSync(CHROMIUM)
      ? false
      : "needs Debian chromium (apt-get install -y chromium)";
const PORT = 5078;
const NETNS = `st-rh-${process.pid}`;
/** Where the screenshot is kept for a person to look at (the test's temp dir is removed). */
const SCREENSHOT = "/tmp/sealtrace-replay-html-first-screen.png";

/** The victim: listens, waits for `go`, takes the payload, drops and runs it, cleans up, says what it did. */
const VICTIM = String.raw`
import json, os, shutil, socket, sys, time
port, work = int(sys.argv[1]), sys.argv[2]
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("127.0.0.1", port)); l.listen(4)
open(work + "/ready", "w").close()
while not os.path.exists(work + "/go"): time.sleep(0.05)
time.sleep(0.5)
attacker = os.fork()
if attacker == 0:
    l.close()
    os.execv(sys.executable, ["python3", "-c", "import socket,sys; c=socket.create_connection(('127.0.0.1', int(sys.argv[1]))); c.sendall(b'import socket,sys\\ntry: socket.create_connection((\"127.0.0.1\", 9))\\nexcept OSError: sys.exit(4)\\n'); c.close()", str(port)])
a, _ = l.accept(); script = b""
while True:
    b = a.recv(4096)
    if not b: break
    script += b
os.waitpid(attacker, 0)
log = work + "/victim.log"
with open(log, "w") as f: f.write("payload received\n")
drop = work + "/.x/kworker"
os.makedirs(work + "/.x", exist_ok=True)
shutil.copy(os.path.realpath(sys.executable), drop); os.chmod(drop, 0o755)
payload = os.fork()
if payload == 0: os.execv(drop, ["[kworker/0:1]", "-c", script.decode()])
status = os.waitpid(payload, 0)[1]
os.unlink(drop); os.unlink(log)
json.dump(dict(victim=os.getpid(), attacker=attacker, payload=payload, status=status), open(work + "/res.json", "w"))
time.sleep(30)
`;

interface Result {
  victim: number;
  attacker: number;
  payload: number;
  status: number;
}

let work = "";
let file = "";
let res: Result | undefined;

function netns(...args: string[]): string {
  return execFileSync("ip", ["netns", "exec", NETNS, ...args], { encoding: "utf8" });
}

before(
  async () => {
    if (skip) return;
    work = mkdtempSync(join(tmpdir(), "st-rh-"));
    file = join(work, "intrusion.sealed");
    execFileSync("ip", ["netns", "add", NETNS]);
    let victim: ChildProcess | undefined;
    try {
      netns("ip", "link", "set", "lo", "up");
      victim = spawn("ip", ["netns", "exec", NETNS, "python3", "-c", VICTIM, String(PORT), work], { stdio: "ignore" });
      for (let i = 0; i < 600 && !existsSync(join(work, "ready")); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(existsSync(join(work, "ready")), "the victim started");
      const runbook = join(work, "rb.yaml");
      writeFileSync(
        runbook,
        "name: st-rh\ndescription: intrusion, host-wide\nbundles: [exec, connect, retransmit, filewrite]\nduration: 6s\nsnapshotInterval: 1s\nflushInterval: 1s\n",
      );
      const rec = spawn(process.execPath, [CLI, "record", "--runbook", runbook, "-r", RECIPIENT, "-o", file, "--yes"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      rec.stderr!.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
        if (stderr.includes("probes attached")) writeFileSync(join(work, "go"), "");
      });
      const code = await new Promise<number | null>((resolve) => rec.on("exit", resolve));
      assert.equal(code, 0, stderr);
      for (let i = 0; i < 200 && !existsSync(join(work, "res.json")); i++) await new Promise((r) => setTimeout(r, 50));
      res = JSON.parse(readFileSync(join(work, "res.json"), "utf8")) as Result;
      assert.equal(res.status >> 8, 4, "the payload was refused and exited 4, as scripted");
    } finally {
      victim?.kill("SIGKILL");
      try {
        execFileSync("ip", ["netns", "delete", NETNS], { stdio: "ignore" });
      } catch {
        /* not created */
      }
    }
  },
  { timeout: 300_000 },
);

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test(
  "HTML of a host-wide intrusion recording: what stands out on top, the intrusion's lanes on the first screen",
  { skip, timeout: 300_000 },
  async () => {
    const r = spawnSync(process.execPath, [CLI, "replay", file, "-i", KEY, "--format", "html"], {
      encoding: "utf8",
      maxBuffer: 1 << 28,
    });
    assert.equal(r.status, 0, r.stderr);
    const html = join(work, "report.html");
    writeFileSync(html, r.stdout);
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(e.message));
      await page.goto(`file://${html}`);
      await page.screenshot({ path: SCREENSHOT });
      assert.deepEqual(problems, []);
      const top = (await page.locator("#standout").textContent()) ?? "";
      const drop = join(work, ".x/kworker");
      assert.match(top, /What stands out/);
      // Other work on this machine may add its own entries; the intrusion's come first in each line.
      assert.match(top, /\d+ files? executed, then deleted: /);
      assert.ok(
        top.includes(
          `executed, then deleted: ${drop} (run by kworker [${res!.payload}], deleted by python3 [${res!.victim}])`,
        ),
        top,
      );
      assert.ok(top.includes(`${join(work, "victim.log")} (by python3 [${res!.victim}])`), top);
      assert.match(top, new RegExp(`\\[${res!.payload}\\] refused → 127\\.0\\.0\\.1:9`));
      assert.match(top, new RegExp(`\\[${res!.payload}\\] exit 4`));
      assert.match(top, /events lost|no events lost/);
      // Host-wide: kernel threads and idle processes are one line, not lanes.
      assert.match(
        (await page.locator(".folded").textContent()) ?? "",
        /^\d+ kernel threads?, \d+ idle process(?:es)?;/,
      );
      assert.doesNotMatch(r.stdout, /class="label"[^>]*>kthreadd \[2\]/);
      // The intrusion's lanes lie wholly inside the first screen, as laid out by the browser (one evaluate:
      // a locator per lane waits on a page of thousands of marks for longer than a loaded machine allows).
      const viewport = page.viewportSize()!;
      type Box = { top: number; bottom: number; width: number };
      type Lane = { getBoundingClientRect(): Box; querySelector(s: string): { textContent: string | null } | null };
      const boxes = await page.locator(".lane").evaluateAll((els) =>
        els.map((el) => {
          const lane = el as unknown as Lane;
          const r = lane.getBoundingClientRect();
          return {
            label: lane.querySelector(".label")?.textContent ?? "",
            top: r.top,
            bottom: r.bottom,
            width: r.width,
          };
        }),
      );
      for (const [what, pid] of [
        ["victim", res!.victim],
        ["attacker", res!.attacker],
        ["payload", res!.payload],
      ] as const) {
        const mine = boxes.filter((b) => b.label.endsWith(` [${pid}]`));
        assert.equal(mine.length, 1, `${what} [${pid}] has one lane`);
        const box = mine[0]!;
        assert.ok(
          box.top >= 0 && box.bottom <= viewport.height && box.width > 0,
          `${what} [${pid}] lane at y ${box.top.toFixed(0)}–${box.bottom.toFixed(0)} within the ${viewport.height} px first screen (screenshot ${SCREENSHOT})`,
        );
      }
      process.stderr.write(`replay-html-screen: ${boxes.length} lanes, screenshot ${SCREENSHOT}\n${top}\n`);
    } finally {
      await browser.close();
    }
  },
);
