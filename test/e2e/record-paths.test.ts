// Hostile output paths, as root: an unprivileged user (nobody) plants symlinks, directories and FIFOs
// at the names `record`, `keygen` and `replay -o` write; a read-only or missing directory; another
// process deleting the .partial mid-recording. Each is one line before any probe attaches, or a
// sealed file, and the planted link's target is never touched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { EV } from "../../src/events/layouts.js";
import { argList } from "../../src/replay/strings.js";
import { cliAsync, cliSync, makeKey, readRecorded, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/workload.js";
import { assertNoProbes, sleep } from "../helpers/bpf.js";

const dir = tempDir("st-hrec-paths-");
// World-writable and sticky like /tmp, so nobody can plant names in it.
chmodSync(dir, 0o1777);
const key = makeKey(dir);
const nobody = {
  uid: Number(execFileSync("id", ["-u", "nobody"], { encoding: "utf8" })),
  gid: Number(execFileSync("id", ["-g", "nobody"], { encoding: "utf8" })),
};

/** A root-owned file a planted link points at; its digest and mtime must not change. */
const victim = join(dir, "victim");
writeFileSync(victim, "root-owned evidence that must not change\n", { mode: 0o600 });
const victimState = () => ({
  sha256: createHash("sha256").update(readFileSync(victim)).digest("hex"),
  mtimeMs: statSync(victim).mtimeMs,
  size: statSync(victim).size,
});
const victimBefore = victimState();

const runbook = join(dir, "quick.yaml");
writeFileSync(
  runbook,
  "name: quick\ndescription: e2e hostile paths\nbundles: [exec]\nduration: 3s\nprompts:\n  incident: false\n",
);

/** Runs `argv` as nobody (uid and gid dropped), failing the test if it fails. */
function asNobody(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { uid: nobody.uid, gid: nobody.gid, encoding: "utf8" });
  assert.equal(r.status, 0, `as nobody: ${argv.join(" ")}: ${r.stderr}`);
}

function plant(kind: "symlink" | "dangling" | "directory" | "fifo", path: string): void {
  if (kind === "symlink") asNobody(["ln", "-s", victim, path]);
  else if (kind === "dangling") asNobody(["ln", "-s", join(dir, "no-such-file-yet"), path]);
  else if (kind === "directory") asNobody(["mkdir", path]);
  else asNobody(["mkfifo", path]);
  assert.equal(lstatSync(path).uid, nobody.uid);
}

/** One line on stderr after the start summary, exit 2, nothing attached, nothing left behind. */
function assertRefusedBeforeProbes(r: { status: number | null; stderr: string }, out: string, pattern: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("sealtrace: ") && !l.startsWith("sealtrace: runbook "));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /probes attached|recording|\n\s+at /);
  for (const suffix of ["", ".partial", ".reserve"]) {
    const p = out + suffix;
    if (
      existsSync(p) ||
      (() => {
        try {
          return lstatSync(p).isSymbolicLink();
        } catch {
          return false;
        }
      })()
    ) {
      assert.notEqual(lstatSync(p).uid, 0, `${p} was created by the recorder and left behind`);
    }
  }
}

const placements = [".reserve", ".partial", ""] as const;
const kinds = ["symlink", "dangling", "directory", "fifo"] as const;
for (const kind of kinds) {
  for (const suffix of placements) {
    test(`record -o NAME with ${kind} planted by nobody at NAME${suffix}: exit 2, one line, no probe attached, target unchanged`, async () => {
      const out = join(dir, `${kind}${suffix || ".final"}.sealed`);
      const planted = out + suffix;
      plant(kind, planted);
      const t0 = Date.now();
      const r = cliSync(["record", "--runbook", runbook, "-r", key.recipient, "-o", out, "--yes"]);
      assertRefusedBeforeProbes(
        r,
        out,
        new RegExp(`${planted.replace(/[.]/g, "\\.")} already exists \\(a (symbolic link|directory|FIFO)\\)`),
      );
      assert.ok(Date.now() - t0 < 30_000, "a FIFO must not block the recorder");
      assert.deepEqual(victimState(), victimBefore);
      assert.equal(lstatSync(planted).uid, nobody.uid, "the planted name is left as it was");
      assert.ok(!existsSync(join(dir, "no-such-file-yet")), "a dangling link was not followed");
    });
  }
}

