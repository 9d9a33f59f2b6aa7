// `sealtrace record` with a runbook file the user wrote: argv redaction, a max-events limit that stops,
// and the modes of the files it writes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync, spawn } from "node:child_process";
import { EV } from "../../src/events/layouts.js";
import { type DecodedRecord } from "../../src/replay/decode.js";
import { argList } from "../../src/replay/strings.js";
import { cliAsync, cliSync, makeKey, readRecorded, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/workload.js";
import { assertNoProbes, sleep } from "../helpers/bpf.js";

const dir = tempDir();
const key = makeKey(dir);

/** Writes an exec-only runbook with `extra` YAML lines; returns its path. */
function runbookFile(name: string, extra: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `name: ${name}\ndescription: e2e test runbook\nbundles: [exec]\nprompts:\n  incident: false\n${extra}`,
  );
  return path;
}

/** Arguments of an exec record (after the filename) or a start-snapshot record (after the exe path). */
function argsOf(r: DecodedRecord): string[] {
  const skip = (r.type === EV.exec ? r.filename_len : r.exe_len) as number;
  return argList(r.tail, skip, skip + (r.argv_len as number));
}

/** Every string and byte string in a decoded value, bytes as latin1 text. */
function texts(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (v instanceof Uint8Array) out.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("latin1"));
  else if (Array.isArray(v)) for (const x of v) texts(x, out);
  else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      texts(x, out);
    }
  }
  return out;
}

test("redact.argv: a password is masked before sealing (exec records and the start snapshot), the command is still recorded", async () => {
  const secret = `hunter2-${process.pid}`;
  const rb = runbookFile("redact", `duration: 30s\nredact:\n  argv: ["--password=*", "*SECRET*"]\n`);
  const out = join(dir, "redact.sealed");
  // Started before the recording: it is in the start snapshot with its argv.
  const older = spawn("/usr/bin/python3", ["-c", "import sys; sys.stdin.read()", `--password=${secret}`], {
    stdio: ["pipe", "ignore", "ignore"],
  });
  const olderExited = new Promise((r) => older.on("exit", r));
  try {
    const rec = cliAsync(["record", "--runbook", rb, "-r", key.recipient, "-o", out, "--yes"]);
    await waitFor(rec.stderr, "probes attached");
    execFileSync("/bin/true", ["redact-marker", `--password=${secret}`, `MY_SECRET_${secret}`, "--user=alice"]);
    await sleep(300);
    rec.child.kill("SIGINT");
    const res = await rec.done;
    assert.equal(res.code, 0, res.stderr);
  } finally {
    older.stdin!.end();
    await olderExited;
  }
  const got = await readRecorded(out, key.identity);
  assert.equal(got.verdict, "SEALED");
  const execs = got.kernel.filter((e) => e.type === EV.exec && argsOf(e)[1] === "redact-marker");
  assert.equal(execs.length, 1, "the command is recorded");
  // Masked in place, lengths kept: after `=` only the value, otherwise the whole argument.
  assert.deepEqual(argsOf(execs[0]!), [
    "/bin/true",
    "redact-marker",
    `--password=${"*".repeat(secret.length)}`,
    "*".repeat(`MY_SECRET_${secret}`.length),
    "--user=alice",
  ]);
  const snap = got.kernel.filter((e) => e.type === EV.task && e.tgid === older.pid);
  assert.equal(snap.length, 1, "the older process is in the start snapshot");
  assert.deepEqual(argsOf(snap[0]!).slice(-1), [`--password=${"*".repeat(secret.length)}`]);
  // Nowhere in the decrypted session: metadata, every record (raw kernel bytes included), summary.
  const leaks = texts([got.metadata, got.records, got.summary]).filter((t) => t.includes(secret));
  assert.deepEqual(
    leaks.map((t) => t.length),
    [],
    "the secret is in the sealed session",
  );
  await assertNoProbes();
});

