// The committed fixture session decodes byte-exactly, through the reader and through a second reader written from docs/FORMAT.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createDecipheriv, createHash, createHmac, hkdfSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Decrypter } from "age-encryption";
import { ed25519 } from "@noble/curves/ed25519.js";
import { Unpackr } from "msgpackr";
import { decompress } from "zstd-napi";
import { readSession } from "../../src/session/reader.js";
import { readIdentityFile } from "../../src/session/identity.js";
import { verifySession } from "../../src/session/verify.js";
import { parseSignerPublicKey } from "../../src/session/signing.js";

// Compiled to dist/test/unit/, so the repository root is three levels up.
const dir = fileURLToPath(new URL("../../../fixtures/session/", import.meta.url));
const fixture = join(dir, "session.sealtrace");
const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as {
  sessionIdHex: string;
  frames: number;
  finalChainHashHex: string;
  fileSha256Hex: string;
  signer: string;
  metadata: unknown;
  recordsPerFrame: unknown[][];
  finale: unknown;
};

/** expected.json spells bigint and bytes as {$bigint} and {$bytes}. */
function tag(v: unknown): unknown {
  if (typeof v === "bigint") return { $bigint: v.toString() };
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString("hex") };
  if (Array.isArray(v)) return v.map(tag);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tag(x)]));
  return v;
}

test("fixture: the reader decodes the committed session exactly", async () => {
  const identities = await readIdentityFile(join(dir, "test-identity.txt"));
  const got = await readSession(fixture, { identities, requiredSigner: parseSignerPublicKey(expected.signer) });
  assert.equal(got.verdict.status, "SEALED");
  assert.equal(got.sessionIdHex, expected.sessionIdHex);
  assert.equal(got.verdict.framesGood, expected.frames);
  assert.deepEqual(tag(got.metadata), expected.metadata);
  assert.deepEqual(tag(got.records), expected.recordsPerFrame.flat());
  assert.deepEqual(tag(got.finale), expected.finale);
});

test("fixture: keyless verify reports the committed digests and a valid signature", async () => {
  const v = await verifySession(fixture, { requiredSigner: parseSignerPublicKey(expected.signer) });
  assert.equal(v.verdict.status, "SEALED");
  assert.equal(v.sessionIdHex, expected.sessionIdHex);
  assert.equal(v.frames, expected.frames);
  assert.equal(v.chainHashHex, expected.finalChainHashHex);
  assert.equal(v.fileSha256Hex, expected.fileSha256Hex);
  assert.equal(v.signature, "valid");
});

test("fixture: a second reader written only from docs/FORMAT.md decodes it the same", async () => {
  const identity = (await readIdentityFile(join(dir, "test-identity.txt")))[0]!;
  const decoded = await formatMdReader(readFileSync(fixture), identity);
  assert.equal(decoded.sessionIdHex, expected.sessionIdHex);
  assert.equal(decoded.finalChainHashHex, expected.finalChainHashHex);
  assert.deepEqual(tag(decoded.frames[0]), [expected.metadata]);
  assert.deepEqual(tag(decoded.frames.slice(1, -1)), expected.recordsPerFrame);
  assert.deepEqual(tag(decoded.frames.at(-1)), [expected.finale]);
  assert.ok(ed25519.verify(decoded.signature, decoded.signedMessage, parseSignerPublicKey(expected.signer)));
});

/** Independent of src/session: node:crypto for the AEAD, KDF and hashes, per FORMAT.md sections 2–6. */
async function formatMdReader(file: Buffer, identity: string) {
  const sha256 = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash("sha256")).digest();
  const hkdf = (ikm: Uint8Array, salt: Uint8Array, info: string) =>
    Buffer.from(hkdfSync("sha256", ikm, salt, info, 32));
  assert.equal(file.subarray(0, 8).toString("latin1"), "sealtrc\n");
  assert.equal(file.readUInt16LE(8), 1);
  const headerBytes = file.readUInt32LE(12);
  assert.deepEqual(file.subarray(16, 20), sha256(file.subarray(0, 16)).subarray(0, 4));
  const sessionId = file.subarray(20, 36);
  const envelopeBytes = file.readUInt32LE(76);
  const envelope = file.subarray(80, 80 + envelopeBytes);
  const mac = file.subarray(80 + envelopeBytes, 112 + envelopeBytes);
  const digest = file.subarray(112 + envelopeBytes, headerBytes);
  assert.deepEqual(digest, sha256(file.subarray(0, headerBytes - 32)));
  const dec = new Decrypter();
  dec.addIdentity(identity);
  const fileKey = await dec.decrypt(envelope);
  const macKey = hkdf(fileKey, new Uint8Array(0), "sealtrace/v1 header mac");
  assert.deepEqual(
    mac,
    createHmac("sha256", macKey)
      .update(file.subarray(0, 80 + envelopeBytes))
      .digest(),
  );
  let key = hkdf(fileKey, digest, "sealtrace/v1 frame key");
  let chain: Uint8Array = digest;
  const frames: unknown[][] = [];
  const unpackr = new Unpackr({ useRecords: false, int64AsType: "bigint", mapsAsObjects: true });
  let at = headerBytes;
  for (let index = 0; ; index++) {
    const prefix = file.subarray(at, at + 16);
    const ciphertextBytes = prefix.readUInt32LE(0);
    const final = prefix[4] === 1;
    assert.equal(prefix.readUInt32LE(8), index);
    assert.deepEqual(prefix.subarray(12, 16), sha256(prefix.subarray(0, 12)).subarray(0, 4));
    const ciphertext = file.subarray(at + 16, at + 16 + ciphertextBytes);
    const nonce = Buffer.alloc(12);
    nonce.writeUInt32BE(index, 7);
    nonce[11] = final ? 1 : 0;
    const d = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
    d.setAAD(Buffer.concat([digest, chain, prefix]), { plaintextLength: ciphertextBytes - 16 });
    d.setAuthTag(ciphertext.subarray(ciphertextBytes - 16));
    const body = Buffer.concat([d.update(ciphertext.subarray(0, ciphertextBytes - 16)), d.final()]);
    frames.push(unpackr.unpackMultiple(decompress(body)));
    chain = sha256(chain, prefix, ciphertext);
    assert.deepEqual(file.subarray(at + 16 + ciphertextBytes, at + 48 + ciphertextBytes), Buffer.from(chain));
    key = hkdf(key, new Uint8Array(0), "sealtrace/v1 ratchet");
    at += 48 + ciphertextBytes;
    if (final) break;
  }
  const trailer = file.subarray(at);
  assert.equal(trailer.length, 112);
  assert.equal(trailer.subarray(0, 8).toString("latin1"), "sealend\n");
  assert.equal(trailer.readUInt32LE(8), frames.length);
  assert.deepEqual(trailer.subarray(16, 48), Buffer.from(chain));
  const count = Buffer.alloc(4);
  count.writeUInt32LE(frames.length);
  const signedMessage = Buffer.concat([Buffer.from("sealtrace/v1 signature\0"), sessionId, chain, count]);
  return {
    sessionIdHex: sessionId.toString("hex"),
    finalChainHashHex: Buffer.from(chain).toString("hex"),
    frames,
    signature: trailer.subarray(48, 112),
    signedMessage,
  };
}
