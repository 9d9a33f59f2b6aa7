// Round trip: random record streams, frame sizes and crash points read back exactly what was flushed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, truncateSync, statSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { SessionWriter } from "../../src/session/writer.js";
import { readSession, openSession } from "../../src/session/reader.js";
import { verifySession } from "../../src/session/verify.js";
import { UserError } from "../../src/errors.js";
import { EXIT, exitCodeOf } from "../../src/cli/exit-codes.js";
import { normalize, tempDir, testKey } from "./session-helpers.js";

/** No map key `__proto__` at any depth: the reader returns it as `__proto_` (docs/FORMAT.md, and a test below). */
function noProtoKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.every(noProtoKey);
  if (v === null || typeof v !== "object") return true;
  return Object.keys(v).every((k) => k !== "__proto__") && Object.values(v).every(noProtoKey);
}
/** A copy owning its bytes: a record's byte arrays from a reader with reuseBuffers are views into its buffer. */
function deepCopy(v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v); // a copy (a Buffer's slice() is a view)
  if (Array.isArray(v)) return v.map(deepCopy);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepCopy(x)]));
}
const json = (opts?: { maxDepth: number }) => fc.jsonValue(opts).filter(noProtoKey);

const record = fc.oneof(
  fc.record({
    k: fc.constantFrom("exec", "connect", "write"),
    ts: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    pid: fc.nat(),
    comm: fc.string({ maxLength: 16 }),
  }),
  fc.record({ k: fc.constant("ring"), b: fc.constant("exec"), d: fc.uint8Array({ maxLength: 4096 }) }),
  json({ maxDepth: 3 }),
  fc.uint8Array({ maxLength: 300 }),
);

test("a record with a `__proto__` key reads back with it renamed `__proto_`, and no prototype is touched", async () => {
  const { dir, cleanup } = tempDir("proto");
  const key = await testKey();
  try {
    const path = join(dir, "p.sealtrace");
    const writer = await SessionWriter.create(path, { recipients: [key.recipient], metadata: { host: "h" } });
    writer.append(JSON.parse('{"a": 1, "__proto__": {"polluted": true}}'));
    await writer.close({ summary: {} });
    const got = await readSession(path, { identities: [key.identity] });
    assert.deepEqual(got.records, [{ a: 1, __proto_: { polluted: true } }]);
    assert.equal(Object.getPrototypeOf(got.records[0]), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  } finally {
    cleanup();
  }
});

test("round trip: random records and frame sizes read back exactly", async () => {
  const { dir, cleanup } = tempDir("rt");
  const key = await testKey();
  let n = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 200 }),
        fc.integer({ min: 1, max: 20_000 }),
        json(),
        async (records, flushBytes, summary) => {
          const id = n++;
          const path = join(dir, `s${id}.sealtrace`);
          const writer = await SessionWriter.create(path, {
            recipients: [key.recipient],
            metadata: { host: "h", id },
            flushBytes,
            flushIntervalMs: 3_600_000,
          });
          for (const r of records) writer.append(r);
          const closed = await writer.close({ summary: normalize(summary) });
          const got = await readSession(path, { identities: [key.identity] });
          assert.equal(got.verdict.status, "SEALED");
          assert.deepEqual(got.metadata, { host: "h", id });
          assert.deepEqual(normalize(got.records), normalize(records.map(jsonSafe)));
          assert.deepEqual(normalize(got.finale?.summary), normalize({ summary: jsonSafe(summary) }));
          assert.equal(got.finale?.writer.records, records.length);
          assert.equal(got.verdict.framesGood, closed.frames);
          const v = await verifySession(path);
          assert.equal(v.verdict.status, "SEALED");
          assert.equal(v.chainHashHex, closed.finalChainHashHex);
          // With reused buffers, a frame's records read before the next frame is asked for are the same.
          const reused = await openSession(path, { identities: [key.identity], reuseBuffers: true });
          const copied: unknown[] = [];
          for await (const frame of reused.frames()) copied.push(...frame.records.map(deepCopy));
          assert.equal(reused.verdict?.status, "SEALED");
          assert.deepEqual(normalize(copied), normalize(got.records));
        },
      ),
      { numRuns: 60 },
    );
  } finally {
    cleanup();
  }
});

test("crash points: a copy of the .partial taken mid-stream yields exactly the flushed records", async () => {
  const { dir, cleanup } = tempDir("crash");
  const key = await testKey();
  let n = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 8_000 }),
        fc.nat(),
        fc.nat(),
        async (records, flushBytes, crashSeed, cutSeed) => {
          const path = join(dir, `c${n++}.sealtrace`);
          const crashAt = crashSeed % (records.length + 1);
          const writer = await SessionWriter.create(path, {
            recipients: [key.recipient],
            metadata: "m",
            flushBytes,
            flushIntervalMs: 3_600_000,
          });
          const crashCopy = path + ".crash";
          let flushedAtCrash = 0;
          for (const [i, r] of records.entries()) {
            if (i === crashAt) {
              copyFileSync(path + ".partial", crashCopy);
              flushedAtCrash = writer.records;
            }
            writer.append(r);
          }
          if (crashAt === records.length) {
            copyFileSync(path + ".partial", crashCopy);
            flushedAtCrash = writer.records;
          }
          await writer.close(null);
          const whole = await readSession(crashCopy, { identities: [key.identity] });
          assert.equal(whole.verdict.status, "UNSEALED");
          assert.deepEqual(normalize(whole.records), normalize(records.slice(0, flushedAtCrash).map(jsonSafe)));
          assert.equal((await verifySession(crashCopy)).verdict.status, "UNSEALED");
          // A torn last write: cut the crash copy anywhere after the header and metadata frame.
          const size = statSync(crashCopy).size;
          const minimum = readFileSync(crashCopy).length > 0 ? firstRecordFrameStart(crashCopy) : 0;
          truncateSync(crashCopy, minimum + (cutSeed % (size - minimum + 1)));
          const torn = await readSession(crashCopy, { identities: [key.identity] });
          assert.equal(torn.verdict.status, "UNSEALED");
          assert.deepEqual(normalize(torn.records), normalize(records.slice(0, torn.records.length).map(jsonSafe)));
        },
      ),
      { numRuns: 60 },
    );
  } finally {
    cleanup();
  }
});

test("a header cut short is UNSEALED with nothing readable; an empty file is NOT A SESSION", async () => {
  const { dir, cleanup } = tempDir("cut");
  const key = await testKey();
  try {
    const path = join(dir, "s.sealtrace");
    const writer = await SessionWriter.create(path, { recipients: [key.recipient], metadata: 1 });
    await writer.close(null);
    truncateSync(path, 50);
    await assert.rejects(
      openSession(path, { identities: [key.identity] }),
      (e: unknown) => e instanceof UserError && exitCodeOf(e) === EXIT.unsealed,
    );
    truncateSync(path, 0);
    assert.equal((await verifySession(path)).verdict.status, "NOT_A_SESSION");
  } finally {
    cleanup();
  }
});

function firstRecordFrameStart(path: string): number {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const headerEnd = view.getUint32(12, true);
  return headerEnd + 16 + view.getUint32(headerEnd, true) + 32;
}

/** msgpack stores integral -0 as the integer 0; everything else in these generators round-trips as is. */
function jsonSafe(v: unknown): unknown {
  if (Object.is(v, -0)) return 0;
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v !== null && typeof v === "object" && !(v instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  }
  return v;
}
