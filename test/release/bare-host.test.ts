// The release on a bare Debian 11 and Debian 12 root (debootstrap minbase: no Node, npm, Python, compiler or
// libbpf): extracted and run in a chroot with /proc, /sys, tracefs, cgroup2 and bpffs, recording a real workload.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { Chroot, leftoverMounts, sweepMounts } from "../../release/chroot.js";
import { BARE_ROOTS, ensureRoot } from "../../release/roots.js";
import { releaseTarball } from "./tarball.js";
import { DEFAULT_MIX, writeMixSession } from "../../bench/lib/session-mix.js";
import { WORKER_MIN_FILE_BYTES } from "../../src/session/body-decoder.js";

const CLI = join(fileURLToPath(import.meta.url), "..", "..", "..", "src", "cli", "main.js");

const PORT = 47915;
const log = (s: string) => process.stderr.write(`bare-host: ${s}\n`);

/** Exec, connect and write, over and over, with names replay can be asked about. */
const WORKLOAD = `
cp /bin/true /tmp/st-rel-marker
while :; do
  /tmp/st-rel-marker
  echo data >> /tmp/st-rel-work.txt
  (exec 3<>/dev/tcp/127.0.0.1/${PORT}) 2>/dev/null
  sleep 0.2
done`;

interface ReplayDoc {
  sessions: Array<{ events: number; status: string }>;
  processes: Array<{ comm: string; execs: Array<{ filename: string }> }>;
  connections: Array<{ daddr: string; dport: number; outcome: string; comm: string }>;
  files: Array<{ path: string; bytes: number }>;
}

// A run killed half-way (SIGKILL skips every finally) may have left its mounts: they go first.
sweepMounts();

