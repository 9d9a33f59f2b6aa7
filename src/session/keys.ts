// Key schedule: the session file key yields a header MAC key and frame 0's key; each frame key ratchets forward.
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { LABEL_FRAME_KEY, LABEL_HEADER_MAC, LABEL_RATCHET } from "./format.js";

export function deriveHeaderMacKey(fileKey: Uint8Array): Uint8Array {
  return hkdf(sha256, fileKey, undefined, LABEL_HEADER_MAC, 32);
}

/** Frame 0's key; salting with the header digest ties every frame key to this one header. */
export function deriveFirstFrameKey(fileKey: Uint8Array, headerDigest: Uint8Array): Uint8Array {
  return hkdf(sha256, fileKey, headerDigest, LABEL_FRAME_KEY, 32);
}

/**
 * Returns the next frame's key and wipes `key`: whoever takes the host later holds only the current
 * key, and HKDF is one-way, so frames already written cannot be forged or re-read with it.
 */
export function ratchetFrameKey(key: Uint8Array): Uint8Array {
  const next = hkdf(sha256, key, undefined, LABEL_RATCHET, 32);
  key.fill(0);
  return next;
}
