// openFrame (OpenSSL's ChaCha20-Poly1305) against sealFrame (@noble/ciphers): the same AEAD both ways, and
// every flipped bit of ciphertext, tag or associated data refused with null, never a wrong body.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { frameAad, frameNonce, openFrame, parseFramePrefix, sealFrame } from "../../src/session/frame.js";

test("openFrame opens what sealFrame sealed, and what @noble/ciphers opens, for bodies of 0 to 4 KiB", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 4096 }),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.boolean(),
      (body, index, final) => {
        const key = randomBytes(32);
        const digest = randomBytes(32);
        const chain = randomBytes(32);
        const sealed = sealFrame(key, index, final, digest, chain, body);
        const parsed = parseFramePrefix(sealed.prefix, index);
        const opened = openFrame(key, sealed.prefix, parsed, digest, chain, sealed.ciphertext);
        assert.deepEqual(opened, body);
        const noble = chacha20poly1305(key, frameNonce(index, final), frameAad(digest, chain, sealed.prefix));
        assert.deepEqual(noble.decrypt(sealed.ciphertext), opened);
      },
    ),
    { numRuns: 200 },
  );
});

test("openFrame refuses a flipped bit anywhere, a wrong key or chain, and a ciphertext shorter than its tag", () => {
  const key = randomBytes(32);
  const digest = randomBytes(32);
  const chain = randomBytes(32);
  const body = randomBytes(300);
  const sealed = sealFrame(key, 3, false, digest, chain, body);
  const parsed = parseFramePrefix(sealed.prefix, 3);
  for (let bit = 0; bit < sealed.ciphertext.length * 8; bit += 7) {
    const c = Uint8Array.from(sealed.ciphertext);
    c[bit >> 3]! ^= 1 << (bit & 7);
    assert.equal(openFrame(key, sealed.prefix, parsed, digest, chain, c), null, `bit ${bit}`);
  }
  const otherKey = Uint8Array.from(key);
  otherKey[0]! ^= 1;
  assert.equal(openFrame(otherKey, sealed.prefix, parsed, digest, chain, sealed.ciphertext), null);
  const otherChain = Uint8Array.from(chain);
  otherChain[31]! ^= 0x80;
  assert.equal(openFrame(key, sealed.prefix, parsed, digest, otherChain, sealed.ciphertext), null);
  assert.equal(openFrame(key, sealed.prefix, { ...parsed, final: true }, digest, chain, sealed.ciphertext), null);
  for (const n of [0, 1, 15])
    assert.equal(openFrame(key, sealed.prefix, parsed, digest, chain, sealed.ciphertext.subarray(0, n)), null);
});
