// Replay as an analyst reads it, on real recordings (issue 17, items 1-3): a scripted loopback workload
// in a private netns (a listener, a 2 MiB upload under forced loss, a refused blocking and non-blocking
// connect, a file written over a second, a process exec'ing across the attach boundary) is recorded
// with three bundle sets; each replay must give the same facts, once each.
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
const notRoot = process.getuid?.() !== 0 ? "needs root: records with real BPF probes in a private netns" : false;
const PORT = 5077;
const NETNS = `st-ra-${process.pid}`;

/**
 * The server: starts three exec loops, waits for `go`, listens, takes the upload, is refused twice on
 * port 9, writes a file slowly, waits for `stop` (the loops stop too), then says what it saw.
 */
const SERVER = String.raw`
import json, os, select, socket, sys, time
port, work = int(sys.argv[1]), sys.argv[2]
loops = []
for i in range(3):
    pid = os.fork()
    if pid == 0: os.execv("/bin/sh", ["sh", work + "/loop.sh", "0"])
    loops.append(pid)
time.sleep(0.3); open(work + "/ready", "w").close()
while not os.path.exists(work + "/go"): time.sleep(0.05)
time.sleep(0.5)
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("127.0.0.1", port)); l.listen(4)
sender = os.fork()
if sender == 0:
    l.close(); os.chdir(work)
    os.execv(sys.executable, ["python3", "-c", "import socket,sys; c=socket.create_connection(('127.0.0.1', int(sys.argv[1]))); c.sendall(b'x' * (2 << 20)); c.shutdown(socket.SHUT_WR); sys.exit(3)", str(port)])
a, _ = l.accept(); n = 0
while True:
    b = a.recv(1 << 16)
    if not b: break
    n += len(b)
os.waitpid(sender, 0)
r = socket.socket()
try: r.connect(("127.0.0.1", 9))
except OSError as e: blocking = e.errno
nb = socket.socket(); nb.setblocking(False)
nbret = nb.connect_ex(("127.0.0.1", 9)); select.select([], [nb], [], 2)
nberr = nb.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR); nb.close()
with open(work + "/loot.bin", "wb") as f:
    for i in range(10):
        f.write(b"y" * 1000); f.flush(); time.sleep(0.1)
while not os.path.exists(work + "/stop"): time.sleep(0.05)
for pid in loops: os.waitpid(pid, 0)
with open(work + "/res.tmp", "w") as f: json.dump(dict(server=os.getpid(), sender=sender, loops=loops, received=n, blocking=blocking, nbret=nbret, nberr=nberr), f)
os.replace(work + "/res.tmp", work + "/res.json")
time.sleep(30)
`;

interface ProcJson {
  id: string;
  pid: number;
  parentId: string | null;
  origin: string;
  exitCode: number | null;
  execs: Array<{ time: string; filename: string; argv: string[]; cwd: string | null; origin: string }>;
}
interface ConnJson {
  pid: number;
  direction: string;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  outcome: string;
  errno: number | null;
  retransmits: number;
}
interface Doc {
  processes: ProcJson[];
  connections: ConnJson[];
  files: Array<{ pid: number; path: string; bytes: number; firstTime: string; lastTime: string }>;
}
interface Result {
  server: number;
  sender: number;
  loops: number[];
  received: number;
  blocking: number;
  nbret: number;
  nberr: number;
}
interface Recording {
  bundles: string;
  file: string;
  res: Result;
  retransSegs: bigint;
  doc: Doc;
}

const recordings: Recording[] = [];
let work = "";

