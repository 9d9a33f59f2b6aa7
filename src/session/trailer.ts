// The trailer after the final frame: frame count, final chain hash, optional Ed25519 signature (FORMAT.md "Trailer").
import { ED25519_SIGNATURE_BYTES, TRAILER_BYTES, TRAILER_MAGIC } from "./format.js";
import { SessionDamage } from "./verdict.js";

export interface Trailer {
  readonly frameCount: number;
  readonly finalChainHash: Uint8Array;
  /** All zero bytes in an unsigned session. */
  readonly signature: Uint8Array;
}

export function encodeTrailer(t: Trailer): Uint8Array {
  const out = new Uint8Array(TRAILER_BYTES);
  out.set(TRAILER_MAGIC, 0);
  new DataView(out.buffer).setUint32(8, t.frameCount, true);
  out.set(t.finalChainHash, 16);
  out.set(t.signature, 48);
  return out;
}

/** Parses exactly TRAILER_BYTES. Throws SessionDamage(TAMPERED, "trailer") for a bad magic or reserved field. */
export function parseTrailer(bytes: Uint8Array): Trailer {
  for (let i = 0; i < TRAILER_MAGIC.length; i++) {
    if (bytes[i] !== TRAILER_MAGIC[i])
      throw new SessionDamage("TAMPERED", "bytes after the final frame are not a trailer", "trailer");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, TRAILER_BYTES);
  if (view.getUint32(12, true) !== 0)
    throw new SessionDamage("TAMPERED", "trailer reserved field is not zero", "trailer");
  return {
    frameCount: view.getUint32(8, true),
    finalChainHash: bytes.slice(16, 48),
    signature: bytes.slice(48, 48 + ED25519_SIGNATURE_BYTES),
  };
}
