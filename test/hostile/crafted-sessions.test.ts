// Crafted sessions (issue 13 items 3-8), each written with the project's own SessionWriter and encrypted
// to a test key, replayed and verified through the CLI: a clear line and an allowed exit code, within the
// stated wall time and peak RSS (docs/REPLAY.md "Limits"), never exit 1, a signal or a hang.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { ALL_LAYOUTS, EV, EXEC, TASK } from "../../src/events/layouts.js";
import { writeSession } from "../unit/session-helpers.js";
import * as E from "../unit/replay-encode.js";
import { assertBounded, runCli, workspace } from "./hostile-run.js";

const ws = await workspace();
after(() => ws.cleanup());
const S = 1_000_000_000n;
const who: E.Ident = { tgid: 100, start: 1n * S, comm: "sh" };

/** The small cases: a second or so, well under the fixed cost of Node plus one frame. */
const SMALL = { wallMs: 20_000, rssMiB: 300 };

let seq = 0;
async function session(
  frames: unknown[][],
  metadata: unknown = E.metadata(),
  extra: { flushBytes?: number } = {},
): Promise<string> {
  const path = join(ws.dir, `s${++seq}.sealed`);
  await writeSession(
    path,
    frames,
    { recipients: [ws.recipient], metadata, reserveBytes: 0, ...extra },
    { endReason: "test", startBootNs: 1n * S, endBootNs: 9n * S },
  );
  return path;
}

const replay = (path: string, ...more: string[]) => ["replay", path, "-i", ws.identityPath, ...more];
const normal = [E.ring("exec", 2n * S, [E.exec(2n * S, who, "/bin/true", ["true"]), E.exit(3n * S, who, 0)])];

test("item 3: a frame of 2M+ nils is skipped before decoding, named by its index, and the rest replays", async () => {
  const nils = new Array<null>((2 << 20) + 1).fill(null);
  const path = await session([normal, nils, normal], E.metadata(), { flushBytes: 64 << 20 });
  const r = await runCli(replay(path, "--format", "json"), 60_000);
  assertBounded(r, SMALL, "nil flood");
  assert.equal(r.code, 0);
  assert.match(
    r.stderr,
    /frame 2 holds more than 2097152 msgpack values, over the frame limit \(--max-frame-values\); skipped/,
  );
  assert.equal(JSON.parse(r.stdout).processes.length, 1, "the frames around the skipped one replay");
});

test("items 3, 6: frames declaring 129 MiB each are skipped on their declared size; --max-frame-mib reads them", async () => {
  const big = { k: "ring", b: "exec", t: 2n * S, n: 0, d: new Uint8Array(129 << 20) };
  const path = await session([normal, [big], [big], normal], E.metadata(), { flushBytes: 256 << 20 });
  const r = await runCli(replay(path), 60_000);
  assertBounded(r, SMALL, "two 129 MiB frames");
  assert.equal(r.code, 0);
  assert.match(r.stderr, /frame 2 decodes to 129\.0 MiB, over the 128 MiB frame limit \(--max-frame-mib\); skipped/);
  assert.match(r.stderr, /frame 3 decodes to 129\.0 MiB/);
  const wide = await runCli(replay(path, "--max-frame-mib", "256"), 60_000);
  assertBounded(wide, { wallMs: 60_000, rssMiB: 700 }, "two 129 MiB frames, --max-frame-mib 256");
  assert.equal(wide.stderr, "");
});

test("item 4: maps records with zero or too small rows are counted skips, never a loop (every map path)", async () => {
  const row = E.writeRow(who, 1n, 2n, 10n, 1n, 2n * S, 2n * S);
  const maps = (m: string, keySize: unknown, valueSize: unknown, d: Uint8Array = row) => ({
    k: "maps",
    b: "filewrite",
    m,
    t: 4n * S,
    keySize,
    valueSize,
    n: 1,
    d,
  });
  const path = await session([
    normal,
    [
      maps("write_cache", 0, 0),
      maps("write_totals", 0, 0),
      maps("flow_counters", 0, 0),
      maps("other", 0, 0),
      maps("write_totals", -32, 64),
      maps("write_totals", 1, 1),
      maps("flow_counters", 8, 8),
      maps("write_totals", 1e308, 1),
      maps("write_totals", 32, 32),
    ],
  ]);
  const r = await runCli(replay(path, "--format", "json"), 20_000);
  assertBounded(r, SMALL, "zero-size maps");
  assert.equal(r.code, 0);
  assert.match(
    r.stderr,
    /s\d+\.sealed: frame 2 record 0: keySize 0, valueSize 0, d bytes: not rows of at least one byte; skipped \(and 7 more maps records like it\)/,
  );
  assert.equal(JSON.parse(r.stdout).files[0].bytes, 10, "the well-formed write_totals row still counts");
});

