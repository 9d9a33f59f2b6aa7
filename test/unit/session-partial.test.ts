// The writer's files: created exclusively, published without replacing anything, and a .partial deleted
// by another process restored from the open descriptor so no record is lost.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { SessionWriter, type PartialDeleted } from "../../src/session/writer.js";
import { SessionFiles } from "../../src/session/partial.js";
import { readSession } from "../../src/session/reader.js";
import { UserError } from "../../src/errors.js";
import { EXIT, exitCodeOf } from "../../src/cli/exit-codes.js";
import { tempDir, testKey } from "./session-helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a .partial deleted mid-stream is noticed within a flush tick, restored, and the sealed file holds every record", async () => {
  const { dir, cleanup } = tempDir("st-hrec-partial");
  try {
    const key = await testKey();
    const path = join(dir, "s.sealed");
    const events: PartialDeleted[] = [];
    const writer = await SessionWriter.create(path, {
      recipients: [key.recipient],
      metadata: { m: 1 },
      flushIntervalMs: 200,
      onPartialDeleted: (e) => events.push(e),
    });
    for (let i = 0; i < 100; i++) writer.append({ i });
    await writer.flush();
    unlinkSync(`${path}.partial`);
    const deletedAt = performance.now();
    while (events.length === 0 && performance.now() - deletedAt < 5000) await sleep(10);
    assert.equal(events.length, 1);
    assert.ok(performance.now() - deletedAt < 1000, "noticed within a few 50 ms ticks");
    assert.equal(events[0]!.deletedPath, `${path}.partial`);
    assert.equal(events[0]!.restored?.partialPath, `${path}.partial`);
    assert.equal(events[0]!.recordable, true);
    assert.ok(existsSync(`${path}.partial`), "a name again: a crash from now on still leaves the file");
    assert.equal(statSync(`${path}.partial`).size, writer.bytes);
    for (let i = 100; i < 200; i++) writer.append({ i });
    // Deleted again just before close: repaired while sealing, into the final name.
    await writer.flush();
    unlinkSync(`${path}.partial`);
    await writer.close({ endReason: "test" });
    assert.equal(events.length, 2);
    assert.equal(events[1]!.recordable, true, "close() checks before writing its last records");
    assert.ok(!existsSync(`${path}.partial`) && !existsSync(`${path}.reserve`));
    assert.equal((statSync(path).mode & 0o777).toString(8), "600");
    const got = await readSession(path, { identities: [key.identity] });
    assert.equal(got.verdict.status, "SEALED");
    assert.deepEqual(
      got.records.map((r) => (r as { i: number }).i),
      Array.from({ length: 200 }, (_, i) => i),
    );
  } finally {
    cleanup();
  }
});

test("a symlink or file planted at the final name while writing is never followed or replaced: the session stays at .partial", async () => {
  const { dir, cleanup } = tempDir("st-hrec-partial");
  try {
    const key = await testKey();
    const victim = join(dir, "victim");
    writeFileSync(victim, "unchanged");
    const path = join(dir, "s.sealed");
    const writer = await SessionWriter.create(path, { recipients: [key.recipient], metadata: { m: 1 } });
    writer.append({ a: 1 });
    symlinkSync(victim, path);
    await assert.rejects(
      writer.close({}),
      (e: unknown) =>
        e instanceof UserError &&
        exitCodeOf(e) === EXIT.usage &&
        e.message === `${path} appeared while recording (a symbolic link); the sealed session stays at ${path}.partial`,
    );
    assert.equal(readFileSync(victim, "utf8"), "unchanged");
    assert.ok(lstatSync(path).isSymbolicLink());
    assert.ok(!existsSync(`${path}.reserve`));
    assert.equal((await readSession(`${path}.partial`, { identities: [key.identity] })).verdict.status, "SEALED");
  } finally {
    cleanup();
  }
});

test("SessionFiles.claim refuses whatever is at the three names and leaves nothing of its own behind", () => {
  const { dir, cleanup } = tempDir("st-hrec-partial");
  try {
    const victim = join(dir, "victim");
    writeFileSync(victim, "unchanged");
    for (const suffix of ["", ".partial", ".reserve"]) {
      for (const kind of ["symlink", "dangling", "directory", "file"] as const) {
        const path = join(dir, `${kind}${suffix || "-final"}.sealed`);
        const at = path + suffix;
        if (kind === "symlink") symlinkSync(victim, at);
        else if (kind === "dangling") symlinkSync(join(dir, "nowhere"), at);
        else if (kind === "directory") mkdirSync(at);
        else writeFileSync(at, "x");
        assert.throws(
          () => SessionFiles.claim(path, 4096),
          (e: unknown) =>
            e instanceof UserError && exitCodeOf(e) === EXIT.usage && e.message.startsWith(`${at} already exists (a `),
        );
        for (const other of ["", ".partial", ".reserve"].filter((s) => s !== suffix))
          assert.ok(!existsSync(path + other), `${path + other} left behind`);
        assert.ok(!existsSync(join(dir, "nowhere")));
      }
    }
    assert.equal(readFileSync(victim, "utf8"), "unchanged");
    assert.throws(
      () => SessionFiles.claim(join(dir, "missing", "x.sealed"), 4096),
      /directory .*missing does not exist/,
    );
    assert.throws(() => SessionFiles.claim(join(victim, "x.sealed"), 4096), /victim is not a directory/);
  } finally {
    cleanup();
  }
});
