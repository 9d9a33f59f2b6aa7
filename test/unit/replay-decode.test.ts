// The one decoder: decode.ts (the tests' and benches' view of a record) and reconstruct.ts read a record
// through the same session schema, with the offsets and widths the session stores.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EXEC, FORK, HDR, ALL_LAYOUTS, EV, type Layout } from "../../src/events/layouts.js";
import { decodeRecord } from "../../src/replay/decode.js";
import { MetadataError, parseSessionMetadata } from "../../src/replay/metadata.js";
import { Reconstructor } from "../../src/replay/reconstruct.js";
import { sessionSchema } from "../../src/replay/schema.js";
import { argList, cText } from "../../src/replay/strings.js";
import * as E from "./replay-encode.js";

const S = 1_000_000_000n;
const parent: E.Ident = { tgid: 700, start: 3n * S, ppid: 1, comm: "parent", uid: 1000, cgroup: 77n };

test("decodeRecord gives every field of the record's layout, the header's included, and its tail", () => {
  const exec = E.exec(5n * S, parent, "/bin/echo", ["echo", "hi"], 1);
  const r = decodeRecord(exec, 0, exec.length);
  assert.ok(r);
  assert.equal(r.type, EV.exec);
  assert.equal(r.tgid, 700);
  assert.equal(r.start_ns, 3n * S);
  assert.equal(r.ts_ns, 5n * S);
  assert.equal(r.comm, "parent");
  assert.equal(r.uid, 1000);
  assert.equal(r.cgroup_id, 77n);
  assert.equal(r.trunc, 1);
  assert.equal(r.argc, 2);
  const fl = r.filename_len as number;
  assert.equal(cText(r.tail, 0, fl), "/bin/echo");
  assert.deepEqual(argList(r.tail, fl, fl + (r.argv_len as number)), ["echo", "hi"]);
  const exit = E.exit(6n * S, parent, 3, 9);
  assert.equal(decodeRecord(exit, 0, exit.length)!.exit_code, (3 << 8) | 9);
  assert.throws(() => decodeRecord(exec, 0, 70), new RegExp(`type 2 record of 70 bytes, needs ${EXEC.size}`));
  const unknown = Uint8Array.from(exec);
  new DataView(unknown.buffer).setUint16(0, 999, true);
  assert.equal(decodeRecord(unknown, 0, unknown.length), undefined);
});

/** st_fork as a later (or earlier) build might lay it out: 8 more bytes before the child's identity. */
const MOVED_FORK: Layout = {
  cName: "st_fork",
  size: 88,
  fields: [
    { name: "hdr", offset: 0, size: 64, kind: "hdr" },
    { name: "extra", offset: 64, size: 8, kind: "u64" },
    { name: "child_tgid", offset: 72, size: 4, kind: "u32" },
    { name: "clone_flags_lo", offset: 76, size: 4, kind: "u32" },
    { name: "child_start_ns", offset: 80, size: 8, kind: "u64" },
  ],
};

test("a session's stored layouts drive both decode.ts and reconstruct.ts: moved fields are read where they are", () => {
  const layouts = ALL_LAYOUTS.map((l) => (l.cName === "st_fork" ? MOVED_FORK : l));
  const md = parseSessionMetadata({ ...E.metadata(), schema: { ev: { ...EV }, layouts } }, HDR.size);
  const fork = E.rec(MOVED_FORK, EV.fork, 4n * S, parent, { extra: 5n, child_tgid: 701, child_start_ns: 4n * S });
  const r = decodeRecord(fork, 0, fork.length, sessionSchema(md.schema));
  assert.equal(r?.child_tgid, 701);
  assert.equal(r?.child_start_ns, 4n * S);
  assert.equal(r?.extra, 5n);
  // This build's layout reads the moved bytes: the stored schema is what makes the difference.
  assert.notEqual(decodeRecord(fork, 0, fork.length)?.child_tgid, 701);
  assert.equal(FORK.size, 80);

  const rc = new Reconstructor();
  rc.beginSession("s.sealed", "00", md);
  rc.record(E.ring("exec", 4n * S, [fork]));
  rc.endSession({ status: "SEALED", reason: "", framesGood: 1 }, undefined);
  const child = rc.finish().processes.find((p) => p.pid === 701);
  assert.ok(child, "the child of the moved fork");
  assert.equal(child.startBootNs, 4n * S);
  assert.equal(child.ppid, 700);
});

test("a stored schema whose widths disagree with what replay reads is refused with one line, never read", () => {
  const refuse = (cName: string, field: string, change: Record<string, unknown>) => {
    const layouts = structuredClone(ALL_LAYOUTS) as unknown as Array<{
      cName: string;
      fields: Array<Record<string, unknown>>;
    }>;
    Object.assign(
      layouts.find((l) => l.cName === cName)!.fields.find((f) => f.name === field)!,
      change,
    );
    try {
      parseSessionMetadata({ ...E.metadata(), schema: { ev: { ...EV }, layouts } }, HDR.size);
    } catch (e) {
      assert.ok(e instanceof MetadataError, String(e));
      return e.message;
    }
    assert.fail(`${cName}.${field} ${JSON.stringify(change)} was accepted`);
  };
  assert.match(refuse("st_hdr", "flags", { kind: "u32", size: 4 }), /flags is 4 bytes; replay reads it as 2/);
  assert.match(
    refuse("st_hdr", "cgroup_id", { kind: "u8", size: 1, offset: 63 }),
    /cgroup_id is 1 bytes; replay reads it as 8/,
  );
  assert.match(refuse("st_hdr", "comm", { size: 8 }), /comm is 8 bytes; replay reads it as 16/);
  assert.match(refuse("st_exit", "exit_code", { kind: "u32" }), /exit_code is a u32; replay reads it as a s32/);
  assert.match(refuse("st_tcp_event", "segs", { kind: "s32", size: 2 }), /segs is a s32; replay reads it as a u16/);
  assert.match(refuse("st_exit", "nr_threads_pad", { size: 8 }), /nr_threads_pad is a u32 of 8 bytes; a u32 has 4/);
});
