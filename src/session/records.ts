// Frame bodies: standard msgpack records, one value after another, zstd-compressed (FORMAT.md "Frame body").
import { createRequire } from "node:module";
import { Packr, Unpackr } from "msgpackr";
import { compress, decompress } from "zstd-napi";
import { FRAME_MAX_PLAINTEXT_BYTES } from "./format.js";

/**
 * No msgpackr records or shared structures: each frame is plain msgpack that any decoder reads with no
 * context from earlier frames. 64-bit integers come back as bigint; other integers as number.
 */
const packr = new Packr({ useRecords: false, int64AsType: "bigint" });
const unpackr = new Unpackr({ useRecords: false, int64AsType: "bigint", mapsAsObjects: true });

// The low-level binding is CommonJS without static export names, so ESM named imports cannot see them.
const zstdBinding = createRequire(import.meta.url)("zstd-napi/binding.js") as typeof import("zstd-napi/binding.js");

export const ZSTD_LEVEL = 1;

/** Encodes one record as msgpack. The result is a view into a shared buffer: copy it before the next call. */
export function encodeRecord(record: unknown): Uint8Array {
  return packr.pack(record);
}

export function compressBody(msgpack: Uint8Array): Uint8Array {
  return compress(msgpack, { compressionLevel: ZSTD_LEVEL });
}

/**
 * Decompresses and decodes a frame body. Throws if the bytes are not one zstd frame with a declared
 * content size (our writer always declares it; the bound keeps a hostile key holder from ballooning memory).
 */
export function decodeBody(body: Uint8Array): unknown[] {
  const declaredBytes = zstdBinding.getFrameContentSize(body);
  if (declaredBytes === null || declaredBytes > FRAME_MAX_PLAINTEXT_BYTES) throw new Error("frame body lacks a bounded zstd content size");
  const msgpack = decompress(body);
  // Not wiped afterwards: decoded Uint8Array blobs are views into `msgpack`, and they are the caller's plaintext.
  return unpackr.unpackMultiple(msgpack);
}
