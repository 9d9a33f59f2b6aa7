// Frame bodies: standard msgpack records, one value after another, zstd-compressed (FORMAT.md "Frame body").
import { createRequire } from "node:module";
import { Packr, Unpackr } from "msgpackr";
import { compress } from "zstd-napi";
import { FRAME_MAX_PLAINTEXT_BYTES } from "./format.js";
import { countMsgpackValues } from "./msgpack-bound.js";

/**
 * No msgpackr records or shared structures: each frame is plain msgpack that any decoder reads with no
 * context from earlier frames. 64-bit integers come back as bigint; other integers as number.
 */
const packr = new Packr({ useRecords: false, int64AsType: "bigint" });
const unpackr = new Unpackr({ useRecords: false, int64AsType: "bigint", mapsAsObjects: true });

// The low-level binding is CommonJS without static export names, so ESM named imports cannot see them.
const zstdBinding = createRequire(import.meta.url)("zstd-napi/binding.js") as typeof import("zstd-napi/binding.js");

export const ZSTD_LEVEL = 1;

let dctx: InstanceType<typeof zstdBinding.DCtx> | undefined;

/** Encodes one record as msgpack. The result is a view into a shared buffer: copy it before the next call. */
export function encodeRecord(record: unknown): Uint8Array {
  return packr.pack(record);
}

export function compressBody(msgpack: Uint8Array): Uint8Array {
  return compress(msgpack, { compressionLevel: ZSTD_LEVEL });
}

/** What one frame may decode to (docs/REPLAY.md "Limits"); checked before anything is allocated for it. */
export interface FrameLimits {
  /** Decompressed bytes: the zstd frame's declared content size. At most FRAME_MAX_PLAINTEXT_BYTES. */
  readonly maxFrameBytes: number;
  /** msgpack values (records, and every element, key and value inside them). */
  readonly maxFrameValues: number;
}

/**
 * Defaults far above what sealtrace's writer makes (1 MiB flushes plus one record: a ring span of at most
 * 16 MiB, or a map dump) and low enough that one frame costs a stated amount of memory.
 */
export const DEFAULT_FRAME_LIMITS: FrameLimits = { maxFrameBytes: 128 * 1024 * 1024, maxFrameValues: 2 * 1024 * 1024 };

/** An authentic frame over a FrameLimits bound: the reader skips it and says so. */
export class FrameOverLimit extends Error {}

const MIB = 1024 * 1024;

/** Frames up to this size decompress into a BodyBuffer's one buffer; a larger one gets its own, not kept. */
const REUSED_MAX_BYTES = 16 * MIB;

/**
 * One decompression buffer for frame after frame. A fresh one per frame cost a third of the time to read a
 * session (its pages faulted in again at each frame, ~1 MiB each): replay's load reads the records of a
 * frame before asking for the next. What decodeBody returns from it holds views into it (the records' byte
 * arrays), valid only until its next decodeBody.
 */
export class BodyBuffer {
  private buffer: Buffer | undefined;

  /** A buffer of `bytes` bytes: the kept one when it fits, else a new one (kept unless over REUSED_MAX_BYTES). */
  take(bytes: number): Buffer {
    if (this.buffer !== undefined && bytes <= this.buffer.length) return this.buffer.subarray(0, bytes);
    if (bytes > REUSED_MAX_BYTES) return Buffer.allocUnsafe(bytes);
    this.buffer?.fill(0);
    this.buffer = Buffer.allocUnsafe(Math.max(bytes, 2 * MIB)); // our writer's frames: ~1 MiB
    return this.buffer.subarray(0, bytes);
  }

  /** Wipes the plaintext it holds and lets it go. */
  clear(): void {
    this.buffer?.fill(0);
    this.buffer = undefined;
  }
}

/**
 * Decompresses a frame body into `take(declared size)` and walks its msgpack. Throws FrameOverLimit when it
 * would decode to more than `limits` allows (checked on the declared size, then on a walk of the msgpack,
 * before any record is built), and Error if the bytes are not one zstd frame with a declared content size
 * (our writer always declares it) or not msgpack. Returns the msgpack bytes (what `take` gave, filled).
 */
export function inflateBody(body: Uint8Array, limits: FrameLimits, take: (bytes: number) => Uint8Array): Uint8Array {
  const declaredBytes = zstdBinding.getFrameContentSize(body);
  if (declaredBytes === null || declaredBytes > FRAME_MAX_PLAINTEXT_BYTES)
    throw new Error("frame body lacks a bounded zstd content size");
  if (declaredBytes > limits.maxFrameBytes) {
    throw new FrameOverLimit(
      `decodes to ${(declaredBytes / MIB).toFixed(1)} MiB, over the ${(limits.maxFrameBytes / MIB).toFixed(0)} MiB frame limit (--max-frame-mib)`,
    );
  }
  // Into a buffer of exactly the declared size: zstd-napi's decompress() would add up further frames in
  // the body, or stream a frame without a size with no bound at all; here more than declared is an error.
  const msgpack = take(declaredBytes);
  dctx ??= new zstdBinding.DCtx();
  if (dctx.decompress(msgpack, body) !== declaredBytes) {
    msgpack.fill(0);
    throw new Error("frame body decompresses to other than its declared size");
  }
  const counted = countMsgpackValues(msgpack, limits.maxFrameValues);
  if (typeof counted !== "number") {
    msgpack.fill(0);
    if (counted.reason.startsWith("more than"))
      throw new FrameOverLimit(`holds ${counted.reason}, over the frame limit (--max-frame-values)`);
    throw new Error(counted.reason);
  }
  return msgpack;
}

/**
 * The records of msgpack bytes inflateBody returned. Their byte arrays are views into `msgpack` (not wiped
 * afterwards: they are the caller's plaintext). Throws on bytes that are not msgpack.
 */
export function unpackBody(msgpack: Uint8Array): unknown[] {
  return unpackr.unpackMultiple(msgpack) ?? [];
}

/**
 * Decompresses and decodes a frame body (inflateBody, then unpackBody); throws as they do. With `into`,
 * the records' byte arrays are views into its buffer (see BodyBuffer).
 */
export function decodeBody(body: Uint8Array, limits: FrameLimits = DEFAULT_FRAME_LIMITS, into?: BodyBuffer): unknown[] {
  return unpackBody(inflateBody(body, limits, into ? (n) => into.take(n) : (n) => Buffer.allocUnsafe(n)));
}
