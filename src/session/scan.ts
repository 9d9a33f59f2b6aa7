// Keyless walk over a session file: header, frames and trailer checked for structure and chain, no decryption.
import { closeSync, constants, fstatSync, openSync, read, readSync, statSync } from "node:fs";
import { UserError } from "../errors.js";
import { AEAD_TAG_BYTES, CHAIN_HASH_BYTES, FRAME_PREFIX_BYTES, TRAILER_BYTES, TRAILER_MAGIC } from "./format.js";
import { parseFramePrefix, chainStep, type FramePrefix } from "./frame.js";
import { equalBytes, HEADER_PREAMBLE_BYTES, parseHeader, parseHeaderPreamble, type SessionHeader } from "./header.js";
import { checkChainSignature, encodeSignerPublicKey } from "./signing.js";
import { parseTrailer, type Trailer } from "./trailer.js";
import { SessionDamage } from "./verdict.js";

/** A frame whose prefix and chain hash checked out; its ciphertext is not yet authenticated. */
export interface RawFrame {
  readonly prefix: Uint8Array;
  readonly parsed: FramePrefix;
  readonly ciphertext: Uint8Array;
  readonly previousChainHash: Uint8Array;
  readonly chainHash: Uint8Array;
}

export interface ScanOptions {
  /** Require the trailer to be signed by exactly this Ed25519 key (`verify --signer`). */
  readonly requiredSigner?: Uint8Array;
  /**
   * Read every frame into one reused buffer: a RawFrame's ciphertext is then valid only until the next
   * frame is asked for. A fresh buffer per frame (~1 MiB of new pages each) cost more than the read itself.
   */
  readonly reuseReads?: boolean;
}

/** Frames up to this size are read into the scanner's one buffer; a larger one gets its own, not kept. */
const REUSED_READ_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Synchronous on purpose: a thread-pool round trip per frame cost more than the read itself, and a frame
 * from the page cache takes well under a millisecond.
 */
function readAt(fd: number, position: number, length: number, out: Uint8Array = new Uint8Array(length)): Uint8Array {
  let filled = 0;
  while (filled < length) {
    const bytesRead = readSync(fd, out, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? out : out.subarray(0, filled);
}

/** readAt's work on the thread pool: the bytes read into `out` (fewer at the end of the file). */
function readAtAsync(fd: number, position: number, out: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    let filled = 0;
    const more = (): void =>
      read(fd, out, filled, out.length - filled, position + filled, (e, bytesRead) => {
        if (e) return reject(e);
        filled += bytesRead;
        if (bytesRead === 0 || filled === out.length) resolve(filled);
        else more();
      });
    more();
  });
}

/**
 * Opens a file for scanning. Throws UserError(bad-input) if it cannot be opened or is not a regular file.
 * A FIFO, device or directory is refused by `stat` before any open, and the open itself is non-blocking,
 * so a path swapped for a FIFO in between cannot make the open wait for a writer forever.
 */
