// `sealtrace replay` of damaged evidence, as an analyst runs it: a cut-off file and an altered one replay
// up to their readable end with a banner saying where it ends and the verdict's exit code; a wrong key
// is one line and exit 4.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/bpf.js";
import { cliSync, makeKey, tempDir } from "../helpers/cli.js";
import { EXIT } from "../../src/cli/exit-codes.js";
import { frameSpans } from "../unit/session-helpers.js";

const FIX = join(ROOT, "fixtures", "replay");
const IDENTITY = join(FIX, "test-identity.key");
const whole = readFileSync(join(FIX, "chain.sealed"));
const spans = frameSpans(whole);

function replay(bytes: Uint8Array, args: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const dir = tempDir();
  try {
    const path = join(dir, "evidence.sealed");
    writeFileSync(path, bytes);
    return cliSync(["replay", path, "-i", IDENTITY, "--format", "json", ...args]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a file cut inside a frame replays its readable frames, says UNSEALED and where, exits 5", () => {
  const last = spans.frames.at(-1)!;
  const r = replay(whole.subarray(0, last.start + 10));
  assert.equal(r.status, EXIT.unsealed, r.stderr);
  assert.match(
    r.stderr,
    /UNSEALED: cut inside frame \d+; frames 0\.\.\d+ are readable; replayed up to its readable end/,
  );
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  const doc = JSON.parse(r.stdout) as { sessions: Array<{ status: string; cutOff: boolean }>; processes: unknown[] };
  assert.equal(doc.sessions[0]!.status, "UNSEALED");
  assert.equal(doc.sessions[0]!.cutOff, true);
  assert.ok(doc.processes.length > 0, "the readable part is replayed");
});

test("a flipped bit in a frame replays what precedes it, says TAMPERED and which frame, exits 6", () => {
  const victim = spans.frames[2]!;
  const bytes = Uint8Array.from(whole);
  bytes[victim.start + Math.floor((victim.end - victim.start) / 2)]! ^= 0x01;
  const r = replay(bytes);
  assert.equal(r.status, EXIT.tampered, r.stderr);
  assert.match(r.stderr, /TAMPERED: frame 2\b/);
  const doc = JSON.parse(r.stdout) as { sessions: Array<{ status: string }>; processes: unknown[] };
  assert.equal(doc.sessions[0]!.status, "TAMPERED");
  assert.ok(doc.processes.length > 0, "frames before the altered one are replayed");
  // The text view opens with a banner naming the damage.
  const text = replay(bytes, ["--format", "text"]);
  assert.match(text.stdout, /^!! .*TAMPERED — replayed up to its readable end\n!! frame 2: /);
});

test("a wrong key is one clear line and exit 4, with nothing on stdout", () => {
  const dir = tempDir();
  try {
    const other = makeKey(dir);
    const r = cliSync(["replay", join(FIX, "chain.sealed"), "-i", other.identity]);
    assert.equal(r.status, EXIT.key);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^sealtrace: no matching key: .+\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
