// Golden tests: fixture sessions made by the real recorder (fixtures/replay/make-chain.sh) replay to the
// committed outputs for every view and format. UPDATE_GOLDEN=1 rewrites them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readIdentityFile } from "../../src/session/identity.js";
import { loadSessions } from "../../src/replay/load.js";
import { render, VIEWS, FORMATS } from "../../src/replay/render.js";
import { frameSpans, tempDir, testKey } from "./session-helpers.js";
import { UserError } from "../../src/errors.js";
import { EXIT, exitCodeOf } from "../../src/cli/exit-codes.js";

const ROOT = join(fileURLToPath(import.meta.url), "..", "..", "..", "..");
const FIX = "fixtures/replay";
const EXT: Record<string, string> = { json: "json", jsonl: "jsonl", timesketch: "timesketch.jsonl", html: "html" };

async function replayFixture(name: string) {
  process.chdir(ROOT);
  const ids = await readIdentityFile(join(FIX, "test-identity.key"));
  return (await loadSessions([join(FIX, `${name}.sealed`)], ids)).replay;
}

test("chain fixture replays to the committed outputs for every view and format", async () => {
  const replay = await replayFixture("chain");
  const outputs: Array<[string, string]> = [
    ...VIEWS.map((v): [string, string] => [`chain.${v}.txt`, render(replay, v, "text", false)]),
    ...FORMATS.filter((f) => f !== "text").map((f): [string, string] => [
      `chain.${EXT[f]}`,
      render(replay, "summary", f, false),
    ]),
  ];
  for (const [file, text] of outputs) {
    const path = join(ROOT, FIX, "expected", file);
    if (process.env.UPDATE_GOLDEN === "1" || !existsSync(path)) writeFileSync(path, text);
    assert.equal(text, readFileSync(path, "utf8"), `${file} differs from the committed output`);
  }
});

test("chain fixture: tree, exit code, both connections and exact file bytes", async () => {
  const r = await replayFixture("chain");
  const stage = r.processes.find((p) => p.execs.some((e) => e.filename.endsWith("/stage.sh")));
  assert.ok(stage, "the stage script's process");
  assert.deepEqual(
    stage.execs.map((e) => e.filename.split("/").pop()),
    ["stage.sh", "curl"],
    "in-place exec appends to one process",
  );
  assert.equal(stage.exitCode, 7);
  const downloader = r.processes.find(
    (p) =>
      p.origin === "observed" &&
      p.execs.some((e) => e.filename.endsWith("curl") && e.argv.join(" ").includes("stage.sh http://")),
  );
  assert.ok(downloader);
  assert.equal(downloader.parentId, stage.parentId, "downloader and stage share the runner as parent");
  const toServer = r.connections.find((c) => c.processId === downloader.id);
  assert.equal(toServer?.outcome, "established");
  const toClosed = r.connections.find((c) => c.processId === stage.id);
  assert.equal(toClosed?.outcome, "refused");
  assert.equal(toClosed?.dport, 9);
  const loot = r.files.find((f) => f.path.endsWith("/loot.bin"));
  assert.equal(loot?.bytes, 12345n);
  const script = r.files.find((f) => f.path.endsWith("/stage.sh") && f.processId === downloader.id);
  assert.equal(script?.bytes, BigInt(readFileSync(join(ROOT, FIX, "chain.stage-bytes"), "utf8").trim()));
  assert.ok(
    r.files.some((f) => f.path.endsWith("/stage.sh") && f.ops.some((o) => o.kind === "chmod" && o.mode === 0o755)),
  );
});

test("UNSEALED (cut) and TAMPERED (flipped byte) copies replay their readable part and say where it ends", async () => {
  process.chdir(ROOT);
  const ids = await readIdentityFile(join(FIX, "test-identity.key"));
  const bytes = readFileSync(join(FIX, "chain.sealed"));
  const spans = frameSpans(bytes);
  const { dir, cleanup } = tempDir("replay-damage");
  try {
    const cut = join(dir, "cut.sealed");
    writeFileSync(cut, bytes.subarray(0, spans.frames[spans.frames.length - 2]!.end));
    const flipped = Buffer.from(bytes);
    const victim = spans.frames[2]!;
    flipped[victim.start + 40] = flipped[victim.start + 40]! ^ 0x01;
    const bad = join(dir, "bad.sealed");
    writeFileSync(bad, flipped);
    for (const [path, status] of [
      [cut, "UNSEALED"],
      [bad, "TAMPERED"],
    ] as const) {
      const r = (await loadSessions([path], ids)).replay;
      assert.equal(r.sessions[0]!.status, status);
      assert.equal(r.sessions[0]!.cutOff, true);
      const text = render(r, "summary", "text", false);
      assert.match(text, new RegExp(`!! .*${status} — replayed up to its readable end`));
      assert.match(text, /last readable record: \d{4}-/);
      assert.ok(r.sessions[0]!.events > 0 || status === "TAMPERED");
    }
  } finally {
    cleanup();
  }
});

test("a wrong key gives one clear line and exit code 4", async () => {
  process.chdir(ROOT);
  const other = await testKey();
  await assert.rejects(loadSessions([join(FIX, "chain.sealed")], [other.identity]), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(exitCodeOf(e), EXIT.key);
    assert.equal(exitCodeOf(e), 4);
    assert.ok(!e.message.includes("\n") && e.message.length < 120, e.message);
    return true;
  });
});
