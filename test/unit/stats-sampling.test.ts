// BPF run-time statistics sampled (issue 20): on for the first second of every ten, the on-time counted, a
// kernel refusal asked once, and nothing left on after close.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SampledRunTimeStats, STATS_PERIOD_MS, STATS_WINDOW_MS, type StatsHandle } from "../../src/libbpf/stats.js";

function fakeKernel(accept = true) {
  const k = { open: 0, asked: 0 };
  const enable = (): StatsHandle => {
    k.asked++;
    if (!accept) return { enabled: false, close() {} };
    k.open++;
    let open = true;
    return {
      enabled: true,
      close() {
        if (open) k.open--;
        open = false;
      },
    };
  };
  return { k, enable };
}

test("on for the first STATS_WINDOW_MS of every period, off the rest; sampledMs counts the on-time", () => {
  const { k, enable } = fakeKernel();
  const s = new SampledRunTimeStats(5000, enable);
  assert.equal(k.open, 1, "on from the start");
  // Ticks every 100 ms for three periods.
  let onTicks = 0;
  let ticks = 0;
  for (let t = 5000; t < 5000 + 3 * STATS_PERIOD_MS; t += 100) {
    s.update(t);
    ticks++;
    if (k.open) onTicks++;
    assert.ok(k.open <= 1, "never two handles");
  }
  assert.equal(onTicks / ticks, STATS_WINDOW_MS / STATS_PERIOD_MS);
  assert.equal(k.asked, 3, "one handle per window");
  assert.equal(s.sampledMs(5000 + 3 * STATS_PERIOD_MS), 3 * STATS_WINDOW_MS);
  s.update(5000 + 3 * STATS_PERIOD_MS); // the fourth window opens
  s.update(5000 + 3 * STATS_PERIOD_MS + 400);
  assert.equal(k.open, 1);
  assert.equal(s.sampledMs(5000 + 3 * STATS_PERIOD_MS + 400), 3 * STATS_WINDOW_MS + 400);
  s.close(5000 + 3 * STATS_PERIOD_MS + 500);
  assert.equal(k.open, 0, "closed: statistics off");
  assert.equal(s.sampledMs(1e9), 3 * STATS_WINDOW_MS + 500);
  s.update(5000 + 4 * STATS_PERIOD_MS);
  assert.equal(k.open, 0, "no window after close");
});

test("a kernel that refuses the statistics is asked once, and sampledMs stays 0", () => {
  const { k, enable } = fakeKernel(false);
  const s = new SampledRunTimeStats(0, enable);
  for (let t = 0; t < 3 * STATS_PERIOD_MS; t += 50) s.update(t);
  assert.equal(k.asked, 1);
  assert.equal(s.sampledMs(3 * STATS_PERIOD_MS), 0);
  s.close(3 * STATS_PERIOD_MS);
});
