// typage's failures, as the envelope reads them: each made to happen with the real library, so a release
// that rewords "no identity matched" (its errors have no class or code) fails here, not in the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Decrypter, Encrypter } from "age-encryption";
import { decryptFailure } from "../../src/session/age-failure.js";
import { KeyRing } from "../../src/session/envelope.js";
import { UserError } from "../../src/errors.js";
import { testKey } from "./session-helpers.js";

async function sealTo(recipient: string): Promise<Uint8Array> {
  const enc = new Encrypter();
  enc.addRecipient(recipient);
  return enc.encrypt(randomBytes(32));
}

async function decryptError(identity: string, file: Uint8Array): Promise<unknown> {
  const dec = new Decrypter();
  dec.addIdentity(identity);
  try {
    await dec.decrypt(file);
  } catch (e) {
    return e;
  }
  assert.fail("typage opened a file it should not");
}

/** The envelope with the first character of its header MAC changed (still valid base64). */
function withBadMac(envelope: Uint8Array): Uint8Array {
  const out = envelope.slice();
  const at = Buffer.from(out).indexOf("\n--- ") + 5;
  out[at] = out[at] === 0x41 ? 0x42 : 0x41;
  return out;
}

test("typage's 'no identity matched' is read as a wrong key; the wording is the library's own", async () => {
  const [a, b] = [await testKey(), await testKey()];
  const e = await decryptError(b.identity, await sealTo(a.recipient));
  assert.ok(e instanceof Error);
  assert.equal(decryptFailure(e), "no-match", `typage's wording changed: "${e.message}" (update age-failure.ts)`);
});

test("every other typage decrypt failure is damage, not a wrong key", async () => {
  const a = await testKey();
  const envelope = await sealTo(a.recipient);
  const badMac = await decryptError(a.identity, withBadMac(envelope));
  assert.match((badMac as Error).message, /HMAC/i, "the MAC check is what failed");
  const cut = await decryptError(a.identity, envelope.subarray(0, 40));
  const garbage = await decryptError(a.identity, randomBytes(200));
  for (const e of [badMac, cut, garbage]) assert.equal(decryptFailure(e), "malformed", String(e));
  assert.equal(decryptFailure(new TypeError("x is undefined")), "malformed");
  assert.equal(decryptFailure("no identity matched"), "malformed", "only an Error is typage's");
});

test("KeyRing: no matching identity is a wrong-key UserError; a forged envelope opens to null", async () => {
  const [a, b] = [await testKey(), await testKey()];
  const envelope = await sealTo(a.recipient);
  await assert.rejects(
    new KeyRing([b.identity]).openFileKey(envelope),
    (e: unknown) => e instanceof UserError && e.kind === "wrong-key" && /^no matching key: /.test(e.message),
  );
  assert.equal(await new KeyRing([a.identity]).openFileKey(withBadMac(envelope)), null);
  assert.equal((await new KeyRing([a.identity]).openFileKey(envelope))?.length, 32);
});

test("KeyRing: an envelope whose payload (not its header) was changed or cut opens to null", async () => {
  const a = await testKey();
  const envelope = await sealTo(a.recipient);
  const flipped = envelope.slice();
  flipped[flipped.length - 1]! ^= 0x01;
  assert.equal(await new KeyRing([a.identity]).openFileKey(flipped), null);
  assert.equal(await new KeyRing([a.identity]).openFileKey(envelope.subarray(0, envelope.length - 20)), null);
});

test("sealing and opening a file key loads no fetch (undici): ~25 ms of every record and replay start", async () => {
  // In a fresh process: this one may have loaded it for another test.
  const { execFileSync } = await import("node:child_process");
  const envelopeUrl = new URL("../../src/session/envelope.js", import.meta.url).href;
  const script = `
    const { sealFileKey, KeyRing } = await import(${JSON.stringify(envelopeUrl)});
    const { generateX25519Identity, identityToRecipient } = await import("age-encryption");
    const id = await generateX25519Identity();
    const key = new Uint8Array(32).fill(9);
    const opened = await new KeyRing([id]).openFileKey(await sealFileKey(key, [await identityToRecipient(id)]));
    console.log(JSON.stringify({ same: Buffer.from(opened).equals(Buffer.from(key)),
      fetch: process.moduleLoadList.filter((m) => /undici|http2/.test(m)) }));`;
  const out = JSON.parse(
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", cwd: process.cwd() }),
  ) as { same: boolean; fetch: string[] };
  assert.equal(out.same, true);
  assert.deepEqual(out.fetch, []);
});
