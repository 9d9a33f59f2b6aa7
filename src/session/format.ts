// Wire constants of the session file format v1; docs/FORMAT.md is the prose twin of this file.

/** First 8 bytes of every session file: ASCII "sealtrc\n". */
export const HEADER_MAGIC = Uint8Array.of(0x73, 0x65, 0x61, 0x6c, 0x74, 0x72, 0x63, 0x0a);
/** First 8 bytes of the trailer: ASCII "sealend\n". */
export const TRAILER_MAGIC = Uint8Array.of(0x73, 0x65, 0x61, 0x6c, 0x65, 0x6e, 0x64, 0x0a);

export const FORMAT_VERSION = 1;

/** Header flag bit: an Ed25519 signer public key is present and the trailer must carry a signature. */
export const HEADER_FLAG_SIGNED = 0x0001;

/** Fixed part of the header before the age envelope (magic .. envelope length). */
export const HEADER_FIXED_BYTES = 80;
/** MAC + digest after the envelope. */
export const HEADER_TAIL_BYTES = 64;
/** A header larger than this is not something our writer makes (about 400 recipients). */
export const HEADER_MAX_BYTES = 64 * 1024;

export const FRAME_PREFIX_BYTES = 16;
export const FRAME_FLAG_FINAL = 0x01;
export const CHAIN_HASH_BYTES = 32;
export const AEAD_TAG_BYTES = 16;
/** Upper bound on one frame's ciphertext; the writer stays far below it, so more means damage. */
export const FRAME_MAX_CIPHERTEXT_BYTES = 256 * 1024 * 1024;
/** Upper bound on one frame's decompressed plaintext, so a hostile writer cannot make the reader balloon. */
export const FRAME_MAX_PLAINTEXT_BYTES = 512 * 1024 * 1024;

export const TRAILER_BYTES = 112;

export const SESSION_ID_BYTES = 16;
export const FILE_KEY_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

const utf8 = new TextEncoder();
/** HKDF info labels (FORMAT.md "Keys"). */
export const LABEL_HEADER_MAC = utf8.encode("sealtrace/v1 header mac");
export const LABEL_FRAME_KEY = utf8.encode("sealtrace/v1 frame key");
export const LABEL_RATCHET = utf8.encode("sealtrace/v1 ratchet");
/** Domain separator prepended to the signed message (FORMAT.md "Trailer"). */
export const LABEL_SIGNATURE = utf8.encode("sealtrace/v1 signature\0");
