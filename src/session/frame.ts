// One payload frame on the wire: prefix, AEAD nonce and associated data, the keyless chain step (FORMAT.md "Frames").
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { createDecipheriv, createHash, getCiphers } from "node:crypto";
import { sha256 } from "@noble/hashes/sha2.js";
import { AEAD_TAG_BYTES, FRAME_FLAG_FINAL, FRAME_MAX_CIPHERTEXT_BYTES, FRAME_PREFIX_BYTES } from "./format.js";
import { SessionDamage } from "./verdict.js";

export interface FramePrefix {
  readonly ciphertextBytes: number;
  readonly final: boolean;
  readonly index: number;
}

function prefixCheck(prefix: Uint8Array): Uint8Array {
  return sha256(prefix.subarray(0, 12)).subarray(0, 4);
}

export function encodeFramePrefix(p: FramePrefix): Uint8Array {
  const out = new Uint8Array(FRAME_PREFIX_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, p.ciphertextBytes, true);
  out[4] = p.final ? FRAME_FLAG_FINAL : 0;
  view.setUint32(8, p.index, true);
  out.set(prefixCheck(out), 12);
  return out;
}

/**
 * Parses a 16-byte prefix at the position where frame `expectedIndex` must start.
 * Throws SessionDamage(TAMPERED) for a bad check, flags, length or index.
 */
export function parseFramePrefix(bytes: Uint8Array, expectedIndex: number): FramePrefix {
  const check = prefixCheck(bytes);
  for (let i = 0; i < 4; i++) {
    if (bytes[12 + i] !== check[i])
      throw new SessionDamage("TAMPERED", `frame ${expectedIndex}: prefix check failed`, expectedIndex);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, FRAME_PREFIX_BYTES);
  const ciphertextBytes = view.getUint32(0, true);
  const flags = bytes[4]!;
  const index = view.getUint32(8, true);
  if ((flags & ~FRAME_FLAG_FINAL) !== 0 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new SessionDamage("TAMPERED", `frame ${expectedIndex}: reserved prefix bits set`, expectedIndex);
  }
  if (index !== expectedIndex) {
    throw new SessionDamage(
      "TAMPERED",
      `frame ${expectedIndex}: found frame ${index} in its place (reordered, dropped or duplicated)`,
      expectedIndex,
    );
  }
  if (ciphertextBytes < AEAD_TAG_BYTES || ciphertextBytes > FRAME_MAX_CIPHERTEXT_BYTES) {
    throw new SessionDamage(
      "TAMPERED",
      `frame ${expectedIndex}: ciphertext length ${ciphertextBytes} out of range`,
      expectedIndex,
    );
  }
  return { ciphertextBytes, final: (flags & FRAME_FLAG_FINAL) !== 0, index };
}

/** age STREAM style: an 11-byte big-endian counter, then 0x01 for the final frame or 0x00. */
export function frameNonce(index: number, final: boolean): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setUint32(7, index, false);
  nonce[11] = final ? 1 : 0;
  return nonce;
}

/** AAD = header digest ‖ previous chain hash ‖ prefix: binds the frame to this file, this position and its length. */
export function frameAad(headerDigest: Uint8Array, previousChainHash: Uint8Array, prefix: Uint8Array): Uint8Array {
  const aad = new Uint8Array(32 + 32 + FRAME_PREFIX_BYTES);
  aad.set(headerDigest, 0);
  aad.set(previousChainHash, 32);
  aad.set(prefix, 64);
  return aad;
}

/**
 * chain_i = SHA-256(chain_{i-1} ‖ prefix ‖ ciphertext); chain_{-1} is the header digest. Keyless on purpose.
 * node:crypto here because this hashes every ciphertext byte and OpenSSL's SHA-256 is several times faster.
 */
export function chainStep(previousChainHash: Uint8Array, prefix: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const digest = createHash("sha256").update(previousChainHash).update(prefix).update(ciphertext).digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.length);
}

export interface SealedFrame {
  readonly prefix: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly chainHash: Uint8Array;
}

/** Encrypts one compressed frame body under `key` (the caller ratchets it afterwards). */
export function sealFrame(
  key: Uint8Array,
  index: number,
  final: boolean,
  headerDigest: Uint8Array,
  previousChainHash: Uint8Array,
  body: Uint8Array,
): SealedFrame {
  const prefix = encodeFramePrefix({ ciphertextBytes: body.length + AEAD_TAG_BYTES, final, index });
  const ciphertext = chacha20poly1305(
    key,
    frameNonce(index, final),
    frameAad(headerDigest, previousChainHash, prefix),
  ).encrypt(body);
  return { prefix, ciphertext, chainHash: chainStep(previousChainHash, prefix, ciphertext) };
}

/**
 * Whether this Node's OpenSSL has ChaCha20-Poly1305 (a FIPS-mode or trimmed build may not): without it, a
 * decipher that cannot be made would read as a frame that fails authentication, so @noble/ciphers opens it.
 */
const OPENSSL_CHACHA = getCiphers().includes("chacha20-poly1305");

/**
 * Decrypts one frame body; returns null when authentication fails (nothing of a body that fails is returned).
 * node:crypto here because replay decrypts every byte of every session: OpenSSL's ChaCha20-Poly1305 (RFC
 * 8439, the same AEAD as sealFrame's) is several times faster than the JS one.
 */
export function openFrame(
  key: Uint8Array,
  prefix: Uint8Array,
  parsed: FramePrefix,
  headerDigest: Uint8Array,
  previousChainHash: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array | null {
  const n = ciphertext.length - AEAD_TAG_BYTES;
  if (n < 0) return null;
  if (!OPENSSL_CHACHA) {
    try {
      return chacha20poly1305(
        key,
        frameNonce(parsed.index, parsed.final),
        frameAad(headerDigest, previousChainHash, prefix),
      ).decrypt(ciphertext);
    } catch {
      return null;
    }
  }
  try {
    const d = createDecipheriv("chacha20-poly1305", key, frameNonce(parsed.index, parsed.final), {
      authTagLength: AEAD_TAG_BYTES,
    });
    d.setAAD(frameAad(headerDigest, previousChainHash, prefix), { plaintextLength: n });
    d.setAuthTag(ciphertext.subarray(n));
    const head = d.update(ciphertext.subarray(0, n));
    const tail = d.final(); // throws when the tag does not authenticate the ciphertext and AAD
    const body = tail.length === 0 ? head : Buffer.concat([head, tail]);
    return new Uint8Array(body.buffer, body.byteOffset, body.length);
  } catch {
    return null;
  }
}