test("limits.maxEvents with onLimit stop: the recording ends early, end reason max-events, SEALED, exit 9", async () => {
  const rb = runbookFile("max-events", `duration: 60s\nlimits:\n  maxEvents: 100\n  onLimit: stop\n`);
  const out = join(dir, "max-events.sealed");
  const rec = cliAsync(["record", "--runbook", rb, "-r", key.recipient, "-o", out, "--yes"]);
  await waitFor(rec.stderr, "probes attached");
  const attachedAt = Date.now();
  // 3 events (fork, exec, exit) per child: far more than 100.
  const storm = spawn(
    "/usr/bin/python3",
    ["-c", "import os\nfor i in range(5000):\n    os.waitpid(os.posix_spawn('/bin/true', ['/bin/true'], {}), 0)\n"],
    { stdio: "ignore" },
  );
  const res = await rec.done;
  const endedMs = Date.now() - attachedAt;
  storm.kill();
  // README, `--help` and src/cli/exit-codes.ts: 9 = ended early by a runbook limit, but sealed.
  assert.equal(res.code, 9, res.stderr);
  assert.ok(endedMs < 10_000, `ended ${endedMs} ms after attaching, of a 60 s duration`);
  assert.match(res.stderr, /end: max-events/);
  assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
  assert.ok(!existsSync(`${out}.partial`));
  const v = cliSync(["verify", out]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /SEALED/);
  const got = await readRecorded(out, key.identity);
  assert.equal(got.verdict, "SEALED");
  assert.equal(got.summary?.endReason, "max-events");
  assert.ok((got.summary?.events as number) >= 100, `${String(got.summary?.events)} events`);
  await assertNoProbes();
});

test("limits.maxEvents with onLimit drop: the closing report states the drops the sealed summary holds", async () => {
  const rb = runbookFile("max-drop", `duration: 4s\nlimits:\n  maxEvents: 100\n  onLimit: drop\n`);
  const out = join(dir, "max-drop.sealed");
  const rec = cliAsync(["record", "--runbook", rb, "-r", key.recipient, "-o", out, "--yes"]);
  await waitFor(rec.stderr, "probes attached");
  const storm = spawn(
    "/usr/bin/python3",
    ["-c", "import os\nfor i in range(2000):\n    os.waitpid(os.posix_spawn('/bin/true', ['/bin/true'], {}), 0)\n"],
    { stdio: "ignore" },
  );
  const res = await rec.done;
  storm.kill();
  assert.equal(res.code, 0, res.stderr);
  const got = await readRecorded(out, key.identity);
  const losses = got.summary?.losses as Record<string, { dropped: number }>;
  const dropped = Object.values(losses).reduce((s, c) => s + c.dropped, 0);
  assert.ok(dropped > 0, "the storm outran the limit");
  const line = res.stderr.split("\n").find((l) => l.startsWith("losses:"));
  assert.equal(line, `losses:    exec: dropped by limit ${losses.exec!.dropped}`);
  await assertNoProbes();
});

test("the .partial while recording and the sealed file after are mode 0600, even under umask 000", async () => {
  const rb = runbookFile("modes", `duration: 60s\n`);
  const out = join(dir, "modes.sealed");
  const umask = process.umask(0);
  let rec: ReturnType<typeof cliAsync>;
  try {
    rec = cliAsync(["record", "--runbook", rb, "-r", key.recipient, "-o", out, "--yes"]);
  } finally {
    process.umask(umask);
  }
  await waitFor(rec.stderr, "probes attached");
  for (let i = 0; i < 100 && !existsSync(`${out}.partial`); i++) await sleep(20);
  assert.equal((statSync(`${out}.partial`).mode & 0o7777).toString(8), "600");
  rec.child.kill("SIGINT");
  const res = await rec.done;
  assert.equal(res.code, 0, res.stderr);
  assert.ok(!existsSync(`${out}.partial`));
  assert.equal((statSync(out).mode & 0o7777).toString(8), "600");
  await assertNoProbes();
});

test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});
