// The record stream's one type (src/session/records.ts): what the recorder writes is what replay's checks
// accept, and a reader trusts only a map of a known kind, nothing else a hostile session may hold.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HDR, ALL_LAYOUTS, EV } from "../../src/events/layouts.js";
import { RECORD_KINDS, uncheckedRecord, type SessionMetadata } from "../../src/session/records.js";
import { parseSessionMetadata } from "../../src/replay/metadata.js";
import { Reconstructor } from "../../src/replay/reconstruct.js";

const written: SessionMetadata = {
  tool: { name: "sealtrace", version: "0.0.0", node: "v20.0.0" },
  build: {} as SessionMetadata["build"],
  host: { hostname: "h1", bootId: "b00710d0-1111-0000-0000-000000000000", kernel: "6.18.0" },
  operator: { uid: 0, user: "root" },
  runbook: { name: "triage", path: "/r/triage.yaml", sha256: "0".repeat(64), text: "" },
  bundles: [{ name: "exec", object: "exec.bpf.o", sha256: "1".repeat(64), unavailable: ["snapshot.argv: from /proc"] }],
  filters: {},
  clock: { realtimeMinusBoottimeNs: 1_700_000_000_000_000_000n, startedAt: "2026-01-01T00:00:00.000Z" },
  schema: { ev: { ...EV }, layouts: ALL_LAYOUTS, recordKinds: [...RECORD_KINDS] },
  durationMs: 1000,
  recorderTgid: 42,
};

test("metadata as the recorder types it passes replay's checks with the same values", () => {
  const md = parseSessionMetadata(written, HDR.size);
  assert.equal(md.host.hostname, "h1");
  assert.equal(md.host.bootId, written.host.bootId);
  assert.equal(md.runbook.name, "triage");
  assert.deepEqual(md.bundles, [{ name: "exec", unavailable: ["snapshot.argv: from /proc"] }]);
  assert.equal(md.clock.realtimeMinusBoottimeNs, written.clock.realtimeMinusBoottimeNs);
  assert.deepEqual(md.schema.ev, written.schema.ev);
  assert.equal(md.schema.layouts?.length, ALL_LAYOUTS.length);
});

test("uncheckedRecord: a map of a known kind only; lists, bytes, scalars and unknown kinds are not records", () => {
  for (const k of RECORD_KINDS) assert.equal(uncheckedRecord({ k, t: 1n })?.k, k);
  for (const v of [null, undefined, 7, "ring", [{ k: "ring" }], new Uint8Array([1]), { k: "rings" }, { k: 1 }, {}])
    assert.equal(uncheckedRecord(v), undefined, String(v));
});

test("a record of an unknown kind is skipped, but its time still ends the session's span", () => {
  const r = new Reconstructor();
  r.beginSession("s.sealed", "00".repeat(16), parseSessionMetadata(written, HDR.size));
  r.record({ k: "from-the-future", t: 5_000_000_000n, d: new Uint8Array(64) });
  r.endSession({ status: "SEALED", reason: "ok", framesGood: 2 }, undefined);
  const replay = r.finish();
  assert.equal(r.events, 0);
  assert.equal(replay.sessions[0]!.lastRecordNs, 5_000_000_000n + written.clock.realtimeMinusBoottimeNs);
});