/** Metadata variants that replay must refuse with one line naming the place in frame 0. */
const layouts = ALL_LAYOUTS.map((l) => ({ ...l, fields: l.fields.map((f) => ({ ...f })) }));
const withLayout = (cName: string, change: (l: Record<string, unknown>) => void) => {
  const copy = structuredClone(layouts) as Array<Record<string, unknown>>;
  change(copy.find((l) => l.cName === cName)!);
  return { ...E.metadata(), schema: { ev: { ...EV }, layouts: copy } };
};
const BAD_METADATA: Array<[string, unknown, RegExp]> = [
  [
    "offset 1e6",
    withLayout("st_exec", (l) => ((l.fields as Array<Record<string, unknown>>)[7]!.offset = 1e6)),
    /schema\.layouts\[2\]\.fields\[7\]\.offset: is 1000000, not a whole number in 0\.\.4096/,
  ],
  [
    "offset past the struct",
    withLayout("st_exit", (l) => ((l.fields as Array<Record<string, unknown>>)[3]!.offset = 76)),
    /schema\.layouts\[3\]\.fields\[3\]: exit_ns at 76\+8 lies outside st_exit \(80 bytes\)/,
  ],
  [
    "a field narrower than replay reads",
    withLayout("st_fork", (l) => ((l.fields as Array<Record<string, unknown>>)[1]!.size = 2)),
    /child_tgid is 2 bytes; replay reads it as 4/,
  ],
  [
    "a u64 field replay reads stored as one byte at the struct's end",
    withLayout("st_hdr", (l) => {
      const f = (l.fields as Array<Record<string, unknown>>)[9]!;
      Object.assign(f, { kind: "u8", size: 1, offset: 63 });
    }),
    /schema\.layouts\[0\]\.fields\[9\]: cgroup_id is 1 bytes; replay reads it as 8/,
  ],
  [
    "a signed field stored as unsigned",
    withLayout("st_connect", (l) => ((l.fields as Array<Record<string, unknown>>)[3]!.kind = "u32")),
    /schema\.layouts\[5\]\.fields\[3\]: ret is a u32; replay reads it as a s32/,
  ],
  [
    "a field whose kind and width disagree",
    withLayout("st_exit", (l) => ((l.fields as Array<Record<string, unknown>>)[2]!.size = 8)),
    /schema\.layouts\[3\]\.fields\[2\]: nr_threads_pad is a u32 of 8 bytes; a u32 has 4/,
  ],
  [
    "layout.fields not a list",
    withLayout("st_file_op", (l) => (l.fields = { 0: "x" })),
    /schema\.layouts\[10\]\.fields: is not a list/,
  ],
  [
    "a required field missing",
    withLayout("st_write_val", (l) => (l.fields = [])),
    /st_write_val has no field bytes, which replay reads/,
  ],
  ["struct size 0", withLayout("st_write_val", (l) => (l.size = 0)), /schema\.layouts\[12\]\.size: is 0/],
  [
    "header past its struct",
    withLayout("st_hdr", (l) => (l.size = 200)),
    /the 200-byte header at 0 lies outside st_fork/,
  ],
  [
    "bundles not an array",
    { ...E.metadata(), bundles: { name: "exec" } },
    /frame 0 \(metadata\): bundles: is not a list/,
  ],
  [
    "clock offset 1e308",
    { ...E.metadata(), clock: { realtimeMinusBoottimeNs: 1e308 } },
    /clock\.realtimeMinusBoottimeNs: is 1e\+308, not a whole number of nanoseconds/,
  ],
  [
    "clock offset 2^63",
    { ...E.metadata(), clock: { realtimeMinusBoottimeNs: 1n << 63n } },
    /clock\.realtimeMinusBoottimeNs: is 9223372036854775808, outside ±2\^63 ns/,
  ],
  [
    "two events with one number",
    { ...E.metadata(), schema: { ev: { fork: 2, exec: 2 } } },
    /schema\.ev\.exec: is 2, the number of fork too/,
  ],
  ["host not a map", { ...E.metadata(), host: "h" }, /host: is not a map/],
  ["metadata not a map", [1, 2], /metadata: is a list, not a map/],
];

