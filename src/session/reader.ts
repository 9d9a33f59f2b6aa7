// Streaming reader: authenticates and decodes a session file frame by frame, stopping at the first damage.
import { bytesToHex } from "@noble/hashes/utils.js";
import { KeyRing } from "./envelope.js";
import { openFrame } from "./frame.js";
import { checkHeaderMac, type SessionHeader } from "./header.js";
import { deriveFirstFrameKey, deriveHeaderMacKey, ratchetFrameKey } from "./keys.js";
import { BodyBuffer, DEFAULT_FRAME_LIMITS, unpackBody, type FrameLimits } from "./body.js";
import { bodyDecoder, InlineDecoder, WORKER_MIN_FILE_BYTES, WorkerDecoder, type BodyDecoder } from "./body-decoder.js";
import type { OpenedBody } from "./open-body.js";
import type { Worker } from "node:worker_threads";
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
  /**
   * Open frames a few ahead in a worker thread while the caller works on the one before (a file of at
   * least WORKER_MIN_FILE_BYTES). Implies `reuseBuffers`' contract: a frame's bytes are valid only until
   * the next frame is asked for.
   */
  readonly decodeAhead?: boolean;
  /** @internal The least file size for `decodeAhead` (tests: 0); WORKER_MIN_FILE_BYTES by default. */
  readonly decodeAheadMinBytes?: number;
  /** @internal Tests: with `decodeAhead`, the thread opens every frame (the first ones wait for it to load). */
  readonly decodeAheadFromFirstFrame?: boolean;
  /** @internal Tests: starts the decode thread (one that fails), instead of body-decoder.ts's decodeThread. */
  readonly decodeThread?: () => Worker;
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
    private readonly makeDecoder: () => BodyDecoder = () => new InlineDecoder(),
  ) {}

  /** Made when frames() starts (a worker is not started for a file whose metadata frame is bad). */
  private decoderMade: BodyDecoder | undefined;

  /** Frames opened ahead in the decode thread so far (0 when frames are opened in this thread). */
  get framesOpenedAhead(): number {
    return this.decoderMade instanceof WorkerDecoder ? this.decoderMade.openedAhead : 0;
  }

  /** Why the decode thread stopped being used (it failed: frames were opened in this thread since), if it did. */
  get decodeThreadFailure(): string | undefined {
    return this.decoderMade instanceof WorkerDecoder ? this.decoderMade.failed : undefined;
  }

  private get decoder(): BodyDecoder {
    return (this.decoderMade ??= this.makeDecoder());
  }

  get sessionIdHex(): string {
    return bytesToHex(this.header.sessionId);
  }

  /**
   * Yields each authenticated record frame in order. Damage never throws: iteration ends and `verdict`
   * says SEALED, UNSEALED (cut after frame N) or TAMPERED (frame N bad); everything yielded is authentic.
   * Throws only on I/O errors. Closes the file when done. Frames may be opened ahead (`decodeAhead`), but
   * are taken, counted and judged in file order: what is yielded and the verdict do not depend on it.
   */
  async *frames(): AsyncGenerator<SessionFrame> {
    /** Submitted frames in file order, then what ended the file's frames (damage or its end). */
    const queue: Array<
      | {
          readonly index: number;
          readonly final: boolean;
          readonly bytes: number;
          readonly opened: Promise<OpenedBody> | OpenedBody;
        }
      | { readonly end: (framesGood: number) => SessionVerdict }
    > = [];
    let ended = false;
    let aheadBytes = 0;
    try {
      for (;;) {
        while (!ended && this.decoder.wantsMore(queue.length, aheadBytes)) {
          let next: IteratorResult<RawFrame>;
          try {
            next = await this.raw.next();
          } catch (e) {
            if (!(e instanceof SessionDamage)) throw e;
            queue.push({ end: (good) => damageVerdict(e, good) });
            ended = true;
            break;
          }
          if (next.done) {
            queue.push({ end: (good) => sealedVerdict(good, this.scanner) });
            ended = true;
            break;
          }
          const frame = next.value;
          queue.push({
            index: frame.parsed.index,
            final: frame.parsed.final,
            bytes: frame.ciphertext.length,
            opened: this.submit(frame),
          });
          aheadBytes += frame.ciphertext.length;
        }
        const head = queue.shift()!;
        if ("end" in head) {
          this.verdict = head.end(this.framesGood);
          return;
        }
        aheadBytes -= head.bytes;
        const opened = await head.opened;
        const records = this.records(head.index, opened);
        if (!records) return;
        this.framesGood++;
        if (records === SKIPPED) continue;
        if (head.final) {
          const finale = records.length === 1 ? asFinale(records[0]) : undefined;
          if (!finale) {
            this.verdict = {
              status: "TAMPERED",
              framesGood: this.framesGood - 1,
              bad: head.index,
              reason: `frame ${head.index}: final frame does not hold one summary`,
            };
            return;
          }
          this.finale = finale;
          continue;
        }
        yield { index: head.index, records };
      }
    } finally {
      this.key.fill(0);
      await this.decoderMade?.close();
      await this.raw.return(undefined);
      await this.scanner.close();
    }
  }

  /** Starts opening a frame with the current key, and ratchets the key for the next. */
  private submit(frame: RawFrame, decoder: BodyDecoder = this.decoder): Promise<OpenedBody> | OpenedBody {
    const opened = decoder.submit({
      key: this.key,
      prefix: frame.prefix,
      parsed: frame.parsed,
      headerDigest: this.header.digest,
      previousChainHash: frame.previousChainHash,
      ciphertext: frame.ciphertext,
      limits: this.frameLimits,
    });
    this.key = ratchetFrameKey(this.key);
    return opened;
  }

  /**
   * The frame's records; SKIPPED (listed in skippedFrames) for an authentic frame over the frame limits;
   * or sets a TAMPERED verdict and returns undefined.
   */
  private records(index: number, opened: OpenedBody): unknown[] | typeof SKIPPED | undefined {
    switch (opened.kind) {
      case "records":
        try {
          return unpackBody(this.decoder.bytes(opened));
        } catch {
          break;
        }
      case "over-limit":
        this.skippedFrames.push({ index, reason: `frame ${index} ${opened.reason}` });
        return SKIPPED;
      case "auth-failed":
        this.verdict = {
          status: "TAMPERED",
          framesGood: this.framesGood,
          bad: index,
          reason: `frame ${index}: authentication failed`,
        };
        return undefined;
      case "undecodable":
        break;
    }
    // Authentic but undecodable: only a holder of the file key can produce that.
    this.verdict = {
      status: "TAMPERED",
      framesGood: this.framesGood,
      bad: index,
      reason: `frame ${index}: authenticated body does not decode`,
    };
    return undefined;
  }

  /** @internal Reads frame 0; throws SessionDamage when it is missing or bad. */
  async readMetadata(): Promise<void> {
    const first = await this.raw.next();
    if (first.done) throw new Error("scanner ended before frame 0");
    // Frame 0's records are kept (the metadata): opened into a buffer of its own, never a reused one.
    const decoded = this.records(0, this.submit(first.value, new InlineDecoder()) as OpenedBody);
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
    await this.decoderMade?.close();
    await this.raw.return(undefined);
    await this.scanner.close();
  }
}

/** records()' answer for a frame over the limits. */
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
  const reuse = options.reuseBuffers === true || options.decodeAhead === true;
  const scanner = new SessionScanner(fd, sizeBytes, {
    ...(options.requiredSigner ? { requiredSigner: options.requiredSigner } : {}),
    reuseReads: reuse,
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
    const reader = new SessionReader(header, key, scanner, scanner.frames(), options.frameLimits, () =>
      bodyDecoder(
        options.decodeAhead === true && sizeBytes >= (options.decodeAheadMinBytes ?? WORKER_MIN_FILE_BYTES),
        reuse ? new BodyBuffer() : undefined,
        options.decodeAheadFromFirstFrame === true,
        options.decodeThread,
      ),
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
