// `sealtrace keygen` and `sealtrace verify` as a user runs them: files, exit codes, one-line errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir, writeSession } from "../unit/session-helpers.js";

const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

function sealtrace(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneLineError(r: { stderr: string }): void {
  assert.equal(r.stderr.trim().split("\n").length, 1, `expected one line, got:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test("keygen writes 0600 keys, prints the public half, and never overwrites", () => {
  const { dir, cleanup } = tempDir("cli-keygen");
  try {
    const id = join(dir, "team.key");
    const r = sealtrace("keygen", "-o", id);
    assert.equal(r.status, 0);
    assert.match(r.stdout.trim(), /^age1[0-9a-z]{58}$/);
    assert.equal(statSync(id).mode & 0o777, 0o600);
    assert.match(readFileSync(id, "utf8"), new RegExp(`# public key: ${r.stdout.trim()}\\nAGE-SECRET-KEY-1`));
    const again = sealtrace("keygen", "-o", id);
    assert.equal(again.status, 2);
    assertOneLineError(again);
    const sig = join(dir, "host.sign");
    const s = sealtrace("keygen", "--signing", "-o", sig);
    assert.equal(s.status, 0);
    assert.match(s.stdout.trim(), /^sealtrace-ed25519:[0-9a-f]{64}$/);
    assert.equal(statSync(sig).mode & 0o777, 0o600);
  } finally {
    cleanup();
  }
});

test("verify: exit 0/5/6/7 by verdict, --signer pins the signing key, bad input is one line", async () => {
  const { dir, cleanup } = tempDir("cli-verify");
  try {
    const idFile = join(dir, "team.key");
    const recipient = sealtrace("keygen", "-o", idFile).stdout.trim();
    const signFile = join(dir, "host.sign");
    const signer = sealtrace("keygen", "--signing", "-o", signFile).stdout.trim();
    const otherSigner = sealtrace("keygen", "--signing", "-o", join(dir, "other.sign")).stdout.trim();
    const path = await writeSession(join(dir, "s.sealtrace"), [[{ a: 1 }], [{ b: 2 }]], {
      recipients: [recipient],
      signingKey: readFileSync(signFile, "utf8"),
    });

    const ok = sealtrace("verify", path, "--signer", signer);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^session: +[0-9a-f]{32}$/m);
    assert.match(ok.stdout, /^frames: +4$/m);
    assert.match(ok.stdout, /^chain: +[0-9a-f]{64}$/m);
    assert.match(ok.stdout, /^sha256: +[0-9a-f]{64} /m);
    assert.match(ok.stdout, new RegExp(`^signature: +valid, by ${signer}$`, "m"));
    assert.match(ok.stdout, /^verdict: +SEALED/m);
    assert.equal(sealtrace("verify", path, "--signer", otherSigner).status, 6);

    const cut = join(dir, "cut.sealtrace");
    copyFileSync(path, cut);
    truncateSync(cut, statSync(cut).size - 200);
    const unsealed = sealtrace("verify", cut);
    assert.equal(unsealed.status, 5);
    assert.match(unsealed.stdout, /^verdict: +UNSEALED: cut inside frame \d+/m);

    const flipped = join(dir, "flipped.sealtrace");
    const bytes = readFileSync(path);
    bytes[bytes.length - 300]! ^= 0x10;
    writeFileSync(flipped, bytes);
    const tampered = sealtrace("verify", flipped);
    assert.equal(tampered.status, 6);
    assert.match(tampered.stdout, /^verdict: +TAMPERED: frame \d+/m);

    const notSession = sealtrace("verify", idFile);
    assert.equal(notSession.status, 7);
    assert.match(notSession.stdout, /^verdict: +NOT A SESSION/m);

    const missing = sealtrace("verify", join(dir, "nope"));
    assert.equal(missing.status, 2);
    assertOneLineError(missing);
    const badSigner = sealtrace("verify", path, "--signer", "nonsense");
    assert.equal(badSigner.status, 2);
    assertOneLineError(badSigner);
  } finally {
    cleanup();
  }
});
