// passwd(5)/group(5) parsing for the sealed `users` record: hostile lines skipped and counted, sizes bounded,
// and a planted FIFO never blocks the recorder.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { ACCOUNTS_MAX_ENTRIES, parseAccounts, readAccountFile } from "../../src/recorder/accounts.js";
import { tempDir } from "./session-helpers.js";

test("parseAccounts reads name and id, and skips hostile or malformed lines", () => {
  const text = [
    "root:x:0:0:root:/root:/bin/bash",
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
    "# a comment",
    "+@netgroup::::::",
    "-baduser",
    "",
    "noid:x::0::/:/bin/sh",
    "neg:x:-1:0::/:/bin/sh",
    "hex:x:0x10:0::/:/bin/sh",
    "big:x:4294967296:0::/:/bin/sh",
    "lead:x:007:0::/:/bin/sh",
    ":x:5:5::/:/bin/sh",
    "esc\u001b[2J:x:6:6::/:/bin/sh",
    "bidi\u202eevil:x:7:7::/:/bin/sh",
    `${"a".repeat(65)}:x:8:8::/:/bin/sh`,
    "short",
    "max:x:4294967295:0::/:/bin/sh",
    "grp:x:27:alice,bob",
  ].join("\n");
  const got = parseAccounts(text);
  assert.deepEqual(got.entries, [
    { id: 0, name: "root" },
    { id: 65534, name: "nobody" },
    { id: 4294967295, name: "max" },
    { id: 27, name: "grp" },
  ]);
  assert.equal(got.skipped, 10);
  assert.equal(got.truncated, false);
});

test("parseAccounts is bounded in entries and never throws on random text", () => {
  const many = Array.from({ length: ACCOUNTS_MAX_ENTRIES + 10 }, (_, i) => `u${i}:x:${i}:0::/:/bin/sh`).join("\n");
  const got = parseAccounts(many);
  assert.equal(got.entries.length, ACCOUNTS_MAX_ENTRIES);
  assert.equal(got.truncated, true);
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      for (const e of parseAccounts(s).entries)
        assert.ok(Number.isInteger(e.id) && e.name.length > 0 && e.name.length <= 64);
    }),
    { numRuns: 2000 },
  );
});

test("readAccountFile hashes the file, and records a FIFO or a missing file as an error without blocking", () => {
  const { dir, cleanup } = tempDir("accounts");
  try {
    const text = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/bin/false\n";
    writeFileSync(join(dir, "passwd"), text);
    const f = readAccountFile(join(dir, "passwd"));
    assert.equal(f.sha256, createHash("sha256").update(text).digest("hex"));
    assert.equal(f.bytes, text.length);
    assert.deepEqual(
      f.entries.map((e) => e.name),
      ["root", "nobody"],
    );
    execFileSync("mkfifo", [join(dir, "fifo")]);
    const fifo = readAccountFile(join(dir, "fifo"));
    assert.equal(fifo.sha256, undefined);
    assert.equal(fifo.error, "ENOTREG");
    const missing = readAccountFile(join(dir, "nope"));
    assert.equal(missing.error, "ENOENT");
  } finally {
    cleanup();
  }
});
