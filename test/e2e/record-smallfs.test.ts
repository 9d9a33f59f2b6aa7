// A tiny filesystem: the reserve is sized to the free space and the writer keeps what fits, so a
// verifiable file exists once `record` started; too little space is one line before any probe.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync, statSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync, spawn } from "node:child_process";
import { cliAsync, cliSync, makeKey, readRecorded, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/workload.js";
import { assertNoProbes } from "../helpers/bpf.js";

const dir = tempDir("st-hrec-smallfs-");
const key = makeKey(dir);
const runbook = join(dir, "small.yaml");
writeFileSync(
  runbook,
  "name: small\ndescription: e2e small filesystem\nbundles: [exec]\nduration: 30s\nprompts:\n  incident: false\n",
);

function withTmpfs<T>(name: string, size: string, body: (mnt: string) => Promise<T>): Promise<T> {
  const mnt = join(dir, name);
  mkdirSync(mnt);
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0700`, `st-hrec-${name}`, mnt]);
  return body(mnt).finally(() => execFileSync("umount", [mnt]));
}

test("a 256 KiB filesystem: recording starts, fills it with records and seals what fit (exit 8, SEALED)", async (t) => {
  await withTmpfs("fs256k", "256k", async (mnt) => {
    const fsBytes = statfsSync(mnt).blocks * statfsSync(mnt).bsize;
    assert.equal(fsBytes, 256 * 1024);
    const out = join(mnt, "small.sealed");
    const rec = cliAsync(["record", "--runbook", runbook, "-r", key.recipient, "-o", out, "--yes"]);
    await waitFor(rec.stderr, "probes attached", 60_000);
    // Incompressible arguments fill the filesystem within seconds.
    const storm = spawn(
      "/usr/bin/python3",
      [
        "-c",
        "import os\nfor i in range(3000):\n    os.waitpid(os.posix_spawn('/bin/true', ['/bin/true', os.urandom(1500).hex()], {}), 0)\n",
      ],
      { stdio: "ignore" },
    );
    const res = await rec.done;
    storm.kill();
    assert.equal(res.code, 8, res.stderr);
    const line = res.stderr.split("\n").find((l) => l.startsWith("sealtrace: disk full"));
    assert.match(
      line ?? "",
      /^sealtrace: disk full: sealed \d+ frames \(\d+ records\) into .*small\.sealed; \d+ records were lost$/,
      res.stderr,
    );
    assert.doesNotMatch(res.stderr, /\n\s+at /);
    assert.ok(!existsSync(`${out}.partial`) && !existsSync(`${out}.reserve`));
    const v = cliSync(["verify", out]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const got = await readRecorded(out, key.identity);
    assert.equal(got.verdict, "SEALED");
    assert.ok(got.kernel.length > 0, "kernel records were kept");
    // Records fill most of the filesystem: the reserve did not take it all, and frames were cut to fit.
    const bytes = statSync(out).size;
    assert.ok(bytes > fsBytes / 2, `${bytes} of ${fsBytes} bytes used`);
    t.diagnostic(`sealed ${bytes} of ${fsBytes} bytes, ${got.records.length} records; ${line}`);
    assert.equal(got.summary?.endReason, "disk-full");
    await assertNoProbes();
  });
});

test("a filesystem with less than 64 KiB free: exit 8, one line, before any probe", async () => {
  await withTmpfs("fs32k", "32k", async (mnt) => {
    const out = join(mnt, "tiny.sealed");
    const r = cliSync(["record", "--runbook", runbook, "-r", key.recipient, "-o", out, "--yes"]);
    assert.equal(r.status, 8, r.stderr);
    assert.match(r.stderr, /sealtrace: disk full: 32 KiB free in .*fs32k; a session needs at least 64 KiB\n$/);
    assert.doesNotMatch(r.stderr, /probes attached|\n\s+at /);
    assert.ok(!existsSync(`${out}.partial`) && !existsSync(`${out}.reserve`), "nothing left behind");
  });
});

test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});
