// Where the reader opens its frames (open-body.ts): in its own thread, one frame when asked for
// (InlineDecoder), or a few frames ahead in a worker thread (WorkerDecoder) while the reader's caller
// works on the frame before. Either way the reader takes the answers in file order and classifies them
// the same way, so the verdict and everything yielded are the same.
import { Worker } from "node:worker_threads";
import { BodyBuffer } from "./body.js";
import { FRAME_PREFIX_BYTES } from "./format.js";
import { openBody, type BodyJob, type OpenedBody } from "./open-body.js";

const MIB = 1024 * 1024;

/**
 * What the worker's decoded frames may hold in buffers not yet given back: a frame over it waits until the
 * reader is done with the ones before (one frame of any size up to the frame limit is always allowed).
 */
export const HELD_BUDGET_BYTES = 32 * MIB;

/** Frames the worker may be given ahead of the one being read, and their ciphertext bytes. */
const AHEAD_FRAMES = 4;
const AHEAD_BYTES = 16 * MIB;

/** The layout of a job's `packed` (filled in WorkerDecoder.submit, read by unpackJob): the frame key, the frame prefix, the header digest, the previous chain hash. */
const KEY_BYTES = 32;
const DIGEST_BYTES = 32;
const PACKED_BYTES = KEY_BYTES + FRAME_PREFIX_BYTES + 2 * DIGEST_BYTES;

/** A job message's BodyJob (views into its `packed`). */
export function unpackJob(m: Extract<ToWorker, { t: "job" }>): BodyJob {
  const p = m.packed;
  const prefixEnd = KEY_BYTES + FRAME_PREFIX_BYTES;
  return {
    key: p.subarray(0, KEY_BYTES),
    prefix: p.subarray(KEY_BYTES, prefixEnd),
    parsed: { ciphertextBytes: m.ciphertext.length, final: m.final, index: m.index },
    headerDigest: p.subarray(prefixEnd, prefixEnd + DIGEST_BYTES),
    previousChainHash: p.subarray(prefixEnd + DIGEST_BYTES, PACKED_BYTES),
    ciphertext: m.ciphertext,
    limits: { maxFrameBytes: m.maxFrameBytes, maxFrameValues: m.maxFrameValues },
  };
}

/** Ciphertext buffers up to this size are reused frame after frame. */
const REUSED_CIPHER_MAX_BYTES = 16 * MIB;

/** A file below this size is opened in the reader's thread: starting a worker costs more than it saves. */
export const WORKER_MIN_FILE_BYTES = 8 * MIB;

export type ToWorker =
  /**
   * A frame to open: its small byte fields packed in one array (the key, then the prefix, the header
   * digest and the previous chain hash: see PACKED_BYTES), copied; its ciphertext in a shared buffer.
   */
  | {
      readonly t: "job";
      readonly id: number;
      readonly packed: Uint8Array;
      readonly ciphertext: Uint8Array;
      readonly index: number;
      readonly final: boolean;
      readonly maxFrameBytes: number;
      readonly maxFrameValues: number;
    }
  /** The reader is done with `bytes` the worker handed out, in `buffer` (shared) or in a buffer moved to it. */
  | { readonly t: "release"; readonly bytes: number; readonly buffer: SharedArrayBuffer | undefined }
  | { readonly t: "close" };

/** Every answer gives back the job's ciphertext buffer, for the reader's next frame. */
export type FromWorker = { readonly id: number; readonly cipher: SharedArrayBuffer } & (
  | { readonly kind: "records"; readonly buffer: SharedArrayBuffer | ArrayBuffer; readonly length: number }
  | { readonly kind: "auth-failed" }
  | { readonly kind: "over-limit"; readonly reason: string }
  | { readonly kind: "undecodable" }
  | { readonly kind: "error"; readonly message: string }
);

export interface BodyDecoder {
  /** May another frame be submitted, with `frames` submitted and not yet taken, of `bytes` ciphertext? */
  wantsMore(frames: number, bytes: number): boolean;
  /** Starts opening a frame; the job's bytes may be reused by the caller as soon as this returns. */
  submit(job: BodyJob): Promise<OpenedBody> | OpenedBody;
  /**
   * An opened frame's msgpack bytes, to decode now: valid (with every view into them) until the next
   * call. From the worker they are copied into this thread's one reused buffer, and the worker's buffer
   * goes back to it at once (msgpackr's native decoder must never see a SharedArrayBuffer: it crashes).
   */
  bytes(opened: Extract<OpenedBody, { kind: "records" }>): Uint8Array;
  /** Wipes what it holds and ends its thread, if any. */
  close(): Promise<void>;
}

/** Opens each frame when submitted, in the caller's thread; with `into`, into one reused buffer. */
export class InlineDecoder implements BodyDecoder {
  constructor(private readonly into?: BodyBuffer) {}

  wantsMore(frames: number): boolean {
    return frames === 0;
  }

  submit(job: BodyJob): OpenedBody {
    const into = this.into;
    return into ? openBody(job, (n) => into.take(n)) : openHere(job);
  }

