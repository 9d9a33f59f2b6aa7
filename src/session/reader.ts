// Streaming reader: authenticates and decodes a session file frame by frame, stopping at the first damage.
import { bytesToHex } from "@noble/hashes/utils.js";
import { KeyRing } from "./envelope.js";
import { openFrame } from "./frame.js";
import { checkHeaderMac, type SessionHeader } from "./header.js";
import { deriveFirstFrameKey, deriveHeaderMacKey, ratchetFrameKey } from "./keys.js";
import { BodyBuffer, decodeBody, DEFAULT_FRAME_LIMITS, FrameOverLimit, type FrameLimits } from "./body.js";
import { openForScan, SessionScanner, type RawFrame } from "./scan.js";
import type { SessionFinale } from "./writer.js";
import { damageError, damageVerdict, SessionDamage, type SessionVerdict } from "./verdict.js";

export interface OpenSessionOptions {
  /** age identities (`AGE-SECRET-KEY-1…` strings, e.g. from readIdentityFile), or a KeyRing reused across files. */
  readonly identities: readonly string[] | KeyRing;
  /** Require the trailer signature to be by this Ed25519 public key. */
  readonly requiredSigner?: Uint8Array;
  /** What one frame may decode to; an authentic frame over it is skipped and listed in `skippedFrames`. */
  readonly frameLimits?: FrameLimits;
  /**
   * Decode every frame into one reused buffer: the byte arrays in a frame's records are then valid only
   * until the next frame is asked for (replay's load reads each frame whole first). Frame 0 is never reused.
   */
  readonly reuseBuffers?: boolean;
}

/** An authenticated frame that was not decoded because it is over the frame limits. */
export interface SkippedFrame {
  readonly index: number;
  readonly reason: string;
}

/** One authenticated frame of records (frames 1..n-2; frame 0 is `metadata`, the final frame `finale`). */
export interface SessionFrame {
  readonly index: number;
  readonly records: unknown[];
}

export class SessionReader {
  /** The final frame's content, once read; undefined for a file cut short. */
  finale: SessionFinale | undefined;
  /** Set when frames() has finished: SEALED, or where and why reading stopped. */
  verdict: SessionVerdict | undefined;
  /** Frame 0's one record, as given to SessionWriter.create. */
  metadata: unknown;
  /** Authentic frames left undecoded because they are over the frame limits, in file order. */
  readonly skippedFrames: SkippedFrame[] = [];
  private framesGood = 0;

  /** @internal use openSession */
  constructor(
    readonly header: SessionHeader,
    private key: Uint8Array,
    private readonly scanner: SessionScanner,
    private readonly raw: AsyncGenerator<RawFrame>,
    private readonly frameLimits: FrameLimits = DEFAULT_FRAME_LIMITS,
    private readonly into?: BodyBuffer,
  ) {}

  get sessionIdHex(): string {
    return bytesToHex(this.header.sessionId);
  }

  /**
   * Yields each authenticated record frame in order. Damage never throws: iteration ends and `verdict`
   * says SEALED, UNSEALED (cut after frame N) or TAMPERED (frame N bad); everything yielded is authentic.
   * Throws only on I/O errors. Closes the file when done.
   */
  async *frames(): AsyncGenerator<SessionFrame> {
    try {
      for (;;) {
        let next: IteratorResult<RawFrame>;
        try {
          next = await this.raw.next();
        } catch (e) {
          if (e instanceof SessionDamage) {
            this.verdict = damageVerdict(e, this.framesGood);
            return;
          }
          throw e;
        }
        if (next.done) {
          this.verdict = sealedVerdict(this.framesGood, this.scanner);
          return;
        }
        const frame = next.value;
        const records = this.decrypt(frame, this.into);
        if (!records) return;
        this.framesGood++;
        if (records === SKIPPED) continue;
        if (frame.parsed.final) {
          const finale = records.length === 1 ? asFinale(records[0]) : undefined;
          if (!finale) {
            this.verdict = {
              status: "TAMPERED",
              framesGood: this.framesGood - 1,
              bad: frame.parsed.index,
              reason: `frame ${frame.parsed.index}: final frame does not hold one summary`,
            };
            return;
          }
          this.finale = finale;
          continue;
        }
        yield { index: frame.parsed.index, records };
      }
    } finally {
      this.key.fill(0);
      this.into?.clear();
      await this.raw.return(undefined);
      await this.scanner.close();
    }
  }

