// The writer's frame chain (FORMAT.md "Frames", "Keys"): each frame sealed under the current key and
// chained to the one before, then the key ratchets forward and the old one is wiped.
import { sealFrame, type SealedFrame } from "./frame.js";
import { ratchetFrameKey } from "./keys.js";

export class FrameChain {
  private key: Uint8Array;
  private index = 0;
  private hash: Uint8Array;

  /** Starts at frame 0 under `firstKey`, chained to the header's digest. */
  constructor(
    firstKey: Uint8Array,
    private readonly headerDigest: Uint8Array,
  ) {
    this.key = firstKey;
    this.hash = headerDigest;
  }

  /** Frames sealed into the chain so far: the next frame's index. */
  get frames(): number {
    return this.index;
  }

  /** The chain hash of the last frame (the header's digest before any). */
  get chainHash(): Uint8Array {
    return this.hash;
  }

  /**
   * Seals a compressed body as the next frame and wipes the body. The chain does not move until
   * advance(): the same frame may be sealed again, to the same bytes, if writing it failed.
   */
  seal(body: Uint8Array, final: boolean): { sealed: SealedFrame; bytes: Uint8Array } {
    const sealed = sealFrame(this.key, this.index, final, this.headerDigest, this.hash, body);
    body.fill(0);
    const bytes = Buffer.concat([sealed.prefix, sealed.ciphertext, sealed.chainHash]);
    return { sealed, bytes };
  }

  /** `sealed` reached the file: it becomes the last frame and the key ratchets. Returns its index. */
  advance(sealed: SealedFrame): number {
    this.hash = sealed.chainHash;
    this.key = ratchetFrameKey(this.key);
    return this.index++;
  }

  /** Wipes the key: nothing more is sealed. */
  wipe(): void {
    this.key.fill(0);
  }
}
