// Where the reader opens its frames (open-body.ts): in its own thread, one frame when asked for
// (InlineDecoder), or a few frames ahead in a worker thread (WorkerDecoder) while the reader's caller
// works on the frame before. Either way the reader takes the answers in file order and classifies them
// the same way, so the verdict and everything yielded are the same.
import { Worker } from "node:worker_threads";
import { BodyBuffer } from "./body.js";
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

/** Ciphertext buffers up to this size are reused frame after frame. */
const REUSED_CIPHER_MAX_BYTES = 16 * MIB;

/** A file below this size is opened in the reader's thread: starting a worker costs more than it saves. */
export const WORKER_MIN_FILE_BYTES = 8 * MIB;

export type ToWorker =
  | { readonly t: "job"; readonly id: number; readonly job: BodyJob }
  | { readonly t: "release"; readonly buffer: ArrayBuffer }
  | { readonly t: "close" };

/** Every answer gives back the job's ciphertext buffer, for the reader's next frame. */
export type FromWorker = { readonly id: number; readonly cipher: ArrayBuffer } & (
  | { readonly kind: "records"; readonly buffer: ArrayBuffer; readonly length: number }
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
  /** The caller is done with this opened frame's bytes (and every view into them). */
  release(opened: OpenedBody): void;
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
    return openBody(job, into ? (n) => into.take(n) : (n) => Buffer.allocUnsafe(n));
  }

  release(): void {}

  async close(): Promise<void> {
    this.into?.clear();
  }
}

/** Opens frames in a worker thread (body-worker.ts), up to AHEAD_FRAMES ahead of the caller. */
export class WorkerDecoder implements BodyDecoder {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (o: OpenedBody) => void; reject: (e: Error) => void }>();
  /** Ciphertext buffers the worker gave back, for the next frames' copies. */
  private readonly ciphers: ArrayBuffer[] = [];
  /** Buffers received from the worker and not yet given back: wiped at close. */
  private readonly received = new Set<ArrayBuffer>();
  private failed: Error | undefined;
  /** Set when the thread has loaded and says so: until then submit() opens frames in this thread. */
  private ready = false;
  private closed = false;
  private readonly exited: Promise<void>;

  /** Frames the thread opened (not those opened here while it loaded). */
  openedAhead = 0;

  /** `fromFirstFrame` (tests): every frame goes to the thread, the first ones waiting for it to load. */
  constructor(
    private readonly worker: Worker,
    fromFirstFrame = false,
  ) {
    this.ready = fromFirstFrame;
    worker.on("message", (m: FromWorker | { readonly ready: true }) => this.reply(m));
    worker.on("error", (e: Error) => this.fail(new Error(`frame decode thread failed: ${e.message}`)));
    this.exited = new Promise((resolve) =>
      worker.on("exit", (code) => {
        if (!this.closed) this.fail(new Error(`frame decode thread ended (exit code ${code})`));
        resolve();
      }),
    );
    worker.unref(); // kept alive only while a frame is awaited from it (see wait)
  }

  /** The worker keeps the process alive while it owes frames, and only then. */
  private wait(id: number, w: { resolve: (o: OpenedBody) => void; reject: (e: Error) => void }): void {
    if (this.waiting.size === 0) this.worker.ref();
    this.waiting.set(id, w);
  }

  private settled(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
  }

  wantsMore(frames: number, bytes: number): boolean {
    return frames === 0 || (this.ready && frames < AHEAD_FRAMES && bytes < AHEAD_BYTES);
  }

  submit(job: BodyJob): Promise<OpenedBody> | OpenedBody {
    if (this.failed) return Promise.reject(this.failed);
    // The thread takes ~0.1 s to load its modules: the frames before that are opened here, each into a
    // buffer of its own (a frame read ahead may still be in use when the next one is opened).
    if (!this.ready) return openBody(job, (n) => Buffer.allocUnsafe(n));
    const id = this.nextId++;
    // Compact copies, handed over: a view would clone the whole buffer behind it (the scanner's reused one).
    const copy: BodyJob = {
      key: job.key.slice(),
      prefix: job.prefix.slice(),
      parsed: { ciphertextBytes: job.parsed.ciphertextBytes, final: job.parsed.final, index: job.parsed.index },
      headerDigest: job.headerDigest.slice(),
      previousChainHash: job.previousChainHash.slice(),
      ciphertext: this.cipherCopy(job.ciphertext),
      limits: { maxFrameBytes: job.limits.maxFrameBytes, maxFrameValues: job.limits.maxFrameValues },
    };
    const opened = new Promise<OpenedBody>((resolve, reject) => this.wait(id, { resolve, reject }));
    opened.catch(() => undefined); // a frame read ahead and never taken must not be an unhandled rejection
    const message: ToWorker = { t: "job", id, job: copy };
    this.worker.postMessage(message, [copy.key.buffer as ArrayBuffer, copy.ciphertext.buffer as ArrayBuffer]);
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
        : new ArrayBuffer(
            ciphertext.length > REUSED_CIPHER_MAX_BYTES ? ciphertext.length : Math.max(ciphertext.length, 2 * MIB),
          );
    const copy = new Uint8Array(buffer, 0, ciphertext.length);
    copy.set(ciphertext);
    return copy;
  }

  release(opened: OpenedBody): void {
    if (opened.kind !== "records") return;
    const buffer = opened.msgpack.buffer as ArrayBuffer;
    if (!this.received.delete(buffer)) return;
    if (this.closed || this.failed) {
      new Uint8Array(buffer).fill(0);
      return;
    }
    const message: ToWorker = { t: "release", buffer };
    this.worker.postMessage(message, [buffer]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const b of this.received) new Uint8Array(b).fill(0);
    this.received.clear();
    this.waiting.clear();
    this.worker.ref(); // until it has ended
    if (!this.failed) {
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
    this.settled(m.id);
    switch (m.kind) {
      case "records":
        this.received.add(m.buffer);
        w.resolve({ kind: "records", msgpack: Buffer.from(m.buffer, 0, m.length) });
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

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
    this.worker.unref();
  }
}

/** A worker when asked for (`ahead`), else in the caller's thread (also when a worker cannot be started). */
export function bodyDecoder(ahead: boolean, into?: BodyBuffer, fromFirstFrame = false): BodyDecoder {
  if (!ahead) return new InlineDecoder(into);
  try {
    return new WorkerDecoder(new Worker(new URL("./body-worker.js", import.meta.url)), fromFirstFrame);
  } catch {
    return new InlineDecoder(into);
  }
}
