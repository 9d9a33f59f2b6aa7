// `sealtrace version --verbose` and `verify -i` as a user runs them: the build's facts, and a session's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../helpers/bpf.js";
import { cliSync } from "../helpers/cli.js";
import { readProvenance } from "../../src/provenance.js";

const FIXTURE = join(ROOT, "fixtures", "session");

test("version --verbose prints the commit, Node, and the SHA-256 of dist/src and of every BPF object", () => {
  const r = cliSync(["version", "--verbose"]);
  assert.equal(r.status, 0, r.stderr);
  const p = readProvenance(ROOT);
  assert.match(r.stdout, new RegExp(`^commit:  ${p.commit} \\(git checkout\\)$`, "m"));
  assert.match(r.stdout, new RegExp(`^node:    ${process.version.replace(/\./g, "\\.")}$`, "m"));
  assert.match(r.stdout, new RegExp(`^dist:    ${p.distSha256} \\(dist/src, ${p.distFiles} files\\)$`, "m"));
  for (const o of p.objects)
    assert.match(r.stdout, new RegExp(`^bpf:     ${o.sha256}  ${o.name.replace(/\./g, "\\.")}$`, "m"));
  assert.equal(cliSync(["version"]).stdout, `sealtrace ${p.version}\n`);
});

test("verify says where the build is without a key, and that an old session never recorded one with it", () => {
  const file = join(FIXTURE, "session.sealtrace");
  const keyless = cliSync(["verify", file]);
  assert.equal(keyless.status, 0, keyless.stderr);
  assert.match(keyless.stdout, /^build:\s+in the encrypted metadata \(add -i IDENTITY to print it\)$/m);
  const keyed = cliSync(["verify", file, "-i", join(FIXTURE, "test-identity.txt")]);
  assert.equal(keyed.status, 0, keyed.stderr);
  assert.match(keyed.stdout, /^build:\s+not recorded/m);
  const wrongKey = cliSync(["verify", file, "-i", join(FIXTURE, "test-signing.key")]);
  assert.equal(wrongKey.status, 0, "the verdict, not the key, decides verify's exit code");
  assert.match(wrongKey.stdout, /^build:\s+unreadable: /m);
});