  bytes(opened: Extract<OpenedBody, { kind: "records" }>): Uint8Array {
    return opened.msgpack;
  }

  async close(): Promise<void> {
    this.into?.clear();
  }
}

/** A frame handed to the thread and not yet answered: what is needed to open it here if the thread dies. */
interface Waiting {
  readonly resolve: (o: OpenedBody) => void;
  readonly reject: (e: Error) => void;
  /** The job as posted: its `packed` key and digests are this thread's copy (the thread got its own), wiped once answered. */
  readonly message: Extract<ToWorker, { t: "job" }>;
}

/**
 * Opens frames in a worker thread (body-worker.ts), up to AHEAD_FRAMES ahead of the caller. If the thread
 * fails (it cannot load, throws, or ends), the frames it owed and every later one are opened in the
 * caller's thread: the same answers, so the same records and verdict, never an error of its own.
 */
export class WorkerDecoder implements BodyDecoder {
  private nextId = 0;
  private readonly waiting = new Map<number, Waiting>();
  /** Frames the thread owed when it failed, in order, not yet opened here (see openOwed). */
  private owed: Waiting[] = [];
  /** The bytes of the owed frame opened last, until the reader takes them: the next is opened then. */
  private owedUntaken: Uint8Array | undefined;
  /** Ciphertext buffers the worker gave back, for the next frames' copies. */
  private readonly ciphers: SharedArrayBuffer[] = [];
  /** Buffers received from the worker and not yet given back: wiped at close. */
  private readonly received = new Set<SharedArrayBuffer | ArrayBuffer>();
  /** Why the thread is no longer used (it failed), once it is not: frames are opened in this thread since. */
  failed: string | undefined;
  /** Set when the thread has loaded and says so: until then submit() opens frames in this thread. */
  private ready = false;
  private closed = false;
  private readonly exited: Promise<void>;

  /** This thread's copy of the frame being decoded (see bytes()). */
  private readonly into = new BodyBuffer();
  /** Frames the thread opened (not those opened here while it loaded). */
  openedAhead = 0;

  /** `fromFirstFrame` (tests): every frame goes to the thread, the first ones waiting for it to load. */
  constructor(
    private readonly worker: Worker,
    fromFirstFrame = false,
  ) {
    this.ready = fromFirstFrame;
    worker.on("message", (m: FromWorker | { readonly ready: true }) => this.reply(m));
    worker.on("error", (e: Error) => this.fail(`frame decode thread failed: ${e.message}`));
    this.exited = new Promise((resolve) =>
      worker.on("exit", (code) => {
        if (!this.closed) this.fail(`frame decode thread ended (exit code ${code})`);
        resolve();
      }),
    );
    worker.unref(); // kept alive only while a frame is awaited from it (see wait)
  }

  /** The worker keeps the process alive while it owes frames, and only then. */
  private wait(id: number, w: Waiting): void {
    if (this.waiting.size === 0) this.worker.ref();
    this.waiting.set(id, w);
  }

  private settled(id: number, w: Waiting): void {
    w.message.packed.fill(0);
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
  }

  wantsMore(frames: number, bytes: number): boolean {
    return frames === 0 || (this.ready && this.failed === undefined && frames < AHEAD_FRAMES && bytes < AHEAD_BYTES);
  }

  submit(job: BodyJob): Promise<OpenedBody> | OpenedBody {
    // The thread takes ~0.1 s to load its modules: the frames before that are opened here, each into a
    // buffer of its own (frames opened ahead wait for bytes(), which copies them into the reused one).
    // So are all frames once the thread has failed.
    if (!this.ready || this.failed !== undefined) return openHere(job);
    const id = this.nextId++;
    const packed = new Uint8Array(PACKED_BYTES);
    let at = 0;
    for (const part of [job.key, job.prefix, job.headerDigest, job.previousChainHash]) {
      packed.set(part, at);
      at += part.length;
    }
    const message: ToWorker = {
      t: "job",
      id,
      packed,
      ciphertext: this.cipherCopy(job.ciphertext),
      index: job.parsed.index,
      final: job.parsed.final,
      maxFrameBytes: job.limits.maxFrameBytes,
      maxFrameValues: job.limits.maxFrameValues,
    };
    const opened = new Promise<OpenedBody>((resolve, reject) => this.wait(id, { resolve, reject, message }));
    opened.catch(() => undefined); // a frame read ahead and never taken must not be an unhandled rejection
    // The packed key is copied to the thread (which wipes its copy once used), and this thread keeps its
    // own until the answer comes, to open the frame itself if the thread fails; the ciphertext's buffer is
    // shared. One small array instead of four, and no objects inside: a message costs less to clone.
    this.worker.postMessage(message);
    return opened;
  }

  /**
   * The ciphertext in a buffer of its own, to hand over: one the worker gave back when one is big enough.
   * A new buffer per frame faults its pages in again, which cost more than the copy.
   */
  private cipherCopy(ciphertext: Uint8Array): Uint8Array {
    const i = this.ciphers.findIndex((b) => b.byteLength >= ciphertext.length);
    const buffer =
      i >= 0
        ? this.ciphers.splice(i, 1)[0]!
        : new SharedArrayBuffer(
            ciphertext.length > REUSED_CIPHER_MAX_BYTES ? ciphertext.length : Math.max(ciphertext.length, 2 * MIB),
          );
    const copy = new Uint8Array(buffer, 0, ciphertext.length);
    copy.set(ciphertext);
    return copy;
  }

