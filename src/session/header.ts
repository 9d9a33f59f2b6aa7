// The plaintext session header: encodeHeader / parseHeader (FORMAT.md "Header").
import { sha256 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";
import {
  ED25519_PUBLIC_KEY_BYTES,
  FORMAT_VERSION,
  HEADER_FIXED_BYTES,
  HEADER_FLAG_SIGNED,
  HEADER_MAGIC,
  HEADER_MAX_BYTES,
  HEADER_TAIL_BYTES,
  SESSION_ID_BYTES,
} from "./format.js";
import { SessionDamage } from "./verdict.js";

/** Bytes needed to learn the header's length: magic, version, flags, length, preamble check. */
export const HEADER_PREAMBLE_BYTES = 20;

export interface SessionHeader {
  readonly version: number;
  readonly sessionId: Uint8Array;
  readonly createdUnixMs: bigint;
  /** Ed25519 public key that must have signed the trailer, or null for an unsigned session. */
  readonly signerPublicKey: Uint8Array | null;
  /** A complete binary age v1 file whose plaintext is the 32-byte session file key. */
  readonly envelope: Uint8Array;
  readonly mac: Uint8Array;
  /** SHA-256 of every header byte before it; it seeds the chain and is bound into every frame. */
  readonly digest: Uint8Array;
  /** The whole encoded header. */
  readonly bytes: Uint8Array;
}

export interface HeaderFields {
  readonly sessionId: Uint8Array;
  readonly createdUnixMs: bigint;
  readonly signerPublicKey: Uint8Array | null;
  readonly envelope: Uint8Array;
}

function preambleCheck(bytes: Uint8Array): Uint8Array {
  return sha256(bytes.subarray(0, 16)).subarray(0, 4);
}

/** Encodes a header; `macKey` comes from deriveHeaderMacKey. Throws on out-of-range fields (a bug). */
export function encodeHeader(fields: HeaderFields, macKey: Uint8Array): Uint8Array {
  if (fields.sessionId.length !== SESSION_ID_BYTES) throw new Error("session id must be 16 bytes");
  const total = HEADER_FIXED_BYTES + fields.envelope.length + HEADER_TAIL_BYTES;
  if (total > HEADER_MAX_BYTES) throw new Error(`header of ${total} bytes exceeds ${HEADER_MAX_BYTES}`);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(HEADER_MAGIC, 0);
  view.setUint16(8, FORMAT_VERSION, true);
  view.setUint16(10, fields.signerPublicKey ? HEADER_FLAG_SIGNED : 0, true);
  view.setUint32(12, total, true);
  out.set(preambleCheck(out), 16);
  out.set(fields.sessionId, 20);
  view.setBigUint64(36, fields.createdUnixMs, true);
  if (fields.signerPublicKey) out.set(fields.signerPublicKey, 44);
  view.setUint32(76, fields.envelope.length, true);
  out.set(fields.envelope, HEADER_FIXED_BYTES);
  const macAt = HEADER_FIXED_BYTES + fields.envelope.length;
  out.set(hmac(sha256, macKey, out.subarray(0, macAt)), macAt);
  out.set(sha256(out.subarray(0, macAt + 32)), macAt + 32);
  return out;
}

/**
 * Reads the total header length from the first 20 bytes.
 * Throws SessionDamage: NOT_A_SESSION (wrong magic, newer version), UNSEALED (cut), TAMPERED (bad check).
 */
export function parseHeaderPreamble(bytes: Uint8Array): number {
  const magicSeen = Math.min(bytes.length, HEADER_MAGIC.length);
  for (let i = 0; i < magicSeen; i++) {
    if (bytes[i] !== HEADER_MAGIC[i])
      throw new SessionDamage("NOT_A_SESSION", "no sealtrace magic at the start of the file");
  }
  if (bytes.length < HEADER_MAGIC.length) {
    throw new SessionDamage(
      bytes.length === 0 ? "NOT_A_SESSION" : "UNSEALED",
      `file is ${bytes.length} bytes, cut inside the header; nothing is readable`,
    );
  }
  if (bytes.length < HEADER_PREAMBLE_BYTES)
    throw new SessionDamage("UNSEALED", "file cut inside the header; nothing is readable");
  const check = preambleCheck(bytes);
  for (let i = 0; i < 4; i++) {
    if (bytes[16 + i] !== check[i]) throw new SessionDamage("TAMPERED", "header preamble check failed", "header");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_PREAMBLE_BYTES);
  const version = view.getUint16(8, true);
  if (version !== FORMAT_VERSION) {
    throw new SessionDamage(
      "NOT_A_SESSION",
      `session format version ${version} is not supported by this sealtrace (reads version ${FORMAT_VERSION}); upgrade sealtrace`,
    );
  }
  const total = view.getUint32(12, true);
  if (total < HEADER_FIXED_BYTES + HEADER_TAIL_BYTES || total > HEADER_MAX_BYTES) {
    throw new SessionDamage("TAMPERED", `header length ${total} is out of range`, "header");
  }
  return total;
}

/**
 * Parses a whole header (its length from parseHeaderPreamble) and checks its digest; the MAC needs the
 * file key, so checkHeaderMac does that later. Throws SessionDamage like parseHeaderPreamble.
 */
export function parseHeader(bytes: Uint8Array): SessionHeader {
  const total = parseHeaderPreamble(bytes);
  if (bytes.length < total) throw new SessionDamage("UNSEALED", "file cut inside the header; nothing is readable");
  const header = bytes.subarray(0, total);
  const digest = header.subarray(total - 32);
  const actual = sha256(header.subarray(0, total - 32));
  if (!equalBytes(actual, digest))
    throw new SessionDamage("TAMPERED", "header digest does not match the header", "header");
  const view = new DataView(header.buffer, header.byteOffset, total);
  const flags = view.getUint16(10, true);
  if ((flags & ~HEADER_FLAG_SIGNED) !== 0)
    throw new SessionDamage("TAMPERED", `unknown header flags 0x${flags.toString(16)}`, "header");
  const envelopeBytes = view.getUint32(76, true);
  if (HEADER_FIXED_BYTES + envelopeBytes + HEADER_TAIL_BYTES !== total) {
    throw new SessionDamage("TAMPERED", "header envelope length disagrees with header length", "header");
  }
  const signer = header.subarray(44, 44 + ED25519_PUBLIC_KEY_BYTES);
  const signed = (flags & HEADER_FLAG_SIGNED) !== 0;
  if (!signed && signer.some((b) => b !== 0))
    throw new SessionDamage("TAMPERED", "signer key present in an unsigned header", "header");
  return {
    version: view.getUint16(8, true),
    sessionId: header.slice(20, 36),
    createdUnixMs: view.getBigUint64(36, true),
    signerPublicKey: signed ? signer.slice() : null,
    envelope: header.slice(HEADER_FIXED_BYTES, HEADER_FIXED_BYTES + envelopeBytes),
    mac: header.slice(total - 64, total - 32),
    digest: digest.slice(),
    bytes: header.slice(),
  };
}

/** True when the header MAC verifies under `macKey` (constant-time compare). */
export function checkHeaderMac(header: SessionHeader, macKey: Uint8Array): boolean {
  const expected = hmac(sha256, macKey, header.bytes.subarray(0, header.bytes.length - HEADER_TAIL_BYTES));
  return equalBytes(expected, header.mac);
}

/** Constant-time equality for equal-length secrets; false on length mismatch. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
