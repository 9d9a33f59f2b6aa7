// The property run inside a worker thread by random-sessions.test.ts, so that a hang (a synchronous loop)
// or a heap past its bound can be stopped from outside. Posts the outcome counts, or the counterexample.
import assert from "node:assert/strict";
import { parentPort, workerData } from "node:worker_threads";
import { join } from "node:path";
import fc from "fast-check";
import { isUserError } from "../../src/errors.js";
import { exitCodeOf } from "../../src/cli/exit-codes.js";
import { ALL_LAYOUTS, EV, LAYOUT_BY_TYPE, type Layout } from "../../src/events/layouts.js";
import { applyFilter } from "../../src/replay/filter.js";
import { loadSessions } from "../../src/replay/load.js";
import { FORMATS, renderChunks, VIEWS } from "../../src/replay/render.js";
import { huntReplay } from "../../src/hunt/evaluate.js";
import { renderHuntHtml } from "../../src/hunt/html.js";
import { renderHuntJson, renderHuntJsonl } from "../../src/hunt/json.js";
import { buildReport } from "../../src/hunt/report.js";
import { BUILTIN_RULES, loadRuleSet } from "../../src/hunt/ruleset.js";
import { huntTextLines } from "../../src/hunt/text.js";
import { terminalText } from "../../src/replay/text/style.js";
import { writeSession } from "../unit/session-helpers.js";
import * as E from "../unit/replay-encode.js";

const { dir, identity, recipient, runs, runMs } = workerData as {
  dir: string;
  identity: string;
  recipient: string;
  runs: number;
  runMs: number;
};

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
/** Times and counts as a crafted file might hold them: in range, at the edges, negative, huge, or not numbers. */
const hostileNumber = fc.oneof(
  fc.bigInt({ min: 0n, max: 30n * 1_000_000_000n }),
  u64,
  fc.bigInt({ min: -(1n << 63n), max: -1n }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(1e308, -1, 0, Number.MAX_SAFE_INTEGER, NaN, Infinity),
  fc.string({ maxLength: 4 }),
  fc.constant(null),
);
const smallText = fc.string({ unit: "binary", maxLength: 24 });
/**
 * Values of any shape, whose maps often carry the keys that change how JavaScript converts or walks an
 * object (a `toString` that is not a function made String() throw in replay: found by this property).
 * Not `toJSON`: msgpackr's encoder calls it, so the writer could not write such a map.
 */
const anything = (o: { maxDepth: number; maxKeys?: number }) =>
  fc.anything({
    ...o,
    key: fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.constantFrom("toString", "valueOf", "constructor", "__proto__", "length", "then"),
    ),
  });

const ident = fc.record({
  tgid: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(0xffffffff)),
  start: fc.oneof(fc.bigInt({ min: 0n, max: 5n }), u64),
  ppid: fc.integer({ min: 0, max: 40 }),
  comm: fc.string({ unit: "binary", maxLength: 15 }),
  flags: fc.integer({ min: 0, max: 0xffff }),
});
const t = fc.bigInt({ min: 0n, max: 20n * 1_000_000_000n });

/** Kernel records: the encoders' own shapes with random values, or any type over random bytes. */
const kernelRecord = fc.oneof(
  fc
    .tuple(t, ident, smallText, fc.array(smallText, { maxLength: 4 }))
    .map(([at, id, f, argv]) => E.exec(at, id, f, argv)),
  fc
    .tuple(t, ident, fc.integer({ min: 0, max: 40 }), u64)
    .map(([at, id, child, start]) => E.fork(at, id, child, start)),
  fc.tuple(t, ident, fc.integer({ min: -1, max: 300 })).map(([at, id, s]) => E.exit(at, id, s)),
  fc
    .tuple(t, ident, smallText, fc.array(smallText, { maxLength: 3 }))
    .map(([at, id, f, argv]) => E.task(at, id, f, argv)),
  fc
    .tuple(t, ident, u64, t, fc.integer({ min: -200, max: 0 }), fc.integer({ min: 0, max: 65535 }))
    .map(([at, id, sock, enter, ret, port]) => E.connect(at, id, sock, enter, ret, "10.1.2.3", port)),
  fc
    .tuple(fc.constantFrom(EV.retransmit, EV.sendReset, EV.recvReset), t, ident, u64, fc.integer({ min: 0, max: 12 }))
    .map(([type, at, id, sock, st]) => E.tcpEvent(type, at, id, sock, st, "10.9.9.9", 443, 5555)),
  fc.tuple(t, ident, u64, u64, smallText).map(([at, id, dev, ino, p]) => E.fileOpen(at, id, dev, ino, p)),
  fc
    .tuple(fc.constantFrom(EV.unlink, EV.rename, EV.chmod), t, ident, smallText, smallText)
    .map(([type, at, id, p, p2]) => E.fileOp(type, at, id, p, { path2: p2 })),
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ minLength: 0, maxLength: 200 })).map(([type, body]) => {
    const layout: Layout | undefined = LAYOUT_BY_TYPE.get(type) ?? LAYOUT_BY_TYPE.get(EV.exec);
    const out = new Uint8Array(Math.max(body.length, 8));
    out.set(body);
    new DataView(out.buffer).setUint16(0, type, true);
    return layout && out.length >= layout.size ? out : out;
  }),
);

