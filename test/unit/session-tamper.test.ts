// Tamper detection: over 10,000 mutations of a real signed session, each classified right, never a wrong decode.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { openSession } from "../../src/session/reader.js";
import { KeyRing } from "../../src/session/envelope.js";
import { verifySession } from "../../src/session/verify.js";
import { generateSigningKey } from "../../src/session/signing.js";
import { isUserError } from "../../src/errors.js";
import { EXIT, exitCodeOf } from "../../src/cli/exit-codes.js";
import type { SessionStatus } from "../../src/session/verdict.js";
import { frameSpans, normalize, tempDir, testKey, writeSession } from "./session-helpers.js";

interface Expected {
  readonly status: SessionStatus;
  /** Data frames (1-based indices) whose records must come back, in order: frames 1..readable-1. */
  readonly readable: number;
  readonly bad?: number | "header" | "trailer";
}

const STATUS_BY_EXIT = new Map<number, SessionStatus>([
  [EXIT.unsealed, "UNSEALED"],
  [EXIT.tampered, "TAMPERED"],
  [EXIT.notSession, "NOT_A_SESSION"],
]);

test("every mutation of a session is classified correctly by the reader and by keyless verify", async (t) => {
  const { dir, cleanup } = tempDir("tamper");
  const key = await testKey();
  const signing = generateSigningKey();
  const frameRecords: unknown[][] = [];
  for (let f = 0; f < 6; f++) {
    frameRecords.push(
      Array.from({ length: 1 + f * 3 }, (_, i) => ({
        k: "exec",
        f,
        i,
        ts: BigInt(f * 1000 + i),
        d: new Uint8Array([f, i]),
      })),
    );
  }
  const path = await writeSession(join(dir, "a.sealtrace"), frameRecords, {
    recipients: [key.recipient],
    signingKey: signing,
  });
  const other = await writeSession(join(dir, "b.sealtrace"), frameRecords, {
    recipients: [key.recipient],
    signingKey: signing,
  });
  const original = readFileSync(path);
  const otherBytes = readFileSync(other);
  const layout = frameSpans(original);
  const otherLayout = frameSpans(otherBytes);
  const frames = layout.frames;
  const finalIndex = frames.length - 1;
  // What a pristine read gives per frame, so comparisons use the decoder's own types.
  const pristine = await readFrames(path, [key.identity]);
  assert.equal(pristine.status, "SEALED");
  const recordsBefore = (readable: number): unknown =>
    normalize(pristine.frames.filter((f) => f.index < readable).flatMap((f) => f.records));

  const probe = join(dir, "probe.sealtrace");
  const ring = new KeyRing([key.identity]);
  let mutations = 0;
  let aheadChecked = 0;
  async function check(bytes: Uint8Array, expected: Expected, what: string): Promise<void> {
    mutations++;
    writeFileSync(probe, bytes);
    const got = await readFrames(probe, ring);
    const label = `${what}: reader said ${got.status} (${got.reason})`;
    assert.equal(got.status, expected.status, label);
    if (expected.bad !== undefined && got.bad !== undefined) assert.equal(got.bad, expected.bad, label);
    assert.deepEqual(normalize(got.frames.flatMap((f) => f.records)), recordsBefore(expected.readable), label);
    const v = await verifySession(probe);
    assert.equal(v.verdict.status, expected.status, `${what}: verify said ${v.verdict.status} (${v.verdict.reason})`);
    // Frames opened ahead in the worker thread: the same verdict, reason and records (one mutation in 40:
    // a thread per read).
    if (mutations % 40 === 0) {
      const ahead = await readFrames(probe, ring, true);
      assert.deepEqual(
        { ...ahead, frames: ahead.frames.flatMap((f) => f.records) },
        { ...got, frames: normalize(got.frames.flatMap((f) => f.records)) },
        `${what}, opened ahead`,
      );
      aheadChecked++;
    }
  }
  const all = frames.length;
  const within = (p: number): Expected => {
    if (p < 8) return { status: "NOT_A_SESSION", readable: 0 };
    if (p < layout.headerEnd) return { status: "TAMPERED", readable: 0, bad: "header" };
    const k = frames.findIndex((s) => p >= s.start && p < s.end);
    if (k >= 0) return { status: "TAMPERED", readable: k, bad: k };
    return { status: "TAMPERED", readable: all, bad: "trailer" };
  };

  try {
    // Single bit flips anywhere.
    await fc.assert(
      fc.asyncProperty(fc.nat(original.length * 8 - 1), async (bit) => {
        const bytes = Uint8Array.from(original);
        bytes[bit >> 3]! ^= 1 << (bit & 7);
        await check(bytes, within(bit >> 3), `flip bit ${bit}`);
      }),
      { numRuns: 7500 },
    );

    // Truncation at every byte: frame boundaries and inside frames, header and trailer.
    for (let length = 0; length < original.length; length++) {
      let expected: Expected;
      if (length === 0) expected = { status: "NOT_A_SESSION", readable: 0 };
      else if (length < layout.headerEnd) expected = { status: "UNSEALED", readable: 0 };
      else {
        const k = frames.findIndex((s) => length < s.end);
        expected = { status: "UNSEALED", readable: k === -1 ? all : k };
      }
      await check(original.subarray(0, length), expected, `truncate to ${length}`);
    }

    const frameBytes = (i: number): Uint8Array => original.subarray(frames[i]!.start, frames[i]!.end);
    const rebuild = (order: readonly Uint8Array[]): Uint8Array =>
      Buffer.concat([original.subarray(0, layout.headerEnd), ...order, original.subarray(layout.trailerStart)]);
    const indices = frames.map((_, i) => i);

    // Reordered frames.
    for (let i = 0; i < all; i++) {
      for (let j = i + 1; j < all; j++) {
        const order = indices.map((x) => frameBytes(x === i ? j : x === j ? i : x));
        await check(rebuild(order), { status: "TAMPERED", readable: i, bad: i }, `swap frames ${i} and ${j}`);
      }
    }
    // Duplicated and dropped frames.
    for (let i = 0; i < all; i++) {
      const dup = indices.flatMap((x) => (x === i ? [frameBytes(x), frameBytes(x)] : [frameBytes(x)]));
      const dupExpected: Expected =
        i === finalIndex
          ? { status: "TAMPERED", readable: all, bad: "trailer" }
          : { status: "TAMPERED", readable: i + 1, bad: i + 1 };
      await check(rebuild(dup), dupExpected, `duplicate frame ${i}`);
      await check(
        rebuild(indices.filter((x) => x !== i).map(frameBytes)),
        { status: "TAMPERED", readable: i, bad: i },
        `drop frame ${i}`,
      );
    }
    // Frames spliced in from another session sealed to the same key.
    for (let i = 0; i < all; i++) {
      const foreign = otherBytes.subarray(otherLayout.frames[i]!.start, otherLayout.frames[i]!.end);
      await check(
        rebuild(indices.map((x) => (x === i ? foreign : frameBytes(x)))),
        { status: "TAMPERED", readable: i, bad: i },
        `splice frame ${i}`,
      );
    }
    // The header swapped for another session's valid header.
    await check(
      Buffer.concat([otherBytes.subarray(0, otherLayout.headerEnd), original.subarray(layout.headerEnd)]),
      { status: "TAMPERED", readable: 0, bad: 0 },
      "foreign header",
    );
    // A trailer from the other session, and bytes appended after the trailer.
    await check(
      Buffer.concat([original.subarray(0, layout.trailerStart), otherBytes.subarray(otherLayout.trailerStart)]),
      { status: "TAMPERED", readable: all, bad: "trailer" },
      "foreign trailer",
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (extra) => {
        await check(
          Buffer.concat([original, extra]),
          { status: "TAMPERED", readable: all, bad: "trailer" },
          `append ${extra.length} bytes`,
        );
      }),
      { numRuns: 1200 },
    );
    assert.ok(mutations >= 10_000, `only ${mutations} mutations ran`);
    assert.ok(aheadChecked >= 250, `only ${aheadChecked} mutations read ahead`);
    assert.ok(openedAhead >= aheadChecked, `the decode thread opened only ${openedAhead} frames`);
    t.diagnostic(`${mutations} mutations, each classified correctly (${aheadChecked} also opened ahead)`);
  } finally {
    cleanup();
  }
});

