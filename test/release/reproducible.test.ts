// `npm run release` twice from the same commit gives the same bytes, within the size budget.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { buildRelease } from "../../release/build.js";

/** Issue 15's budget for the compressed tarball. */
const MAX_BYTES = 60 * 1000 * 1000;

test(
  "two release builds of one commit are byte-identical, and the tarball is at most 60 MB",
  { timeout: 3_600_000 },
  () => {
    const a = mkdtempSync("/tmp/st-rel-repro-a-");
    const b = mkdtempSync("/tmp/st-rel-repro-b-");
    try {
      const first = buildRelease(a);
      const second = buildRelease(b);
      assert.equal(second.sha256, first.sha256, "the same commit built twice gave different tarballs");
      assert.equal(readFileSync(`${b}/SHA256SUMS`, "utf8"), readFileSync(`${a}/SHA256SUMS`, "utf8"));
      assert.ok(first.bytes <= MAX_BYTES, `${first.bytes} bytes is over the ${MAX_BYTES}-byte budget`);
      process.stderr.write(`reproducible: ${first.sha256}, ${(first.bytes / 1e6).toFixed(1)} MB\n`);
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  },
);