test("item 5: crafted metadata is refused on load with one line naming the place, exit 6", async () => {
  for (const [label, metadata, message] of BAD_METADATA) {
    const path = await session([normal], metadata);
    const r = await runCli(replay(path), 20_000);
    assertBounded(r, SMALL, `metadata: ${label}`);
    assert.equal(r.code, 6, label);
    assert.match(r.stderr, message, label);
    assert.equal(r.stderr.trim().split("\n").length, 1, `${label}: one line`);
    assert.match(r.stderr, /frame 0 \(metadata\): .*; this is not what sealtrace writes, nothing was replayed/, label);
  }
});

test("item 5: stored times outside u64 (1e308, -1) are ignored, never an Invalid Date", async () => {
  const path = await session([
    normal,
    [
      { k: "attach", t: 1e308, startT: -1 },
      { k: "loss", b: "exec", t: 1e308, ringFull: 1e308 },
      { k: "start", t: 2n ** 64n - 1n },
    ],
  ]);
  const r = await runCli(replay(path, "--format", "json"), 20_000);
  assertBounded(r, SMALL, "times 1e308");
  assert.equal(r.code, 0);
  assert.equal(JSON.parse(r.stdout).processes.length, 1);
});

test("a record's name that is a map with a `toString` key (not a function) is named by its kind; the loss still counts", async () => {
  // String() of such a decoded map throws ("Cannot convert object to primitive value"): replay crashed
  // with exit 1 (found by the random-sessions property under Node 24).
  // Each record alone first: the loss would crash the old code before the map snapshot was reached.
  const mapsRecord = {
    k: "maps",
    b: "filewrite",
    m: { toString: 0, valueOf: 0 },
    t: 3n * S,
    keySize: 8,
    valueSize: 8,
    n: 1,
    d: new Uint8Array(16),
  };
  const alone = await runCli(replay(await session([normal, [mapsRecord]]), "--format", "json"), 20_000);
  assert.equal(alone.code, 0, alone.stderr);
  const path = await session([
    normal,
    [
      { k: "loss", b: { toString: 0 }, t: 3n * S, ringFull: 5 },
      {
        k: "maps",
        b: "filewrite",
        m: { toString: 0, valueOf: 0 },
        t: 3n * S,
        keySize: 8,
        valueSize: 8,
        n: 1,
        d: new Uint8Array(16),
      },
    ],
  ]);
  const r = await runCli(replay(path, "--format", "json"), 20_000);
  assertBounded(r, SMALL, "toString maps");
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { losses: Array<{ bundle: string; count: number }>; processes: unknown[] };
  assert.equal(doc.processes.length, 1);
  assert.deepEqual(
    doc.losses.map((l) => [l.bundle, l.count]),
    [["<object>", 5]],
  );
  const text = await runCli(replay(path), 20_000);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /<object>/);
});

test("item 5: verify shows a header `created` no date can show as out of range, not a crash", async () => {
  const now = Date.now;
  Date.now = () => Number.MAX_SAFE_INTEGER;
  let path: string;
  try {
    path = await session([normal]);
  } finally {
    Date.now = now;
  }
  const r = await runCli(["verify", path], 20_000);
  assertBounded(r, SMALL, "verify created 2^53-1");
  assert.equal(r.code, 0, "the file itself is whole; only its date is absurd");
  assert.match(r.stdout, /created: +out of range \(9007199254740991 ms since 1970; not a time sealtrace writes\)/);
});

test("item 6: 3M tiny records replay in bounded time and memory", async () => {
  const tiny = new Array<number>(3_000_000).fill(0);
  const path = await session([normal, tiny]);
  const r = await runCli(replay(path), 60_000);
  assertBounded(r, { wallMs: 60_000, rssMiB: 400 }, "3M tiny records");
  assert.equal(r.code, 0);
});