/** Frames the decode thread opened, over every read ahead. */
let openedAhead = 0;

interface ReadResult {
  status: SessionStatus;
  reason: string;
  bad: number | "header" | "trailer" | undefined;
  frames: { index: number; records: unknown[] }[];
}

/**
 * Reads a file and reports the verdict; header-level damage comes back as the UserError's status. `ahead`:
 * as replay reads a big file (frames opened ahead in a worker thread, their bytes valid until the next
 * frame: records come back normalized).
 */
async function readFrames(path: string, identities: KeyRing | string[], ahead = false): Promise<ReadResult> {
  let reader;
  try {
    reader = await openSession(
      path,
      ahead
        ? { identities, reuseBuffers: true, decodeAhead: true, decodeAheadMinBytes: 0, decodeAheadFromFirstFrame: true }
        : { identities },
    );
  } catch (e) {
    if (!isUserError(e)) throw e;
    const status = STATUS_BY_EXIT.get(exitCodeOf(e));
    if (!status) throw e;
    return { status, reason: e.message, bad: undefined, frames: [] };
  }
  const frames = [];
  for await (const frame of reader.frames())
    frames.push(ahead ? { index: frame.index, records: frame.records.map(normalize) } : frame);
  const v = reader.verdict!;
  openedAhead += reader.framesOpenedAhead;
  return { status: v.status, reason: v.reason, bad: v.bad, frames };
}
