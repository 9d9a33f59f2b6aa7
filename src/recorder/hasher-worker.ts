// The hasher's worker thread (src/recorder/hasher.ts): SHA-256 of one file at a time, read through the
// descriptor the recorder opened, at nice 19 (this thread only) and within a CPU share. A thread, not a
// process: nothing of sealtrace's own shows up as an exec in the session it records.
import { fstatSync, readlinkSync, readSync } from "node:fs";
import { createHash } from "node:crypto";
import { setPriority } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { parentPort } from "node:worker_threads";

/** One job: the file to read and the identity it must still have. */
export interface HashJob {
  id: number;
  /** The recorder's open descriptor (descriptors are the process's: the thread reads it as is). */
  fd: number;
  dev: bigint;
  ino: bigint;
  maxBytes: bigint;
  /** Fraction of one CPU the hashing may use (the rest of each period it sleeps). */
  cpuShare: number;
}

export type HashReply =
  | { id: number; sha256: string; bytes: bigint }
  | { id: number; tooLarge: true; bytes: bigint }
  | { id: number; error: string };

const CHUNK = 1 << 20;

async function hashFile(job: HashJob): Promise<HashReply> {
  const fd = job.fd;
  try {
    const st = fstatSync(fd, { bigint: true });
    if (st.ino !== job.ino) return { id: job.id, error: "ESTALE" };
    if (st.size > job.maxBytes) return { id: job.id, tooLarge: true, bytes: st.size };
    const h = createHash("sha256");
    const buf = Buffer.allocUnsafe(CHUNK);
    let bytes = 0n;
    for (;;) {
      const t0 = performance.now();
      const n = readSync(fd, buf, 0, CHUNK, bytes);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      bytes += BigInt(n);
      // A file that grows past the limit while read is too large, not an endless read.
      if (bytes > job.maxBytes) return { id: job.id, tooLarge: true, bytes };
      const busyMs = performance.now() - t0;
      const idleMs = (busyMs * (1 - job.cpuShare)) / job.cpuShare;
      if (idleMs >= 1) await sleep(idleMs);
    }
    return { id: job.id, sha256: h.digest("hex"), bytes };
  } catch (e) {
    return { id: job.id, error: (e as NodeJS.ErrnoException).code ?? "read failed" };
  }
}

const queue: HashJob[] = [];
let busy = false;

async function work(): Promise<void> {
  if (busy) return;
  busy = true;
  for (let job = queue.shift(); job; job = queue.shift()) parentPort!.postMessage(await hashFile(job));
  busy = false;
}

// setpriority(2) with a thread id sets that thread's nice on Linux: /proc/thread-self names this thread.
try {
  setPriority(Number(readlinkSync("/proc/thread-self").split("/").pop()), 19);
} catch {
  /* not Linux, or not allowed: the CPU share still bounds it */
}
parentPort!.on("message", (job: HashJob) => {
  queue.push(job);
  void work();
});
