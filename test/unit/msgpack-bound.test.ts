// countMsgpackValues: the walk that bounds a frame before msgpackr builds it (issue 13 item 3).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { countMsgpackValues } from "../../src/session/msgpack-bound.js";

const packr = new Packr({ useRecords: false, int64AsType: "bigint" });

/** Values as JS sees them after decoding: every scalar, array, map, key and value counts one. */
function jsCount(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce((n: number, x) => n + jsCount(x), 0);
  if (v instanceof Uint8Array || v === null || typeof v !== "object") return 1;
  return 1 + Object.values(v).reduce((n: number, x) => n + 1 + jsCount(x), 0);
}

const plain = fc.jsonValue({ maxDepth: 4 });
const withBytes = fc.oneof(
  plain,
  fc.uint8Array({ maxLength: 300 }),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }),
  fc.double(),
);

test("counts exactly the values msgpackr would build, for records one after another", () => {
  fc.assert(
    fc.property(fc.array(withBytes, { maxLength: 8 }), (records) => {
      const bytes = Buffer.concat(records.map((r) => Buffer.from(packr.pack(r))));
      assert.equal(
        countMsgpackValues(bytes, Number.MAX_SAFE_INTEGER),
        records.reduce((n: number, r) => n + jsCount(r), 0),
      );
    }),
    { numRuns: 300 },
  );
});

test("stops at the bound, and never throws on random bytes", () => {
  const nils = new Uint8Array(1000).fill(0xc0);
  assert.deepEqual(countMsgpackValues(nils, 999), { reason: "more than 999 msgpack values" });
  assert.equal(countMsgpackValues(nils, 1000), 1000);
  // array32 declaring 4e9 elements with 3 bytes left: refused on the declaration, nothing counted further
  assert.match(
    (countMsgpackValues(Uint8Array.of(0xdd, 0xee, 0x6b, 0x28, 0x00, 0xc0, 0xc0, 0xc0), 1e9) as { reason: string })
      .reason,
    /declares 4000000000 elements with 3 bytes left/,
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void countMsgpackValues(b, 100)),
    { numRuns: 1000 },
  );
});
