// The record status line without a TTY: one plain line every 5 s, whose rates cover those 5 s.
import { test } from "node:test";
import assert from "node:assert/strict";
import { StatusLine } from "../../src/cli/status.js";
import type { RecordStatus } from "../../src/recorder/recorder.js";

function status(elapsedMs: number, events: number, ratePerSec: number): RecordStatus {
  const c = { events, ringFull: 0n, mapFull: 0n, readFail: 0n, recursionMisses: 0n, dropped: 0, ratePerSec };
  return { elapsedMs, leftMs: 60_000 - elapsedMs, bundles: { exec: c }, bytesOnDisk: 4096, frames: 1 };
}

test("without a TTY: a line every 5 s, with the rate over those 5 s (a burst is not printed as 0/s)", () => {
  const lines: string[] = [];
  const line = new StatusLine({
    isTTY: false,
    columns: 80,
    write: (s: string | Uint8Array) => (lines.push(String(s)), true),
  } as never);
  // A burst of 500 execs in the second second, then nothing: the recorder's own rate is per second.
  line.update(status(1000, 0, 0));
  line.update(status(2000, 500, 500));
  for (let t = 3000; t <= 6000; t += 1000) line.update(status(t, 500, 0));
  assert.equal(lines.length, 2, lines.join(""));
  assert.match(lines[0]!, /^sealtrace: ● rec .*exec 0 \(0\/s\)/);
  assert.match(lines[1]!, /exec 500 \(100\/s\)/, "500 events over the 5 s since the last line");
});