function replay(file: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, "replay", file, "-i", KEY, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function netns(...args: string[]): string {
  return execFileSync("ip", ["netns", "exec", NETNS, ...args], { encoding: "utf8" });
}

function retransSegs(): bigint {
  const lines = netns("cat", "/proc/net/snmp")
    .split("\n")
    .filter((l) => l.startsWith("Tcp:"));
  return BigInt(lines[1]!.split(/\s+/)[lines[0]!.split(/\s+/).indexOf("RetransSegs")]!);
}

/** Runs the recorder; once its probes are attached, tells the workload to start (the `go` file). */
async function runRecorder(args: string[]): Promise<void> {
  const rec = spawn(process.execPath, [CLI, "record", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  rec.stderr!.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
    if (stderr.includes("probes attached")) writeFileSync(join(work, "go"), "");
  });
  const code = await new Promise<number | null>((resolve) => rec.on("exit", resolve));
  assert.equal(code, 0, stderr);
}

/** Records the workload with these bundles; `follow`: only the server and its descendants (adds the exec bundle). */
async function record(bundles: string, follow: boolean): Promise<Recording> {
  execFileSync("ip", ["netns", "add", NETNS]);
  let server: ChildProcess | undefined;
  try {
    netns("ip", "link", "set", "lo", "up");
    // Only segments carrying data are dropped: the sender retransmits, and no handshake or ACK of the
    // receiver's is ever lost, so the receiving side has nothing of its own to retransmit.
    execFileSync("ip", ["netns", "exec", NETNS, "nft", "-f", "-"], {
      input: `table inet st_ra_loss {\n chain in {\n  type filter hook input priority 0; policy accept;\n  tcp dport ${PORT} meta length > 200 numgen random mod 100 < 20 drop\n }\n}\n`,
    });
    for (const f of ["res.json", "res.tmp", "ready", "go", "stop"]) rmSync(join(work, f), { force: true });
    server = spawn("ip", ["netns", "exec", NETNS, "python3", "-c", SERVER, String(PORT), work], { stdio: "ignore" });
    // The exec loops run before the recorder starts, so they are in its start snapshot.
    for (let i = 0; i < 600 && !existsSync(join(work, "ready")); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(join(work, "ready")), "the workload started");
    const file = join(work, `${bundles.replaceAll(", ", "-")}.sealed`);
    const runbook = join(work, "rb.yaml");
    writeFileSync(
      runbook,
      `name: st-ra\ndescription: replay analyst workload\nbundles: [${bundles}]\nduration: 7s\nsnapshotInterval: 1s\nflushInterval: 1s\n`,
    );
    await runRecorder([
      "--runbook",
      runbook,
      "-r",
      RECIPIENT,
      "-o",
      file,
      "--yes",
      ...(follow ? ["--pid", String(server.pid)] : []),
    ]);
    // The loops run to the end of the recording: the start snapshot, taken late on a loaded machine, finds them.
    // The server writes res.json whole (a rename), so it is never read half-written.
    writeFileSync(join(work, "stop"), "");
    for (let i = 0; i < 200 && !existsSync(join(work, "res.json")); i++) await new Promise((r) => setTimeout(r, 50));
    const res = JSON.parse(readFileSync(join(work, "res.json"), "utf8")) as Result;
    assert.deepEqual(
      [res.received, res.blocking, res.nbret, res.nberr],
      [2 << 20, 111, 115, 111],
      "the workload ran as scripted",
    );
    return { bundles, file, res, retransSegs: retransSegs(), doc: JSON.parse(replay(file, "--format", "json")) as Doc };
  } finally {
    server?.kill("SIGKILL");
    try {
      execFileSync("ip", ["netns", "delete", NETNS], { stdio: "ignore" });
    } catch {
      /* not created */
    }
  }
}

before(
  async () => {
    if (notRoot) return;
    work = mkdtempSync(join(tmpdir(), "st-ra-"));
    // A process that execs itself until told to stop (each step with its own argument): some exec of it
    // lands between the probes' attach and the start snapshot's task iterator.
    writeFileSync(join(work, "loop.sh"), `[ -e ${work}/stop ] || exec /bin/sh ${work}/loop.sh $(($1 + 1))\n`);
    recordings.push(await record("connect", false));
    recordings.push(await record("exec, connect, filewrite", true));
    // Host-wide, as triage records: a pid filter would drop the retransmits of the sender's socket
    // once the sender has exited, and the comparison with the kernel's counter must be exact.
    recordings.push(await record("exec, connect, retransmit, filewrite", false));
  },
  { timeout: 240_000 },
);

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const byBundles = (b: string) => recordings.find((r) => r.bundles === b)!;

test(
  "a refused loopback connect, blocking or not, reads refused (errno 111) whatever the bundle set",
  { skip: notRoot },
  () => {
    for (const r of recordings) {
      const refused = r.doc.connections.filter((c) => c.pid === r.res.server && c.dport === 9);
      assert.deepEqual(
        refused.map((c) => [c.outcome, c.errno]),
        [
          ["refused", 111],
          ["refused", 111],
        ],
        `bundles ${r.bundles}`,
      );
    }
  },
);

test("a listener shows its local address and port in the connections and tree views", { skip: notRoot }, () => {
  for (const r of recordings) {
    const lsn = r.doc.connections.find((c) => c.pid === r.res.server && c.direction === "listen");
    assert.deepEqual([lsn?.saddr, lsn?.sport], ["127.0.0.1", PORT], `bundles ${r.bundles}`);
    const conns = replay(r.file, "--view", "connections", "--port", String(PORT))
      .split("\n")
      .filter((l) => / lsn /.test(l));
    assert.equal(conns.length, 1, conns.join("\n"));
    assert.match(conns[0]!, new RegExp(`127\\.0\\.0\\.1:${PORT} +listening`));
    assert.doesNotMatch(conns[0]!, /0\.0\.0\.0:0/);
  }
  const tree = replay(
    byBundles("exec, connect, filewrite").file,
    "--view",
    "tree",
    "--pid",
    String(byBundles("exec, connect, filewrite").res.server),
  );
  assert.match(tree, new RegExp(`tcp listen 127\\.0\\.0\\.1:${PORT} listening`));
  assert.doesNotMatch(tree, /0\.0\.0\.0:0/);
});

test("loopback retransmits are the sender's only, and match the kernel's TcpRetransSegs", { skip: notRoot }, () => {
  const r = byBundles("exec, connect, retransmit, filewrite");
  assert.ok(r.retransSegs > 0n, "the forced loss made the sender retransmit");
  const out = r.doc.connections.find((c) => c.pid === r.res.sender && c.direction === "outbound" && c.dport === PORT)!;
  const inbound = r.doc.connections.find(
    (c) => c.pid === r.res.server && c.direction === "inbound" && c.sport === PORT,
  )!;
  assert.ok(out && inbound, "both ends of the upload");
  assert.equal(out.retransmits, Number(r.retransSegs), "the sending socket has every retransmitted segment");
  assert.equal(inbound.retransmits, 0, "the receiving peer sent none");
  assert.equal(
    r.doc.connections.filter((c) => c.pid === r.res.server).reduce((n, c) => n + c.retransmits, 0),
    0,
  );
});

test("a process exec'ing across the attach boundary has each exec once, in time order", { skip: notRoot }, () => {
  let boundary = 0;
  for (const r of recordings.filter((x) => x.bundles.includes("exec"))) {
    for (const pid of r.res.loops) {
      const loop = r.doc.processes.find((p) => p.pid === pid)!;
      assert.ok(loop, `bundles ${r.bundles}: the exec loop ${pid} was recorded`);
      assert.equal(loop.origin, "snapshot", "it was running when the recording started");
      const times = loop.execs.map((e) => e.time);
      assert.deepEqual(times, [...times].sort(), "exec chain in time order");
      const snap = loop.execs.filter((e) => e.origin === "snapshot");
      assert.ok(
        snap.length === 0 || (snap.length === 1 && loop.execs[0]!.origin === "snapshot"),
        "a snapshot image only first, older than every observed exec",
      );
      const seen = new Set<string>();
      for (const e of loop.execs) {
        const argv = e.argv.join(" ").replace(/^sh /, "/bin/sh "); // the first exec's argv[0] is "sh"
        assert.ok(!seen.has(argv), `${argv}: one image once (each loop step has its own argument)`);
        seen.add(argv);
      }
      // An exec between the attach and the task iterator: the snapshot's image was replaced by it.
      if (snap.length === 0) boundary++;
    }
  }
  assert.ok(boundary > 0, "some exec landed between the attach and the start snapshot (the case under test)");
});

test(
  "--view process: the sender's identity, parents to the root, exec with argv and cwd, connection, exit; text and JSON",
  { skip: notRoot },
  () => {
    for (const r of recordings.filter((x) => x.bundles.includes("exec"))) {
      const doc = JSON.parse(
        replay(r.file, "--view", "process", "--pid", String(r.res.sender), "--format", "json"),
      ) as {
        process: ProcJson & { hostname: string };
        parents: Array<{ pid: number; id: string }>;
        children: unknown[];
        connections: ConnJson[];
      };
      assert.equal(doc.process.pid, r.res.sender);
      assert.equal(doc.process.exitCode, 3);
      assert.equal(doc.parents[0]?.pid, r.res.server, "its parent is the server");
      const root = r.doc.processes.find((p) => p.id === doc.parents[doc.parents.length - 1]!.id)!;
      assert.equal(root.parentId, null, "the chain ends at a root");
      // The start snapshot may catch the sender between its fork and its exec (it starts right after the
      // attach): that image, if any, comes first and is the snapshot's; the observed exec is the one asked for.
      const snapImages = doc.process.execs.filter((e) => e.origin === "snapshot");
      assert.ok(
        snapImages.length === 0 || (snapImages.length === 1 && doc.process.execs[0]!.origin === "snapshot"),
        "a snapshot image only first",
      );
      assert.deepEqual(
        doc.process.execs.filter((e) => e.origin !== "snapshot").map((e) => [e.argv[0], e.cwd]),
        [["python3", work]],
      );
      const up = doc.connections.find((c) => c.dport === PORT)!;
      assert.deepEqual([up.direction, up.outcome], ["outbound", "established"]);
      const text = replay(r.file, "--view", "process", "--pid", String(r.res.sender));
      assert.match(text, new RegExp(`^python3 \\[${r.res.sender}\\] on `, "m"));
      assert.match(text, new RegExp(`^  python3 \\[${r.res.server}\\] started `, "m"));
      assert.match(text, /argv python3 -c import socket/);
      assert.ok(text.includes(`cwd  ${work}`), text);
      assert.match(text, new RegExp(`out tcp 127\\.0\\.0\\.1:${PORT} established`));
      assert.match(text, /exit 3 at /);
    }
  },
);

test(
  "--at: mid-way through the file writes, the server is alive with its image, listening, holding the upload open, writing",
  { skip: notRoot },
  () => {
    for (const r of recordings.filter((x) => x.bundles.includes("filewrite"))) {
      const loot = r.doc.files.find((f) => f.pid === r.res.server && f.path === join(work, "loot.bin"))!;
      assert.ok(loot, `bundles ${r.bundles}: loot.bin`);
      const mid = new Date((Date.parse(loot.firstTime) + Date.parse(loot.lastTime)) / 2).toISOString();
      const doc = JSON.parse(replay(r.file, "--at", mid, "--format", "json")) as {
        insideRecording: boolean;
        processes: Array<ProcJson & { image: { argv: string[] } | null }>;
        listening: ConnJson[];
        connections: ConnJson[];
        files: Array<{ path: string; pid: number }>;
      };
      assert.ok(doc.insideRecording);
      const server = doc.processes.find((p) => p.pid === r.res.server)!;
      assert.match(server?.image?.argv[0] ?? "", /python3$/, "its image then (python3 via the PATH shim)");
      assert.ok(server?.image?.argv.includes("-c"));
      assert.ok(!doc.processes.some((p) => p.pid === r.res.sender), "the sender had exited");
      assert.ok(doc.listening.some((c) => c.pid === r.res.server && c.sport === PORT));
      assert.ok(
        doc.connections.some((c) => c.pid === r.res.server && c.direction === "inbound" && c.sport === PORT),
        "the accepted upload is still open",
      );
      assert.ok(!doc.connections.some((c) => c.dport === 9), "the refused connects were over");
      assert.deepEqual(
        doc.files.filter((f) => f.pid === r.res.server).map((f) => f.path),
        [join(work, "loot.bin")],
      );
      const text = replay(r.file, "--at", mid);
      assert.match(text, /^state at /);
      assert.match(text, new RegExp(`^ +${r.res.server} +\\d+ python3 +\\S+ +/`, "m")); // its image's path, cut at 80 columns
      assert.match(text, new RegExp(`python3 +tcp 127\\.0\\.0\\.1:${PORT}$`, "m"));
      assert.ok(text.includes(`${join(work, "loot.bin")} (writes`), text);
    }
  },
);

test(
  "the text tree of a host-wide recording opens folded: kernel threads and idle processes one line; JSON keeps them",
  { skip: notRoot },
  () => {
    const r = byBundles("exec, connect, retransmit, filewrite");
    const tree = replay(r.file, "--view", "tree");
    const first = /^(\d+) kernel threads?, (\d+) idle process(?:es)?; --all shows them$/.exec(tree.split("\n")[0]!);
    assert.ok(first && Number(first[1]) > 0 && Number(first[2]) > 0, tree.split("\n")[0]);
    assert.doesNotMatch(tree, /kthreadd|ksoftirqd/);
    assert.match(tree, new RegExp(`python3 \\[${r.res.server}\\]`), "the workload is in view");
    assert.match(replay(r.file, "--view", "tree", "--all"), /kthreadd \[2\]/);
    assert.ok(
      r.doc.processes.some((p) => p.pid === 2),
      "JSON keeps kernel threads",
    );
  },
);
