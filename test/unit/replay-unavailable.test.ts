// Facts the recording kernel did not have (metadata bundles[].unavailable): said plainly by replay,
// bounded, and never invented from hostile metadata.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Reconstructor } from "../../src/replay/reconstruct.js";
import { renderSummary } from "../../src/replay/text/summary.js";
import { PLAIN } from "../../src/replay/text/style.js";
import { sessionJson } from "../../src/replay/document.js";

function replayOf(metadata: unknown) {
  const r = new Reconstructor();
  r.beginSession("s.sealed", "00112233445566778899aabbccddeeff", metadata);
  r.endSession({ status: "SEALED", reason: "ok", framesGood: 1 }, undefined);
  return r.finish();
}

test("a session from an older kernel: the summary lists what the kernel could not give, and the JSON carries it", () => {
  const r = replayOf({ bundles: [{ name: "exec", unavailable: [] }, { name: "retransmit", unavailable: ["drop_reasons: packet drops per reason (skb:kfree_skb has no reason before 5.17)"] }] });
  const text = renderSummary(r, PLAIN);
  assert.match(text, /not available on this kernel/);
  assert.match(text, /^ {4}retransmit drop_reasons: packet drops per reason/m);
  assert.ok(text.split("\n").every((l) => l.length <= 80), "80 columns");
  assert.deepEqual(sessionJson(r.sessions[0]!).unavailable, [{ bundle: "retransmit", what: "drop_reasons: packet drops per reason (skb:kfree_skb has no reason before 5.17)" }]);
});

test("a session from a kernel that had everything: no such line, no such JSON key", () => {
  const r = replayOf({ bundles: [{ name: "exec", unavailable: [] }, { name: "connect" }] });
  assert.doesNotMatch(renderSummary(r, PLAIN), /not available/);
  assert.equal("unavailable" in sessionJson(r.sessions[0]!), false);
});

test("hostile metadata: non-strings skipped, at most 32 entries per bundle of at most 300 characters", () => {
  const r = replayOf({ bundles: [{ name: "x".repeat(100), unavailable: [5, null, { a: 1 }, ...Array.from({ length: 100 }, () => "y".repeat(10_000))] }, { name: "b", unavailable: "not a list" }] });
  const u = r.sessions[0]!.unavailable;
  assert.equal(u.length, 29); // the first 32 entries, 3 of them not strings
  assert.ok(u.every((e) => e.what.length === 300 && e.bundle.length === 32));
});