test("item 6: 510k fake snapshot processes stop at the default --max-entities with a LIMIT status and a line", async () => {
  const spans: unknown[] = [];
  for (let base = 0; base < 510_000; base += 15_000) {
    const recs: Uint8Array[] = [];
    for (let i = 0; i < 15_000; i++)
      recs.push(E.rec(TASK, EV.task, 1n * S, { tgid: 1000 + base + i, start: BigInt(base + i) }));
    spans.push({ k: "start", b: "exec", t: 1n * S, n: recs.length, d: E.frame(recs) });
  }
  const path = await session([spans]);
  const r = await runCli(replay(path), 120_000);
  assertBounded(r, { wallMs: 120_000, rssMiB: 1200 }, "510k snapshot processes, default limits");
  assert.equal(r.code, 0);
  assert.match(
    r.stderr,
    /replay stopped: the --max-entities limit \(500000 processes, connections, files and their lists\) was reached in frame \d+; the rest of this file was not read or checked/,
  );
  assert.match(r.stdout, /LIMIT: replay stopped/);
  const few = await runCli(replay(path, "--max-events", "1000", "--format", "json"), 60_000);
  assertBounded(few, SMALL, "--max-events 1000");
  const doc = JSON.parse(few.stdout);
  assert.equal(doc.sessions[0].status, "LIMIT");
  assert.ok(
    doc.processes.length > 1000 && doc.processes.length <= 15_000,
    `stops after the stored record that passes the limit: ${doc.processes.length}`,
  );
});

test("item 6: execs of 65,000 empty arguments each weigh what they cost against --max-entities", async () => {
  // One exec record whose argument area is all NULs: 65,000 empty strings, ~520 KB of argv slots once read.
  const heavy = E.rec(EXEC, EV.exec, 2n * S, who, { argv_len: 65_000, args_len: 65_000 }, new Uint8Array(65_000));
  const spans = Array.from({ length: 40 }, () => E.ring("exec", 2n * S, new Array<Uint8Array>(50).fill(heavy)));
  const path = await session([spans]);
  // 100,000 units of ~1 KiB: the JSON (written one argument at a time) stays small enough to parse here.
  const out = join(ws.dir, "heavy.json");
  const r = await runCli(replay(path, "--format", "json", "--max-entities", "100000", "-o", out), 60_000);
  assertBounded(r, { wallMs: 60_000, rssMiB: 500 }, "2,000 execs of 65,000 empty arguments, --max-entities 100000");
  assert.equal(r.code, 0);
  assert.match(r.stderr, /replay stopped: the --max-entities limit \(100000 processes/);
  const execs = JSON.parse(readFileSync(out, "utf8")).processes[0].execs;
  assert.ok(
    execs.length >= 100 && execs.length <= 200,
    `each heavy exec weighs ~762 units: stopped after ${execs.length} of 2000`,
  );
  assert.equal(execs[0].argv.length, 65_000);
});

test("item 7: a FIFO, a directory and a device are refused at once with one line, replay and verify", async () => {
  const fifo = join(ws.dir, "fifo.sealed");
  execFileSync("mkfifo", [fifo]);
  const dir = join(ws.dir, "dir.sealed");
  mkdirSync(dir);
  for (const [path, kind] of [
    [fifo, "a FIFO"],
    [dir, "a directory"],
    ["/dev/zero", "a device"],
  ] as const) {
    for (const args of [replay(path), ["verify", path]]) {
      const r = await runCli(args, 10_000);
      assertBounded(r, { wallMs: 10_000, rssMiB: SMALL.rssMiB }, `${args[0]} on ${kind}`);
      assert.equal(r.code, 2);
      assert.equal(r.stderr, `sealtrace: ${path} is not a regular file (${kind}); give a session file\n`);
    }
  }
  const session1 = await session([normal]);
  const r = await runCli(["replay", session1, "-i", fifo], 10_000);
  // An identity problem keeps its own exit code (4), like every other unreadable identity file.
  assert.equal(r.signal, null, "no hang on a FIFO identity file");
  assert.equal(r.code, 4);
  assert.equal(r.stderr, `sealtrace: identity file ${fifo} is not a regular file\n`);
});

test("item 8: the same file twice is read once; two files with one session id are refused", async () => {
  const path = await session([normal]);
  const once = await runCli(replay(path, "--format", "json"), 20_000);
  const twice = await runCli(["replay", path, path, "-i", ws.identityPath, "--format", "json"], 20_000);
  assertBounded(twice, SMALL, "same file twice");
  assert.equal(twice.code, 0);
  assert.equal(twice.stderr, `${path}: the same file as ${path}; read once\n`);
  assert.deepEqual(JSON.parse(twice.stdout).processes, JSON.parse(once.stdout).processes);
  const copy = join(ws.dir, "copy.sealed");
  copyFileSync(path, copy);
  const r = await runCli(["replay", path, copy, "-i", ws.identityPath], 20_000);
  assertBounded(r, SMALL, "a copy");
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    new RegExp(
      `^sealtrace: ${copy} and ${path} hold the same session [0-9a-f]{32} \\(a copy, or a \\.partial and its sealed file\\); give only one of them\\n$`,
    ),
  );
});