export async function openForScan(path: string): Promise<{ fd: number; sizeBytes: number }> {
  let fd: number;
  try {
    if (!statSync(path).isFile())
      throw new UserError(`${path} is not a regular file (${kindOf(path)}); give a session file`, "bad-input");
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(
      `cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      "bad-input",
    );
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new UserError(`${path} is not a regular file; give a session file`, "bad-input");
  }
  return { fd, sizeBytes: st.size };
}

function kindOf(path: string): string {
  const st = statSync(path);
  return st.isFIFO()
    ? "a FIFO"
    : st.isDirectory()
      ? "a directory"
      : st.isCharacterDevice() || st.isBlockDevice()
        ? "a device"
        : st.isSocket()
          ? "a socket"
          : "not a file";
}

/**
 * Walks one session file front to back. `readHeader()` first, then `frames()`; both throw SessionDamage
 * at the first problem, so everything yielded before that is a consistent prefix of the file.
 * Memory is bounded by one frame.
 */
export class SessionScanner {
  private header: SessionHeader | undefined;
  private position = 0;
  /** Set once the trailer checked out. */
  trailer: Trailer | undefined;
  /** Frames whose chain hash checked out so far. */
  framesChained = 0;
  /** The last chain hash that checked out (the header digest before frame 0). */
  lastChainHash: Uint8Array | undefined;
  signatureStatus: "unsigned" | "valid" | "invalid" | "not checked" = "not checked";
  private closed = false;
  /**
   * With `reuseReads`: the two buffers frames are read into, in turn, and the read of the next frame,
   * started on the thread pool as this one is yielded (its caller works on it meanwhile).
   */
  private readonly readBuffers: Array<Uint8Array | undefined> = [undefined, undefined];
  private turn = 0;
  private ahead: { position: number; length: number; read: Promise<number | Error> } | undefined;

  constructor(
    private readonly fd: number,
    private readonly sizeBytes: number,
    private readonly options: ScanOptions = {},
  ) {}

  async readHeader(): Promise<SessionHeader> {
    const preamble = readAt(this.fd, 0, HEADER_PREAMBLE_BYTES);
    const total = parseHeaderPreamble(preamble);
    const header = parseHeader(readAt(this.fd, 0, total));
    this.header = header;
    this.position = total;
    this.lastChainHash = header.digest;
    return header;
  }

  async *frames(): AsyncGenerator<RawFrame> {
    const header = this.header;
    if (!header) throw new Error("readHeader() first");
    let previous = header.digest;
    let prefix = readAt(this.fd, this.position, FRAME_PREFIX_BYTES);
    for (let index = 0; ; index++) {
      if (prefix.length === 0) throw new SessionDamage("UNSEALED", cutMessage(index, "after"));
      if (prefix.length < FRAME_PREFIX_BYTES) throw new SessionDamage("UNSEALED", cutMessage(index, "inside"));
      const parsed = parseFramePrefix(prefix, index);
      if (index === 0 && parsed.final) throw new SessionDamage("TAMPERED", "frame 0 (metadata) is marked final", 0);
      // One read takes this frame's ciphertext and chain hash plus the next frame's prefix.
      const bodyBytes = parsed.ciphertextBytes + CHAIN_HASH_BYTES;
      const chunk = await this.readChunk(this.position + FRAME_PREFIX_BYTES, bodyBytes + FRAME_PREFIX_BYTES);
      if (chunk.length < bodyBytes) throw new SessionDamage("UNSEALED", cutMessage(index, "inside"));
      const ciphertext = chunk.subarray(0, parsed.ciphertextBytes);
      const stored = chunk.subarray(parsed.ciphertextBytes, bodyBytes);
      const chainHash = chainStep(previous, prefix, ciphertext);
      if (!equalBytes(chainHash, stored))
        throw new SessionDamage("TAMPERED", `frame ${index}: chain hash does not match its bytes`, index);
      const frame: RawFrame = { prefix, parsed, ciphertext, previousChainHash: previous, chainHash };
      this.position += FRAME_PREFIX_BYTES + bodyBytes;
      this.framesChained = index + 1;
      this.lastChainHash = chainHash;
      previous = chainHash;
      prefix = chunk.slice(bodyBytes); // a copy: with reuseReads, the next read overwrites `chunk`
      if (!parsed.final) this.readAhead(prefix);
      yield frame;
      if (parsed.final) {
        await this.checkTrailer(header, index + 1, chainHash);
        return;
      }
    }
  }

  /**
   * A frame's ciphertext, chain hash and the next prefix: `length` bytes at `position` (fewer at the end of
   * the file). The read started ahead when it is this one, else a read now.
   */
  private async readChunk(position: number, length: number): Promise<Uint8Array> {
    const ahead = this.ahead;
    this.ahead = undefined;
    if (ahead) {
      const bytes = await ahead.read;
      this.turn ^= 1; // the buffer it read into is now the current frame's
      // Not this frame's (a prefix that then failed its checks) or it failed: read again below, in the
      // current buffer, so an I/O error is thrown where a read without read-ahead throws it.
      if (ahead.position === position && ahead.length === length && typeof bytes === "number")
        return this.readBuffers[this.turn]!.subarray(0, bytes);
    }
    return readAt(this.fd, position, length, this.frameBuffer(length, this.turn));
  }

  /**
   * With `reuseReads`, starts reading the frame `prefix` announces into the buffer not in use: the frame
   * just read stays valid until the caller asks for the next, and then this read is what it gets. The
   * prefix is not checked yet (readChunk does the reading again if it was not what the frame needed).
   */
  private readAhead(prefix: Uint8Array): void {
    if (!this.options.reuseReads || prefix.length < FRAME_PREFIX_BYTES) return;
    const ciphertextBytes = new DataView(prefix.buffer, prefix.byteOffset, 4).getUint32(0, true);
    const length = ciphertextBytes + CHAIN_HASH_BYTES + FRAME_PREFIX_BYTES;
    const position = this.position + FRAME_PREFIX_BYTES;
    if (ciphertextBytes < AEAD_TAG_BYTES || length > REUSED_READ_MAX_BYTES || position >= this.sizeBytes) return;
    const out = this.frameBuffer(length, this.turn ^ 1);
    this.ahead = {
      position,
      length,
      read: readAtAsync(this.fd, position, out).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))),
    };
  }

  /** Where a frame is read: kept buffer `which` with `reuseReads` (grown as needed), else a new one. */
  private frameBuffer(length: number, which: number): Uint8Array {
    if (!this.options.reuseReads || length > REUSED_READ_MAX_BYTES) return new Uint8Array(length);
    const kept = this.readBuffers[which];
    if (kept !== undefined && kept.length >= length) return kept.subarray(0, length);
    const grown = new Uint8Array(Math.max(length, 2 * 1024 * 1024));
    this.readBuffers[which] = grown;
    return grown.subarray(0, length);
  }

  private async checkTrailer(header: SessionHeader, frameCount: number, finalChainHash: Uint8Array): Promise<void> {
    const remaining = this.sizeBytes - this.position;
    const bytes = readAt(this.fd, this.position, Math.min(remaining, TRAILER_BYTES));
    if (bytes.length < TRAILER_BYTES) {
      const magicSeen = Math.min(bytes.length, TRAILER_MAGIC.length);
      for (let i = 0; i < magicSeen; i++) {
        if (bytes[i] !== TRAILER_MAGIC[i])
          throw new SessionDamage("TAMPERED", "bytes after the final frame are not a trailer", "trailer");
      }
      throw new SessionDamage(
        "UNSEALED",
        `all ${frameCount} frames present but the trailer is cut (${bytes.length} of ${TRAILER_BYTES} bytes)`,
      );
    }
    const trailer = parseTrailer(bytes);
    if (trailer.frameCount !== frameCount)
      throw new SessionDamage(
        "TAMPERED",
        `trailer counts ${trailer.frameCount} frames, file has ${frameCount}`,
        "trailer",
      );
    if (!equalBytes(trailer.finalChainHash, finalChainHash))
      throw new SessionDamage("TAMPERED", "trailer chain hash does not match the frames", "trailer");
    if (remaining > TRAILER_BYTES)
      throw new SessionDamage("TAMPERED", `${remaining - TRAILER_BYTES} bytes appended after the trailer`, "trailer");
    this.checkSignature(header, trailer, frameCount);
    this.trailer = trailer;
  }

  private checkSignature(header: SessionHeader, trailer: Trailer, frameCount: number): void {
    const signer = header.signerPublicKey;
    if (!signer) {
      if (trailer.signature.some((b) => b !== 0))
        throw new SessionDamage("TAMPERED", "unsigned session carries a signature", "trailer");
      this.signatureStatus = "unsigned";
      if (this.options.requiredSigner)
        throw new SessionDamage("TAMPERED", "session is not signed, but a signer was required", "trailer");
      return;
    }
    const ok = checkChainSignature(signer, trailer.signature, header.sessionId, trailer.finalChainHash, frameCount);
    this.signatureStatus = ok ? "valid" : "invalid";
    if (!ok) throw new SessionDamage("TAMPERED", "trailer signature does not verify", "trailer");
    const required = this.options.requiredSigner;
    if (required && !equalBytes(required, signer)) {
      throw new SessionDamage(
        "TAMPERED",
        `signed by ${encodeSignerPublicKey(signer)}, not by the required signer`,
        "trailer",
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Never close the descriptor under a read still running on the thread pool: its number may be reused.
    if (this.ahead) await this.ahead.read;
    this.ahead = undefined;
    closeSync(this.fd);
  }
}

function cutMessage(index: number, where: "after" | "inside"): string {
  if (index === 0)
    return where === "after" ? "cut after the header; nothing is readable" : "cut inside frame 0; nothing is readable";
  return where === "after"
    ? `cut after frame ${index - 1}; frames 0..${index - 1} are readable`
    : `cut inside frame ${index}; frames 0..${index - 1} are readable`;
}
