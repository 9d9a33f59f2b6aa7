// The recorder's drain tick (issue 20): long when the rings are quiet, short when they fill, and never so long
// that a ring can pass a quarter full at the rate it last filled, or that a kill -9 loses more than the
// runbook's flush interval (ring wait + writer wait).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DRAIN_IDLE_MS,
  DRAIN_TICK_MS,
  drainDelayMs,
  idleDrainMs,
  writerFlushMs,
} from "../../src/recorder/recording.js";

const MiB = 1 << 20;

test("quiet rings wait the longest; a filling ring brings the next drain closer", () => {
  assert.equal(drainDelayMs([{ bytes: 0, ringBytes: 8 * MiB }], 100, DRAIN_IDLE_MS), DRAIN_IDLE_MS);
  // A few events a tick (an idle host): still the longest wait.
  assert.equal(drainDelayMs([{ bytes: 4096, ringBytes: 4 * MiB }], 100, DRAIN_IDLE_MS), DRAIN_IDLE_MS);
  // 1 MiB in 100 ms into a 4 MiB ring: a quarter fills in 100 ms at that rate.
  assert.equal(drainDelayMs([{ bytes: MiB, ringBytes: 4 * MiB }], 100, DRAIN_IDLE_MS), 100);
  // 2 MiB in 100 ms: 50 ms to a quarter.
  assert.equal(drainDelayMs([{ bytes: 2 * MiB, ringBytes: 4 * MiB }], 100, DRAIN_IDLE_MS), 50);
  // A storm: the fast tick, whatever the other rings do.
  const storm = [
    { bytes: 0, ringBytes: 16 * MiB },
    { bytes: 3 * MiB, ringBytes: 8 * MiB },
  ];
  assert.equal(drainDelayMs(storm, 10, DRAIN_IDLE_MS), DRAIN_TICK_MS);
});

test("the delay stays within [DRAIN_TICK_MS, max] and no ring passes a quarter at its last rate", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ bytes: fc.nat(64 * MiB), ringBytes: fc.constantFrom(4 * MiB, 8 * MiB, 16 * MiB) }), {
        maxLength: 5,
      }),
      fc.double({ min: 0, max: 5000, noNaN: true }),
      fc.integer({ min: DRAIN_TICK_MS, max: DRAIN_IDLE_MS }),
      (drained, sinceMs, maxMs) => {
        const d = drainDelayMs(drained, sinceMs, maxMs);
        assert.ok(Number.isInteger(d) && d >= DRAIN_TICK_MS && d <= maxMs, String(d));
        if (d > DRAIN_TICK_MS)
          for (const r of drained) {
            const rate = r.bytes / Math.max(sinceMs, 1);
            assert.ok(rate * d <= r.ringBytes / 4 + 1e-6, `${JSON.stringify(r)} over ${sinceMs} ms, next in ${d} ms`);
          }
      },
    ),
  );
});

test("ring wait + writer wait never exceed the runbook's flush interval (kill -9 loses at most that)", () => {
  assert.equal(idleDrainMs(1000), DRAIN_IDLE_MS);
  assert.equal(writerFlushMs(1000), 900);
  assert.equal(idleDrainMs(50), DRAIN_TICK_MS);
  for (let f = 50; f <= 1000; f++) {
    assert.ok(idleDrainMs(f) + writerFlushMs(f) <= f, String(f));
    assert.ok(writerFlushMs(f) >= f / 2, String(f));
    assert.ok(idleDrainMs(f) >= DRAIN_TICK_MS && idleDrainMs(f) <= DRAIN_IDLE_MS);
  }
});
