// Replay's byte-string decoding (src/replay/strings.ts): the cache of recent short strings never returns
// another string's text, and argList splits as the NUL-separated argument area reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { argList, cText, flatId } from "../../src/replay/strings.js";

/** The plain reading: split on NUL, a trailing NUL ends the last argument (no empty one after it). */
function referenceArgs(bytes: Uint8Array): string[] {
  const text = Buffer.from(bytes).toString("latin1");
  if (text === "") return [];
  const parts = text.split("\0");
  if (parts[parts.length - 1] === "") parts.pop();
  return parts;
}

test("cText: many more distinct short strings than cache slots, each read twice, each its own text", () => {
  const texts = Array.from({ length: 20_000 }, (_, i) => `p${i.toString(36)}-${(i * 7919) % 1000}`);
  for (let round = 0; round < 2; round++)
    for (const t of texts) {
      const bytes = Buffer.from(`xx${t}\0yy`, "latin1");
      assert.equal(cText(bytes, 2, bytes.length), t);
    }
});

test("cText: the same bytes at another offset or length give the right text (no stale cache hit)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(80), fc.nat(80), (bytes, a, b) => {
      const from = Math.min(a, b, bytes.length);
      const to = Math.min(Math.max(a, b), bytes.length);
      let end = from;
      while (end < to && bytes[end] !== 0) end++;
      const ascii = bytes.subarray(from, end).every((x) => x < 0x80);
      const got = cText(bytes, from, to);
      if (ascii) assert.equal(got, Buffer.from(bytes.subarray(from, end)).toString("latin1"));
      assert.equal(cText(bytes, from, to), got, "a second read gives the first one's text");
    }),
    { numRuns: 2000 },
  );
});

test("argList: as the NUL-separated area reads, arrays of exact length", () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(0, 0x41, 0x2d, 0x7a), { maxLength: 40 }), (list) => {
      const bytes = Uint8Array.from(list);
      const got = argList(bytes, 0, bytes.length);
      assert.deepEqual(got, referenceArgs(bytes));
      assert.equal(Object.keys(got).length, got.length, "no holes");
    }),
    { numRuns: 3000 },
  );
  assert.deepEqual(argList(Buffer.from("a\0\0b\0"), 0, 5), ["a", "", "b"]);
  assert.deepEqual(argList(Buffer.from("\0"), 0, 1), [""]);
  assert.deepEqual(argList(Buffer.from(""), 0, 0), []);
});

test("flatId: the parts joined by colons, bigints in decimal", () => {
  assert.equal(flatId("abcd1234", 4242, 18446744073709551615n), "abcd1234:4242:18446744073709551615");
  assert.equal(flatId("h", "c7"), "h:c7");
});
