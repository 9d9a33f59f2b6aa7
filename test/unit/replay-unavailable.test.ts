// Facts the recording kernel did not have (metadata bundles[].unavailable): said plainly by replay,
// bounded, and never invented from hostile metadata.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HDR } from "../../src/events/layouts.js";
import { MetadataError, parseSessionMetadata } from "../../src/replay/metadata.js";
import { Reconstructor } from "../../src/replay/reconstruct.js";
import { summaryLines } from "../../src/replay/text/summary.js";
import { terminalText } from "../../src/replay/text/style.js";
import { sessionJson } from "../../src/replay/document.js";

function replayOf(metadata: unknown) {
  const r = new Reconstructor();
  r.beginSession("s.sealed", "00112233445566778899aabbccddeeff", parseSessionMetadata(metadata, HDR.size));
  r.endSession({ status: "SEALED", reason: "ok", framesGood: 1 }, undefined);
  return r.finish();
}

const summary = (r: ReturnType<typeof replayOf>) => terminalText(summaryLines(r), false);

test("a session from an older kernel: the summary lists what the kernel could not give, and the JSON carries it", () => {
  const r = replayOf({
    bundles: [
      { name: "exec", unavailable: [] },
      {
        name: "retransmit",
        unavailable: ["drop_reasons: packet drops per reason (skb:kfree_skb has no reason before 5.17)"],
      },
    ],
  });
  const text = summary(r);
  assert.match(text, /not available on this kernel/);
  assert.match(text, /^ {4}retransmit drop_reasons: packet drops per reason/m);
  assert.ok(
    text.split("\n").every((l) => l.length <= 80),
    "80 columns",
  );
  assert.deepEqual(sessionJson(r.sessions[0]!).unavailable, [
    { bundle: "retransmit", what: "drop_reasons: packet drops per reason (skb:kfree_skb has no reason before 5.17)" },
  ]);
});

test("a session from a kernel that had everything: no such line, no such JSON key", () => {
  const r = replayOf({ bundles: [{ name: "exec", unavailable: [] }, { name: "connect" }] });
  assert.doesNotMatch(summary(r), /not available/);
  assert.equal("unavailable" in sessionJson(r.sessions[0]!), false);
});

test("hostile metadata: a non-string, a non-list, more than 32 entries or an entry over 300 characters is one error naming it", () => {
  const cases: Array<[unknown, RegExp]> = [
    [[5], /bundles\[0\]\.unavailable\[0\]/],
    ["not a list", /bundles\[0\]\.unavailable/],
    [Array.from({ length: 33 }, () => "y"), /bundles\[0\]\.unavailable/],
    [["y".repeat(301)], /bundles\[0\]\.unavailable\[0\].*more than 300/],
  ];
  for (const [unavailable, where] of cases) {
    assert.throws(
      () => parseSessionMetadata({ bundles: [{ name: "x", unavailable }] }, HDR.size),
      (e: unknown) => e instanceof MetadataError && where.test(e.message),
    );
  }
  assert.equal(
    replayOf({ bundles: [{ name: "x", unavailable: Array.from({ length: 32 }, () => "y".repeat(300)) }] }).sessions[0]!
      .unavailable.length,
    32,
  );
});
