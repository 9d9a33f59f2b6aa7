// Writes a sealed session file: metadata frame, record frames flushed by size or time, final frame, trailer.
import { closeSync, fdatasync, fsyncSync, ftruncateSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { bytesToHex } from "@noble/hashes/utils.js";
import { UserError } from "../errors.js";
import { sealFileKey } from "./envelope.js";
import {
  AEAD_TAG_BYTES,
  CHAIN_HASH_BYTES,
  ED25519_SIGNATURE_BYTES,
  FILE_KEY_BYTES,
  FRAME_PREFIX_BYTES,
  SESSION_ID_BYTES,
  TRAILER_BYTES,
} from "./format.js";
import type { SealedFrame } from "./frame.js";
import { FrameChain } from "./chain.js";
import { encodeHeader, parseHeader } from "./header.js";
import { deriveFirstFrameKey, deriveHeaderMacKey } from "./keys.js";
import { compressBody, encodeRecord } from "./body.js";
import { PendingRecords } from "./pending.js";
import { parseSigningKeyFile, signChain, type SigningKey } from "./signing.js";
import { encodeTrailer } from "./trailer.js";
import { DEFAULT_RESERVE_BYTES, SessionFiles, type Restored } from "./partial.js";

const fdatasyncAsync = promisify(fdatasync);

export interface SessionWriterOptions {
  /** age recipients (`age1…`); the file key is sealed to every one of them. */
  readonly recipients: readonly string[];
  /** Signs the final chain hash: a parsed key or the text of a `sealtrace keygen --signing` file. */
  readonly signingKey?: SigningKey | string;
  /** Longest time a record waits in memory before its frame is written and fdatasync'ed. */
  readonly flushIntervalMs?: number;
  /** A frame is written as soon as this many msgpack bytes are pending. */
  readonly flushBytes?: number;
  /** Stored alone in frame 0: host, boot id, kernel, tool version, runbook, schema… */
  readonly metadata: unknown;
  /** Called after every frame reaches the file, so an operator can anchor the chain off the host. */
  readonly onCheckpoint?: (frameIndex: number, chainHashHex: string) => void;
  /** Space kept aside (`PATH.reserve`) so a full disk still leaves room to seal; 0 disables it. */
  readonly reserveBytes?: number;
  /** The partial and reserve files, claimed beforehand (SessionFiles.claim); the writer owns them from now on. */
  readonly files?: SessionFiles;
  /**
   * Called when another process deleted the partial file: `restored` says where the session now
   * continues, or `error` why it could not be restored yet (the writer keeps writing through the open
   * descriptor and tries again at the next tick and when sealing).
   */
  readonly onPartialDeleted?: (event: PartialDeleted) => void;
}

export interface PartialDeleted {
  /** The name that was deleted. */
  readonly deletedPath: string;
  readonly restored?: Restored;
  readonly error?: string;
  /** False once the writer is sealing: the event can no longer go into the session, only to the operator. */
  readonly recordable: boolean;
}

export interface SessionCloseResult {
  readonly path: string;
  readonly sessionIdHex: string;
  readonly frames: number;
  readonly records: number;
  readonly finalChainHashHex: string;
  readonly bytes: number;
}

/** The one value in the final frame. */
export interface SessionFinale {
  readonly summary: unknown;
  readonly writer: { readonly records: number; readonly droppedRecords: number; readonly diskFull: boolean };
}

const DEFAULT_FLUSH_BYTES = 1024 * 1024;
/** A frame's bytes beyond its compressed body. */
const FRAME_OVERHEAD_BYTES = FRAME_PREFIX_BYTES + AEAD_TAG_BYTES + CHAIN_HASH_BYTES;
/**
 * Free space a record frame must leave for the final frame (the summary: well under 4 KiB compressed)
 * and the trailer, with a few filesystem blocks of slack for allocation rounding.
 */
const SEAL_MARGIN_BYTES = 16 * 1024 + TRAILER_BYTES;
/** How many appends pass between clock reads; reading the clock on every append costs measurable time. */
const APPENDS_PER_CLOCK_CHECK = 256;

type WriterState = "open" | "closed" | "failed";

export class SessionWriter {
  private state: WriterState = "open";
  private failure: Error | undefined;
  private readonly chain: FrameChain;
  private offsetBytes: number;
  private readonly pending: PendingRecords;
  private appendsSinceClock = 0;
  private recordsWritten = 0;
  private syncing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly flushAgeMs: number;
  /** A deletion already reported and not yet repaired (reported once, retried every tick). */
  private unrepairedDeletion = false;

  private constructor(
    readonly path: string,
    private readonly files: SessionFiles,
    private readonly sessionId: Uint8Array,
    headerDigest: Uint8Array,
    firstKey: Uint8Array,
    headerBytes: number,
    private readonly signing: SigningKey | undefined,
    flushIntervalMs: number,
    private readonly flushBytes: number,
    private readonly onCheckpoint: ((frameIndex: number, chainHashHex: string) => void) | undefined,
    private readonly onPartialDeleted: ((event: PartialDeleted) => void) | undefined,
  ) {
    this.chain = new FrameChain(firstKey, headerDigest);
    this.offsetBytes = headerBytes;
    this.pending = new PendingRecords(flushBytes + 64 * 1024);
    // Checking every quarter interval and flushing records older than three quarters bounds a record's
    // wait in memory by flushIntervalMs, so a kill -9 loses at most that much.
    this.flushAgeMs = flushIntervalMs * 0.75;
    this.timer = setInterval(() => this.onTimer(), Math.max(1, Math.floor(flushIntervalMs / 4)));
    this.timer.unref();
  }

  /**
   * Creates `path + ".partial"` and `path + ".reserve"` (mode 0600, never following or replacing
   * anything; see SessionFiles.claim) unless `options.files` brings them, writes the header and the
   * metadata frame, and fdatasyncs. Throws UserError(bad-input) if something is at one of those names, a
   * recipient is malformed or the directory is not writable; UserError(disk-full) if even the header
   * does not fit. The files are removed when it throws.
   */
  static async create(path: string, options: SessionWriterOptions): Promise<SessionWriter> {
    const flushIntervalMs = options.flushIntervalMs ?? 1000;
    const flushBytes = options.flushBytes ?? DEFAULT_FLUSH_BYTES;
    if (!(flushIntervalMs > 0) || !(flushBytes > 0)) {
      options.files?.discard();
      throw new UserError("flush interval and flush size must be positive", "bad-input");
    }
    const files = options.files ?? SessionFiles.claim(path, options.reserveBytes ?? DEFAULT_RESERVE_BYTES);
    let writer: SessionWriter;
    try {
      const signing =
        typeof options.signingKey === "string" ? parseSigningKeyFile(options.signingKey) : options.signingKey;
      const fileKey = randomBytes(FILE_KEY_BYTES);
      const envelope = await sealFileKey(fileKey, options.recipients);
      const sessionId = randomBytes(SESSION_ID_BYTES);
      const macKey = deriveHeaderMacKey(fileKey);
      const headerBytes = encodeHeader(
        { sessionId, createdUnixMs: BigInt(Date.now()), signerPublicKey: signing?.publicKey ?? null, envelope },
        macKey,
      );
      macKey.fill(0);
      const header = parseHeader(headerBytes);
      const firstKey = deriveFirstFrameKey(fileKey, header.digest);
      fileKey.fill(0);
      try {
        writeAll(files.partialFd, headerBytes, 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
        ftruncateSync(files.partialFd, 0);
        if (!files.releaseReserve())
          throw new UserError(`disk full: no room to start ${files.partialPath}`, "disk-full");
        writeAll(files.partialFd, headerBytes, 0);
      }
      writer = new SessionWriter(
        path,
        files,
        sessionId,
        header.digest,
        firstKey,
        headerBytes.length,
        signing,
        flushIntervalMs,
        flushBytes,
        options.onCheckpoint,
        options.onPartialDeleted,
      );
    } catch (e) {
      files.discard();
      if ((e as NodeJS.ErrnoException).code === "ENOSPC")
        throw new UserError(`disk full: no room to start ${files.partialPath}`, "disk-full");
      throw e;
    }
    writer.append(options.metadata);
    await writer.flush();
    return writer;
  }

  get sessionIdHex(): string {
    return bytesToHex(this.sessionId);
  }

  /** Bytes of the session on disk so far: the header and every whole frame. */
  get bytes(): number {
    return this.offsetBytes;
  }

  /** Frames written so far (metadata frame included). */
  get frames(): number {
    return this.chain.frames;
  }

  /** Records in frames already written (not counting the metadata record). */
  get records(): number {
    return Math.max(0, this.recordsWritten - 1);
  }

  /**
   * Buffers one msgpack-able record (objects, arrays, strings, numbers, bigint, Uint8Array…); cheap and
   * synchronous, it writes a frame only when the buffer passes flushBytes or the interval elapsed.
   * Throws the writer's failure (UserError(disk-full) after a full disk) once the writer has failed.
   */
  append(record: unknown): void {
    if (this.state !== "open") throw this.failure ?? new Error("SessionWriter.append after close");
    this.pending.push(encodeRecord(record));
    if (this.pending.byteLength >= this.flushBytes) {
      this.writePendingFrame();
    } else if (++this.appendsSinceClock >= APPENDS_PER_CLOCK_CHECK) {
      this.appendsSinceClock = 0;
      if (performance.now() - this.pending.oldestMs >= this.flushAgeMs) this.writePendingFrame();
    }
  }

  /** Writes pending records as a frame and waits for fdatasync. Rejects with the writer's failure. */
  async flush(): Promise<void> {
    if (this.state === "failed") throw this.failure;
    if (this.state === "open") this.writePendingFrame();
    await this.syncing;
    if (this.failure) throw this.failure;
  }

  /**
   * Writes the pending records, the final frame holding `summary`, and the trailer; fsyncs and renames
   * `PATH.partial` to `PATH`. Rejects with UserError(disk-full) if the disk filled (what fit is sealed).
   */
  async close(summary: unknown): Promise<SessionCloseResult> {
    if (this.state !== "open") throw this.failure ?? new Error("SessionWriter.close called twice");
    clearInterval(this.timer);
    this.checkPartial();
    this.writePendingFrame(summary);
    await this.syncing;
    if (this.failure) throw this.failure;
    this.seal(summary, 0, false);
    if (this.failure) throw this.failure;
    return this.result();
  }

  private result(): SessionCloseResult {
    return {
      path: this.path,
      sessionIdHex: this.sessionIdHex,
      frames: this.chain.frames,
      records: this.records,
      finalChainHashHex: bytesToHex(this.chain.chainHash),
      bytes: this.offsetBytes,
    };
  }

  private onTimer(): void {
    if (this.state !== "open") return;
    try {
      this.checkPartial();
    } catch {
      // An unexpected error restoring the partial: writing goes on through the open descriptor, and
      // sealing tries again.
    }
    if (this.pending.count === 0) return;
    if (performance.now() - this.pending.oldestMs < this.flushAgeMs) return;
    try {
      this.writePendingFrame();
    } catch {
      // The failure is kept in this.failure and thrown by the next append, flush or close.
    }
  }

  /** Whether a frame with a `bodyBytes` compressed body leaves room to seal after it. */
  private fits(bodyBytes: number): boolean {
    return this.files.freeBytes() >= bodyBytes + FRAME_OVERHEAD_BYTES + SEAL_MARGIN_BYTES;
  }

  /**
   * The most pending records, from the first, whose frame fits (binary search over record boundaries);
   * 0 records when not even the first fits.
   */
  private largestFittingPrefix(): { records: number; body: Uint8Array | undefined } {
    let lo = 0;
    let hi = this.pending.count - 1;
    let best: { records: number; body: Uint8Array | undefined } = { records: 0, body: undefined };
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const body = compressBody(this.pending.prefix(mid));
      if (this.fits(body.length)) {
        best.body?.fill(0);
        best = { records: mid, body };
        lo = mid;
      } else {
        body.fill(0);
        hi = mid - 1;
      }
    }
    return best;
  }

  private writePendingFrame(summaryIfDiskFull: unknown = { endReason: "disk-full" }): void {
    if (this.pending.count === 0) return;
    let records = this.pending.count;
    let body: Uint8Array | undefined = compressBody(this.pending.prefix(records));
    // Sized before sealing, so a frame index is sealed once: on a nearly full disk the reserve goes
    // first, then only the records that fit are sealed, and the session is sealed after them.
    let cut = 0;
    if (!this.fits(body.length) && !(this.releaseReserve() && this.fits(body.length))) {
      body.fill(0);
      ({ records, body } = this.largestFittingPrefix());
      cut = this.pending.count - records;
    }
    const written = body ? this.chain.seal(body, false) : undefined;
    this.pending.clear();
    this.appendsSinceClock = 0;
    if (written && this.tryWrite(written.bytes)) {
      this.commit(written.sealed, written.bytes.length, records, false);
      if (cut === 0) return;
      this.seal(summaryIfDiskFull, cut, true);
      throw this.failure;
    }
    // The disk filled all the same: free the reserve, retry the identical bytes (same key, nonce and
    // plaintext, so no nonce reuse), then seal with a disk-full summary whether or not the records made it.
    let dropped = cut + records;
    if (written && this.releaseReserve() && this.tryWrite(written.bytes)) {
      this.commit(written.sealed, written.bytes.length, records, false);
      dropped = cut;
    }
    this.seal(summaryIfDiskFull, dropped, true);
    throw this.failure;
  }

  /** Writes the final frame and trailer, fsyncs, names the file PATH. Sets this.failure on a full disk. */
  private seal(summary: unknown, droppedRecords: number, diskFull: boolean): void {
    clearInterval(this.timer);
    // A partial deleted since the last tick is restored before its end is written (too late to record it).
    this.checkPartial(false);
    const finale: SessionFinale = { summary, writer: { records: this.records, droppedRecords, diskFull } };
    const { sealed, bytes } = this.chain.seal(compressBody(encodeRecord(finale)), true);
    let ok = this.tryWrite(bytes);
    if (!ok && this.releaseReserve()) ok = this.tryWrite(bytes);
    if (ok) this.commit(sealed, bytes.length, 0, true);
    const signature = this.signing
      ? signChain(this.signing.seed, this.sessionId, this.chain.chainHash, this.chain.frames)
      : new Uint8Array(ED25519_SIGNATURE_BYTES);
    const trailer = encodeTrailer({ frameCount: this.chain.frames, finalChainHash: this.chain.chainHash, signature });
    ok = ok && (this.tryWrite(trailer) || (this.releaseReserve() && this.tryWrite(trailer)));
    if (ok) this.offsetBytes += trailer.length;
    this.chain.wipe();
    let notNamed: UserError | undefined;
    try {
      fsyncSync(this.files.partialFd);
      if (ok) this.files.publish(this.offsetBytes);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      notNamed = e;
    } finally {
      this.files.close();
    }
    if (ok && !diskFull && !notNamed) {
      this.state = "closed";
      return;
    }
    this.state = "failed";
    const partial = this.files.partialPath;
    this.failure =
      notNamed ??
      (ok
        ? new UserError(
            `disk full: sealed ${this.chain.frames} frames (${this.records} records) into ${this.path}; ${droppedRecords} records were lost`,
            "disk-full",
          )
        : new UserError(
            `disk full: could not seal; ${partial} keeps ${this.chain.frames} whole frames (verify calls it UNSEALED)`,
            "disk-full",
          ));
  }

  /**
   * Notices a partial file deleted by another process (no link left to the open descriptor) and
   * copies it back to a name, so the session is never lost. Tells onPartialDeleted once per deletion;
   * `recordable` says whether records may still be appended (not once sealing started).
   */
  private checkPartial(recordable = true): void {
    if (!this.files.isUnlinked()) return;
    const deletedPath = this.files.partialPath;
    let event: PartialDeleted;
    try {
      const { restored, oldFd } = this.files.restore(this.offsetBytes);
      // Syncs already queued finish on the old descriptor before it closes.
      this.syncing = this.syncing.then(() => {
        try {
          closeSync(oldFd);
        } catch {
          // Nothing is lost: every byte was copied to the new file.
        }
      });
      event = { deletedPath, restored, recordable };
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      if (this.unrepairedDeletion) return;
      event = { deletedPath, error: e.message, recordable };
    }
    this.unrepairedDeletion = event.restored === undefined;
    this.onPartialDeleted?.(event);
  }

  private commit(sealed: SealedFrame, sizeBytes: number, records: number, final: boolean): void {
    const frameIndex = this.chain.advance(sealed);
    this.offsetBytes += sizeBytes;
    this.recordsWritten += records;
    // The final frame is followed by the trailer and one fsync covering both.
    if (!final) this.scheduleDatasync();
    this.onCheckpoint?.(frameIndex, bytesToHex(sealed.chainHash));
  }

  private scheduleDatasync(): void {
    this.syncing = this.syncing.then(async () => {
      if (this.state !== "open") return;
      try {
        await fdatasyncAsync(this.files.partialFd);
      } catch (e) {
        if (this.state !== "open") return;
        const code = (e as NodeJS.ErrnoException).code;
        this.failure = new UserError(
          `cannot sync ${this.files.partialPath}: ${code ?? (e as Error).message}`,
          code === "ENOSPC" ? "disk-full" : "io-failed",
        );
      }
    });
  }

  /** Writes at the end of the last whole frame; on ENOSPC truncates back to it and returns false. */
  private tryWrite(bytes: Uint8Array): boolean {
    try {
      writeAll(this.files.partialFd, bytes, this.offsetBytes);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
      ftruncateSync(this.files.partialFd, this.offsetBytes);
      return false;
    }
  }

  /** Frees the reserve's space; returns whether there was any to free. */
  private releaseReserve(): boolean {
    return this.files.releaseReserve();
  }
}

function writeAll(fd: number, bytes: Uint8Array, positionBytes: number): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, positionBytes + done);
}
