// The decode thread failing while replay reads (body-decoder.ts, WorkerDecoder): it ends, throws, or never
// loads. The frames it owed and every later one are opened in the reader's thread instead: the same records
// in the same order and the same verdict as without a thread, no error, and no thread left behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Worker } from "node:worker_threads";
import { openSession, type OpenSessionOptions } from "../../src/session/reader.js";
import { frameSpans, normalize, tempDir, testKey, threads, until, writeSession } from "./session-helpers.js";

const failing = new URL("../helpers/failing-body-worker.js", import.meta.url);
const MIB = 1024 * 1024;

/** A full GC, so that what arrayBuffers counts is what is still held. */
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

interface Read {
  records: string[];
  verdict: string;
  failure: string | undefined;
  openedAhead: number;
}

/** Every record (as JSON, read before the next frame is asked for) and the verdict. */
async function readAll(path: string, identity: string, thread?: () => Worker): Promise<Read> {
  const options: OpenSessionOptions = thread
    ? {
        identities: [identity],
        decodeAhead: true,
        decodeAheadMinBytes: 0,
        decodeAheadFromFirstFrame: true,
        decodeThread: thread,
      }
    : { identities: [identity], reuseBuffers: true };
  const reader = await openSession(path, options);
  const records: string[] = [];
  for await (const frame of reader.frames()) {
    for (const r of frame.records) records.push(JSON.stringify(normalize(r)));
    await new Promise((resolve) => setImmediate(resolve)); // the thread runs ahead meanwhile
  }
  const v = reader.verdict!;
  return {
    records,
    verdict: `${v.status} ${v.framesGood} ${v.reason}`,
    failure: reader.decodeThreadFailure,
    openedAhead: reader.framesOpenedAhead,
  };
}

async function session(dir: string, recipient: string): Promise<string> {
  const frames = Array.from({ length: 30 }, (_, f) =>
    Array.from({ length: 40 }, (_, i) => ({ k: "exec", f, i, d: new Uint8Array(300).fill((f * 7 + i) & 255) })),
  );
  return writeSession(join(dir, "s.sealtrace"), frames, { recipients: [recipient] });
}

const failures: Array<{ name: string; data: object; why: RegExp; answered: boolean }> = [
  { name: "ends at its 5th frame", data: { exitAt: 5 }, why: /ended \(exit code 7\)/, answered: true },
  { name: "throws at its 3rd frame", data: { throwAt: 3 }, why: /failed: the decode thread broke/, answered: true },
  { name: "cannot load", data: { failLoad: true }, why: /failed: the decode thread cannot load/, answered: false },
];

for (const f of failures)
  test(`the decode thread ${f.name}: every record and the verdict as without it, no thread left`, async () => {
    const { dir, cleanup } = tempDir("ahead-fail");
    try {
      const key = await testKey();
      const path = await session(dir, key.recipient);
      const want = await readAll(path, key.identity);
      assert.equal(want.records.length, 30 * 40);
      const before = threads();
      const got = await readAll(path, key.identity, () => new Worker(failing, { workerData: f.data }));
      assert.match(got.failure ?? "no failure", f.why);
      if (f.answered) assert.ok(got.openedAhead > 0, "the thread opened frames before it failed");
      else assert.equal(got.openedAhead, 0);
      assert.equal(got.verdict, want.verdict);
      assert.equal(got.records.length, want.records.length);
      assert.ok(
        got.records.every((r, i) => r === want.records[i]),
        "the same records in the same order",
      );
      assert.ok(await until(() => threads() <= before, 3000), `threads: ${threads()}, before ${before}`);
    } finally {
      cleanup();
    }
  });

test("the decode thread ends mid-file on a damaged session: the same verdict (tampered, then cut off) as without it", async () => {
  const { dir, cleanup } = tempDir("ahead-fail-damage");
  try {
    const key = await testKey();
    const path = await session(dir, key.recipient);
    const bytes = readFileSync(path);
    const spans = frameSpans(bytes).frames;
    const tampered = Buffer.from(bytes);
    const hit = spans[20]!;
    tampered[hit.start + 40]! ^= 0x10; // inside frame 20's ciphertext
    const cut = bytes.subarray(0, spans[25]!.start + 50); // frame 25 cut short
    for (const [name, damaged] of [
      ["tampered", tampered],
      ["cut", cut],
    ] as const) {
      const p = join(dir, `${name}.sealtrace`);
      writeFileSync(p, damaged);
      const want = await readAll(p, key.identity);
      assert.match(want.verdict, name === "tampered" ? /^TAMPERED 20 / : /^UNSEALED 2[45] /);
      const got = await readAll(p, key.identity, () => new Worker(failing, { workerData: { exitAt: 12 } }));
      assert.match(got.failure ?? "no failure", /exit code 7/);
      assert.equal(got.verdict, want.verdict, name);
      assert.deepEqual(got.records, want.records, name);
    }
  } finally {
    cleanup();
  }
});

test("frames the thread owed when it ended are opened one at a time, as the reader takes them", async () => {
  const { dir, cleanup } = tempDir("ahead-fail-held");
  try {
    const key = await testKey();
    const frames = Array.from({ length: 6 }, (_, f) => [{ k: "ring", f, d: new Uint8Array(20 * MIB).fill(f + 1) }]);
    const path = await writeSession(join(dir, "big.sealtrace"), frames, { recipients: [key.recipient] });
    const reader = await openSession(path, {
      identities: [key.identity],
      decodeAhead: true,
      decodeAheadMinBytes: 0,
      decodeAheadFromFirstFrame: true,
      // It ends as it is about to answer its first frame, once the reader has handed it 4: all are owed.
      decodeThread: () => new Worker(failing, { workerData: { exitAt: 1, holdMs: 500 } }),
    });
    gc();
    const before = process.memoryUsage().arrayBuffers; // the test's own frames among it
    let first = -1;
    let n = 0;
    for await (const frame of reader.frames()) {
      const r = frame.records[0] as { f: number; d: Uint8Array };
      assert.ok(r.d.length === 20 * MIB && r.d.every((b) => b === r.f + 1), `frame ${frame.index}`);
      if (first < 0) {
        await new Promise((resolve) => setTimeout(resolve, 20)); // the owed frames would all be opened by now
        gc();
        first = process.memoryUsage().arrayBuffers - before; // no earlier frame can be held yet
      }
      n++;
    }
    assert.equal(n, frames.length);
    assert.match(reader.decodeThreadFailure ?? "no failure", /exit code 7/);
    // At the first frame: it and at most the next one (40 MiB), not the 4 the thread owed (80 MiB).
    assert.ok(first < 50 * MIB, `decoded bytes held at the first frame: ${(first / MIB).toFixed(0)} MiB`);
  } finally {
    cleanup();
  }
});
