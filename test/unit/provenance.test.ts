// Build provenance: the dist/ tree hash matches what sha256sum gives by hand, the commit matches git's, and
// values read back from a (possibly hostile) session print as plain text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gitCommit, packageRoot, readProvenance, treeSha256 } from "../../src/provenance.js";
import { provenanceLines } from "../../src/cli/provenance-text.js";

test("treeSha256 equals the documented shell recipe, and changes when one byte does", () => {
  const dir = mkdtempSync(join(tmpdir(), "st-rel-tree-"));
  try {
    mkdirSync(join(dir, "a", "b"), { recursive: true });
    writeFileSync(join(dir, "a", "b", "x.js"), "x\n");
    writeFileSync(join(dir, "Z.js"), "z\n");
    writeFileSync(join(dir, "a", "y.js.map"), "{}\n");
    const byHand = execFileSync(
      "sh",
      ["-c", "find . -type f | sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum"],
      { cwd: dir, encoding: "utf8" },
    ).split(" ")[0];
    const t = treeSha256(dir);
    assert.equal(t.sha256, byHand);
    assert.equal(t.files, 3);
    writeFileSync(join(dir, "Z.js"), "Z\n");
    assert.notEqual(treeSha256(dir).sha256, t.sha256);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("gitCommit reads HEAD without git, as `git rev-parse HEAD` does", () => {
  const root = packageRoot();
  const expected = execFileSync("git", ["-C", root, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
  assert.equal(gitCommit(root), expected);
  const p = readProvenance(root);
  assert.equal(p.commit, expected);
  assert.equal(p.source, "git checkout");
  assert.equal(p.node, process.version);
  assert.deepEqual(
    p.objects.map((o) => o.name),
    ["connect.bpf.o", "exec.bpf.o", "filewrite.bpf.o", "privilege.bpf.o", "retransmit.bpf.o", "ringtest.bpf.o"],
  );
  for (const o of p.objects) assert.match(o.sha256, /^[0-9a-f]{64}$/);
});

test("a release's BUILD.json names the commit", () => {
  const dir = mkdtempSync(join(tmpdir(), "st-rel-prov-"));
  try {
    mkdirSync(join(dir, "dist", "src"), { recursive: true });
    mkdirSync(join(dir, "bpf"));
    writeFileSync(join(dir, "dist", "src", "main.js"), "");
    writeFileSync(join(dir, "bpf", "exec.bpf.o"), "obj");
    writeFileSync(join(dir, "BUILD.json"), JSON.stringify({ commit: "0123456789abcdef0123456789abcdef01234567" }));
    const p = readProvenance(dir);
    assert.equal(p.commit, "0123456789abcdef0123456789abcdef01234567");
    assert.equal(p.source, "release");
    const bySha256sum = execFileSync("sha256sum", [join(dir, "bpf", "exec.bpf.o")], { encoding: "utf8" }).split(" ")[0];
    assert.deepEqual(p.objects, [{ name: "exec.bpf.o", sha256: bySha256sum }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("provenance from a session prints without control characters, whatever it holds", () => {
  const lines = provenanceLines(
    { version: "1\x1b[2J", commit: "c\u202eafe", source: 7, node: null, objects: [{ name: "x\n.o", sha256: {} }, 3] },
    "",
  );
  for (const l of lines) assert.doesNotMatch(l, /[\x00-\x1f\u202e]/);
  assert.match(lines.join("\n"), /version: 1\?\[2J/);
  assert.deepEqual(provenanceLines("nonsense", "  ").length, 4);
});