/** A ring span: framed records, or raw bytes (random lengths, discard bits). */
const span = fc.oneof(
  fc.array(kernelRecord, { maxLength: 12 }).map((recs) => E.frame(recs)),
  fc.uint8Array({ maxLength: 256 }),
);

const mapRows = fc.oneof(
  fc
    .tuple(ident, u64, u64, u64, u64)
    .map(([id, dev, ino, bytes, calls]) => E.writeRow(id, dev, ino, bytes, calls, 1n, 2n)),
  fc.uint8Array({ maxLength: 300 }),
);

const record = fc.oneof(
  fc.record({
    k: fc.constantFrom("ring", "start"),
    b: fc.oneof(smallText, fc.integer()),
    t: hostileNumber,
    n: hostileNumber,
    d: span,
  }),
  fc.record({
    k: fc.constant("maps"),
    b: smallText,
    m: fc.oneof(fc.constantFrom("write_cache", "write_totals", "flow_counters", "other"), anything({ maxDepth: 1 })),
    t: hostileNumber,
    keySize: fc.oneof(fc.constantFrom(0, 32), fc.integer({ min: -64, max: 80 }), hostileNumber),
    valueSize: fc.oneof(fc.constantFrom(0, 32), fc.integer({ min: -64, max: 300 }), hostileNumber),
    n: hostileNumber,
    d: fc.oneof(mapRows, fc.constant(null)),
  }),
  fc.record({
    k: fc.constant("loss"),
    b: fc.oneof(smallText, anything({ maxDepth: 1 })),
    t: hostileNumber,
    ringFull: hostileNumber,
    mapFull: hostileNumber,
    dropped: hostileNumber,
  }),
  fc.record({ k: fc.constant("attach"), t: hostileNumber, startT: hostileNumber }),
  // The host tables and executable hashes: lists of anything, files of anything, identities at the edges.
  fc.record({
    k: fc.constantFrom("cgroups", "proc-cgroups"),
    t: hostileNumber,
    entries: fc.oneof(
      fc.array(
        fc.oneof(
          fc.record({
            id: hostileNumber,
            pid: hostileNumber,
            path: fc.oneof(smallText, fc.constant("/a"), hostileNumber),
          }),
          anything({ maxDepth: 1 }),
        ),
        { maxLength: 4 },
      ),
      anything({ maxDepth: 1 }),
    ),
  }),
  fc.record({
    k: fc.constant("users"),
    t: hostileNumber,
    passwd: fc.oneof(
      fc.record({
        path: fc.oneof(smallText, hostileNumber),
        sha256: fc.oneof(smallText, fc.constant("0".repeat(64))),
        bytes: hostileNumber,
        error: fc.oneof(smallText, anything({ maxDepth: 1 })),
        entries: fc.oneof(
          fc.array(fc.oneof(fc.record({ id: hostileNumber, name: smallText }), anything({ maxDepth: 1 })), {
            maxLength: 4,
          }),
          anything({ maxDepth: 1 }),
        ),
      }),
      anything({ maxDepth: 2 }),
    ),
    group: anything({ maxDepth: 2 }),
  }),
  fc.record({
    k: fc.constant("exe-hash"),
    t: hostileNumber,
    dev: hostileNumber,
    ino: hostileNumber,
    ctimeNs: hostileNumber,
    sha256: fc.oneof(smallText, fc.constant("a".repeat(64)), anything({ maxDepth: 1 })),
    why: fc.oneof(fc.constantFrom("gone", "error:EACCES"), smallText, anything({ maxDepth: 1 })),
    via: fc.oneof(fc.constantFrom("proc", "path"), anything({ maxDepth: 1 })),
    tooLarge: anything({ maxDepth: 1 }),
  }),
  anything({ maxDepth: 2, maxKeys: 4 }),
);

/** A stored layout, sometimes bent: a field's offset, size or kind changed, or the struct size. */
const layouts = fc
  .array(
    fc.tuple(
      fc.integer({ min: 0, max: ALL_LAYOUTS.length - 1 }),
      fc.integer({ min: 0, max: 20 }),
      fc.constantFrom("offset", "size", "kind", "struct", "fields"),
      hostileNumber,
    ),
    { maxLength: 3 },
  )
  .map((bends) => {
    const copy = structuredClone(ALL_LAYOUTS) as unknown as Array<{ size: unknown; fields: unknown }>;
    for (const [li, fi, what, value] of bends) {
      const l = copy[li]!;
      // An earlier bend may have replaced the fields with anything (null, a string): then no field to bend.
      const fields = Array.isArray(l.fields) ? (l.fields as Array<Record<string, unknown>>) : [];
      const f = fields[fi % Math.max(1, fields.length)];
      if (what === "struct") l.size = value;
      else if (what === "fields") l.fields = value;
      else if (f) f[what] = value;
    }
    return copy;
  });

