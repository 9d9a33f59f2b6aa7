// One frame's ciphertext to its msgpack bytes: authenticate and decrypt, decompress, walk the msgpack
// against the frame limits. The same function runs in the reader's thread or in its decode worker
// (body-worker.ts); what it answers is classified the same way by the reader either way.
import { FrameOverLimit, inflateBody, type FrameLimits } from "./body.js";
import { openFrame, type FramePrefix } from "./frame.js";

/** What openBody needs of one frame: its key and the bytes its AEAD binds. Plain data, so it can cross threads. */
export interface BodyJob {
  readonly key: Uint8Array;
  readonly prefix: Uint8Array;
  readonly parsed: FramePrefix;
  readonly headerDigest: Uint8Array;
  readonly previousChainHash: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly limits: FrameLimits;
}

/**
 * An opened frame: `records` (authentic, decompressed, within the limits: its msgpack bytes), `auth-failed`
 * (the AEAD refused it: tampered), `over-limit` (authentic, not decoded: skipped), or `undecodable`
 * (authentic but not a zstd frame of msgpack: only a holder of the file key can make that).
 */
export type OpenedBody =
  | { readonly kind: "records"; readonly msgpack: Uint8Array }
  | { readonly kind: "auth-failed" }
  | { readonly kind: "over-limit"; readonly reason: string }
  | { readonly kind: "undecodable" };

/** Thrown by a `take` that cannot give the bytes yet; openBody throws it back, with nothing kept of the frame. */
export class NotNow extends Error {}

/**
 * Opens one frame; `take(n)` gives the buffer its n decompressed bytes go in (or throws NotNow). The
 * decrypted body is wiped.
 */
export function openBody(job: BodyJob, take: (bytes: number) => Uint8Array): OpenedBody {
  const body = openFrame(job.key, job.prefix, job.parsed, job.headerDigest, job.previousChainHash, job.ciphertext);
  if (!body) return { kind: "auth-failed" };
  try {
    return { kind: "records", msgpack: inflateBody(body, job.limits, take) };
  } catch (e) {
    if (e instanceof NotNow) throw e;
    if (e instanceof FrameOverLimit) return { kind: "over-limit", reason: e.message };
    return { kind: "undecodable" };
  } finally {
    body.fill(0);
  }
}
