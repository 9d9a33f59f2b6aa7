// A decode thread that fails the way a real one could (tests of body-decoder.ts's WorkerDecoder): the real
// body-worker.ts, ended or thrown out of as it is about to answer its Nth frame, or failing as it loads.
// workerData: { exitAt?: number; throwAt?: number; failLoad?: boolean; holdMs?: number } (holdMs: it waits that
// long before it fails, so that the reader has handed it every frame it may).
import { parentPort, workerData, type TransferListItem } from "node:worker_threads";

const how = (workerData ?? {}) as { exitAt?: number; throwAt?: number; failLoad?: boolean; holdMs?: number };
if (how.failLoad) throw new Error("the decode thread cannot load (test)");

// No message listener here: the port holds the reader's messages until body-worker.ts listens.
const port = parentPort!;
const post = port.postMessage.bind(port);
let answers = 0;
port.postMessage = (m: unknown, transfer?: readonly TransferListItem[]) => {
  if (typeof m === "object" && m !== null && "id" in m) {
    answers++;
    if (how.holdMs && (answers === how.exitAt || answers === how.throwAt))
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, how.holdMs);
    if (answers === how.exitAt) process.exit(7);
    if (answers === how.throwAt) throw new Error("the decode thread broke (test)");
  }
  post(m, transfer);
};

await import("../../src/session/body-worker.js");
