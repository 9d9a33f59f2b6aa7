// argv redaction's glob matcher: the same answers as the regular expression it replaced, in linear time
// even for patterns built to make a backtracking matcher run without end.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { compilePatterns, globMatch } from "../../src/recorder/redact.js";

/** The matcher sealtrace used before: `*` as `.*` in an anchored regular expression. */
function regexMatch(pattern: string, text: string): boolean {
  const source = pattern
    .split("*")
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^(?:${source})$`, "s").test(text);
}

test("globMatch agrees with the anchored regular expression on random patterns and arguments", () => {
  const alphabet = fc.constantFrom("a", "b", "*", "=", ".", "\\", "(", "\n");
  fc.assert(
    fc.property(
      fc.array(alphabet, { maxLength: 8 }),
      fc.array(fc.constantFrom("a", "b", "=", ".", "*", "\n"), { maxLength: 12 }),
      (p, t) => {
        const pattern = p.join("");
        const text = t.join("");
        assert.equal(globMatch(pattern, text), regexMatch(pattern, text), JSON.stringify({ pattern, text }));
      },
    ),
    { numRuns: 5000 },
  );
  assert.ok(globMatch("--password=*", "--password=hunter2"));
  assert.ok(!globMatch("--password=*", "--user=alice"));
  assert.ok(globMatch("*SECRET*", "MY_SECRET_X"));
});

test("a pattern of 64 stars against a 4 KiB argument, times 64 patterns, ends in well under a second", () => {
  const patterns = Array.from({ length: 64 }, () => `${"*a".repeat(64)}b`.slice(0, 256));
  const match = compilePatterns(patterns)!;
  const started = performance.now();
  assert.equal(match("a".repeat(4096)), false);
  const ms = performance.now() - started;
  assert.ok(ms < 5000, `${ms} ms`);
});