const metadata = fc.oneof(
  // Weighted so that about half the sessions get past frame 0 and their records are exercised.
  { arbitrary: fc.constant(E.metadata()), weight: 3 },
  fc.record({
    host: fc.oneof(
      fc.record({ hostname: fc.oneof(smallText, hostileNumber), bootId: fc.oneof(smallText, hostileNumber) }),
      smallText,
      fc.constant(undefined),
    ),
    runbook: fc.oneof(fc.record({ name: fc.oneof(smallText, hostileNumber) }), anything({ maxDepth: 1 })),
    bundles: fc.oneof(
      fc.array(fc.record({ name: fc.oneof(smallText, hostileNumber) }), { maxLength: 3 }),
      anything({ maxDepth: 1 }),
    ),
    clock: fc.record({ realtimeMinusBoottimeNs: fc.oneof(fc.constant(E.OFFSET_NS), hostileNumber) }),
    schema: fc.oneof(
      fc.record({
        ev: fc.oneof(
          fc.constant({ ...EV }),
          fc.dictionary(
            fc.constantFrom("fork", "exec", "exit", "task", "connect", "fileOpen", "x"),
            fc.oneof(fc.integer({ min: 0, max: 40 }), hostileNumber),
          ),
        ),
        layouts,
      }),
      anything({ maxDepth: 2, maxKeys: 3 }),
    ),
  }),
  anything({ maxDepth: 2, maxKeys: 3 }),
);

const summary = fc.record({
  endReason: fc.oneof(smallText, anything({ maxDepth: 1 })),
  startBootNs: hostileNumber,
  endBootNs: hostileNumber,
});

/** The built-in rule pack, hunted over every session that replays: hunt reads the same hostile content. */
const rules = loadRuleSet([BUILTIN_RULES], "informational");

let seq = 0;
const outcomes = { replayed: 0, withEvents: 0, refused: 0 };
try {
  let worstMs = 0;
  let worstRssMiB = 0;
  await fc.assert(
    fc.asyncProperty(
      metadata,
      fc.array(fc.array(record, { maxLength: 12 }), { maxLength: 4 }),
      summary,
      async (md, frames, sum) => {
        const path = join(dir, `p${++seq}.sealed`);
        await writeSession(path, frames, { recipients: [recipient], metadata: md, reserveBytes: 0 }, sum);
        const started = performance.now();
        try {
          const { replay, events } = await loadSessions([path], [identity]);
          outcomes.replayed++;
          if (events > 0) outcomes.withEvents++;
          const filtered = applyFilter(replay, { pids: [], comms: [], addrs: [], ports: [], hosts: [] });
          for (const format of FORMATS) {
            for (const view of format === "text" ? VIEWS : (["summary"] as const)) {
              for (const chunk of renderChunks(filtered, view, format, false)) assert.equal(typeof chunk, "string");
            }
          }
          const { report, ordered } = buildReport(
            filtered,
            huntReplay(filtered, rules.rules, rules.notEvaluated),
            rules.belowLevel,
          );
          for (const text of [
            renderHuntJson(report),
            renderHuntJsonl(report),
            renderHuntHtml(filtered, report, ordered),
            terminalText(huntTextLines(report, [path]), false),
          ])
            assert.equal(typeof text, "string");
        } catch (e) {
          if (!isUserError(e)) throw e; // a bug: the property fails with its stack
          assert.ok([2, 5, 6, 7].includes(exitCodeOf(e)), `exit ${exitCodeOf(e)}: ${e.message}`);
          assert.equal(e.message.includes("\n"), false, "one line");
          outcomes.refused++;
        }
        const ms = performance.now() - started;
        worstMs = Math.max(worstMs, ms);
        worstRssMiB = Math.max(worstRssMiB, process.memoryUsage().rss / (1 << 20));
        assert.ok(ms < runMs, `took ${ms.toFixed(0)} ms`);
      },
    ),
    { numRuns: runs },
  );
  parentPort!.postMessage({ ok: true, outcomes, worstMs, worstRssMiB });
} catch (e) {
  // fast-check's error names the counterexample; its cause is what the replay threw, and where.
  const text = (x: unknown): string => (x instanceof Error ? (x.stack ?? x.message) : String(x));
  const cause = e instanceof Error && e.cause !== undefined ? `\ncaused by: ${text(e.cause)}` : "";
  parentPort!.postMessage({ ok: false, error: text(e) + cause });
}