  /**
   * Returns the frame's records; SKIPPED (listed in skippedFrames) for an authentic frame over the frame
   * limits; or sets a TAMPERED verdict and returns undefined.
   */
  private decrypt(frame: RawFrame, into?: BodyBuffer): unknown[] | typeof SKIPPED | undefined {
    const index = frame.parsed.index;
    const body = openFrame(
      this.key,
      frame.prefix,
      frame.parsed,
      this.header.digest,
      frame.previousChainHash,
      frame.ciphertext,
    );
    this.key = ratchetFrameKey(this.key);
    if (!body) {
      this.verdict = {
        status: "TAMPERED",
        framesGood: this.framesGood,
        bad: index,
        reason: `frame ${index}: authentication failed`,
      };
      return undefined;
    }
    try {
      return decodeBody(body, this.frameLimits, into);
    } catch (e) {
      if (e instanceof FrameOverLimit) {
        this.skippedFrames.push({ index, reason: `frame ${index} ${e.message}` });
        return SKIPPED;
      }
      // Authentic but undecodable: only a holder of the file key can produce that.
      this.verdict = {
        status: "TAMPERED",
        framesGood: this.framesGood,
        bad: index,
        reason: `frame ${index}: authenticated body does not decode`,
      };
      return undefined;
    } finally {
      body.fill(0);
    }
  }

  /** @internal Reads frame 0; throws SessionDamage when it is missing or bad. */
  async readMetadata(): Promise<void> {
    const first = await this.raw.next();
    if (first.done) throw new Error("scanner ended before frame 0");
    const decoded = this.decrypt(first.value);
    if (decoded === SKIPPED)
      throw new SessionDamage(
        "TAMPERED",
        `frame 0 (metadata) ${this.skippedFrames[0]?.reason.replace(/^frame 0 /, "") ?? "is over the frame limits"}`,
        0,
      );
    if (!decoded) throw new SessionDamage("TAMPERED", this.verdict?.reason ?? "frame 0 is bad", 0);
    if (decoded.length !== 1)
      throw new SessionDamage("TAMPERED", "frame 0 does not hold exactly one metadata record", 0);
    this.metadata = decoded[0];
    this.framesGood = 1;
  }

  /** Stops early and releases the file. */
  async close(): Promise<void> {
    this.key.fill(0);
    this.into?.clear();
    await this.raw.return(undefined);
    await this.scanner.close();
  }
}

/** decrypt()'s answer for a frame over the limits. */
const SKIPPED = Symbol("skipped");

function sealedVerdict(framesGood: number, scanner: SessionScanner): SessionVerdict {
  const signature = scanner.signatureStatus === "valid" ? ", signature valid" : ", unsigned";
  return { status: "SEALED", framesGood, reason: `${framesGood} frames, all authenticated${signature}` };
}

function asFinale(value: unknown): SessionFinale | undefined {
  if (typeof value !== "object" || value === null || !("summary" in value) || !("writer" in value)) return undefined;
  return value as SessionFinale;
}

/**
 * Opens a session: checks the header, finds the file key with `identities`, and reads the metadata frame.
 * Throws UserError: wrong-key (no matching identity), not-a-session, tampered or unsealed when the header or
 * metadata frame is unreadable, bad-input when the file cannot be opened.
 */
export async function openSession(path: string, options: OpenSessionOptions): Promise<SessionReader> {
  const { fd, sizeBytes } = await openForScan(path);
  const scanner = new SessionScanner(fd, sizeBytes, {
    ...(options.requiredSigner ? { requiredSigner: options.requiredSigner } : {}),
    reuseReads: options.reuseBuffers === true,
  });
  try {
    const header = await scanner.readHeader();
    const ring = options.identities instanceof KeyRing ? options.identities : new KeyRing(options.identities);
    const fileKey = await ring.openFileKey(header.envelope);
    if (!fileKey) throw new SessionDamage("TAMPERED", "key envelope opens but does not hold a file key", "header");
    const macKey = deriveHeaderMacKey(fileKey);
    const macOk = checkHeaderMac(header, macKey);
    macKey.fill(0);
    if (!macOk) {
      fileKey.fill(0);
      throw new SessionDamage("TAMPERED", "header MAC does not verify", "header");
    }
    const key = deriveFirstFrameKey(fileKey, header.digest);
    fileKey.fill(0);
    const reader = new SessionReader(
      header,
      key,
      scanner,
      scanner.frames(),
      options.frameLimits,
      options.reuseBuffers ? new BodyBuffer() : undefined,
    );
    // Frame 0 holds only the metadata; reading it here makes `metadata` available before iteration.
    await reader.readMetadata();
    return reader;
  } catch (e) {
    await scanner.close();
    if (e instanceof SessionDamage) throw damageError(path, e);
    throw e;
  }
}

/** The whole session in memory (tests, small files): metadata, records, finale and verdict. Throws like openSession. */
export async function readSession(
  path: string,
  options: OpenSessionOptions,
): Promise<{
  metadata: unknown;
  records: unknown[];
  finale: SessionFinale | undefined;
  verdict: SessionVerdict;
  sessionIdHex: string;
}> {
  const reader = await openSession(path, options);
  const records: unknown[] = [];
  for await (const frame of reader.frames()) records.push(...frame.records);
  if (!reader.verdict) throw new Error("reader finished without a verdict");
  return {
    metadata: reader.metadata,
    records,
    finale: reader.finale,
    verdict: reader.verdict,
    sessionIdHex: reader.sessionIdHex,
  };
}