  bytes(opened: Extract<OpenedBody, { kind: "records" }>): Uint8Array {
    const from = opened.msgpack;
    const buffer = from.buffer;
    if (from === this.owedUntaken) {
      this.owedUntaken = undefined;
      this.openOwed();
    }
    if (!this.received.delete(buffer)) return from; // opened here (while the thread loaded, or after it failed)
    const shared = buffer instanceof SharedArrayBuffer;
    let own = from; // a frame too big for a kept buffer was moved here: decoded where it is
    if (shared) {
      own = this.into.take(from.length);
      own.set(from);
    }
    if (this.closed || this.failed !== undefined) {
      if (shared) from.fill(0);
    } else {
      const message: ToWorker = { t: "release", bytes: from.length, buffer: shared ? buffer : undefined };
      this.worker.postMessage(message);
    }
    return own;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.into.clear();
    for (const b of this.received) new Uint8Array(b).fill(0);
    this.received.clear();
    for (const w of [...this.waiting.values(), ...this.owed]) w.message.packed.fill(0);
    this.waiting.clear();
    this.owed = [];
    this.worker.ref(); // until it has ended
    if (this.failed === undefined) {
      const message: ToWorker = { t: "close" };
      this.worker.postMessage(message); // it wipes its buffers and jobs, then ends
      const timer = setTimeout(() => void this.worker.terminate(), 2000);
      await this.exited;
      clearTimeout(timer);
    } else await this.worker.terminate();
  }

  private reply(m: FromWorker | { readonly ready: true }): void {
    if ("ready" in m) {
      this.ready = true;
      return;
    }
    this.openedAhead++;
    if (m.cipher.byteLength <= REUSED_CIPHER_MAX_BYTES && this.ciphers.length < AHEAD_FRAMES)
      this.ciphers.push(m.cipher);
    const w = this.waiting.get(m.id);
    if (m.kind === "records" && (this.closed || !w)) new Uint8Array(m.buffer).fill(0);
    if (!w) return;
    this.settled(m.id, w);
    switch (m.kind) {
      case "records":
        this.received.add(m.buffer);
        w.resolve({
          kind: "records",
          msgpack:
            m.buffer instanceof SharedArrayBuffer
              ? new Uint8Array(m.buffer, 0, m.length)
              : Buffer.from(m.buffer, 0, m.length),
        });
        return;
      case "error":
        w.reject(new Error(`frame decode thread: ${m.message}`));
        return;
      case "over-limit":
        w.resolve({ kind: "over-limit", reason: m.reason });
        return;
      default:
        w.resolve({ kind: m.kind });
    }
  }

  /**
   * The thread failed: the frames it owed are opened here, in order, and so is every later one. An answer
   * it sent before failing finds no frame waiting, and is wiped.
   */
  private fail(why: string): void {
    if (this.failed !== undefined || this.closed) return;
    this.failed = why;
    this.owed = [...this.waiting.values()];
    this.waiting.clear();
    this.worker.unref();
    this.openOwed();
    void this.worker.terminate(); // it may still run (an error event comes before its exit)
  }

  /**
   * Opens owed frames up to the next one with records, whose bytes the reader takes (bytes()) before the
   * one after it is opened: one decoded frame waits at a time, as with the thread's held budget, not all
   * the frames it owed (up to AHEAD_FRAMES of --max-frame-mib each).
   */
  private openOwed(): void {
    for (let w = this.owed.shift(); w !== undefined; w = this.owed.shift()) {
      let opened: OpenedBody;
      try {
        opened = openHere(unpackJob(w.message));
      } catch (e) {
        w.reject(e instanceof Error ? e : new Error(String(e)));
        continue;
      } finally {
        w.message.packed.fill(0);
      }
      w.resolve(opened);
      if (opened.kind === "records") {
        this.owedUntaken = opened.msgpack;
        return;
      }
    }
  }
}

/** Opens a frame in the caller's thread, into a buffer of its own. */
function openHere(job: BodyJob): OpenedBody {
  return openBody(job, (n) => Buffer.allocUnsafe(n));
}

/** The decode thread, running body-worker.ts. */
export function decodeThread(): Worker {
  return new Worker(new URL("./body-worker.js", import.meta.url));
}

/**
 * A worker when asked for (`ahead`), else in the caller's thread (also when a worker cannot be started).
 * `thread` (tests): starts the thread instead of decodeThread.
 */
export function bodyDecoder(
  ahead: boolean,
  into?: BodyBuffer,
  fromFirstFrame = false,
  thread: () => Worker = decodeThread,
): BodyDecoder {
  if (!ahead) return new InlineDecoder(into);
  try {
    return new WorkerDecoder(thread(), fromFirstFrame);
  } catch {
    return new InlineDecoder(into);
  }
}
