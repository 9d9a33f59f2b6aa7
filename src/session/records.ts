// Frame bodies: standard msgpack records, one value after another, zstd-compressed (FORMAT.md "Frame body").
import { Packr, Unpackr } from "msgpackr";
import { compress, decompress } from "zstd-napi";
import { FRAME_MAX_PLAINTEXT_BYTES } from "./format.js";

/**
 * No msgpackr records or shared structures: each frame is plain msgpack that any decoder reads with no
 * context from earlier frames. 64-bit integers come back as bigint; other integers as number.
 */
const packr = new Packr({ useRecords: false, int64AsType: "bigint" });
const unpackr = new Unpackr({ useRecords: false, int64AsType: "bigint", mapsAsObjects: true });

export const ZSTD_LEVEL = 1;

/** Encodes one record as msgpack. The result is a view into a shared buffer: copy it before the next call. */
export function encodeRecord(record: unknown): Uint8Array {
  return packr.pack(record);
}

export function compressBody(msgpack: Uint8Array): Uint8Array {
  return compress(msgpack, { compressionLevel: ZSTD_LEVEL });
}

/** Decompresses and decodes a frame body. Throws if the bytes are not one zstd frame of msgpack values. */
export function decodeBody(body: Uint8Array): unknown[] {
  const msgpack = decompress(body, { maxOutputBytes: FRAME_MAX_PLAINTEXT_BYTES } as never);
  const records = unpackr.unpackMultiple(msgpack);
  msgpack.fill(0);
  return records;
}
