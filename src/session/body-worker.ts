// The reader's decode thread (body-decoder.ts, WorkerDecoder): opens frames in the order they come,
// while the reader's thread rebuilds the frames before them. Every buffer it hands out counts against
// HELD_BUDGET_BYTES until the reader gives it back, so frames decoded ahead cost a bounded amount.
// Buffers are SharedArrayBuffers, shared with the reader, never moved: a buffer transferred to and fro
// for every frame made V8 count megabytes of external memory in and out, and collect garbage for it.
import { parentPort } from "node:worker_threads";
import { NotNow, openBody } from "./open-body.js";
import { HELD_BUDGET_BYTES, unpackJob, type ToWorker, type FromWorker } from "./body-decoder.js";

const port = parentPort!;

/** Buffers up to this size are kept for reuse once given back (a fresh one per frame faults its pages in again). */
const REUSED_MAX_BYTES = 16 * 1024 * 1024;
const MIN_BUFFER_BYTES = 2 * 1024 * 1024;

const free: SharedArrayBuffer[] = [];
const jobs: Array<Extract<ToWorker, { t: "job" }>> = [];
/** Bytes of buffers handed to the reader and not yet given back. */
let held = 0;

function take(bytes: number): Uint8Array {
  if (held > 0 && held + bytes > HELD_BUDGET_BYTES) throw new NotNow();
  held += bytes;
  // A frame too big to keep a buffer for goes to the reader in one of its own, moved (not copied there).
  if (bytes > REUSED_MAX_BYTES) return new Uint8Array(new ArrayBuffer(bytes));
  const i = free.findIndex((b) => b.byteLength >= bytes);
  const buffer = i >= 0 ? free.splice(i, 1)[0]! : new SharedArrayBuffer(Math.max(bytes, MIN_BUFFER_BYTES));
  return new Uint8Array(buffer, 0, bytes);
}

/** The key is wiped once used; the ciphertext is not secret (it goes back to the reader for its next frame). */
function wipe(job: Extract<ToWorker, { t: "job" }>): void {
  job.packed.fill(0);
}

/** Opens queued frames in order until one must wait for a buffer to come back. */
function pump(): void {
  while (jobs.length > 0) {
    const next = jobs[0]!;
    let reply: FromWorker;
    const cipher = next.ciphertext.buffer as SharedArrayBuffer;
    const transfer: ArrayBuffer[] = [];
    try {
      const opened = openBody(unpackJob(next), take);
      if (opened.kind === "records") {
        const buffer = opened.msgpack.buffer as SharedArrayBuffer | ArrayBuffer;
        reply = { id: next.id, cipher, kind: "records", buffer, length: opened.msgpack.length };
        if (buffer instanceof ArrayBuffer) transfer.push(buffer);
      } else reply = { id: next.id, cipher, ...opened };
    } catch (e) {
      if (e instanceof NotNow) return; // again when a buffer is given back
      reply = { id: next.id, cipher, kind: "error", message: e instanceof Error ? e.message : String(e) };
    }
    jobs.shift();
    wipe(next);
    port.postMessage(reply, transfer);
  }
}

port.on("message", (m: ToWorker) => {
  switch (m.t) {
    case "job":
      jobs.push(m);
      pump();
      return;
    case "release":
      held -= m.bytes;
      if (m.buffer && free.length < 8) free.push(m.buffer);
      else if (m.buffer) new Uint8Array(m.buffer).fill(0);
      pump();
      return;
    case "close":
      for (const j of jobs) wipe(j);
      jobs.length = 0;
      for (const b of free) new Uint8Array(b).fill(0);
      free.length = 0;
      port.close();
      return;
  }
});

port.postMessage({ ready: true }); // loaded: the reader may hand frames over from now on
