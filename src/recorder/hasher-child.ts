// The hasher's worker process (src/recorder/hasher.ts): SHA-256 of one file at a time, read through the
// recorder's open descriptor (/proc/<recorder>/fd/N), at nice 19 and within a CPU share.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

/** One job: the file to read and the identity it must still have. */
export interface HashJob {
  id: number;
  path: string;
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
  let fd: number;
  try {
    fd = openSync(job.path, "r");
  } catch (e) {
    return { id: job.id, error: (e as NodeJS.ErrnoException).code ?? "open failed" };
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    if (st.ino !== job.ino) return { id: job.id, error: "ESTALE" };
    if (st.size > job.maxBytes) return { id: job.id, tooLarge: true, bytes: st.size };
    const h = createHash("sha256");
    const buf = Buffer.allocUnsafe(CHUNK);
    let bytes = 0n;
    for (;;) {
      const t0 = performance.now();
      const n = readSync(fd, buf, 0, CHUNK, null);
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
  } finally {
    closeSync(fd);
  }
}

const queue: HashJob[] = [];
let busy = false;

async function work(): Promise<void> {
  if (busy) return;
  busy = true;
  for (let job = queue.shift(); job; job = queue.shift()) process.send!(await hashFile(job));
  busy = false;
}

process.on("message", (job: HashJob) => {
  queue.push(job);
  void work();
});
// The recorder closes the channel when it is done: nothing is left to do then.
process.on("disconnect", () => process.exit(0));