test("record into a missing directory, or a read-only filesystem: exit 2, one line, before any probe", async () => {
  const missing = cliSync([
    "record",
    "--runbook",
    runbook,
    "-r",
    key.recipient,
    "-o",
    join(dir, "no-dir", "x.sealed"),
    "--yes",
  ]);
  assertRefusedBeforeProbes(missing, join(dir, "no-dir", "x.sealed"), /directory .*no-dir does not exist/);
  const ro = join(dir, "ro");
  mkdirSync(ro);
  execFileSync("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "st-hrec-ro", ro]);
  try {
    const r = cliSync(["record", "--runbook", runbook, "-r", key.recipient, "-o", join(ro, "x.sealed"), "--yes"]);
    assertRefusedBeforeProbes(r, join(ro, "x.sealed"), /read-only filesystem/);
  } finally {
    execFileSync("umount", [ro]);
  }
});

test("a symlink planted at the final name during recording: never followed or replaced; the sealed session stays at NAME.partial", async () => {
  const out = join(dir, "late-final.sealed");
  const rec = cliAsync(["record", "--runbook", runbook, "-r", key.recipient, "-o", out, "--yes"]);
  await waitFor(rec.stderr, "probes attached", 60_000);
  plant("symlink", out);
  const res = await rec.done;
  assert.equal(res.code, 2, res.stderr);
  assert.match(
    res.stderr,
    new RegExp(
      `${out.replace(/[.]/g, "\\.")} appeared while recording \\(a symbolic link\\); the sealed session stays at ${out.replace(/[.]/g, "\\.")}\\.partial`,
    ),
  );
  assert.doesNotMatch(res.stderr, /\n\s+at /);
  assert.deepEqual(victimState(), victimBefore);
  assert.ok(lstatSync(out).isSymbolicLink());
  assert.ok(!existsSync(`${out}.reserve`));
  const v = cliSync(["verify", `${out}.partial`]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /SEALED/);
  await assertNoProbes();
});

test("another root process deletes NAME.partial mid-recording: warned at once, recorded in the session, nothing lost", async (t) => {
  const out = join(dir, "deleted.sealed");
  const rb = join(dir, "deleted.yaml");
  writeFileSync(
    rb,
    "name: deleted\ndescription: e2e deleted partial\nbundles: [exec]\nduration: 60s\nprompts:\n  incident: false\n",
  );
  const rec = cliAsync(["record", "--runbook", rb, "-r", key.recipient, "-o", out, "--yes"]);
  await waitFor(rec.stderr, "probes attached", 60_000);
  execFileSync("/bin/true", ["before-delete"]);
  await sleep(1500);
  unlinkSync(`${out}.partial`);
  const deletedAt = Date.now();
  await waitFor(rec.stderr, "was deleted by another process", 5000);
  const noticedMs = Date.now() - deletedAt;
  execFileSync("/bin/true", ["after-delete"]);
  await sleep(1500);
  rec.child.kill("SIGINT");
  const res = await rec.done;
  assert.equal(res.code, 0, res.stderr);
  assert.ok(noticedMs < 2000, `noticed ${noticedMs} ms after the deletion`);
  t.diagnostic(`deletion noticed and restored ${noticedMs} ms after the unlink`);
  assert.match(res.stderr, /WARNING: .*deleted\.sealed\.partial was deleted by another process; restored \d+ bytes/);
  assert.match(res.stderr, /verdict: +SEALED/);
  assert.ok(!existsSync(`${out}.partial`) && !existsSync(`${out}.reserve`));
  const got = await readRecorded(out, key.identity);
  assert.equal(got.verdict, "SEALED");
  const args = got.kernel
    .filter((e) => e.type === EV.exec)
    .map((e) =>
      argList(e.tail, e.filename_len as number, (e.filename_len as number) + (e.argv_len as number)).join(" "),
    );
  assert.ok(
    args.includes("/bin/true before-delete") && args.includes("/bin/true after-delete"),
    "records from before and after the deletion",
  );
  const marks = got.records.filter((r) => r.k === "partial-deleted");
  assert.equal(marks.length, 1);
  assert.equal(marks[0]!.path, `${out}.partial`);
  assert.equal(marks[0]!.restoredTo, `${out}.partial`);
  assert.ok((marks[0]!.bytes as number) > 0);
  assert.equal((got.summary?.partialDeleted as unknown[]).length, 1);
  await assertNoProbes();
});

test("keygen -o and replay -o refuse a planted symlink or FIFO with one line; the target is unchanged", async () => {
  const keyLink = join(dir, "keygen-link");
  plant("symlink", keyLink);
  const k = cliSync(["keygen", "-o", keyLink]);
  assert.equal(k.status, 2, k.stderr);
  assert.match(k.stderr.trim(), /^sealtrace: .*keygen-link already exists \(a symbolic link\)/);
  // A session to replay: the one from the deletion test, or a fresh short one.
  const session = join(dir, "for-replay.sealed");
  const r = cliSync([
    "record",
    "--runbook",
    runbook,
    "--duration",
    "1s",
    "-r",
    key.recipient,
    "-o",
    session,
    "--yes",
    "-q",
  ]);
  assert.equal(r.status, 0, r.stderr);
  for (const kind of ["symlink", "fifo", "directory"] as const) {
    const target = join(dir, `replay-${kind}`);
    plant(kind, target);
    const t0 = Date.now();
    const x = cliSync(["replay", session, "-i", key.identity, "--format", "html", "-o", target]);
    assert.equal(x.status, 2, x.stderr);
    assert.match(x.stderr.trim(), /^sealtrace: .*already exists \(a (symbolic link|FIFO|directory)\)/);
    assert.ok(Date.now() - t0 < 30_000);
  }
  assert.deepEqual(victimState(), victimBefore);
  await assertNoProbes();
});

test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});
