// Ed25519 custody signatures: signing key files, signer public keys, and the signature over the final chain hash.
import { ed25519 } from "@noble/curves/ed25519.js";
import { bytesToHex, concatBytes, hexToBytes, randomBytes } from "@noble/hashes/utils.js";
import { UserError } from "../errors.js";
import { LABEL_SIGNATURE } from "./format.js";

const PUBLIC_PREFIX = "sealtrace-ed25519:";
const SECRET_PREFIX = "SEALTRACE-ED25519-SECRET:";
const HEX64 = /^[0-9a-f]{64}$/;

export interface SigningKey {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function generateSigningKey(): SigningKey {
  const seed = randomBytes(32);
  return { seed, publicKey: ed25519.getPublicKey(seed) };
}

/** `sealtrace-ed25519:<64 hex>`, the form `verify --signer` takes. */
export function encodeSignerPublicKey(publicKey: Uint8Array): string {
  return PUBLIC_PREFIX + bytesToHex(publicKey);
}

/** Parses `sealtrace-ed25519:<64 hex>`. Throws UserError(bad-input) on anything else. */
export function parseSignerPublicKey(text: string): Uint8Array {
  const t = text.trim();
  const hex = t.startsWith(PUBLIC_PREFIX) ? t.slice(PUBLIC_PREFIX.length) : "";
  if (!HEX64.test(hex))
    throw new UserError(`not a signer public key: expected ${PUBLIC_PREFIX} followed by 64 hex digits`, "bad-input");
  return hexToBytes(hex);
}

/** The signing key file, commented like an age identity file. */
export function encodeSigningKeyFile(key: SigningKey, createdAt: Date): string {
  return [
    "# sealtrace signing key (Ed25519): keep it off the recording host if you can",
    `# created: ${createdAt.toISOString()}`,
    `# public key: ${encodeSignerPublicKey(key.publicKey)}`,
    SECRET_PREFIX + bytesToHex(key.seed),
    "",
  ].join("\n");
}

/** Parses a signing key file. Throws UserError(wrong-key) if no well-formed secret line is present. */
export function parseSigningKeyFile(text: string, source = "signing key file"): SigningKey {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line.startsWith(SECRET_PREFIX)) continue;
    const hex = line.slice(SECRET_PREFIX.length);
    if (!HEX64.test(hex)) break;
    const seed = hexToBytes(hex);
    return { seed, publicKey: ed25519.getPublicKey(seed) };
  }
  throw new UserError(
    `${source}: no ${SECRET_PREFIX}<64 hex> line; make one with \`sealtrace keygen --signing\``,
    "wrong-key",
  );
}

function signedMessage(sessionId: Uint8Array, finalChainHash: Uint8Array, frameCount: number): Uint8Array {
  const count = new Uint8Array(4);
  new DataView(count.buffer).setUint32(0, frameCount, true);
  return concatBytes(LABEL_SIGNATURE, sessionId, finalChainHash, count);
}

export function signChain(
  seed: Uint8Array,
  sessionId: Uint8Array,
  finalChainHash: Uint8Array,
  frameCount: number,
): Uint8Array {
  return ed25519.sign(signedMessage(sessionId, finalChainHash, frameCount), seed);
}

/** True when `signature` is a valid strict (non-ZIP215) Ed25519 signature by `publicKey`. */
export function checkChainSignature(
  publicKey: Uint8Array,
  signature: Uint8Array,
  sessionId: Uint8Array,
  finalChainHash: Uint8Array,
  frameCount: number,
): boolean {
  try {
    return ed25519.verify(signature, signedMessage(sessionId, finalChainHash, frameCount), publicKey, {
      zip215: false,
    });
  } catch {
    return false;
  }
}
