// Frames opened ahead in a worker thread (openSession's decodeAhead, as replay reads a big file): the same
// records as in the reader's thread, frames over the held budget wait their turn instead of piling up,
// and the thread ends with the reader, also when the caller stops early.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { openSession, type OpenSessionOptions } from "../../src/session/reader.js";
import { HELD_BUDGET_BYTES } from "../../src/session/body-decoder.js";
import { tempDir, testKey, threads, until, writeSession } from "./session-helpers.js";

const MIB = 1024 * 1024;

test(
  "frames of 20 MiB each (over the held budget together) come back whole and in order, opened ahead",
  { timeout: 60_000 },
  async () => {
    const { dir, cleanup } = tempDir("ahead");
    try {
      const key = await testKey();
      const frames = Array.from({ length: 6 }, (_, f) => {
        const blob = new Uint8Array(20 * MIB).fill(f + 1);
        blob[blob.length - 1] = 0xf0 + f;
        return [{ k: "ring", f, d: blob }];
      });
      assert.ok(3 * 20 * MIB > HELD_BUDGET_BYTES, "the frames must not all fit the budget at once");
      const path = await writeSession(join(dir, "big.sealtrace"), frames, { recipients: [key.recipient] });
      const options: OpenSessionOptions = {
        identities: [key.identity],
        reuseBuffers: true,
        decodeAhead: true,
        decodeAheadMinBytes: 0,
        decodeAheadFromFirstFrame: true,
      };
      const reader = await openSession(path, options);
      const seen: string[] = [];
      for await (const frame of reader.frames()) {
        const r = frame.records[0] as { f: number; d: Uint8Array };
        // Read before asking for the next frame: its bytes are given back then.
        const filled = r.d.every((b, i) => (i === r.d.length - 1 ? b === 0xf0 + r.f : b === r.f + 1));
        seen.push(`${r.f}:${r.d.length}:${filled}`);
        await new Promise((resolve) => setTimeout(resolve, 20)); // the worker runs ahead meanwhile
      }
      assert.equal(reader.verdict?.status, "SEALED", reader.verdict?.reason);
      assert.equal(reader.framesOpenedAhead, frames.length + 1, "every frame after the metadata, and the final one");
      assert.deepEqual(
        seen,
        frames.map((_, f) => `${f}:${20 * MIB}:true`),
      );
    } finally {
      cleanup();
    }
  },
);

test(
  "the decode thread ends when the reader does: read to the end, or stopped after one frame",
  { timeout: 60_000 },
  async () => {
    const { dir, cleanup } = tempDir("ahead-end");
    try {
      const key = await testKey();
      const frames = Array.from({ length: 40 }, (_, f) =>
        Array.from({ length: 50 }, (_, i) => ({ k: "exec", f, i, d: new Uint8Array(64).fill(i) })),
      );
      const path = await writeSession(join(dir, "a.sealtrace"), frames, { recipients: [key.recipient] });
      const options: OpenSessionOptions = {
        identities: [key.identity],
        decodeAhead: true,
        decodeAheadMinBytes: 0,
      };
      const before = threads();

      let reader = await openSession(path, options);
      let n = 0;
      for await (const frame of reader.frames()) {
        n += frame.records.length;
        if (n === 50) assert.equal(threads(), before + 1, "one decode thread while reading");
      }
      assert.equal(n, 40 * 50);
      assert.ok(await until(() => threads() === before, 2000), `threads: ${threads()}, before ${before}`);

      reader = await openSession(path, options);
      for await (const frame of reader.frames()) {
        assert.equal(frame.index, 1);
        break; // ends frames(): the reader closes its file and its thread
      }
      assert.ok(await until(() => threads() === before, 2000), `threads: ${threads()}, before ${before}`);
    } finally {
      cleanup();
    }
  },
);

test(
  "frames opened in the reader's thread while the decode thread loads, then by it: every record, in order",
  { timeout: 60_000 },
  async () => {
    const { dir, cleanup } = tempDir("ahead-switch");
    try {
      const key = await testKey();
      const frames = Array.from({ length: 150 }, (_, f) =>
        Array.from({ length: 20 }, (_, i) => ({ k: "exec", f, i, d: new Uint8Array(256).fill((f + i) & 255) })),
      );
      const path = await writeSession(join(dir, "a.sealtrace"), frames, { recipients: [key.recipient] });
      const reader = await openSession(path, {
        identities: [key.identity],
        reuseBuffers: true,
        decodeAhead: true,
        decodeAheadMinBytes: 0,
      });
      let bad = 0;
      let n = 0;
      let openedAheadAtFirst = -1;
      for await (const frame of reader.frames()) {
        if (openedAheadAtFirst < 0) openedAheadAtFirst = reader.framesOpenedAhead;
        for (const r of frame.records as Array<{ f: number; i: number; d: Uint8Array }>) {
          if (r.f !== frame.index - 1 || r.i !== n % 20 || !r.d.every((b) => b === ((r.f + r.i) & 255))) bad++;
          n++;
        }
        await new Promise((resolve) => setTimeout(resolve, 3)); // ~0.5 s in all: the thread loads meanwhile
      }
      assert.equal(reader.verdict?.status, "SEALED", reader.verdict?.reason);
      assert.equal(n, 150 * 20);
      assert.equal(bad, 0);
      assert.equal(openedAheadAtFirst, 0, "the first frame is opened before the thread has loaded");
      assert.ok(reader.framesOpenedAhead > 0, "later frames are opened by the thread");
    } finally {
      cleanup();
    }
  },
);
