// Runbook inputs that could run without end or blow up: sizes, numbers and counts are bounded and each
// is one file:line error, found in bounded time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { loadRunbook, parseRunbook, RunbookError, RUNBOOK_LIMITS } from "../../src/runbook/runbook.js";
import { formatDuration, parseDurationMs, parseSizeBytes } from "../../src/runbook/units.js";
import { UserError } from "../../src/errors.js";

const HEAD = "name: x\ndescription: bounds\nbundles: [exec]\n";
const dir = mkdtempSync(join(tmpdir(), "st-hrec-rb-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function refused(text: string, rule: RegExp): void {
  assert.throws(
    () => parseRunbook(text, "r.yaml"),
    (e: unknown) => e instanceof RunbookError && /^r\.yaml:\d+:\d+: /.test(e.message) && rule.test(e.message),
  );
}

test("durations: 1e308, a 400-digit number and more than a week are refused, never 'Infinity' or NaN", () => {
  for (const d of ["1e308", "9".repeat(400), `${"9".repeat(400)}s`, "1.7976931348623157e308s", "200h"]) {
    refused(`${HEAD}duration: ${d}\n`, /'duration' must be (a duration like 30s, 5m or 1h, )?at most 168h, a week/);
  }
  assert.equal(parseDurationMs(1e308), undefined);
  assert.equal(parseDurationMs("9".repeat(400)), undefined);
  assert.equal(parseDurationMs(`${"1".repeat(40)}ms`), undefined);
  assert.equal(parseRunbook(`${HEAD}duration: 168h\n`, "r.yaml").durationMs, RUNBOOK_LIMITS.durationMs);
  assert.equal(formatDuration(RUNBOOK_LIMITS.durationMs), "10080m00s");
  refused(`${HEAD}duration: 10s\nsnapshotInterval: 2h\n`, /'snapshotInterval' must be at most 1h/);
});

test("sizes: a 400-digit maxBytes and more than 1 TiB are refused", () => {
  assert.equal(parseSizeBytes(`${"9".repeat(400)}GiB`), undefined);
  assert.equal(parseSizeBytes(1e300), undefined);
  refused(
    `${HEAD}duration: 10s\nlimits:\n  maxBytes: ${"9".repeat(400)}\n`,
    /'limits\.maxBytes' must be a size from 64KiB to 1TiB/,
  );
  refused(`${HEAD}duration: 10s\nlimits:\n  maxBytes: 2TiB\n`, /'limits\.maxBytes' must be a size/);
});

test("counts: redact patterns, ports, addresses and recipients are bounded, pointing at the first extra entry", () => {
  const patterns = Array.from({ length: RUNBOOK_LIMITS.redactPatterns + 1 }, (_, i) => `  - "p${i}=*"`).join("\n");
  assert.throws(
    () => parseRunbook(`${HEAD}duration: 10s\nredact:\n  argv:\n${patterns}\n`, "r.yaml"),
    /^UserError: r\.yaml:71:5: 'redact\.argv' holds at most 64 entries/,
  );
  refused(`${HEAD}duration: 10s\nredact:\n  argv: ["${"*x".repeat(200)}"]\n`, /a redact pattern is at most 256 bytes/);
  refused(
    `${HEAD}duration: 10s\nfilters:\n  ports: [${Array.from({ length: 17 }, (_, i) => i + 1).join(", ")}]\n`,
    /'filters\.ports' holds at most 16 entries/,
  );
  refused(
    `${HEAD}duration: 10s\nfilters:\n  addresses: [${Array.from({ length: 9 }, (_, i) => `"10.0.0.${i}"`).join(", ")}]\n`,
    /'filters\.addresses' holds at most 8 entries/,
  );
  refused(
    `name: x\ndescription: ${"d".repeat(5000)}\nbundles: [exec]\nduration: 10s\n`,
    /'description' is at most 4096 bytes/,
  );
});

test("text: over 64 KiB and flow collections nested past 8 are refused before the YAML parser runs", () => {
  const started = performance.now();
  refused(
    `${HEAD}duration: 10s\n${"#".repeat(RUNBOOK_LIMITS.textBytes)}\n`,
    /a runbook is at most 64 KiB; this one is \d+ bytes/,
  );
  // 20 000 nested brackets abort V8 inside the YAML parser (measured: RegExpCompiler out of memory).
  refused(
    `${HEAD}duration: 10s\nfilters:\n  ports: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`,
    /^r\.yaml:6:18: '\[' and '\{' nest at most 8 deep/,
  );
  assert.ok(performance.now() - started < 5000);
});

test("loadRunbook: a 50 MB file is refused from its size alone, a FIFO without blocking, one line each", () => {
  const big = join(dir, "big.yaml");
  writeFileSync(big, Buffer.alloc(50_000_000, 0x23));
  const started = performance.now();
  assert.throws(
    () => loadRunbook(big),
    (e: unknown) =>
      e instanceof RunbookError && e.message === `${big}:1:1: a runbook is at most 64 KiB; this one is 50000000 bytes`,
  );
  assert.ok(performance.now() - started < 2000, `${performance.now() - started} ms`);
  const fifo = join(dir, "fifo.yaml");
  execFileSync("mkfifo", [fifo]);
  assert.throws(
    () => loadRunbook(fifo),
    (e: unknown) => e instanceof UserError && e.message === `runbook ${fifo} is not a regular file`,
  );
  assert.throws(
    () => loadRunbook(dir),
    (e: unknown) => e instanceof UserError && /is not a regular file|EISDIR/.test(e.message),
  );
});