for (const spec of BARE_ROOTS) {
  test(
    `release on a bare ${spec.name} root: doctor, keygen, record triage 5 s, verify SEALED, replay sees the workload, hunt runs the built-in rules`,
    { timeout: 900_000 },
    async () => {
      const tarball = releaseTarball();
      // The README's way in: check the SHA-256 first.
      execFileSync("sha256sum", ["--check", "--strict", "SHA256SUMS"], { cwd: dirname(tarball), stdio: "ignore" });
      const build = JSON.parse(
        execFileSync("tar", ["-xzOf", tarball, `${basename(tarball).replace(/-linux-x64\.tar\.gz$/, "")}/BUILD.json`], {
          encoding: "utf8",
        }),
      ) as { commit: string; version: string };
      const lower = ensureRoot(spec, log);
      const c = Chroot.open(lower, `bare-${spec.name}`, { kernel: true });
      try {
        // Bare: nothing a release could lean on.
        const tools = c.run([
          "sh",
          "-c",
          "for t in node nodejs npm npx python3 python gcc cc g++ clang make; do command -v $t; done; ldconfig -p | grep -E 'libbpf|libelf' || true",
        ]);
        assert.equal(tools.stdout.trim(), "", `the ${spec.name} root is not bare: ${tools.stdout}`);

        copyFileSync(tarball, join(c.root, "opt", "sealtrace.tar.gz"));
        const ex = c.run(["tar", "-xzf", "/opt/sealtrace.tar.gz", "-C", "/opt"]);
        assert.equal(ex.status, 0, ex.stderr);
        const home = `/opt/sealtrace-${build.version}`;
        const st = `${home}/sealtrace`;
        // Every shared object resolves inside this root (libbpf's through the bundled lib/).
        const ldd = c.run([
          "sh",
          "-c",
          `ldd ${home}/node/bin/node ${home}/node_modules/zstd-napi/build/Release/binding.node; LD_LIBRARY_PATH=${home}/lib ldd ${home}/lib/libbpf.so.1`,
        ]);
        assert.doesNotMatch(ldd.stdout + ldd.stderr, /not found|version .* not found/, ldd.stdout + ldd.stderr);

        const doctor = c.run([st, "doctor"]);
        assert.equal(doctor.status, 0, doctor.stdout + doctor.stderr);
        assert.match(doctor.stdout, /libbpf\s+libbpf 1\.\d+, bundled \/opt\/sealtrace-[^/]+\/lib\/libbpf\.so\.1/);

        const ver = c.run([st, "version", "--verbose"]);
        assert.equal(ver.status, 0, ver.stderr);
        assert.match(ver.stdout, new RegExp(`commit:  ${build.commit} \\(release\\)`));
        assert.match(ver.stdout, /node:    v24\./);

        const keygen = c.run([st, "keygen", "-o", "/root/team.key"]);
        assert.equal(keygen.status, 0, keygen.stderr);
        const recipient = /age1[0-9a-z]{58}/.exec(readFileSync(join(c.root, "root", "team.key"), "utf8"))![0];

        const workload = c.start(["bash", "-c", WORKLOAD]);
        assert.ok(workload.pid);
        const rec = c.run(
          [st, "record", "--runbook", "triage", "--duration", "5s", "-r", recipient, "-o", "/root/s.sealed", "--yes"],
          { timeoutMs: 120_000 },
        );
        assert.equal(rec.status, 0, rec.stdout + rec.stderr);

        const verify = c.run([st, "verify", "/root/s.sealed", "-i", "/root/team.key"]);
        assert.equal(verify.status, 0, verify.stdout + verify.stderr);
        assert.match(verify.stdout, /verdict:\s+SEALED/);
        // The session names the build that wrote it.
        assert.match(verify.stdout, new RegExp(`commit:  ${build.commit} \\(release\\)`));
        assert.match(verify.stdout, /bpf:\s+[0-9a-f]{64}  exec\.bpf\.o/);

        const replay = c.run([st, "replay", "/root/s.sealed", "-i", "/root/team.key", "--format", "json"]);
        assert.equal(replay.status, 0, replay.stderr);
        const doc = JSON.parse(replay.stdout) as ReplayDoc;
        assert.ok(
          doc.processes.some((p) => p.execs.some((e) => e.filename === "/tmp/st-rel-marker")),
          "the workload's exec is in the replay",
        );
        assert.ok(
          doc.connections.some((k) => k.dport === PORT && k.daddr === "127.0.0.1"),
          "the workload's connect is in the replay",
        );
        // The kernel walks the path up to the real root, so from inside a chroot it carries the chroot's prefix.
        const written = doc.files.filter((f) => f.path.includes("st-rel"));
        assert.ok(
          written.some((f) => f.path.endsWith("/tmp/st-rel-work.txt") && f.bytes > 0),
          `the workload's write is in the replay: ${JSON.stringify(written.slice(0, 5))}`,
        );
        // hunt's built-in rule pack ships in the tarball (rules/): every rule loads and runs.
        const hunt = c.run([st, "hunt", "/root/s.sealed", "-i", "/root/team.key", "--format", "json"]);
        assert.equal(hunt.status, 0, hunt.stderr);
        const found = JSON.parse(hunt.stdout) as { rules: { evaluated: number } };
        assert.ok(found.rules.evaluated >= 20, `the built-in rules ran: ${JSON.stringify(found.rules)}`);

        // A session big enough to be opened ahead in a worker thread (docs/REPLAY.md): the release's Node and
        // zstd binding run that thread too, and replay it as this checkout's build does.
        const work = mkdtempSync(join(tmpdir(), "sealtrace-rel-big-"));
        try {
          const identity = await generateX25519Identity();
          const big = join(work, "big.sealed");
          await writeMixSession(big, await identityToRecipient(identity), {
            ...DEFAULT_MIX,
            targetBytes: WORKER_MIN_FILE_BYTES + (1 << 20),
          });
          assert.ok(statSync(big).size >= WORKER_MIN_FILE_BYTES);
          writeFileSync(join(work, "big.key"), identity + "\n", { mode: 0o600 });
          const counts = (json: string) => {
            const d = JSON.parse(json) as ReplayDoc;
            return {
              status: d.sessions[0]?.status,
              events: d.sessions[0]?.events,
              processes: d.processes.length,
              connections: d.connections.length,
              files: d.files.length,
            };
          };
          const here = execFileSync(
            process.execPath,
            [CLI, "replay", big, "-i", join(work, "big.key"), "--format", "json"],
            { encoding: "utf8", maxBuffer: 1 << 30 },
          );
          copyFileSync(big, join(c.root, "root", "big.sealed"));
          copyFileSync(join(work, "big.key"), join(c.root, "root", "big.key"));
          const there = c.run([st, "replay", "/root/big.sealed", "-i", "/root/big.key", "--format", "json"]);
          assert.equal(there.status, 0, there.stderr);
          assert.deepEqual(counts(there.stdout), counts(here));
          assert.equal(counts(here).status, "SEALED");
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
      } finally {
        c.close();
      }
      assert.deepEqual(leftoverMounts(), [], "every mount made by the test is gone");
    },
  );
}
